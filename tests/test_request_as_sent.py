"""`v` shows the request as it went on the wire: the bytes a loopback endpoint logged in the same run, rebuilt
from the transcript by the code that built them (text tool calls, parameters, tools), the history one key away."""

from __future__ import annotations

import json
from asyncio import run as asyncio_run
from pathlib import Path
from typing import Any

from agent.events import AssistantMessage
from agent.run.runner import RunOptions, build_run
from agent.transcripts.importers import open_transcript
from agent.transcripts.sent import sent_request
from tests.conftest import collect
from tests.loopback import LoopbackServer
from tests.test_providers import TEXT_SCRIPT, VLLM_NO_PARSER
from tests.tui_helpers import transcript_app
from tui.screens.request import RequestScreen
from tui.widgets.request_view import RequestView

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
LOCAL_RUN = ROOT / "docs/results/runs/humanevalfix-4__system__r1.jsonl"
"""A real run: Qwen2.5-Coder-1.5B through llama-cpp-python's server, text tool calls."""
SIZE = (120, 40)


async def text_run(tmp_path: Path, **kw: Any) -> tuple[Path, LoopbackServer]:
    """The quicksort task in text tool-call mode against a llama.cpp-like loopback endpoint, reflection on (a
    note after iteration 4, on the step budget)."""
    out = tmp_path / "text.jsonl"
    with LoopbackServer(TEXT_SCRIPT, step_by="count", **kw) as server:
        run = build_run(RunOptions(task="quicksort", provider="llamacpp", base_url=server.base_url, model="qwen",
                                   tool_calls="text", reflection="system", out=out, max_steps=5))
        events = await collect(run)
    assert events[-1].tests_passed, events[-1].detail
    return out, server


async def test_the_request_view_is_the_body_the_endpoint_received(tmp_path: Path) -> None:
    out, server = await text_run(tmp_path)
    transcript = open_transcript(out)
    iterations = [e.iteration for e in transcript.events if isinstance(e, AssistantMessage)]
    assert len(iterations) == len(server.raw_requests) == len(TEXT_SCRIPT)
    app, screen = transcript_app(transcript=transcript, source=str(out))
    async with app.run_test(size=SIZE) as pilot:
        for k in iterations:
            while screen.view.cursor_iteration != k:
                await pilot.press("n")
            await pilot.press("v")
            await pilot.pause()
            shown = app.screen
            assert isinstance(shown, RequestScreen) and shown.as_sent
            received = server.raw_requests[k - 1]
            assert shown.sent.raw == received  # byte for byte
            copied = json.loads(shown.copy_text())
            assert copied == json.loads(received) and list(copied) == list(json.loads(received))
            await pilot.press("escape")
        # what it shows: the text form, the parameters, the calling rules; the history one key away
        await pilot.press("v")
        await pilot.pause()
        shown = app.screen
        parts = shown.query_one(RequestView).parts
        assert parts[0].label == "parameters" and parts[0].value == {
            "model": "qwen", "stream": True}
        messages = [p.value for p in parts if p.label.startswith("[")]
        assert "To call a tool, write a JSON object" in messages[0]["content"]
        assert any(m["role"] == "assistant" and m["content"].startswith("Let me look.\n<tool_call>") for m in messages)
        assert any(m["role"] == "user" and m["content"].startswith("<tool_response>") for m in messages)
        assert not any("tool_calls" in m or m["role"] == "tool" for m in messages)
        assert "text tool calls" in str(shown.query_one("#request-summary").render())
        await pilot.press("c")
        history = [p.value for p in shown.query_one(RequestView).parts]
        assert not shown.as_sent and history == transcript.request_at(iterations[-1])[0]
        assert any(m.get("tool_calls") for m in history) and any(m["role"] == "tool" for m in history)
        assert json.loads(shown.copy_text()) == history
        await pilot.press("c")
        assert shown.as_sent and shown.query_one(RequestView).parts[0].label == "parameters"


def test_a_run_that_changes_how_it_sends_is_rebuilt_request_by_request(tmp_path: Path) -> None:
    """vLLM without a tool parser refuses `tools`: the run goes on in text mode, and each request answered
    is rebuilt as it was sent, in the mode of its time."""
    def no_parser(n: int, body: dict[str, Any]) -> tuple[int, str] | None:
        return (400, VLLM_NO_PARSER) if "tools" in body else None

    out = tmp_path / "run.jsonl"
    with LoopbackServer(TEXT_SCRIPT, fail=no_parser, step_by="count") as server:
        run = build_run(RunOptions(task="quicksort", provider="vllm", base_url=server.base_url, model="qwen",
                                   reflection="off", out=out, temperature=0.3, parallel_tool_calls=False))
        asyncio_run(collect(run))
    transcript = open_transcript(out)
    answers = [e for e in transcript.events if isinstance(e, AssistantMessage)]
    assert answers[0].request_params == {"model": "qwen", "stream": True, "stream_options": {"include_usage": True},
                                         "temperature": 0.3}
    answered = server.raw_requests[1:]  # the first one was refused
    assert [sent_request(transcript, a.iteration).raw for a in answers] == answered
    assert transcript.header.settings["profile"]["tool_calls"] == "auto"  # the header says how it began


def test_a_real_local_run_from_before_the_record_is_rebuilt_from_its_header() -> None:
    sent = sent_request(open_transcript(LOCAL_RUN), 2)
    body = sent.body
    assert body is not None and list(body) == ["model", "messages", "max_tokens", "stop", "temperature", "tools"]
    assert (body["temperature"], body["max_tokens"], body["stop"]) == (0.2, 1024, ["</tool_call>"])
    assert [t["function"]["name"] for t in body["tools"]][-1] == "finish"  # rendered by the server's template
    system, _, reply, result = body["messages"]
    assert system["content"].endswith("and you choose the next call from what it says.")
    assert reply == {"role": "assistant", "content": '<tool_call>\n{"name": "read_file", "arguments": '
                                                     '{"path": "solution.py"}}\n</tool_call>'}
    assert result["role"] == "tool" and result["tool_call_id"] == "call_0001"
    assert sent.new_from == 2 and "no parameters per request" in sent.how and "text tool calls" in sent.wire
    assert sent.canonical[2]["content"] is None and sent.canonical[2]["tool_calls"]  # the history: canonical


def test_another_tools_file_shows_its_history_and_says_so() -> None:
    transcript = open_transcript(DATA / "mini_swe_agent.traj.json")
    sent = sent_request(transcript, 2)
    assert sent.body is None and sent.raw is None and "another tool's file" in sent.how
    assert sent.messages == transcript.request_at(2)[0]


async def test_compare_says_when_the_same_history_was_sent_another_way(tmp_path: Path) -> None:
    from agent.transcripts.compare import align
    from tui.widgets.compare_bar import divergence_text

    paths = []
    for temperature in (0.2, 0.7):
        out = tmp_path / f"t{temperature}.jsonl"
        await collect(build_run(RunOptions(task="quicksort", provider="scripted", reflection="off", out=out,
                                           temperature=temperature)))
        paths.append(out)
    a, b = (open_transcript(p) for p in paths)
    alignment = align(a, b)
    assert alignment.divergence is None  # the same histories...
    assert (alignment.sent_divergence, alignment.sent_detail) == (1, "temperature 0.2 vs 0.7")  # ...sent otherwise
    bar = divergence_text(alignment).plain
    assert "same histories" in bar and "sent differently from iteration 1: temperature 0.2 vs 0.7" in bar
    assert align(a, open_transcript(paths[0])).sent_divergence is None
