"""The typed events the loop publishes.

One stream, consumed by every front end: the headless CLI prints it, the TUI renders it, the transcript
writer appends it to a JSONL file, tests assert on it. Every message that enters the chat history enters
through exactly one event, so the messages list (and the request at any iteration) can be rebuilt from
the stream alone, without storing the whole list again at every step.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter

ReflectionMode = Literal["off", "system", "user", "assistant"]
"""Where reflection notes go: off, or the role the note is injected with."""

FinishReason = Literal["finished", "max_steps", "provider_error", "context_length", "cancelled", "error"]
"""Why a run stopped."""


class Usage(BaseModel):
    """Token counts of one completion, as the provider reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: "Usage | None") -> "Usage":
        if other is None:
            return self
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class _Event(BaseModel):
    ts: float = Field(default_factory=time.time, description="Unix time the event happened.")


class RunStarted(_Event):
    """The seed of the history: the system prompt and the user's goal."""

    type: Literal["run_started"] = "run_started"
    messages: list[dict[str, Any]]


class IterationStarted(_Event):
    """A request is about to be sent. `request_size` messages of the history form that request."""

    type: Literal["iteration_started"] = "iteration_started"
    iteration: int
    request_size: int
    reflection: ReflectionMode = "off"
    """The reflection switch for this iteration, as it stood when the iteration began (a live toggle
    takes effect from the next iteration on)."""
    reflection_role: str | None = None
    """The role a note written after this iteration would take: `reflection`, unless the endpoint refused
    that role earlier in the run (then the role that worked); None when off or when every role was refused.
    An iteration whose request was retried after a role refusal has a second IterationStarted: the last one
    describes the request that was answered."""


class AssistantMessage(_Event):
    """The model's reply, appended to the history right after the completion returned."""

    type: Literal["assistant_message"] = "assistant_message"
    iteration: int
    message: dict[str, Any]
    usage: Usage | None = None
    latency_s: float = 0.0
    finish_reason: str | None = None
    model: str | None = None
    parsed_from_text: bool = False


class ToolResult(_Event):
    """One `tool` message answering one `tool_call_id`."""

    type: Literal["tool_result"] = "tool_result"
    iteration: int
    tool_call_id: str
    name: str
    arguments: str = ""
    content: str
    is_error: bool = False
    duration_s: float = 0.0
    message: dict[str, Any]


class Trigger(BaseModel):
    """Why a reflection ran, with the evidence that fired it."""

    kind: str
    evidence: str = ""


class ReflectionNote(_Event):
    """A note from a separate LLM call, injected after the last tool message of the iteration."""

    type: Literal["reflection_note"] = "reflection_note"
    iteration: int
    role: str
    content: str
    triggers: list[Trigger] = []
    messages: list[dict[str, Any]] = []
    """Every message this note added to the history (the note, and any follower the API needs)."""
    request: list[dict[str, Any]] = []
    """The messages of the reflection call itself (not part of the agent's history)."""
    usage: Usage | None = None
    latency_s: float = 0.0
    model: str | None = None
    fallback_from: str | None = None
    """The role reflection was set to, when the note took another one because the endpoint refused that
    role earlier in the run (or a preset knows it does)."""
    follower_added: bool = False
    """True when a note with role `assistant` was followed by a short `user` message ("Continue."), because
    many templates refuse a history that ends on an assistant message; both are in `messages`."""


class ReflectionFallback(_Event):
    """The endpoint refused the request that carried a reflection note because of the note's role, so the
    note was replaced at the end of the history and the same request is sent again.

    To rebuild the history: drop the last `replaced` messages, then append `messages` (the note in
    `to_role`, plus its follower if any). `to_role` None: every role was refused; the note was removed and
    no more notes are injected in this run.
    """

    type: Literal["reflection_fallback"] = "reflection_fallback"
    iteration: int
    """The iteration whose request was refused (the note itself was written after `note_iteration`)."""
    note_iteration: int
    from_role: str
    to_role: str | None
    error: str
    """What the endpoint said, verbatim."""
    status: int | None = None
    messages: list[dict[str, Any]] = []
    replaced: int = 0


class DriverMessage(_Event):
    """Any other message the driver adds to the history (a nudge after a turn with no action, or a
    message from an imported transcript that is neither a call nor a result)."""

    type: Literal["driver_message"] = "driver_message"
    iteration: int
    kind: str
    message: dict[str, Any]


class Notice(_Event):
    """Something a person should see that adds nothing to the history."""

    type: Literal["notice"] = "notice"
    iteration: int | None = None
    level: Literal["info", "warning", "error"] = "info"
    text: str


class RunFinished(_Event):
    """The run is over, and why."""

    type: Literal["run_finished"] = "run_finished"
    reason: FinishReason
    detail: str = ""
    summary: str | None = None
    iterations: int = 0
    tests_passed: bool | None = None
    test_output: str = ""
    usage: Usage = Usage()


Event = Annotated[
    Union[
        RunStarted,
        IterationStarted,
        AssistantMessage,
        ToolResult,
        ReflectionNote,
        ReflectionFallback,
        DriverMessage,
        Notice,
        RunFinished,
    ],
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def appended_messages(event: Event) -> list[dict[str, Any]]:
    """The chat messages an event adds to the history, in order (after `removed_messages(event)` messages
    were dropped from its end: only a ReflectionFallback removes any)."""
    if isinstance(event, RunStarted):
        return event.messages
    if isinstance(event, (AssistantMessage, ToolResult, DriverMessage)):
        return [event.message]
    if isinstance(event, (ReflectionNote, ReflectionFallback)):
        return event.messages
    return []


def removed_messages(event: Event) -> int:
    """How many messages an event drops from the end of the history before appending its own."""
    return event.replaced if isinstance(event, ReflectionFallback) else 0


def apply_event(history: list[dict[str, Any]], event: Event) -> None:
    """Update a history in place with what one event changes in it."""
    dropped = removed_messages(event)
    if dropped:
        del history[max(0, len(history) - dropped):]
    history.extend(appended_messages(event))
