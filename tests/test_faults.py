"""Provider faults, each reproduced by a loopback double: no traceback, a named status, exit 2 with one line.

The double is a real HTTP server on 127.0.0.1 reached through the SDK's own network stack (tests/loopback.py);
error bodies carry the endpoints' real texts.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agent.events import AssistantMessage, DriverMessage, Notice, RunFinished, ToolResult
from agent.cli import commands as cli
from agent.run.runner import RunOptions, build_run
from agent.transcripts.importers import open_transcript
from tests.conftest import call, collect
from tests.loopback import LoopbackServer

SCRIPT = json.loads((Path(__file__).parent.parent / "agent/tasks/taskdata/quicksort/script.json").read_text())

OPENAI_CONTEXT = ("This model's maximum context length is 8192 tokens. However, your messages resulted in 9120 "
                  "tokens. Please reduce the length of the messages.")  # OpenAI, and vLLM's wording of it
LLAMACPP_CONTEXT = "the request exceeds the available context size, try increasing it"  # llama.cpp's server


def headless(server: LoopbackServer, out: Path, *flags: str) -> list[str]:
    return ["run", "--headless", "--provider", "vllm", "--base-url", server.base_url, "--model", "loopback",
            "--reflection", "off", "--out", str(out), *flags]


def one_line_error(err: str) -> str:
    """The whole of stderr: one `agent-tui: ...` line, no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agent-tui: ") and "Traceback" not in err, err
    return lines[0]


def notices(events: list[Any]) -> list[str]:
    return [e.text for e in events if isinstance(e, Notice)]


def run_events(server: LoopbackServer, tmp_path: Path, **kw: Any) -> tuple[Any, list[Any]]:
    run = build_run(RunOptions(task="quicksort", provider="vllm", base_url=server.base_url, model="loopback",
                               reflection="off", out=tmp_path / "run.jsonl", **kw))
    try:
        return run, asyncio.run(collect(run))
    finally:
        run.release_workspace()


# --- a 200 that is not a completion ------------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
@pytest.mark.parametrize(("content_type", "body", "said"), [
    ("text/html", b"<html><body>502 Bad Gateway</body></html>",
     "a body that is not a chat completion: '<html><body>502 Bad Gateway</body></html>'"),
    ("application/json", b"", "an empty body"),
    ("application/json", b"upstream timed out", "a body that is not a chat completion: 'upstream timed out'"),
])
def test_a_200_that_is_not_json_ends_with_a_provider_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           content_type: str, body: bytes, said: str,
                                                           stream: str) -> None:
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT, raw=lambda n, b: (content_type, body) if n >= 2 else None) as server:
        code = cli.main(headless(server, out, stream))
    _, err = capsys.readouterr()
    assert code == 2
    assert f"answered HTTP 200 with {said}" in one_line_error(err) and "check --base-url" in err
    finished = open_transcript(out).finished
    assert finished is not None and finished.reason == "provider_error" and finished.iterations == 2


# --- a context-length error ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [OPENAI_CONTEXT, LLAMACPP_CONTEXT])
def test_a_context_length_error_exits_2_saying_what_to_change(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               text: str) -> None:
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT, fail=lambda n, b: (400, text) if n >= 3 else None) as server:
        code = cli.main(headless(server, out))
    _, err = capsys.readouterr()
    line = one_line_error(err)
    assert code == 2 and text in line and "lower --max-steps, or use a model with a longer context" in line
    assert open_transcript(out).finished.reason == "context_length"


# --- a stream that breaks -----------------------------------------------------------------------------------


def test_a_stream_reset_midway_is_sent_again_from_the_start(tmp_path: Path) -> None:
    with LoopbackServer(SCRIPT, cut_stream=lambda n: 700 if n == 2 else None) as server:
        run, events = run_events(server, tmp_path)
    done = events[-1]
    assert isinstance(done, RunFinished) and done.reason == "finished" and done.tests_passed
    [restart] = [t for t in notices(events) if "stream broke" in t]
    assert "(the connection failed: ReadError)" in restart and "partial reply dropped" in restart
    assert "stream restart 1 of 2" in restart
    assert len(server.requests) == len(SCRIPT) + 1 and server.requests[1] == server.requests[2]
    # the reply kept is the whole second one, once: nothing of the broken attempt
    replies = [e.message for e in open_transcript(run.path).events if isinstance(e, AssistantMessage)]
    assert [r["tool_calls"] for r in replies] == [m["tool_calls"] for m in SCRIPT]
    assert [r["content"] for r in replies] == [m["content"] for m in SCRIPT]


