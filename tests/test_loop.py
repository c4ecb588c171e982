"""The loop end to end over the real SDK with the offline model: order, tools, stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.events import (
    AssistantMessage,
    DriverMessage,
    IterationStarted,
    RunFinished,
    RunStarted,
    ToolResult,
)
from agent.ordering import check_messages
from agent.run.runner import RunOptions, build_run
from agent.transcripts.importers import open_transcript
from tests.conftest import call, collect, reply, until, write_script


def start_consuming(run) -> tuple[list, asyncio.Task]:
    """Drive a run in the background, collecting its events."""
    seen: list = []

    async def consume() -> None:
        async for event in run.events():
            seen.append(event)

    return seen, asyncio.create_task(consume())


async def parked_after(run, seen: list, iterations: int) -> None:
    """Wait until `iterations` assistant messages arrived and the loop waits for the next step."""
    await until(run.control, lambda: run.control.waiting
                and sum(isinstance(e, AssistantMessage) for e in seen) == iterations)


def options(tmp_path: Path, **kw) -> RunOptions:
    kw.setdefault("reflection", "off")
    return RunOptions(out=tmp_path / "run.jsonl", **kw)


async def test_quicksort_demo_fixes_the_bug_and_keeps_order(tmp_path: Path) -> None:
    run = build_run(options(tmp_path, task="quicksort"))
    events = await collect(run)
    done = events[-1]
    assert isinstance(done, RunFinished)
    assert done.reason == "finished" and done.tests_passed is True
    # every request the SDK sent was well ordered, and grew by exactly what the events appended
    for body in run.server.requests:
        assert check_messages(body["messages"]) == []
    starts = [e for e in events if isinstance(e, IterationStarted)]
    assert [len(b["messages"]) for b in run.server.requests] == [s.request_size for s in starts]
    # the transcript on disk rebuilds the exact last request
    transcript = open_transcript(run.path)
    last = starts[-1].iteration
    assert transcript.request_at(last)[0] == run.server.requests[-1]["messages"]


async def test_requests_are_what_the_sdk_serialised(tmp_path: Path) -> None:
    run = build_run(options(tmp_path, task="quicksort"))
    await collect(run)
    first = run.server.requests[0]
    assert first["model"] == "scripted"
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    names = {t["function"]["name"] for t in first["tools"]}
    assert {"list_files", "read_file", "grep", "write_file", "edit_file", "run_tests", "finish"} <= names
    assert all(t["type"] == "function" and "properties" in t["function"]["parameters"] for t in first["tools"])
    second = run.server.requests[1]["messages"]
    assistant = second[2]
    assert assistant["role"] == "assistant" and len(assistant["tool_calls"]) == 2  # a parallel batch
    answered = [m["tool_call_id"] for m in second[3:5]]
    assert sorted(answered) == sorted(c["id"] for c in assistant["tool_calls"])


async def test_bad_calls_become_readable_errors_and_the_run_goes_on(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", [
        reply("try things",
              {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{not json"}},
              call("c2", "frobnicate", x=1),
              call("c3", "read_file", path="../../etc/passwd"),
              call("c4", "read_file")),
        reply(None, call("c5", "finish", summary="gave up")),
    ])
    run = build_run(options(tmp_path, task="quicksort", script=script))
    events = await collect(run)
    results = {e.tool_call_id: e for e in events if isinstance(e, ToolResult)}
    assert all(results[c].is_error for c in ("c1", "c2", "c3", "c4"))
    assert "not valid JSON" in results["c1"].content
    assert "unknown tool 'frobnicate'" in results["c2"].content
    assert "leaves the workspace" in results["c3"].content
    assert "path" in results["c4"].content
    done = events[-1]
    assert isinstance(done, RunFinished) and done.reason == "finished" and done.tests_passed is False


async def test_reply_without_a_call_gets_a_nudge_then_budget_stops(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", [reply("I think it is fine.")] * 3)
    run = build_run(options(tmp_path, task="quicksort", script=script, max_steps=3))
    events = await collect(run)
    nudges = [e for e in events if isinstance(e, DriverMessage) and e.kind == "nudge"]
    assert len(nudges) == 3 and nudges[0].message["role"] == "user"
    done = events[-1]
    assert isinstance(done, RunFinished) and done.reason == "max_steps" and done.iterations == 3


async def test_provider_error_ends_the_run_and_says_why(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", [reply(None, call("c1", "list_files"))])
    run = build_run(options(tmp_path, task="quicksort", script=script))
    events = await collect(run)
    done = events[-1]
    assert isinstance(done, RunFinished) and done.reason == "provider_error"
    assert "HTTP 400" in done.detail and "no reply left" in done.detail
    # the completed iteration is on disk
    transcript = open_transcript(run.path)
    assert len(transcript.iterations) == 2 and transcript.iterations[0].results[0].tool_call_id == "c1"


async def test_step_mode_runs_exactly_one_iteration_per_step(tmp_path: Path) -> None:
    run = build_run(options(tmp_path, task="quicksort", step_mode="step"))
    seen, task = start_consuming(run)
    await parked_after(run, seen, 0)
    assert not any(isinstance(e, IterationStarted) for e in seen)  # parked before iteration 1
    run.control.step()
    run.control.step()  # two quick presses: queued, not merged
    await parked_after(run, seen, 2)
    assert sum(isinstance(e, IterationStarted) for e in seen) == 2
    run.control.run_continuous()
    await asyncio.wait_for(task, 30)
    assert isinstance(seen[-1], RunFinished) and seen[-1].reason == "finished"


async def test_cancelling_leaves_a_complete_transcript(tmp_path: Path) -> None:
    run = build_run(options(tmp_path, task="quicksort", step_mode="step"))
    seen, task = start_consuming(run)
    run.control.step(2)
    await parked_after(run, seen, 2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    transcript = open_transcript(run.path)
    assert transcript.warnings == []
    assert isinstance(transcript.events[0], RunStarted) or transcript.events[0].type == "notice"
    assert len(transcript.iterations) == 2
    assert transcript.finished is not None and transcript.finished.reason == "cancelled"
    assert check_messages(transcript.messages()) == []
