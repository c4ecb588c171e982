"""Other tools' files, as their tools (or their readers' maintainers) wrote them (tests/data/*/, see
FORMATS-README.md): each opens by its content, its calls are linked to their results, the ordering check,
the error marks, the request view and the export work on it, and what Chat Completions has no message for
is shown, not dropped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.display.errors import event_mark
from agent.events import AssistantMessage, DriverMessage, ToolResult
from agent.transcripts.export import export_transcript
from agent.transcripts.formats.history import ORIGINAL
from agent.transcripts.importers import check_file, open_transcript, sessions_of
from agent.transcripts.store import TranscriptModel
from agent.transcripts.transcript import TranscriptError

DATA = Path(__file__).parent / "data"
CODEX = DATA / "codex" / "rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl"
FILES = {
    "inspect-ai": DATA / "inspect_ai" / "log_message_deduplication.eval",
    "claude-code": DATA / "claude_code" / "tool_call_conversation.jsonl",
    "codex": CODEX,
    "atif": DATA / "atif" / "openhands_hello-world.trajectory.json",
    "swe-agent": DATA / "swe_agent" / "6e44b9__sweagenttestrepo-1c2844.traj",
    "openhands": DATA / "openhands" / "basic.json",
}


def results_linked(transcript) -> list[ToolResult]:
    """Every result answers a call made before it, and carries that call's tool name and arguments."""
    calls = {}
    results = []
    for event in transcript.events:
        if isinstance(event, AssistantMessage):
            for call in event.message.get("tool_calls") or ():
                calls[call["id"]] = call["function"]
        elif isinstance(event, ToolResult):
            fn = calls[event.tool_call_id]
            assert (event.name, event.arguments) == (fn["name"], fn["arguments"])
            results.append(event)
    return results


@pytest.mark.parametrize("source", FILES)
def test_each_format_opens_by_content_checks_and_exports(source: str, tmp_path: Path) -> None:
    path = tmp_path / "renamed.data"  # by content, not by name
    shutil.copy(FILES[source], path)
    transcript = open_transcript(path)
    assert transcript.header.source == source
    assert results_linked(transcript)
    report = check_file(path)
    assert report.violations == []
    first = next(e.iteration for e in transcript.events if isinstance(e, AssistantMessage))
    request, _ = transcript.request_at(first)
    assert request and request[-1]["role"] in ("user", "system", "tool", "thinking", "reasoning")
    exported = json.loads(export_transcript(transcript, "json", redact=False).text)
    assert exported and all(ORIGINAL not in m and m["role"] in ("system", "user", "assistant", "tool")
                            for m in exported)
    assert "<html" in export_transcript(transcript, "html").text


@pytest.mark.parametrize("source", FILES)
def test_opened_in_steps_reads_the_same(source: str) -> None:
    whole = open_transcript(FILES[source])
    stepped = open_transcript(FILES[source], in_steps=True)
    reader = stepped.rest
    assert reader is not None and stepped.events == []
    while not reader.done:
        reader.read(200)
    assert reader.error is None and stepped.messages() == whole.messages()


def test_inspect_eval_converts_calls_keeps_originals_and_shows_the_score() -> None:
    t = open_transcript(FILES["inspect-ai"])
    assert t.header.model == "hardcoded/hardcoded" and t.header.goal == "Guess the number"
    call = t.iterations[0].assistant.message["tool_calls"][0]
    assert call["function"] == {"name": "bash", "arguments": '{"cmd": "ls"}'}
    assert t.iterations[0].assistant.message[ORIGINAL]["tool_calls"][0]["arguments"] == {"cmd": "ls"}
    [score] = [e for e in t.events if isinstance(e, DriverMessage) and e.kind == "score"]
    assert "closeness_log: 0.0" in score.message["content"]
    assert t.finished is not None and t.finished.reason == "finished" and t.finished.tests_passed is False


def test_inspect_tool_errors_are_marked(tmp_path: Path) -> None:
    log = json.loads((DATA / "inspect_ai" / "log_tool_call_error.json").read_text())
    sample = log["samples"][0]
    # The log's results answer calls it does not hold: put the call before them, as Inspect writes one.
    calls = [{"id": m["tool_call_id"], "function": "bash", "arguments": {"cmd": "ls"}, "type": "function"}
             for m in sample["messages"]]
    sample["messages"].insert(0, {"role": "assistant", "content": "", "tool_calls": calls})
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log))
    assert check_file(path).violations == []
    t = open_transcript(path)
    results = [e for e in t.events if isinstance(e, ToolResult)]
    assert len(results) == 11 and all(r.is_error and event_mark(r).label == "error" for r in results)
    assert "error (timeout)" in results[1].content
    model = TranscriptModel()
    model.extend(t.events)
    assert sum(len(b.marks) for b in model.blocks) == 11