def test_a_stream_that_keeps_breaking_ends_with_a_named_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT, cut_stream=lambda n: 700) as server:
        code = cli.main(headless(server, out, "--max-retries", "1"))
    printed, err = capsys.readouterr()
    line = one_line_error(err)
    assert code == 2 and len(server.requests) == 2  # one restart: the budget of --max-retries 1
    assert "broke off its streamed reply" in line and "(the connection failed: ReadError)" in line
    assert "stream restart 1 of 1" in printed
    assert open_transcript(out).finished.reason == "provider_error"


def test_a_stream_without_a_finish_reason_is_broken_too(tmp_path: Path) -> None:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "half a rep"}, "finish_reason": None}]}
    body = f"data: {json.dumps(chunk)}\n\n".encode()
    with LoopbackServer(SCRIPT, raw=lambda n, b: ("text/event-stream", body) if n == 1 else None) as server:
        _, events = run_events(server, tmp_path)
    assert events[-1].reason == "finished"
    assert any("stream broke after 1 chunks (it ended without a finish_reason)" in t for t in notices(events))
    first = next(e for e in events if isinstance(e, AssistantMessage))
    assert "half a rep" not in (first.message["content"] or "")


def test_a_server_that_ignores_stream_true_gets_one_non_streamed_request(tmp_path: Path) -> None:
    with LoopbackServer(SCRIPT, ignore_stream=True) as server:
        run, events = run_events(server, tmp_path)
    assert events[-1].reason == "finished" and events[-1].tests_passed
    [fallback] = [t for t in notices(events) if "instead of a stream" in t]
    assert "application/json" in fallback and "not streaming for the rest of the run" in fallback
    assert server.requests[0]["stream"] is True
    assert all("stream" not in body for body in server.requests[1:]) and len(server.requests) == len(SCRIPT) + 1


# --- replies cut off by the provider -------------------------------------------------------------------------


def _cut(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {**message, "finish_reason": finish_reason}


@pytest.mark.parametrize("stream", [True, False])
def test_a_reply_cut_at_the_length_limit_is_not_run_and_the_model_is_told(tmp_path: Path, stream: bool) -> None:
    whole = call("c0", "write_file", path="notes.txt", content="x" * 200)
    truncated = {**whole, "function": {**whole["function"], "arguments": whole["function"]["arguments"][:60]}}
    script = [_cut({"role": "assistant", "content": None, "tool_calls": [truncated]}, "length"), *SCRIPT]
    with LoopbackServer(script) as server:
        run, events = run_events(server, tmp_path, stream=stream)
    assert events[-1].reason == "finished"
    assert ("the reply was cut off at the output token limit (finish_reason length): calls with incomplete "
            "arguments are not run") in notices(events)
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error and result.content.startswith("error: not run: the reply was cut off at the output token")
    assert result.tool_call_id == "c0"
    assert not any("notes.txt" in r.content for r in events if isinstance(r, ToolResult))


@pytest.mark.parametrize(("finish", "said"), [
    ("length", "the reply was cut off at the output token limit (finish_reason length)"),
    ("content_filter", "the provider's content filter stopped the reply (finish_reason content_filter)"),
])
def test_a_reply_without_calls_that_was_cut_off_says_why(tmp_path: Path, finish: str, said: str) -> None:
    script = [_cut({"role": "assistant", "content": "I will first"}, finish), *SCRIPT]
    with LoopbackServer(script) as server:
        _, events = run_events(server, tmp_path)
    assert f"{said}: it called no tool" in notices(events)
    nudge = next(e for e in events if isinstance(e, DriverMessage))
    assert nudge.message["content"].startswith(f"Your last reply was cut off: {said}.")
    assert events[-1].reason == "finished"
