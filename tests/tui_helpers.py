"""Builders for the TUI tests: small transcripts with fixed clocks, and a fake live run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator

from agent.loop.control import RunControl
from agent.events import (
    AssistantMessage,
    DriverMessage,
    IterationStarted,
    Notice,
    ReflectionNote,
    RunFinished,
    RunStarted,
    ToolResult,
    Trigger,
    Usage,
)
from agent.transcripts.transcript import Transcript, TranscriptHeader, TranscriptWriter
from tui.app import AgentTuiApp
from tui.screens.transcript import TranscriptScreen

T0 = 1_700_000_000.0
SYSTEM = "You are a careful coding agent. Use the tools to inspect and edit files, then run the tests."
GOAL = "Make quicksort() in sort.py handle duplicate keys, and keep the tests green."


def header(**kw: Any) -> TranscriptHeader:
    base = dict(created=T0, goal=GOAL, provider="openai", model="gpt-4o-mini", task="quicksort")
    base.update(kw)
    return TranscriptHeader(**base)


def call(cid: str, name: str, **args: Any) -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def iteration_events(n: int, request_size: int, calls: list[dict[str, Any]], results: list[tuple[str, str, str, bool]],
                     text: str = "", reflection: ReflectionNote | None = None) -> list[Any]:
    """IterationStarted, AssistantMessage, one ToolResult per (id, name, content, is_error), maybe a note."""
    out: list[Any] = [IterationStarted(ts=T0 + n, iteration=n, request_size=request_size)]
    msg: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        msg["tool_calls"] = calls
    out.append(AssistantMessage(ts=T0 + n, iteration=n, message=msg, usage=Usage(prompt_tokens=900 + 100 * n,
                                completion_tokens=40 + n), latency_s=1.25, finish_reason="tool_calls" if calls else "stop",
                                model="gpt-4o-mini"))
    for cid, name, content, err in results:
        out.append(ToolResult(ts=T0 + n, iteration=n, tool_call_id=cid, name=name, content=content, is_error=err,
                              duration_s=0.02, message={"role": "tool", "tool_call_id": cid, "content": content}))
    if reflection is not None:
        out.append(reflection)
    return out


def quicksort_events() -> list[Any]:
    """A 4-iteration run: reads, an error, a reflection note, a fix, the tests, the end."""
    events: list[Any] = [RunStarted(ts=T0, messages=[{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": GOAL}])]
    source = "\n".join([
        "def quicksort(xs):",
        "    if len(xs) <= 1:",
        "        return xs",
        "    pivot = xs[0]",
        "    left = [x for x in xs[1:] if x < pivot]",
        "    right = [x for x in xs[1:] if x > pivot]",
        "    return quicksort(left) + [pivot] + quicksort(right)",
    ] + [f"# filler line {k}" for k in range(14)])
    events += iteration_events(1, 2, [call("call_read_1", "read_file", path="sort.py"),
                                      call("call_ls_1", "list_dir", path=".")],
                               [("call_read_1", "read_file", source, False),
                                ("call_ls_1", "list_dir", "sort.py\ntest_sort.py\nREADME.md", False)],
                               text="Let me look at the implementation and the tests first.")
    events += iteration_events(2, 6, [call("call_test_2", "run_tests")],
                               [("call_test_2", "run_tests", "FAILED test_sort.py::test_duplicates\n"
                                 "AssertionError: assert [1, 2, 3] == [1, 2, 2, 3]", True)],
                               text="Running the tests to see the failure.")
    events.append(ReflectionNote(ts=T0 + 2, iteration=2, role="system", content="The right partition drops "
                                 "elements equal to the pivot; use >= for one side.",
                                 triggers=[Trigger(kind="tool_error", evidence="FAILED test_duplicates")],
                                 messages=[{"role": "system", "content": "Reflection: the right partition drops "
                                            "elements equal to the pivot; use >= for one side."}],
                                 usage=Usage(prompt_tokens=300, completion_tokens=30), latency_s=0.5,
                                 model="gpt-4o-mini"))
    events += iteration_events(3, 9, [call("call_edit_3", "edit_file", path="sort.py",
                                           old="if x > pivot", new="if x >= pivot")],
                               [("call_edit_3", "edit_file", "edited sort.py (1 replacement)", False)],
                               text="Fixing the right partition.")
    events += iteration_events(4, 11, [call("call_test_4", "run_tests")],
                               [("call_test_4", "run_tests", "3 passed in 0.02s", False)])
    events.append(DriverMessage(ts=T0 + 4, iteration=4, kind="nudge",
                                message={"role": "user", "content": "Tests pass. Reply with a summary to finish."}))
    events.append(Notice(ts=T0 + 4, iteration=4, level="info", text="tests passed"))
    events.append(RunFinished(ts=T0 + 5, reason="finished", iterations=4, summary="Fixed duplicate handling.",
                              tests_passed=True, usage=Usage(prompt_tokens=4300, completion_tokens=200)))
    return events


def quicksort_transcript() -> Transcript:
    return Transcript(header=header(), events=quicksort_events())


def synthetic_events(n: int) -> list[Any]:
    """`n` small iterations (one read_file call each) and an ending."""
    events: list[Any] = [RunStarted(ts=T0, messages=[{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": GOAL}])]
    size = 2
    for i in range(1, n + 1):
        cid = f"call_{i:05d}"
        events += iteration_events(i, size, [call(cid, "read_file", path=f"src/m{i}.py")],
                                   [(cid, "read_file", "\n".join(f"line {k}" for k in range(5)), False)],
                                   text=f"Step {i}.")
        size += 2
    events.append(RunFinished(ts=T0 + n, reason="max_steps", iterations=n))
    return events


def write_jsonl(path: Path, events: list[Any], hdr: TranscriptHeader | None = None) -> Path:
    with TranscriptWriter(path, hdr or header()) as w:
        for e in events:
            w.write(e)
    return path


class FakeRun:
    """A `RunHandle` (what the app drives, like agent.run.runner.Run) that replays scripted iterations,
    gated by `control.wait_turn()`."""

    def __init__(self, iterations: list[list[Any]], seed: list[Any] | None = None, *, step_mode: bool = True,
                 path: Path | None = None, delay: float = 0.0, finish: bool = True) -> None:
        self.header = header()
        self.path = path or Path("/tmp/fake-run.jsonl")
        self.control = RunControl(mode="step" if step_mode else "continuous")
        self.iterations = iterations
        self.seed = seed if seed is not None else [RunStarted(ts=T0, messages=[{"role": "system", "content": SYSTEM},
                                                                              {"role": "user", "content": GOAL}])]
        self.delay = delay
        self.finish = finish
        self.started = 0
        """How many iterations passed the gate."""
        self.finished: RunFinished | None = None

    async def events(self, transient: bool = False) -> AsyncIterator[Any]:
        """The seed, then each iteration once the control lets it start (no transient events here)."""
        for e in self.seed:
            yield e
        for evs in self.iterations:
            await self.control.wait_turn()
            self.started += 1
            for e in evs:
                if self.delay and isinstance(e, AssistantMessage):
                    await asyncio.sleep(self.delay)
                yield e
        if self.finish:
            self.finished = RunFinished(ts=T0 + 99, reason="finished", iterations=len(self.iterations))
            yield self.finished


def fake_run(n: int = 5, **kw: Any) -> FakeRun:
    iterations = []
    size = 2
    for i in range(1, n + 1):
        cid = f"call_{i}"
        iterations.append(iteration_events(i, size, [call(cid, "read_file", path=f"f{i}.py")],
                                           [(cid, "read_file", f"contents of f{i}.py", False)], text=f"Step {i}."))
        size += 2
    return FakeRun(iterations, **kw)


def transcript_app(**kw: Any) -> tuple[AgentTuiApp, TranscriptScreen]:
    """The app opened on a transcript screen (`TranscriptScreen(**kw)`), and that screen."""
    screen = TranscriptScreen(**kw)
    return AgentTuiApp(screen), screen
