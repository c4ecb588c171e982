"""The JSONL transcript: appended per event, readable after a kill at any byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.events import AssistantMessage, IterationStarted, RunStarted, ToolResult
from agent.transcripts.transcript import TranscriptError, TranscriptHeader, TranscriptWriter, parse_jsonl
from agent.transcripts.importers import open_transcript


def write_sample(path: Path, iterations: int = 3) -> None:
    with TranscriptWriter(path, TranscriptHeader(task="t", provider="scripted", model="m")) as w:
        w.write(RunStarted(messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "g"}]))
        size = 2
        for i in range(1, iterations + 1):
            w.write(IterationStarted(iteration=i, request_size=size))
            msg = {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"c{i}", "type": "function", "function": {"name": "list_files", "arguments": "{}"}}]}
            w.write(AssistantMessage(iteration=i, message=msg))
            w.write(ToolResult(iteration=i, tool_call_id=f"c{i}", name="list_files", content="a.py",
                               message={"role": "tool", "tool_call_id": f"c{i}", "content": "a.py"}))
            size += 2


def test_round_trip_and_request_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_sample(path)
    t = open_transcript(path)
    assert t.header.task == "t" and len(t.iterations) == 3 and t.warnings == []
    request, previous = t.request_at(3)
    assert len(request) == 6 and previous == 4
    assert [m["role"] for m in request] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert "api_key" not in path.read_text()


def test_every_cut_point_loads_with_complete_iterations(tmp_path: Path) -> None:
    """Simulates a kill at every byte: what was fully written always loads, a torn tail is a warning."""
    path = tmp_path / "t.jsonl"
    write_sample(path)
    data = path.read_bytes()
    header_end = data.index(b"\n") + 1
    previous = 0
    for cut in range(header_end, len(data) + 1):
        t = parse_jsonl(data[:cut].decode(), "cut")
        complete = sum(1 for it in t.iterations if it.results)
        assert complete >= previous
        previous = complete
        if t.warnings:  # only a line without its newline can be torn
            assert not data[:cut].endswith(b"\n")
    assert previous == 3


def test_torn_last_line_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_sample(path)
    path.write_bytes(path.read_bytes()[:-25])
    t = open_transcript(path)
    assert len(t.warnings) == 1 and "torn" in t.warnings[0]
    assert len([it for it in t.iterations if it.results]) == 2


def test_bad_middle_line_names_its_number(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_sample(path)
    lines = path.read_text().splitlines()
    lines[3] = '{"type": "assistant_message", "oops": 1}'
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TranscriptError, match=r"t.jsonl:4: bad event line"):
        open_transcript(path)


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="no such file"):
        open_transcript(tmp_path / "nope.jsonl")
    other = tmp_path / "x.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(TranscriptError, match=r'x.jsonl: not a transcript: a JSON object without a "messages" list'):
        open_transcript(other)


def test_a_file_cut_inside_its_header_says_so(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    TranscriptWriter(whole, TranscriptHeader(task="t", provider="scripted", model="m", goal="g" * 400)).close()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(TranscriptError, match=r"cut.jsonl:1: the header line is cut off: the file ends inside "
                                              r"it, after 200 bytes"):
        open_transcript(cut)


def test_a_run_killed_with_sigkill_leaves_a_readable_file(tmp_path: Path) -> None:
    """A real process, killed mid-run: every completed iteration on disk loads."""
    out = tmp_path / "killed.jsonl"
    script = tmp_path / "slow.json"
    # many slow iterations: each runs a test command that sleeps, so the kill lands mid-run
    import json

    step = {"role": "assistant", "content": "again", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "run_tests", "arguments": "{}"}}]}
    steps = [dict(step, tool_calls=[dict(step["tool_calls"][0], id=f"c{i}")]) for i in range(50)]
    script.write_text(json.dumps(steps))
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "--headless", "--task", "quicksort", "--script", str(script),
         "--test-cmd", "sleep 0.05", "--reflection", "off", "--max-steps", "50", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)
    deadline = time.time() + 30
    while time.time() < deadline:
        if out.exists() and out.read_text().count('"tool_result"') >= 4:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    t = open_transcript(out)
    done = [it for it in t.iterations if it.results]
    assert len(done) >= 4
    assert t.finished is None  # killed: no closing line, and that is fine
