"""agent-tui's own helper processes hold no key and are non-dumpable. The attack: with `--sandbox none`, a
daemon the model wrote (our user) read OPENAI_API_KEY from grep's regex worker's /proc/<pid>/environ, and
the key went into the transcript and the next request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from agent.models.local import LocalServer

REPO = Path(__file__).resolve().parent.parent
SECRET = "sk-children-test-0123456789abcdefSECRET"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_DUMPABLE are Linux's")

PEEK_AT_THE_WORKER = """
import asyncio, json, os, subprocess, sys, time

def workers():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"agent.tools.regex_worker" in cmdline:
            found.append(int(pid))
    return found

async def grep(folder):
    if sys.argv[2] == "toolbox":  # the real thing
        from agent.tools.sandbox import Sandbox
        from agent.tools.toolbox import Toolbox
        from agent.tools.workspace import Workspace
        box = Toolbox(Workspace(folder, Sandbox("none")), "true", grep_timeout=120)
        await box.execute("grep", json.dumps({"pattern": "(a+)+$"}))  # backtracks for hours
    else:  # what Toolbox starts, from a Python without its dependencies (as nobody, the venv may be out of reach)
        from agent.tools import regex_worker
        from agent.tools.children import helper_argv, helper_environ
        proc = await asyncio.create_subprocess_exec(*helper_argv(regex_worker.__name__, isolated=True),
                                                    env=helper_environ(), stdin=asyncio.subprocess.PIPE)
        proc.stdin.write(json.dumps({"pattern": "(a+)+$", "files": [["evil.txt", "a" * 40 + "b"]],
                                     "max_hits": 5, "max_line": 100}).encode())
        try:
            await proc.wait()
        finally:
            proc.kill()

async def main():
    task = asyncio.ensure_future(grep(sys.argv[1]))
    deadline = time.monotonic() + 30
    while not (found := workers()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    [pid] = found
    while os.stat(f"/proc/{pid}/environ").st_uid != 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # it makes itself non-dumpable first thing; /proc/<pid> is then root's
    peek = subprocess.run(["cat", f"/proc/{pid}/environ"], capture_output=True)  # another process of ours
    print(json.dumps({"read": peek.returncode == 0, "secret": os.environ["OPENAI_API_KEY"] in peek.stdout.decode(),
                      "env": sorted(v.split("=")[0] for v in peek.stdout.decode().split("\\0") if v),
                      "root_owned": os.stat(f"/proc/{pid}/environ").st_uid == 0, "uid": os.getuid()}))
    task.cancel()

asyncio.run(main())
"""
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _peek_at_the_worker(python: str, how: str, as_nobody: bool = False) -> dict[str, object]:
    """Start grep's worker on a pattern that keeps it busy, from a child with the secret in its environment,
    and report what another process of the same user sees of the worker."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)  # readable by nobody, unlike pytest's tmp_path
        (Path(folder) / "evil.txt").write_text("a" * 40 + "b\n")
        os.chmod(Path(folder) / "evil.txt", 0o644)
        argv = [*(NOBODY if as_nobody else []), python, "-c", PEEK_AT_THE_WORKER, folder, how]
        env = {"PATH": os.environ.get("PATH", os.defpath), "PYTHONPATH": str(REPO), "OPENAI_API_KEY": SECRET}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@linux_only
def test_the_regex_worker_gets_the_allow_list_not_our_environment() -> None:
    seen = _peek_at_the_worker(sys.executable, "toolbox")
    assert seen["secret"] is False
    if seen["read"]:  # as root: readable, and only the allow-list is there
        assert set(seen["env"]) <= {"PATH", "LANG", "TERM", "PYTHONPATH", "PYTHONUSERBASE"}  # type: ignore[arg-type]
    if seen["uid"] != 0:
        assert (seen["read"], seen["root_owned"]) == (False, True)


@linux_only
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to become nobody")
def test_another_process_of_the_same_user_cannot_read_the_regex_worker() -> None:
    """As nobody (root may read any process): the worker is non-dumpable, its environ unreadable."""
    python = "/usr/bin/python3"
    probe = subprocess.run([*NOBODY, python, "-c", "import sys; assert sys.version_info >= (3, 11)"], cwd="/")
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run {python} 3.11+")
    seen = _peek_at_the_worker(python, "launcher", as_nobody=True)
    assert (seen["uid"], seen["read"], seen["secret"], seen["root_owned"]) == (65534, False, False, True)


FAKE_LLAMA_SERVER = """
import http.server, sys

class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"data": []}')

    def log_message(self, *args):
        pass

if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1])
    http.server.HTTPServer(("127.0.0.1", port), Answer).serve_forever()
"""


@linux_only
def test_the_local_model_server_gets_the_allow_list_and_is_started_undumpable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LocalServer as it is, on a stand-in `llama_cpp.server` (found in the current folder, as `python -m` finds it)."""
    (tmp_path / "llama_cpp").mkdir()
    (tmp_path / "llama_cpp" / "__init__.py").write_text("")
    (tmp_path / "llama_cpp" / "server.py").write_text(FAKE_LLAMA_SERVER)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("HOME", str(tmp_path))
    with LocalServer(model, startup_timeout=60) as server:
        assert server.process is not None
        pid = server.process.pid
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except PermissionError:  # not root: non-dumpable, so not even we may read it
            environ = b""
    assert b"agent.tools.children" in b" ".join(cmdline) and b"llama_cpp.server" in cmdline
    assert SECRET.encode() not in environ
    if environ:
        names = {v.split(b"=")[0] for v in environ.split(b"\0") if v}
        assert b"HOME" in names and b"OPENAI_API_KEY" not in names
    os.unlink(server.log.name)
