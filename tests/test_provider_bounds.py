"""Bounds on what a provider sends, each reproduced by a loopback double (tests/loopback.py): a server that
takes forever a byte at a time, a stream that is all keep-alives, a reply too large, too many calls, and
replies of the wrong shape. Each ends with a line naming what happened and what to change, never a
traceback, and the transcript stays one that `agent-tui check` reads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agent.events import AssistantMessage, Notice, RunFinished, ToolResult
from agent.models.streaming import sse_body, sse_chunks
from agent.cli import commands as cli
from agent.run.runner import RunOptions, build_run
from agent.transcripts.importers import open_transcript
from tests.conftest import call, reply
from tests.loopback import LoopbackServer, chunk_of, dripping, endless_calls, endless_text, keepalives, sse

SCRIPT = json.loads((Path(__file__).parent.parent / "agent/tasks/taskdata/quicksort/script.json").read_text())

GUARD_S = 120
"""A run that does not end by then fails its test instead of hanging the suite (without the bounds, these
runs go on for many minutes); it is no measure of speed."""


def headless(server: LoopbackServer, out: Path, *flags: str) -> list[str]:
    return ["run", "--headless", "--provider", "vllm", "--base-url", server.base_url, "--model", "loopback",
            "--reflection", "off", "--out", str(out), *flags]


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agent-tui: ") and "Traceback" not in err, err
    return lines[0]


def checks_clean(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`agent-tui check` reads the transcript and finds nothing wrong."""
    capsys.readouterr()
    assert cli.main(["check", str(path)]) == 0, capsys.readouterr()
    assert "ordering clean" in capsys.readouterr().out


def run_events(server: LoopbackServer, tmp_path: Path, **kw: Any) -> tuple[Any, list[Any]]:
    kw.setdefault("reflection", "off")
    run = build_run(RunOptions(task="quicksort", provider="vllm", base_url=server.base_url, model="loopback",
                               out=tmp_path / "run.jsonl", **kw))

    async def collect() -> list[Any]:
        async with asyncio.timeout(GUARD_S):
            return [event async for event in run.events()]

    try:
        return run, asyncio.run(collect())
    finally:
        run.release_workspace()


def notices(events: list[Any]) -> list[str]:
    return [e.text for e in events if isinstance(e, Notice)]


def whole_body(message: dict[str, Any]) -> bytes:
    """An unstreamed completion of `message`."""
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "loopback",
                       "choices": [{"index": 0, "message": message, "finish_reason": finish}]}).encode()


# --- a deadline over the whole request -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_a_server_dripping_a_byte_at_a_time_is_stopped_at_the_request_deadline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], stream: bool) -> None:
    # a byte every 0.2 s never trips the SDK's per-read timeout of 0.5 s; the reply would take minutes
    body = sse_body(sse_chunks(SCRIPT[0], model="loopback")) if stream else whole_body(SCRIPT[0])
    kind = "text/event-stream" if stream else "application/json"
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT, produce=lambda n, b: (kind, dripping(body, 0.2, 10)) if n == 1 else None) as server:
        code = cli.main(headless(server, out, "--stream" if stream else "--no-stream",
                                 "--timeout", "0.5", "--max-retries", "1"))
    _, err = capsys.readouterr()
    line = one_line_error(err)
    assert code == 2 and "had not finished its reply 2.5 s after the request was sent" in line
    assert "--timeout 0.5 x (1 + --max-retries 1), the waits between retries and 1 s)" in line
    assert "raise --timeout to wait longer" in line
    assert len(server.requests) == 1  # no retry layer on top of the SDK's
    assert open_transcript(out).finished.reason == "provider_error"
    checks_clean(out, capsys)


def test_a_stream_of_keepalives_only_is_stopped_at_the_request_deadline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT, produce=lambda n, b: ("text/event-stream", keepalives(0.1, 10))) as server:
        code = cli.main(headless(server, out, "--stream", "--timeout", "1", "--max-retries", "0"))
    _, err = capsys.readouterr()
    line = one_line_error(err)
    assert code == 2 and "had not finished its reply 2 s after the request was sent" in line
    assert "--timeout 1 x (1 + --max-retries 0) and 1 s);" in line
    assert len(server.requests) == 1
    checks_clean(out, capsys)


class SlowGate:
    """A request gate whose every token comes only after a while (other runs hold them)."""

    def __init__(self, wait: float) -> None:
        self.wait, self.acquired = wait, 0

    async def acquire(self) -> None:
        await asyncio.sleep(self.wait)
        self.acquired += 1

    def release(self) -> None:
        pass


def test_waiting_for_a_turn_at_a_shared_gate_is_not_counted_against_the_deadline(tmp_path: Path) -> None:
    gate = SlowGate(3.0)  # twice the deadline of 1.5 s (0.5 s and the slack), for each request
    with LoopbackServer(SCRIPT) as server:
        _, events = run_events(server, tmp_path, timeout=0.5, max_retries=0, request_gate=gate, max_steps=2)
    assert gate.acquired == 2 and len(server.requests) == 2
    assert events[-1].reason == "max_steps", events[-1].detail


