"""Hostile files given to `check` and `open`: each one line on stderr and exit 2, never a traceback or a hang.

Devices and FIFOs are opened by a child process with a time limit, so that a regression fails here instead
of hanging the session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.events import AssistantMessage, IterationStarted, RunFinished, RunStarted, ToolResult, Usage
from agent.cli import commands as cli
from agent.transcripts.importers import check_file
from agent.transcripts.runs import discover_runs, summarize_file
from agent.transcripts.transcript import TranscriptError, TranscriptHeader, TranscriptTail, TranscriptWriter

REPO = Path(__file__).resolve().parent.parent
GOAL = {"role": "user", "content": "g"}


def child(*argv: str) -> subprocess.CompletedProcess[str]:
    """`agent-tui ARGV` in a child process (the entry point the script runs), at most a minute."""
    return subprocess.run([sys.executable, "-c", "import sys; from tui.main import main; sys.exit(main())", *argv],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agent-tui: ") and "Traceback" not in err, err
    return lines[0]


def check_fails(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(["check", str(path)]) == 2
    out, err = capsys.readouterr()
    return one_line(err)


# --- tool_calls that are not a list of objects ----------------------------------------------------------------


@pytest.mark.parametrize(("calls", "said"), [
    ("abc", '"tool_calls" that is a string, not a list'),
    ({"id": "a"}, '"tool_calls" that is an object, not a list'),
    (5, '"tool_calls" that is a number, not a list'),
    ([1, 2], "tool_calls[0] that is a number, not an object"),
    ([{"id": "a", "function": "read_file"}], "tool_calls[0].function that is a string, not an object"),
    ([{"id": "a", "function": {"name": 5, "arguments": "{}"}}], "tool_calls[0].function.name that is a number"),
    ([{"id": 7, "function": {"name": "x", "arguments": "{}"}}], "tool_calls[0].id that is a number"),
])
def test_tool_calls_that_are_not_a_list_of_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  calls: Any, said: str) -> None:
    bad = {"role": "assistant", "content": None, "tool_calls": calls}
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps([GOAL, bad]))
    assert f"item 1 has {said}" in check_fails(as_list, capsys)
    as_jsonl = tmp_path / "run.jsonl"  # the same message inside our own format
    with TranscriptWriter(as_jsonl, TranscriptHeader()) as w:
        w.write(RunStarted(messages=[GOAL]))
        w.write(AssistantMessage(iteration=1, message=bad))
        w.write(RunFinished(reason="finished"))
    line = check_fails(as_jsonl, capsys)
    assert f"run.jsonl:3: bad assistant_message event: its message has {said}" in line
    assert "run.jsonl:3: bad assistant_message" in one_line(child("open", str(as_jsonl), "--snapshot",
                                                                  str(tmp_path / "x.svg")).stderr)


# --- nesting without end --------------------------------------------------------------------------------------


def test_a_followed_file_refuses_a_malformed_event_appended(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    with TranscriptWriter(path, TranscriptHeader()) as w:
        w.write(RunStarted(messages=[GOAL]))
    tail = TranscriptTail(path, path.stat().st_size)
    with TranscriptWriter(path, TranscriptHeader()) as w:
        w.write(AssistantMessage(iteration=1, message={"role": "assistant", "content": None, "tool_calls": "abc"}))
    with pytest.raises(TranscriptError, match='bad assistant_message event appended: its message has "tool_calls"'):
        tail.read()


def test_json_nested_1000_deep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "[" * 1000 + "]" * 1000
    document = tmp_path / "deep.json"
    document.write_text(deep)
    assert "JSON nested too deeply" in check_fails(document, capsys)
    content = tmp_path / "content.json"
    content.write_text(json.dumps([GOAL])[:-1] + ', {"role": "assistant", "content": ' + deep + "}]")
    assert "JSON nested too deeply" in check_fails(content, capsys)
    header = tmp_path / "header.jsonl"
    header.write_text('{"type": "header", "settings": {"a": ' + deep + "}}\n")
    assert "header.jsonl" in check_fails(header, capsys)
    event = tmp_path / "event.jsonl"
    event.write_text(TranscriptHeader().model_dump_json() + "\n" + json.dumps(
        {"type": "driver_message", "iteration": 0, "kind": "x", "message": {"role": "user", "content": []}})[:-2]
        + deep + "}}\n" + RunFinished(reason="finished").model_dump_json() + "\n")
    assert "event.jsonl:2: bad event line" in check_fails(event, capsys)


def test_a_message_nested_below_the_parsers_limit_is_refused_too(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    nested: Any = "x"
    for _ in range(100):
        nested = [nested]
    path = tmp_path / "run.jsonl"
    with TranscriptWriter(path, TranscriptHeader()) as w:
        w.write(RunStarted(messages=[{"role": "user", "content": nested}]))
        w.write(RunFinished(reason="finished"))
    assert "run.jsonl:2: bad run_started event: messages[0] nests more than 64 levels deep" in check_fails(path, capsys)


def test_the_runs_picker_survives_deep_json_fifos_and_devices(tmp_path: Path) -> None:
    """A folder of runs with a header nested 1,000 deep, FIFOs and a link to /dev/zero among them: listed
    at once (a FIFO opened for reading would block for good), the good run kept, the rest counted."""
    deep = "[" * 1000 + "]" * 1000
    (tmp_path / "deep.jsonl").write_text('{"type": "header", "x": ' + deep + "}\n")
    os.mkfifo(tmp_path / "fifo.jsonl")
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "deep.json").write_text(deep)
    os.mkfifo(tmp_path / "jobs" / "fifo.json")
    good = tmp_path / "good.jsonl"
    with TranscriptWriter(good, TranscriptHeader()) as w:
        w.write(RunStarted(messages=[GOAL]))
        w.write(RunFinished(reason="finished"))
    runs = discover_runs(tmp_path)
    assert [e.path for e in runs.entries] == [good] and summarize_file(runs.entries[0]).reason == "finished"
    assert runs.skipped["no-header"] == 1 and runs.skipped["unreadable"] == 3


# --- files that are not regular -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "open"])
@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "fifo"])
def test_devices_and_fifos_are_refused_at_once(tmp_path: Path, command: str, target: str) -> None:
    path = Path(target)
    if target == "fifo":
        path = tmp_path / "run.jsonl"
        os.mkfifo(path)
    done = child(command, str(path))
    kind = "a FIFO" if target == "fifo" else "a character device"
    assert done.returncode == 2
    assert one_line(done.stderr) == f"agent-tui: {path}: is {kind}; only regular files are read"


# --- values that cannot be right ------------------------------------------------------------------------------


def test_impossible_values_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.jsonl"
    call = {"id": "c1", "type": "function", "function": {"name": "list_files", "arguments": "{}"}}
    events = [
        RunStarted(messages=[{"role": "system", "content": "s"}, GOAL]),
        IterationStarted(iteration=1, request_size=-2),
        AssistantMessage(iteration=1, message={"role": "assistant", "content": None, "tool_calls": [call]},
                         latency_s=float("nan"), usage=Usage(prompt_tokens=-5)),
        ToolResult(iteration=1, tool_call_id="c9", name="list_files", content="a.py", duration_s=-1.0,
                   message={"role": "tool", "tool_call_id": "c1", "content": "a.py"}),
        RunFinished(reason="finished", iterations=1, ts=float("nan")),
    ]
    # json.dumps writes NaN as NaN (pydantic would write null), as another tool's writer may
    path.write_text("\n".join([TranscriptHeader().model_dump_json(), *(json.dumps(e.model_dump()) for e in events)])
                    + "\n")
    assert cli.main(["check", str(path)]) == 0  # the history itself is in order
    out, _ = capsys.readouterr()
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {path}:3: iteration_started: request_size is -2",
        f"warning: {path}:4: assistant_message: latency_s is nan",
        f"warning: {path}:5: tool_result: tool_call_id 'c9' differs from its message's tool_call_id 'c1'",
        f"warning: {path}:6: run_finished: ts is nan",
    ]
    assert len(check_file(path).transcript.warnings) == 4


def test_a_header_with_an_impossible_time_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"type": "header", "created": NaN}\n')
    assert "the header's created time is nan" in check_fails(path, capsys)
    with pytest.raises(TranscriptError):
        check_file(path)
