"""Files from strangers (issue 25): a generator of malformed files, each run through `check`, `open
--snapshot`, `export` and `compare` in a subprocess with a hang guard. Each ends with exit 0, 1 or 2, no
traceback, and at most one line on stderr per file; `open DIR` survives its worst file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable

import pytest

GUARD_S = 60
"""A command still running after this long has hung."""


def _eval(sample: object) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("header.json", json.dumps({"version": 2, "status": "success", "eval": {"task": "t", "model": "m"}}))
        z.writestr("samples/1_epoch_1.json", json.dumps(sample) if not isinstance(sample, bytes) else sample)
    return buffer.getvalue()


def _call(arguments: str) -> list[dict]:
    return [{"role": "user", "content": "go"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"}]


MALFORMED: dict[str, Callable[[], bytes]] = {
    "digits.json": lambda: b'[{"role": "user", "content": ' + b"9" * 5000 + b"}]",
    "digits.jsonl": lambda: (b'{"type": "header", "created": ' + b"1" * 5000 + b"}\n"),
    "surrogates.json": lambda: b'[{"role": "user", "content": "\\ud800 lone"}, {"role": "assistant", "content": "\\udfff"}]',
    "exit_dict.traj.json": lambda: json.dumps({"info": {"exit_status": {"kind": "odd"}, "mini_version": "1"},
                                               "messages": [{"role": "user", "content": "x"}]}).encode(),
    "deep_arguments.json": lambda: json.dumps(_call("[" * 50_000 + "]" * 50_000)).encode(),
    "deep_document.json": lambda: b"[" * 200_000 + b"]" * 200_000,
    "binary.json": lambda: b"\xff\xfe\x00\x01garbage" * 100,
    "empty.json": lambda: b"",
    "truncated.json": lambda: b'[{"role": "user", "content": "x"',
    "claude_odd.jsonl": lambda: b"\n".join(json.dumps(r).encode() for r in [
        {"type": "user", "sessionId": "s", "parentUuid": None, "message": {"role": "user", "content": 5}},
        {"type": "assistant", "sessionId": "s", "parentUuid": "a", "message": {"id": 1, "content": [
            {"type": "tool_use", "id": 7, "name": ["x"], "input": "not an object"}, "a string block"]}},
        {"type": "user", "sessionId": "s", "message": {"content": [{"type": "tool_result", "tool_use_id": 7}]}},
    ]) + b"\n",
    "codex_odd.jsonl": lambda: b"\n".join(json.dumps(r).encode() for r in [
        {"timestamp": 5, "type": "session_meta", "payload": ["not", "a", "dict"]},
        {"timestamp": "x", "type": "response_item", "payload": {"type": "function_call", "call_id": {"a": 1}}},
        {"timestamp": "x", "type": "response_item", "payload": {"type": "function_call_output", "call_id": {"a": 1},
                                                                  "output": {"content": 3}}},
    ]) + b"\n",
    "corrupt.eval": lambda: b"PK\x03\x04header.json" + b"\x00" * 200,
    "sample_odd.eval": lambda: _eval({"messages": {"not": "a list"}}),
    "sample_deep.eval": lambda: _eval(b"[" * 100_000),
    "atif_odd.json": lambda: json.dumps({"schema_version": "ATIF-v1.5", "steps": {"a": 1}}).encode(),
    "swe_odd.traj": lambda: json.dumps({"trajectory": [{"action": 1, "observation": None}], "history": 5,
                                        "info": {"exit_status": ["x"]}}).encode(),
    "openhands_odd.json": lambda: json.dumps([{"id": 1, "source": "agent", "action": "run",
                                               "tool_call_metadata": {"model_response": {"choices": "x"}}}]).encode(),
    "many_bad_results.json": lambda: json.dumps([{"role": "user", "content": "x"}] + [
        {"role": "tool", "tool_call_id": f"c{i}", "content": "orphan"} for i in range(20_000)]).encode(),
}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, "-m", "tui.main", *args], capture_output=True, text=True,
                              timeout=GUARD_S, cwd=cwd, env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    except subprocess.TimeoutExpired:
        pytest.fail(f"agent-tui {' '.join(args)} still running after {GUARD_S} s")


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) <= 1, proc.stderr[-2000:]


COMMANDS = {
    "check": lambda f, out: ["check", str(f)],
    "open": lambda f, out: ["open", str(f), "--snapshot", str(out / "o.svg"), "--size", "100x30"],
    "export": lambda f, out: ["export", str(f), "-o", str(out / "o.html")],
    "compare": lambda f, out: ["compare", str(f), str(f), "--snapshot", str(out / "c.svg"), "--size", "120x30"],
}


@pytest.fixture(scope="module")
def strangers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("strangers")
    for name, make in MALFORMED.items():
        (folder / name).write_bytes(make())
    return folder


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_file_ends_cleanly(strangers: Path, tmp_path: Path, name: str, command: str) -> None:
    root = Path(__file__).resolve().parent.parent
    assert_clean(run(COMMANDS[command](strangers / name, tmp_path), cwd=root))


def test_open_dir_survives_its_worst_files(strangers: Path, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "runs"
    folder.mkdir()
    for name in MALFORMED:
        (folder / name).write_bytes((strangers / name).read_bytes())
    deep = folder
    for _ in range(400):  # a folder nested deeper than any walk should go
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "x.json").write_text("[]")
    jobs = folder / "jobs"
    jobs.mkdir()
    with (jobs / "huge.json").open("wb") as f:  # a 1 GB sparse "record": never read whole
        f.truncate(1 << 30)
    (folder / "good.json").write_text(json.dumps([{"role": "user", "content": "hi"},
                                                  {"role": "assistant", "content": "done"}]))
    proc = run(["open", str(folder), "--snapshot", str(tmp_path / "dir.svg"), "--size", "160x60"], cwd=root)
    assert_clean(proc)
    assert proc.returncode == 0 and "good.json" in (tmp_path / "dir.svg").read_text(encoding="utf-8")