def test_an_inspect_log_of_many_samples_lists_them_and_opens_one() -> None:
    log = DATA / "inspect_ai" / "popularity_10_samples.eval"
    sessions = sessions_of(log)
    assert sessions is not None and [s.member for s in sessions][:3] == ["1_epoch_1", "2_epoch_1", "3_epoch_1"]
    assert len(sessions) == 10 and all(s.model == "openai/gpt-4o-mini" and s.reason == "finished" for s in sessions)
    with pytest.raises(TranscriptError, match="an Inspect log of 10 samples: name one"):
        open_transcript(log)
    one = open_transcript(f"{log}#3")
    assert one.header.settings["inspect"]["sample"] == "3_epoch_1" and one.finished is not None
    with pytest.raises(TranscriptError, match="no sample 99"):
        open_transcript(f"{log}#99")


def test_claude_code_joins_blocks_and_shows_thinking_and_sub_agents(tmp_path: Path) -> None:
    t = open_transcript(FILES["claude-code"])
    assert t.header.model == "claude-opus-4-5-20251101" and t.header.workspace == "/Users/test/project"
    reply = t.iterations[0].assistant
    assert reply.message["content"] == "I'll read the README file for you."
    assert reply.message["tool_calls"][0]["function"]["name"] == "Read"
    assert reply.usage.prompt_tokens == 350 and reply.usage.completion_tokens == 50
    thinking = [e for e in t.iterations[0].others if e.kind == "thinking"]
    assert thinking and "use the Read tool" in thinking[0].message["content"]
    # A sub-agent's records inside the main file are shown in their place, apart from the main history.
    main = (DATA / "claude_code" / "agent_session.jsonl").read_text().splitlines()
    sub = [json.loads(line) | {"isSidechain": True} for line in
           (DATA / "claude_code" / "agent-atest01.jsonl").read_text().splitlines()]
    mixed = tmp_path / "session.jsonl"
    mixed.write_text("\n".join(main[:2] + [json.dumps(r) for r in sub] + main[2:]) + "\n")
    report = check_file(mixed)
    assert report.violations == []
    asides = [e for e in report.transcript.events if isinstance(e, DriverMessage) and e.kind == "sub-agent"]
    assert len(asides) == len(sub)
    # The sub-agent's own file is a conversation of its own.
    assert len(open_transcript(DATA / "claude_code" / "agent-atest01.jsonl").iterations) == 2


def test_codex_joins_calls_to_outputs_and_shows_reasoning() -> None:
    t = open_transcript(CODEX)
    assert (t.header.model, t.header.goal) == ("synthetic-model", "List the synthetic files.")
    names = [r.name for r in t.events if isinstance(r, ToolResult)]
    assert names == ["exec_command", "apply_patch", "mcp__synthetic__lookup"]
    [reasoning] = [e for e in t.events if isinstance(e, DriverMessage) and e.kind == "reasoning"]
    assert reasoning.message["content"] == "I will inspect the synthetic directory."
    assert "SYNTHETIC_ENCRYPTED" not in json.dumps(export_transcript(t, "json").text)


def test_swe_agent_and_openhands_endings() -> None:
    swe = open_transcript(FILES["swe-agent"])
    assert swe.finished.reason == "finished" and swe.finished.detail == "submitted"
    assert swe.finished.usage.prompt_tokens == 7141
    oh = open_transcript(FILES["openhands"])
    assert oh.header.model == "claude-3-5-sonnet-20241022" and oh.finished.reason == "finished"
    assert oh.iterations[0].assistant.message["content"].startswith("I'll help you create a simple 2048 game")


def test_a_folder_lists_every_format_and_each_sample_of_a_log() -> None:
    from agent.transcripts.runs import discover_runs, summarize_file

    runs = discover_runs(DATA)
    labels = [e.label for e in runs.entries]
    for path in FILES.values():
        if path.suffix != ".eval":
            assert path.relative_to(DATA).as_posix() in labels
    samples = [label for label in labels if label.startswith("inspect_ai/popularity_10_samples.eval#")]
    assert samples[0].endswith("#1_epoch_1") and samples[-1].endswith("#10_epoch_1") and len(samples) == 10
    by_label = {e.label: e for e in runs.entries}
    sample = by_label["inspect_ai/log_message_deduplication.eval#0_epoch_1"]
    assert sample.loaded and sample.model == "hardcoded/hardcoded" and sample.detail == "score: closeness_log 0.0"
    assert open_transcript(sample.path).header.source == "inspect-ai"  # each listed sample opens
    claude = summarize_file(by_label["claude_code/tool_call_conversation.jsonl"])
    assert (claude.imported_from, claude.model, claude.iterations) == ("claude-code", "claude-opus-4-5-20251101", 2)
    assert claude.size == FILES["claude-code"].stat().st_size and claude.created is not None
