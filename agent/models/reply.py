"""What a provider sends, checked as it enters: a whole completion, or one streamed chunk.

The SDK builds its response objects without validating them, so a server's integer id, list as a tool name
or integer arguments would travel on into the history, the transcript and the terminal. Here every field
agent-tui reads is validated (pydantic, reading the SDK's objects by attribute), and a reply that does not
fit becomes a `MalformedReply` naming the field. Text is made safe on the way in: JSON's `\\ud800` escape
decodes to a lone UTF-16 surrogate, which no UTF-8 file or terminal can take, so each one becomes U+FFFD.
Content sent as a list of parts (as Mistral's reasoning models do) is taken as its text.
"""

from __future__ import annotations

import re
import reprlib
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    NonNegativeInt,
    StrictStr,
    ValidationError,
    WrapValidator,
)

from agent.events import content_text
from agent.models.errors import MalformedReply

_SURROGATE = re.compile("[\ud800-\udfff]")
_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 40, 40, 3, 3


def safe_text(text: str) -> str:
    """`text` with each lone UTF-16 surrogate replaced by U+FFFD (one character for one, so sizes hold)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


Text = Annotated[StrictStr, AfterValidator(safe_text)]
"""A string as the API defines it (never a number or a list), safe to write and to show."""


def _parts_as_text(value: Any) -> Any:
    return content_text(value) if isinstance(value, list) else value


def _none_if_invalid(value: Any, handler: Any) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


class _Read(BaseModel):
    """Reads a dict or the SDK's object alike; fields it does not name are left alone."""

    model_config = ConfigDict(from_attributes=True)


class Counts(_Read):
    """Token counts (`usage`)."""

    prompt_tokens: Annotated[NonNegativeInt, BeforeValidator(lambda v: v or 0)] = 0
    completion_tokens: Annotated[NonNegativeInt, BeforeValidator(lambda v: v or 0)] = 0


Usage = Annotated[Counts | None, WrapValidator(_none_if_invalid)]
"""Token counts that are not counts (negative, text) are not recorded: the reply itself is still good."""


class FunctionPart(_Read):
    name: Text | None = None
    arguments: Text | None = None


class CallPart(_Read):
    """A tool call, whole or (streamed) a piece of one."""

    index: int | None = None
    id: Text | None = None
    function: FunctionPart | None = None


class MessagePart(_Read):
    """An assistant message, whole or (streamed) a delta of one."""

    content: Annotated[Text | None, BeforeValidator(_parts_as_text)] = None
    tool_calls: list[CallPart] | None = None


class Choice(_Read):
    message: MessagePart
    finish_reason: Text | None = None


class Completion(_Read):
    """A whole (unstreamed) chat completion."""

    model: Text | None = None
    choices: list[Choice] | None = None
    usage: Usage = None


class ChunkChoice(_Read):
    index: int | None = None
    delta: MessagePart | None = None
    finish_reason: Text | None = None


class Chunk(_Read):
    """One chunk of a streamed chat completion."""

    model: Text | None = None
    choices: list[ChunkChoice] | None = None
    usage: Usage = None


def read_completion(response: Any) -> Completion:
    """`response` (the SDK's object or a dict), checked: MalformedReply names the first field that is wrong."""
    return _read(Completion, response, "")


def read_chunk(chunk: Any) -> Chunk:
    """One streamed chunk, checked: MalformedReply names the first field that is wrong."""
    return _read(Chunk, chunk, "a streamed chunk's ")


def _read(model: type[_Read], value: Any, prefix: str) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
        problem = "missing" if error["type"] == "missing" else f"{error['msg']}, got {_SHORT.repr(error.get('input'))}"
        raise MalformedReply(prefix + (where or "the reply"), problem) from None
