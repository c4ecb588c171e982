"""The agent loop: request, append the assistant message, run its tools, append the results, maybe
reflect, repeat.

It keeps one chronological messages list and publishes everything it does as typed events
(`agent.events`): it yields them, and whoever drives it (CLI, TUI, tests, ablations) decides what to show.
It knows nothing of providers nor of how the tools work: it gets a `Model`, `Tools` and maybe a `Reflector`
(agent.protocols), and a `RunControl` to wait on. Each iteration is one generator (`_iteration`). The model
is one too (`agent.models.chat.ChatModel` adapts the canonical history to the endpoint): while a request
is out it yields what it hands over (the reply streaming in, the SDK's retries), then the completion, and
the iteration passes all of it on as it comes.

A reflection note goes after the last tool message of the iteration's batch. When the next request is
refused because of the note's role (an open-model template that takes no system message past the first),
the reflector says what becomes of the note (`Reflector.note_refused`: the next role, and the events that
say so) and the loop sends the same iteration's request again.

Under reflection `resample` (the equal-budget control) a trigger writes no note: the loop takes back the
turn that fired it (TurnRetracted: its messages leave the history, its file changes are undone) and the next
iteration sends that turn's request again, for a fresh reply, without using up a step.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, TypeVar

from agent.loop.control import RunControl
from agent.events import (
    AssistantMessage,
    Completion,
    DriverMessage,
    Event,
    FinishReason,
    IterationStarted,
    Notice,
    ReflectionMode,
    ReflectionNote,
    RunFinished,
    RunStarted,
    ToolResult,
    Trigger,
    TurnRetracted,
    Usage,
    add_usage,
    made_a_call,
)
from agent.ordering import check_messages
from agent.protocols import IterationRecord, Model, ReflectionFailed, Reflector, StopRun, ToolOutcome, Tools
from agent.tools.changes import ChangeTracker

NUDGE = ("You replied without calling a tool. Act only through the tools: call one of {names} "
         "with JSON arguments, or call finish(summary) when the task is done.")

CUT_OFF = {
    "length": "the reply was cut off at the output token limit (finish_reason length)",
    "content_filter": "the provider's content filter stopped the reply (finish_reason content_filter)",
}
"""Replies that ended before the model finished them: the iteration ends with a notice naming the cause,
and the model is told, instead of being nudged as if it had not tried. A reply agent-tui stopped taking at
one of its limits (`Completion.cut`) ends the same way."""

T = TypeVar("T")


class _Finished(Exception):
    """The agent called finish: the run ends after this iteration, with its summary."""

    def __init__(self, summary: str | None) -> None:
        super().__init__(summary)
        self.summary = summary


@dataclass
class AgentLoop:
    model: Model
    toolbox: Tools
    system_prompt: str
    goal: str
    control: RunControl = field(default_factory=RunControl)
    max_steps: int = 30
    reflector: Reflector | None = None
    nudge: str = NUDGE
    """What a reply without a tool call is answered with (`{names}`: the tools); text mode says how to write one."""
    changes: ChangeTracker | None = None
    """When set, each iteration whose tools changed files in the workspace records them (WorkspaceChanged)."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage | None = None
    unreported_calls: int = 0
    """Completions and reflection calls whose tokens the endpoint did not report (not in `usage`)."""
    retracted: int = 0
    """Turns taken back by the `resample` control: they do not count against the step budget."""

    async def run(self) -> AsyncIterator[Event]:
        """Run to the end, yielding every event as it happens. The last event is RunFinished."""
        self.messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": self.goal}]
        self.retracted = 0
        yield RunStarted(messages=list(self.messages))
        reason: FinishReason = "max_steps"
        detail = f"step budget of {self.max_steps} iterations used up without finish"
        summary: str | None = None
        iteration = 0
        if self.changes is not None:
            await asyncio.to_thread(self.changes.snapshot)
        try:
            while iteration - self.retracted < self.max_steps:
                await self.control.wait_turn()
                iteration += 1
                # the reflection setting is read once: a live toggle counts from the next iteration on
                async for event in self._iteration(iteration, self.control.reflection):
                    yield event
        except _Finished as finished:
            reason, detail, summary = "finished", "the agent called finish", finished.summary
        except StopRun as stop:
            reason, detail = stop.reason, stop.detail
            yield Notice(iteration=iteration, level="error", text=detail)
        yield RunFinished(reason=reason, detail=detail, summary=summary, iterations=iteration, usage=self.usage,
                          unreported_calls=self.unreported_calls)

    async def _iteration(self, iteration: int, mode: ReflectionMode) -> AsyncIterator[Event]:
        """One turn: the request, the reply, its calls run and answered (or the nudge), then the reflector's
        look at it. Raises StopRun or _Finished when the run ends with it."""
        yield self._started(iteration, mode)
        completion: Completion | None = None
        async for item in self._request(iteration, mode):
            if isinstance(item, Completion):
                completion = item
            else:
                yield item  # the reply streaming in, the SDK's retries
        if completion is None:
            raise StopRun("error", "the model handed over no reply (a Model must end with a Completion)")
        self.usage = add_usage(self.usage, completion.usage)
        self.unreported_calls += completion.usage is None
        turn_start = len(self.messages)
        self.messages.append(completion.message)
        yield AssistantMessage(iteration=iteration, **dict(completion))
        calls = completion.message.get("tool_calls") or []
        cut = completion.cut or CUT_OFF.get(completion.finish_reason or "")
        if cut:
            yield Notice(iteration=iteration, level="warning",
                         text=f"{cut}: " + ("calls with incomplete arguments are not run" if calls
                                            else "it called no tool"))
        if not calls:
            yield self._nudged(iteration, cut)
        record = IterationRecord(iteration, completion.message, [], [], self.max_steps + self.retracted)
        async for event in self._run_calls(record, calls, cut):
            yield event
        if self.reflector is not None and iteration - self.retracted < self.max_steps:
            async for event in self._reflect(self.reflector, record, mode):
                yield event
            if mode == "resample" and self.reflector.fired:
                for event in await self._retract(self.reflector.fired, record, turn_start, completion.usage):
                    yield event

    async def _request(self, iteration: int, mode: ReflectionMode) -> AsyncIterator[Event | Completion]:
        """The model's reply to the history, after what it hands over while it works. When the endpoint
        refuses the request because of the role of the note at its end, the reflector moves the note and the
        request goes again."""
        while True:
            violations = check_messages(self.messages)
            if violations:  # a bug in the driver, never sent: the provider would refuse it anyway
                raise StopRun("error", "ordering check failed before sending: " + "; ".join(map(str, violations)))
            try:
                async for item in self.model.stream(self.messages, self.toolbox.schemas()):
                    yield _stamped(item, iteration)
                return
            except StopRun as stop:
                moved = self.reflector.note_refused(stop, self.messages, iteration) if self.reflector else None
                if moved is None:
                    raise
            del self.messages[len(self.messages) - moved.replaced:]
            self.messages.extend(moved.messages)
            for event in moved.events:
                yield event
            yield self._started(iteration, mode)

    def _nudged(self, iteration: int, cut: str | None) -> DriverMessage:
        """A reply that called no tool is answered with the nudge (after a cut-off, saying so)."""
        text = self.nudge.replace("{names}", ", ".join(self.toolbox.names))
        nudge = {"role": "user", "content": f"Your last reply was cut off: {cut}. {text}" if cut else text}
        self.messages.append(nudge)
        return DriverMessage(iteration=iteration, kind="nudge", message=nudge)

    async def _run_calls(self, record: IterationRecord, calls: list[dict[str, Any]],
                         cut: str | None) -> AsyncIterator[Event]:
        """Run and answer every call into `record`, even after a finish in the same batch, then say what changed
        in the workspace. Raises StopRun when a tool could not do its job, _Finished when one was finish."""
        for call in calls:
            result, outcome = await self._run_call(record.iteration, call, cut)
            self.messages.append(result.message)
            record.results.append(result)
            record.outcomes.append(outcome)
            yield result
        if self.changes is not None and calls:
            changed = await asyncio.to_thread(self.changes.changes, record.iteration)
            if changed is not None:
                yield changed
        harness = next((o.harness for o in record.outcomes if o.harness), None)
        if harness is not None:
            raise StopRun("harness_error", harness)
        finished = next((o for o in record.outcomes if o.finished), None)
        if finished is not None:
            raise _Finished(finished.summary)

    async def _reflect(self, reflector: Reflector, record: IterationRecord,
                       mode: ReflectionMode) -> AsyncIterator[Event]:
        """Let the reflector look at the iteration; a note goes after the last tool message of the batch,
        never between a call and its results. A failed reflection call is shown, and the run goes on."""
        try:
            async for event in reflector.after_iteration(record, self.messages, mode):
                if isinstance(event, ReflectionNote):
                    if not event.messages:
                        continue
                    self.usage = add_usage(self.usage, event.usage)
                    self.unreported_calls += event.usage is None and made_a_call(event)  # a fork's set note: no call
                    self.messages.extend(event.messages)
                yield _stamped(event, record.iteration)  # what the model writing the note handed over, the note
        except ReflectionFailed as exc:
            yield Notice(iteration=record.iteration, level="warning",
                         text=f"reflection skipped after iteration {record.iteration}: {exc}")

    async def _retract(self, fired: list[Trigger], record: IterationRecord, start: int,
                       usage: Usage | None) -> list[Event]:
        """The `resample` control: take back the turn whose triggers `fired` (its messages, from its assistant
        message on, and what its tools changed in the workspace), so that the next request is this turn's
        again. The step it took is given back. A notice says so to a person."""
        replaced = len(self.messages) - start
        del self.messages[start:]
        restored: list[str] = []
        whole = True
        if self.changes is not None:
            restored, whole = await asyncio.to_thread(self.changes.undo, record.iteration)
        self.retracted += 1
        kinds = ", ".join(dict.fromkeys(t.kind for t in fired))
        files = f"; files put back: {', '.join(restored)}" if restored else ""
        return [TurnRetracted(iteration=record.iteration, replaced=replaced, triggers=list(fired),
                              restored=restored, whole=whole, usage=usage),
                Notice(iteration=record.iteration, level="info" if whole else "warning",
                       text=f"resample on {kinds}: this turn is taken back (its messages leave the history"
                            f"{files}{'' if whole else '; some files could not be put back'}) and its request is "
                            "sent again, without using up a step")]

    def _started(self, iteration: int, mode: ReflectionMode) -> IterationStarted:
        role = self.reflector.effective_role(mode) if mode != "off" and self.reflector is not None else None
        return IterationStarted(iteration=iteration, request_size=len(self.messages), reflection=mode,
                                reflection_role=role)

    async def _run_call(self, iteration: int, call: dict[str, Any],
                        cut: str | None = None) -> tuple[ToolResult, ToolOutcome]:
        """Run one call and make its result. A call of a reply that was `cut` off whose arguments are not
        complete JSON is not run: it is answered with why."""
        function = call.get("function") or {}
        name, arguments = str(function.get("name") or ""), function.get("arguments") or ""
        started = time.perf_counter()
        if cut and not _complete_json(arguments):
            outcome = ToolOutcome(f"error: not run: {cut}, and the arguments of this call are incomplete. Send "
                                  "it again with shorter arguments (edit_file changes part of a file without "
                                  "sending all of it)", error_kind="malformed_arguments")
        else:
            outcome = await self.toolbox.execute(name, arguments if isinstance(arguments, str) else str(arguments))
        message = {"role": "tool", "tool_call_id": call.get("id", ""), "content": outcome.content}
        result = ToolResult(iteration=iteration, tool_call_id=call.get("id", ""), name=name,
                            arguments=arguments if isinstance(arguments, str) else str(arguments),
                            content=outcome.content, is_error=outcome.is_error,
                            duration_s=time.perf_counter() - started, message=message)
        return result, outcome


def _stamped(event: T, iteration: int) -> T:
    """`event` with the iteration it belongs to, where the model that made it could not know it."""
    if getattr(event, "iteration", 0) is None:
        event.iteration = iteration  # type: ignore[attr-defined]
    return event


def _complete_json(arguments: Any) -> bool:
    if not isinstance(arguments, str) or not arguments.strip():
        return True
    try:
        json.loads(arguments)
    except ValueError:
        return False
    return True
