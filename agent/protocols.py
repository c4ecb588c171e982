"""The shared vocabulary of the engine: what the loop asks of a model, its tools and a reflector, what
they hand back, and the two ways out of a normal iteration.

A leaf module (at run time it imports only `agent.events`): the loop, the request step, reflection, the
tools and the front ends all import from here, so none of them needs another to describe what they exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Literal, Protocol

from agent.events import Completion, Event, FinishReason, ReflectionMode, ToolResult, Trigger


PURPOSE_HEADER = "x-agent-tui-purpose"
"""Sent with every reflection request (value "reflection"), so an offline or loopback endpoint can tell it
from an agent turn."""

ToolErrorKind = Literal["unknown_tool", "malformed_arguments", "bad_path", "edit_not_applied", "tool_failed"]
"""Why a tool call came back as an error; reflection names it in its evidence."""


@dataclass
class ToolOutcome:
    """The result of one tool call: the tool message content plus what the loop and reflection read."""

    content: str
    error_kind: ToolErrorKind | None = None
    """Set when the call failed (bad input, an unknown tool, the tool itself); a failing test run is not
    an error."""
    finished: bool = False
    summary: str | None = None
    tests_failed: bool = False
    changed_files: bool = False
    harness: str | None = None
    """Set when the tool could not do its job for a reason outside the agent's reach (the test command
    cannot start in the sandbox): the loop ends the run as a harness error, and no note is asked for it."""

    @property
    def is_error(self) -> bool:
        return self.error_kind is not None


@dataclass
class IterationRecord:
    """What happened in one iteration, handed to the reflector."""

    iteration: int
    assistant: dict[str, Any]
    results: list[ToolResult]
    outcomes: list[ToolOutcome]
    max_steps: int


@dataclass
class NoteMoved:
    """A request the endpoint refused because of the role of the note at its end, answered by the reflector:
    the last `replaced` messages of the history (the note) give way to `messages` (the note in the next
    role, or nothing when every role was refused), and `events` say so."""

    replaced: int
    messages: list[dict[str, Any]]
    events: list[Event]


class StopRun(Exception):
    """Leaves the loop with a reason; raised by the request step on errors it cannot recover from."""

    def __init__(self, reason: FinishReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: FinishReason = reason
        self.detail = detail


class ReflectionFailed(Exception):
    """The reflection call failed (a provider error, an empty answer): no note this iteration."""


class Model(Protocol):
    """Anything that answers a messages list with one assistant message.

    An async generator: while it works it yields what it has to hand over (the reply streaming in, the SDK
    retrying, an adaptation to the endpoint), which the loop passes on as it comes, stamped with the
    iteration; then exactly one Completion. Raises StopRun when there is no reply."""

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> AsyncIterator[Event | Completion]:
        ...


class Tools(Protocol):
    """The tools the loop offers the model and runs its calls with (agent.tools.toolbox.Toolbox)."""

    names: list[str]

    def schemas(self) -> list[dict[str, Any]]:
        """The `tools` parameter of a Chat Completions request."""
        ...

    async def execute(self, name: str, arguments: str) -> ToolOutcome:
        """Run one call; never raises for bad input (it comes back as an error outcome)."""
        ...


class Reflector(Protocol):
    """Decides after each iteration whether to add a note, writes it, and recovers when the endpoint
    refuses the note's role (see agent.reflection)."""

    fired: list[Trigger]
    """The triggers that fired after the last iteration it observed, whatever the mode."""

    def after_iteration(self, record: IterationRecord, messages: list[dict[str, Any]],
                        mode: ReflectionMode) -> AsyncIterator[Event]:
        """Called after every iteration but the last, whatever the mode, so that counters (repeated
        calls, iterations without a change) stay right while reflection is off. An async generator: what
        the model writing the note hands over while it works (the SDK's retries, an adaptation to the
        endpoint), as `Model.stream`'s, then the ReflectionNote, which goes at the end of the history.
        Raises `ReflectionFailed` when the note could not be written."""
        ...

    def effective_role(self, mode: ReflectionMode) -> str | None:
        """The role the next note would take under `mode` (None: no note will be written)."""
        ...

    def note_refused(self, error: StopRun, messages: list[dict[str, Any]], iteration: int) -> NoteMoved | None:
        """When `error` is the endpoint refusing the request `messages` of `iteration` because of the role of
        the note at its end (the last this reflector handed over): remember the role is refused, and say
        where the note goes now. None when the error is anything else (the run ends with it)."""
        ...
