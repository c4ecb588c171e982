"""Every supported file opens into the same Transcript, gives back its messages exactly, and a file that is
not a transcript fails with one line that names it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.events import (
    AssistantMessage,
    DriverMessage,
    IterationStarted,
    RunFinished,
    RunStarted,
    ToolResult,
)
from agent.transcripts.importers import check_file, open_transcript, transcript_from_messages
from agent.transcripts.transcript import TranscriptError, TranscriptHeader, TranscriptWriter

DATA = Path(__file__).parent / "data"
SAMPLES = ["messages_array.json", "messages_object.json", "mini_swe_agent.traj.json", "bad_order.json"]


def original_messages(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else data["messages"]


def one_line_error(path: Path) -> str:
    with pytest.raises(TranscriptError) as info:
        open_transcript(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path))
    return text


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_round_trip_and_group_by_assistant(name: str) -> None:
    path = DATA / name
    messages = original_messages(path)
    t = open_transcript(path)
    assert t.messages() == messages
    assistants = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    assert len(t.iterations) == len(assistants)
    starts = [e for e in t.events if isinstance(e, IterationStarted)]
    assert [e.request_size for e in starts] == assistants  # the request is everything before the reply
    assert [e.iteration for e in starts] == list(range(1, len(assistants) + 1))
    assert all(e.reflection == "off" for e in starts)
    assert t.request_at(1)[0] == messages[: assistants[0]]


def test_json_array_events() -> None:
    t = open_transcript(DATA / "messages_array.json")
    assert t.header.source == "json-array"
    assert isinstance(t.events[0], RunStarted) and [m["role"] for m in t.events[0].messages] == ["system", "user"]
    assert t.events[0].messages[1]["content"] == [{"type": "text", "text": "Fix add() in calc.py: it subtracts "
                                                   "instead of adding."}]  # content parts kept as they are
    first = t.iterations[0]
    assert first.tool_names == ["read_file", "run_tests"]
    assert [r.tool_call_id for r in first.results] == ["call_test_1", "call_read_1"]
    read = first.results[1]
    assert (read.name, read.arguments, read.is_error) == ("read_file", '{"path": "calc.py"}', False)
    assert read.content.startswith("def add(a, b):")
    [note] = first.others
    assert isinstance(note, DriverMessage) and note.kind == "note" and note.message["role"] == "system"
    assert t.iterations[-1].assistant is not None and not t.iterations[-1].results


def test_messages_object_keeps_extra_keys_in_settings() -> None:
    t = open_transcript(DATA / "messages_object.json")
    assert t.header.source == "messages-object"
    assert t.header.model == "qwen2.5-coder-7b-instruct"
    assert t.header.settings["info"]["provider"] == "llama-cpp"
    assert "messages" not in t.header.settings
    assert len(t.iterations[0].results) == 3
    observation = t.iterations[1].others[0]
    assert isinstance(observation, DriverMessage) and observation.kind == "observation"


def test_mini_swe_agent_trajectory() -> None:
    path = DATA / "mini_swe_agent.traj.json"
    t = open_transcript(path)
    assert t.header.source == "mini-swe-agent"
    assert t.header.model == "anthropic/claude-sonnet-4-5-20250929"
    assert t.header.settings["info"]["mini_version"] == "2.0.0"
    assert "add() in calc.py" in t.header.goal
    kinds = [e.kind for e in t.events if isinstance(e, DriverMessage)]
    assert kinds == ["observation", "observation", "observation", "exit"]
    exit_event = t.events[-2]
    assert isinstance(exit_event, DriverMessage) and exit_event.iteration == 4
    assert t.messages()[-1] == original_messages(path)[-1]  # the non-chat `exit` message is kept as is
    finished = t.finished
    assert isinstance(finished, RunFinished)
    assert (finished.reason, finished.detail, finished.iterations) == ("finished", "Submitted", 4)
    assert finished.summary and finished.summary.startswith("diff --git")
    assert "```bash\nls -la\n```" in t.iterations[0].assistant.message["content"]


def test_mini_swe_agent_with_tool_calls_and_limits(tmp_path: Path) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}}
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": "THOUGHT: look", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "<returncode>0</returncode>\n<output>\na.py\n</output>"},
        {"role": "exit", "content": "", "extra": {"exit_status": "LimitsExceeded", "submission": ""}},
    ]
    path = tmp_path / "run.traj.json"
    path.write_text(json.dumps({"info": {"exit_status": "LimitsExceeded", "config": {"model": {"model_name": "m"}}},
                                "messages": messages}))
    report = check_file(path)
    t, violations = report.transcript, report.violations
    assert t.messages() == messages and violations == []
    assert t.header.source == "mini-swe-agent" and t.finished and t.finished.reason == "max_steps"
    [result] = t.iterations[0].results
    assert (result.name, result.arguments) == ("bash", '{"command": "ls"}')


def test_dispatch_is_by_content_not_extension(tmp_path: Path) -> None:
    messages = original_messages(DATA / "messages_array.json")
    odd = tmp_path / "history.log"
    odd.write_text(json.dumps(messages))
    assert open_transcript(odd).messages() == messages
    compact = tmp_path / "object.jsonl"
    compact.write_text(json.dumps({"messages": messages}))
    assert open_transcript(compact).header.source == "messages-object"


def our_jsonl(path: Path) -> list[dict[str, Any]]:
    t = transcript_from_messages(original_messages(DATA / "messages_array.json"), "json-array")
    with TranscriptWriter(path, TranscriptHeader(model="offline", goal="fix add")) as writer:
        for event in t.events:
            writer.write(event)
    return t.messages()


def test_our_jsonl_round_trips_whatever_the_name(tmp_path: Path) -> None:
    path = tmp_path / "run.json"  # our JSONL under a misleading extension
    messages = our_jsonl(path)
    t = open_transcript(path)
    assert t.header.model == "offline" and t.header.source is None
    assert t.messages() == messages and t.warnings == []
    assert len(t.iterations) == 4


def test_header_only_jsonl_is_an_empty_transcript(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    TranscriptWriter(path, TranscriptHeader(goal="g")).close()
    t = open_transcript(path)
    assert t.header.goal == "g" and t.events == []


def test_torn_last_line_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    messages = our_jsonl(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines) + "\n" + lines[-1][: len(lines[-1]) // 2])
    t = open_transcript(path)
    assert t.messages() == messages
    [warning] = t.warnings
    assert f"{path}:{len(lines) + 1}:" in warning and "torn" in warning


def test_bad_middle_line_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    our_jsonl(path)
    lines = path.read_text().splitlines()
    lines[2] = '{"type": "assistant_message", "iteration": "x"}'
    path.write_text("\n".join(lines) + "\n")
    assert f"{path}:3: bad event line" in one_line_error(path)


@pytest.mark.parametrize("content, expected", [
    ("hello, this is a note\n", "not a transcript: expected agent-tui JSONL, a JSON array of chat messages, "
                                '{"messages": [...]}, or a log of Inspect AI'),
    ('{"a": 1}\n{"b": 2}\n', "not a transcript: expected agent-tui JSONL"),
    ("42", "not a transcript: expected agent-tui JSONL"),
    ('[{"role": "user", "content": "x"}, {"content": "no role"}]', 'item 1 is not a chat message (no "role")'),
    ('[1, 2]', 'item 0 is not a chat message (not an object)'),
    ('{"messages": [{"text": "x"}], "info": {}}', 'messages item 0 is not a chat message (no "role")'),
    ('{"info": {"exit_status": "Submitted"}}', 'a JSON object without a "messages" list'),
    ('[{"role": "user",\n  "content": "x"', "invalid JSON at line 2"),
    ("", "empty file"),
])
def test_not_a_transcript_is_one_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "x.txt"
    path.write_text(content)
    assert expected in one_line_error(path)


def test_binary_missing_and_directory(tmp_path: Path) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in one_line_error(binary)
    assert one_line_error(tmp_path / "nope.json") == f"{tmp_path / 'nope.json'}: no such file"
    assert "is a directory" in one_line_error(tmp_path)


def test_transcript_from_messages_edge_cases() -> None:
    orphan_first = [{"role": "tool", "tool_call_id": "c0", "content": None}, {"role": "user", "content": "u"}]
    t = transcript_from_messages(orphan_first, "json-array", {"model": "m", "task": None})
    assert t.messages() == orphan_first and t.iterations == [] and t.header.model == "m"
    assert isinstance(t.events[0], RunStarted) and len(t.events) == 1
    weird = [{"role": "user", "content": "u"},
             {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {"k": 1}}}]},
             {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
             {"role": "tool", "tool_call_id": "c9", "name": "legacy", "content": "x"},
             {"role": "function", "name": "f", "content": "old style"}]
    t = transcript_from_messages(weird, "json-array")
    assert t.messages() == weird
    r1, r2 = t.iterations[0].results
    assert (r1.name, r1.arguments, r1.content) == ("f", '{"k": 1}', "a\nb")
    assert (r2.name, r2.tool_call_id) == ("legacy", "c9")
    assert [e.kind for e in t.events if isinstance(e, DriverMessage)] == ["function"]
    assert isinstance(t.events[2], AssistantMessage) and isinstance(t.events[3], ToolResult)


def test_check_file_reports_violations_and_skips_exit(tmp_path: Path) -> None:
    violations = check_file(DATA / "bad_order.json").violations
    assert [(v.index, v.rule) for v in violations] == [(2, "missing-result"), (4, "note-inside-batch"),
                                                       (5, "orphan-result"), (7, "orphan-result")]
    for name in ("messages_array.json", "messages_object.json", "mini_swe_agent.traj.json"):
        assert check_file(DATA / name).violations == [], name
    copy = tmp_path / "copy.traj.json"
    shutil.copy(DATA / "mini_swe_agent.traj.json", copy)
    assert check_file(copy).transcript.header.source == "mini-swe-agent"
