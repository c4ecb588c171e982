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
    """The role that was tried first and refused by the endpoint, if any."""


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
        DriverMessage,
        Notice,
        RunFinished,
    ],
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def appended_messages(event: Event) -> list[dict[str, Any]]:
    """The chat messages an event adds to the history, in order."""
    if isinstance(event, RunStarted):
        return event.messages
    if isinstance(event, (AssistantMessage, ToolResult, DriverMessage)):
        return [event.message]
    if isinstance(event, ReflectionNote):
        return event.messages
    return []