# --- caps on a reply --------------------------------------------------------------------------------------------


def test_a_50_mb_stream_is_cut_at_the_reply_limit_and_the_turn_ends(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    total = 50_000_000
    with LoopbackServer(SCRIPT, produce=lambda n, b: ("text/event-stream", endless_text(total)) if n == 1
                        else None) as server:
        run, events = run_events(server, tmp_path, stream=True)
    said = ("the reply passed 1,000,000 characters (--max-reply-chars 1000000): it was cut there and the rest not "
            "read")
    assert f"{said}: it called no tool" in notices(events)
    first = next(e for e in events if isinstance(e, AssistantMessage))
    assert first.cut == said and len(first.message["content"]) == 1_000_000
    assert server.produced < total // 2  # agent-tui stopped reading: the server could not send the rest
    assert run.path.stat().st_size < 3_000_000  # the transcript holds the reply up to the limit, once
    done = events[-1]
    assert isinstance(done, RunFinished) and done.reason == "finished" and done.tests_passed  # the run went on
    checks_clean(run.path, capsys)


def test_100000_streamed_tool_calls_are_cut_at_the_call_limit(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT, produce=lambda n, b: ("text/event-stream", endless_calls(100_000)) if n == 1
                        else None) as server:
        cli.main(headless(server, out, "--stream", "--max-tool-calls", "5", "--max-steps", "2"))
    printed, err = capsys.readouterr()
    assert "Traceback" not in err
    said = "the reply had more than 5 tool calls (--max-tool-calls 5): the first 5 were kept and the rest not read"
    assert said in printed
    transcript = open_transcript(out)
    first = next(e for e in transcript.events if isinstance(e, AssistantMessage))
    assert first.cut == said and [c["id"] for c in first.message["tool_calls"]] == [f"call_{i}" for i in range(5)]
    results = [e for e in transcript.events if isinstance(e, ToolResult) and e.iteration == 1]
    assert [r.tool_call_id for r in results] == [f"call_{i}" for i in range(5)]  # each kept call answered
    assert server.produced < 100_000 * 150 // 2  # the rest was never read
    checks_clean(out, capsys)


def test_an_unstreamed_reply_meets_the_same_limits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [call(f"c{i}", "list_files", path=".") for i in range(4)]
    script = [reply("x" * 5000, *calls), *SCRIPT]
    out = tmp_path / "run.jsonl"
    with LoopbackServer(script) as server:
        cli.main(headless(server, out, "--no-stream", "--max-tool-calls", "2", "--max-steps", "1"))
    printed, _ = capsys.readouterr()
    assert "the reply had more than 2 tool calls (--max-tool-calls 2)" in printed
    first = next(e for e in open_transcript(out).events if isinstance(e, AssistantMessage))
    assert [c["id"] for c in first.message["tool_calls"]] == ["c0", "c1"]
    with LoopbackServer(script) as server:
        cli.main(headless(server, out, "--no-stream", "--max-reply-chars", "3000", "--max-steps", "1"))
    printed, _ = capsys.readouterr()
    said = "the reply passed 3,000 characters (--max-reply-chars 3000): it was cut there and the rest not read"
    assert f"{said}: it called no tool" in printed
    first = next(e for e in open_transcript(out).events if isinstance(e, AssistantMessage))
    assert first.message["content"] == "x" * 3000 and "tool_calls" not in first.message
    checks_clean(out, capsys)


def test_calls_written_as_text_meet_the_call_limit(tmp_path: Path) -> None:
    text = "\n".join(f'<tool_call>{{"name": "list_files", "arguments": {{"path": "{i}"}}}}</tool_call>'
                     for i in range(50))
    with LoopbackServer([{"role": "assistant", "content": text}, *SCRIPT], step_by="count") as server:
        _, events = run_events(server, tmp_path, tool_calls="auto", max_tool_calls=3, max_steps=1)
    first = next(e for e in events if isinstance(e, AssistantMessage))
    assert len(first.message["tool_calls"]) == 3 and first.raw_content == text
    assert first.cut == ("the reply had more than 3 tool calls (--max-tool-calls 3): the first 3 were kept and "
                         "the rest not read")


# --- replies of the wrong shape ---------------------------------------------------------------------------------


def _bad_call(**function: Any) -> dict[str, Any]:
    return {"id": "c1", "type": "function", "function": {"name": "list_files", "arguments": "{}", **function}}


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("bad", "field", "got"), [
    ({**_bad_call(), "id": 123}, "tool_calls[0].id", "got 123"),
    (_bad_call(name=["list_files"]), "tool_calls[0].function.name", "got ['list_files']"),
    (_bad_call(arguments=7), "tool_calls[0].function.arguments", "got 7"),
])
def test_a_reply_of_the_wrong_shape_ends_the_run_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], stream: bool, bad: dict[str, Any], field: str,
        got: str) -> None:
    message = {"role": "assistant", "content": None, "tool_calls": [bad]}
    if stream:  # the call whole in one delta, as Ollama streams it (a server cannot cut a number in pieces)
        body = b"".join(sse(c) for c in [chunk_of({"role": "assistant", "content": None}),
                                         chunk_of({"tool_calls": [{**bad, "index": 0}]}),
                                         chunk_of({}, "tool_calls")]) + b"data: [DONE]\n\n"
    else:
        body = whole_body(message)
    kind = "text/event-stream" if stream else "application/json"
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT, raw=lambda n, b: (kind, body) if n == 2 else None) as server:
        code = cli.main(headless(server, out, "--stream" if stream else "--no-stream"))
    _, err = capsys.readouterr()
    line = one_line_error(err)
    assert code == 2 and "sent a reply that is not a valid chat completion" in line
    assert f"{field}: Input should be a valid string, {got}" in line
    assert ("a streamed chunk's choices[0].delta." if stream else "(choices[0].message.") + field in line
    transcript = open_transcript(out)
    assert transcript.finished.reason == "provider_error" and transcript.finished.iterations == 2
    assert len([e for e in transcript.events if isinstance(e, AssistantMessage)]) == 1  # nothing of it kept
    checks_clean(out, capsys)


