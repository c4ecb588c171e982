"""The local model without the model: which GGUF counts as verified, when `agent-tui` runs it by default,
and what a run says when llama-cpp-python's server dies in the middle of a request."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from agent.models import local
from agent.models.local import VARIANTS, LocalServer, default_model, is_verified
from agent.run.runner import RunOptions, build_run

from tests.conftest import collect


@pytest.fixture
def gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in model file in ./models that `setup` stamped as verified, the local extra installed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(local, "llama_cpp_installed", lambda: True)
    path = tmp_path / "models" / VARIANTS["1.5b"].filename
    path.parent.mkdir()
    path.write_bytes(b"GGUF stand-in")
    local._stamp(path, VARIANTS["1.5b"].sha256)
    return path


def test_a_stamped_file_is_verified_until_it_changes(gguf: Path) -> None:
    assert is_verified(gguf)
    assert default_model({}) == Path("models") / VARIANTS["1.5b"].filename
    assert default_model({"AGENT_TUI_LOCAL_MODEL": str(gguf)}) == gguf
    assert default_model({"AGENT_TUI_LOCAL_MODEL": "off"}) is None
    gguf.write_bytes(b"GGUF stand-in, changed")
    assert not is_verified(gguf) and default_model({}) is None


def test_a_stamp_must_name_a_known_model(gguf: Path) -> None:
    local._stamp(gguf, "0" * 64)
    assert not is_verified(gguf)


def test_no_local_extra_no_local_default(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "llama_cpp_installed", lambda: False)
    assert default_model({}) is None


class IdleServer:
    """Stands in for a LocalServer the run would start (nothing is served: the run is only built)."""

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self.base_url = "http://127.0.0.1:9/v1"
        self.stopped = False

    def __enter__(self) -> "IdleServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped = True


def test_no_key_runs_the_verified_local_model(gguf: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AGENT_TUI_LOCAL_MODEL")
    monkeypatch.setattr(local, "LocalServer", IdleServer)
    run = build_run(RunOptions(task="quicksort", out=tmp_path / "run.jsonl"))
    try:
        assert run.header.provider == "local" and run.header.model == gguf.name
        assert run.header.settings["model_path"] == str(Path("models") / gguf.name)
        assert run.notices == [f"no --provider given and no API key set: running the local model {gguf.name} "
                               "on this CPU (AGENT_TUI_LOCAL_MODEL=off for the offline scripted model)"]
    finally:
        run.close()
    assert run.model_server.stopped


def test_without_it_the_scripted_demo_stays(gguf: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(local, "llama_cpp_installed", lambda: False)
    monkeypatch.delenv("AGENT_TUI_LOCAL_MODEL")
    run = build_run(RunOptions(task="quicksort", out=tmp_path / "run.jsonl"))
    assert run.header.provider == "scripted"


DYING_SERVER = textwrap.dedent('''
    import os, signal, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"data": []}')

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            print("llama_model_loader: loaded meta data", flush=True)
            print("general protection fault in libggml-cpu.so", flush=True)
            os.kill(os.getpid(), signal.SIGSEGV)

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
''')


class DyingServer(LocalServer):
    """A LocalServer whose process answers /models, then dies by SIGSEGV on the first completion request,
    as a native llama.cpp build does on a CPU it was not built for."""

    def __init__(self, script: Path, model_path: Path) -> None:
        super().__init__(model_path, startup_timeout=60)
        self.script = script

    def require_server(self) -> None:
        pass

    def command(self) -> list[str]:
        return [sys.executable, str(self.script), str(self.port)]


async def test_a_server_that_dies_during_a_request_is_named_with_its_log_and_the_fix(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(DYING_SERVER)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    with DyingServer(script, model) as server:
        run = build_run(RunOptions(task="quicksort", provider="local", model_path=model, shared_server=server,
                                   max_retries=0, out=tmp_path / "run.jsonl", reflection="off", stream=False))
        done = (await collect(run))[-1]
    assert done.reason == "provider_error"
    first, *rest = done.detail.splitlines()
    assert first == f"the local model's server died during the request (signal SIGSEGV); {server.log.name} ends:"
    assert rest[:2] == ["  | llama_model_loader: loaded meta data", "  | general protection fault in libggml-cpu.so"]
    assert "CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON\"" in rest[2]
    assert rest[3].startswith("(the request failed with: ")
    os.unlink(server.log.name)


class PortServer(IdleServer):
    """An IdleServer on a port of its own, so that two of them can be told apart."""

    count = 0

    def __init__(self, model_path: Path) -> None:
        super().__init__(model_path)
        PortServer.count += 1
        self.base_url = f"http://127.0.0.1:{9000 + PortServer.count}/v1"


@pytest.mark.parametrize("reflection, servers", [("system", 2), ("off", 1), ("resample", 1)])
def test_notes_go_to_a_server_of_their_own(gguf: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           reflection: str, servers: int) -> None:
    """A reflection call on the actor's server would evict the actor's prompt from its cache."""
    started: list[PortServer] = []
    monkeypatch.setattr(local, "LocalServer", lambda path: started.append(PortServer(path)) or started[-1])
    run = build_run(RunOptions(task="quicksort", provider="local", model_path=gguf, reflection=reflection,  # type: ignore[arg-type]
                               out=tmp_path / "run.jsonl"))
    try:
        assert len(started) == servers
        assert str(run.loop.model.client.base_url).startswith(started[0].base_url)
        reflector_url = str(run.loop.reflector.model.client.base_url)
        assert reflector_url.startswith(started[-1].base_url)
    finally:
        run.close()
    assert all(s.stopped for s in started)


def test_an_ablation_shares_both_servers(gguf: Path, tmp_path: Path) -> None:
    actor, notes = PortServer(gguf), PortServer(gguf)
    run = build_run(RunOptions(task="quicksort", provider="local", model_path=gguf, shared_server=actor,
                               shared_reflection_server=notes, out=tmp_path / "run.jsonl"))
    try:
        assert str(run.loop.model.client.base_url).startswith(actor.base_url)
        assert str(run.loop.reflector.model.client.base_url).startswith(notes.base_url)
    finally:
        run.close()
    assert not actor.stopped and not notes.stopped  # the ablation's: they outlive the run
