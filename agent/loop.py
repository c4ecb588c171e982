"""The agent loop: request, append the assistant message, run its tools, append the results, maybe
reflect, repeat.

It keeps one chronological messages list and publishes everything it does as typed events
(`agent.events`): it yields them, and whoever drives it (CLI, TUI, tests, ablations) decides what to show.
It knows nothing of providers: it gets a `Model` and a `Toolbox`, and a `RunControl` to wait on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Protocol

from agent.control import RunControl
from agent.events import (
    AssistantMessage,
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
    Usage,
)
from agent.ordering import check_messages
from agent.tools import Toolbox, ToolOutcome

NUDGE = ("You replied without calling a tool. Act only through the tools: call one of {names} "
         "with JSON arguments, or call finish(summary) when the task is done.")


@dataclass
class Completion:
    """What one chat completion returned, reduced to what the loop and the transcript need."""

    message: dict[str, Any]
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    latency_s: float = 0.0


class Model(Protocol):
    """Anything that answers a messages list with one assistant message."""

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Completion: ...


@dataclass
class IterationRecord:
    """What happened in one iteration, handed to the reflector."""

    iteration: int
    assistant: dict[str, Any]
    results: list[ToolResult]
    outcomes: list[ToolOutcome]
    max_steps: int


class Reflector(Protocol):
    """Decides after each iteration whether to add a note, and writes it (see agent.reflection)."""

    async def after_iteration(self, record: IterationRecord, messages: list[dict[str, Any]],
                              mode: ReflectionMode) -> ReflectionNote | None: ...


class StopRun(Exception):
    """Leaves the loop with a reason; raised by the request step on errors it cannot recover from."""

    def __init__(self, reason: FinishReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: FinishReason = reason
        self.detail = detail


@dataclass
class AgentLoop:
    model: Model
    toolbox: Toolbox
    system_prompt: str
    goal: str
    control: RunControl = field(default_factory=RunControl)
    max_steps: int = 30
    reflector: Reflector | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    async def run(self) -> AsyncIterator[Event]:
        """Run to the end, yielding every event as it happens. The last event is RunFinished."""
        self.messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": self.goal}]
        yield RunStarted(messages=list(self.messages))
        reason: FinishReason = "max_steps"
        detail = f"step budget of {self.max_steps} iterations used up without finish"
        summary: str | None = None
        iteration = 0
        try:
            while iteration < self.max_steps:
                await self.control.wait_turn()
                iteration += 1
                yield IterationStarted(iteration=iteration, request_size=len(self.messages),
                                       reflection=self.control.reflection)
                completion = await self._request()
                self.usage = self.usage + completion.usage
                self.messages.append(completion.message)
                yield AssistantMessage(iteration=iteration, message=completion.message, usage=completion.usage,
                                       latency_s=completion.latency_s, finish_reason=completion.finish_reason,
                                       model=completion.model)
                calls = completion.message.get("tool_calls") or []
                if not calls:
                    nudge = {"role": "user", "content": NUDGE.format(names=", ".join(self.toolbox.names))}
                    self.messages.append(nudge)
                    yield DriverMessage(iteration=iteration, kind="nudge", message=nudge)
                results, outcomes = [], []
                for call in calls:  # every call is run and answered, even after a finish in the same batch
                    result, outcome = await self._run_call(iteration, call)
                    self.messages.append(result.message)
                    results.append(result)
                    outcomes.append(outcome)
                    yield result
                finished = next((o for o in outcomes if o.finished), None)
                if finished is not None:
                    reason, detail, summary = "finished", "the agent called finish", finished.summary
                    break
                if self.reflector is not None and iteration < self.max_steps:
                    record = IterationRecord(iteration, completion.message, results, outcomes, self.max_steps)
                    note = await self.reflector.after_iteration(record, self.messages, self.control.reflection)
                    if note is not None:
                        self.usage = self.usage + note.usage
                        self.messages.extend(note.messages)
                        yield note
        except StopRun as stop:
            reason, detail = stop.reason, stop.detail
            yield Notice(iteration=iteration, level="error", text=detail)
        yield RunFinished(reason=reason, detail=detail, summary=summary, iterations=iteration, usage=self.usage)

    async def _request(self) -> Completion:
        violations = check_messages(self.messages)
        if violations:  # a bug in the driver, never sent: the provider would refuse it anyway
            raise StopRun("error", "ordering check failed before sending: " + "; ".join(map(str, violations)))
        return await self.model.complete(self.messages, self.toolbox.schemas())

    async def _run_call(self, iteration: int, call: dict[str, Any]) -> tuple[ToolResult, ToolOutcome]:
        function = call.get("function") or {}
        name, arguments = str(function.get("name") or ""), function.get("arguments") or ""
        started = time.perf_counter()
        outcome = await self.toolbox.execute(name, arguments if isinstance(arguments, str) else str(arguments))
        message = {"role": "tool", "tool_call_id": call.get("id", ""), "content": outcome.content}
        result = ToolResult(iteration=iteration, tool_call_id=call.get("id", ""), name=name,
                            arguments=arguments if isinstance(arguments, str) else str(arguments),
                            content=outcome.content, is_error=outcome.is_error,
                            duration_s=time.perf_counter() - started, message=message)
        return result, outcome


class ChatModel:
    """A `Model` over the openai SDK's chat completions, for any OpenAI-compatible endpoint."""

    def __init__(self, client: Any, model: str, describe_error: Any = None, **params: Any) -> None:
        self.client = client
        self.model = model
        self.params = params
        self._describe = describe_error or (lambda exc: f"{type(exc).__name__}: {exc}")

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                       extra_headers: dict[str, str] | None = None) -> Completion:
        import openai

        from agent.providers import is_context_length_error

        kwargs: dict[str, Any] = dict(self.params)
        if tools:
            kwargs["tools"] = tools
        if extra_headers:
            kwargs["extra_headers"] = extra_headers
        started = time.perf_counter()
        try:
            response = await self.client.chat.completions.create(model=self.model, messages=messages, **kwargs)
        except openai.APIError as exc:
            if is_context_length_error(exc):
                raise StopRun("context_length", self._describe(exc)) from exc
            raise StopRun("provider_error", self._describe(exc)) from exc
        latency = time.perf_counter() - started
        if not response.choices:
            raise StopRun("provider_error", "the provider returned a completion with no choices")
        choice = response.choices[0]
        usage = None
        if response.usage is not None:
            usage = Usage(prompt_tokens=response.usage.prompt_tokens or 0,
                          completion_tokens=response.usage.completion_tokens or 0)
        return Completion(message=clean_message(choice.message), usage=usage, finish_reason=choice.finish_reason,
                          model=response.model, latency_s=latency)


def clean_message(message: Any) -> dict[str, Any]:
    """Only the fields the API defines for an assistant message (never a raw dump of a richer object)."""
    out: dict[str, Any] = {"role": "assistant", "content": message.content}
    calls = []
    for call in message.tool_calls or []:
        function = getattr(call, "function", None)
        if function is None:
            continue
        calls.append({"id": call.id, "type": "function",
                      "function": {"name": function.name, "arguments": function.arguments or ""}})
    if calls:
        out["tool_calls"] = calls
    return out