@pytest.mark.parametrize("stream", [True, False])
def test_lone_surrogates_are_replaced_before_the_transcript_and_the_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], stream: bool) -> None:
    # json.dumps writes the lone surrogate as the escape \ud800, which the client decodes back to one
    first = {"role": "assistant", "content": "Looking \ud800 around.",
             "tool_calls": [{"id": "c0", "type": "function",
                             "function": {"name": "list_files", "arguments": '{"path": ".", "why": "\udc00"}'}}]}
    out = tmp_path / "run.jsonl"
    with LoopbackServer([first, *SCRIPT[1:]]) as server:
        code = cli.main(headless(server, out, "--stream" if stream else "--no-stream"))
    printed, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err, err
    assert "Looking \ufffd around." in printed
    reply_ = next(e for e in open_transcript(out).events if isinstance(e, AssistantMessage)).message
    assert reply_["content"] == "Looking \ufffd around."
    assert reply_["tool_calls"][0]["function"]["arguments"] == '{"path": ".", "why": "\ufffd"}'
    checks_clean(out, capsys)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("content", "said"), [
    ("1" * 5000, "a number too long to read"),
    ("[" * 100_000 + "]" * 100_000, "JSON nested too deep to read"),
])
def test_json_the_decoder_gives_up_on_ends_the_run_with_a_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], stream: bool, content: str, said: str) -> None:
    if stream:
        chunk = json.dumps(chunk_of({"content": "@"}, "stop")).replace('"@"', content)
        body, kind = f"data: {chunk}\n\ndata: [DONE]\n\n".encode(), "text/event-stream"
    else:
        body, kind = whole_body({"role": "assistant", "content": "@"}).replace(b'"@"', content.encode()), \
            "application/json"
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT, raw=lambda n, b: (kind, body)) as server:
        code = cli.main(headless(server, out, "--stream" if stream else "--no-stream"))
    _, err = capsys.readouterr()
    line = one_line_error(err)
    assert code == 2 and f"sent a reply that is not a valid chat completion ({said})" in line
    assert open_transcript(out).finished.reason == "provider_error"
    checks_clean(out, capsys)


# --- the reflection call goes to the same endpoint ---------------------------------------------------------------


def _is_reflection(body: dict[str, Any]) -> bool:
    return "tools" not in body  # every agent request carries the tools; the reflection call none


def test_a_reflection_call_that_drips_is_skipped_at_the_deadline(tmp_path: Path) -> None:
    note = whole_body({"role": "assistant", "content": "Re-read the failing test."})
    with LoopbackServer(SCRIPT, produce=lambda n, b: ("application/json", dripping(note, 0.2, 10))
                        if _is_reflection(b) else None) as server:
        _, events = run_events(server, tmp_path, reflection="system", reflection_triggers="tests_failed",
                               timeout=0.5, max_retries=0)
    [skipped] = [t for t in notices(events) if t.startswith("reflection skipped")]
    assert "the reflection call on tests_failed failed:" in skipped
    assert "had not finished its reply 1.5 s after the request was sent" in skipped
    assert len(server.reflection_requests) == 1 and events[-1].reason == "finished"


def test_lone_surrogates_in_a_reflection_note_are_replaced(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(SCRIPT, reflection_note="Re-read \ud800 the test.") as server:
        run, events = run_events(server, tmp_path, reflection="system", reflection_triggers="tests_failed")
    assert events[-1].reason == "finished" and len(server.reflection_requests) == 1
    [note] = [e for e in open_transcript(run.path).events if e.type == "reflection_note"]
    assert note.content == "Re-read \ufffd the test."
    checks_clean(run.path, capsys)
