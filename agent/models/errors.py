"""What endpoints say when they refuse a request, in one table, and the one-line messages made of it.

The request step reads it to switch a setting and send again (tools refused, `null` content), reflection to
move a note to another role, the CLI to end a run with a message a person can act on.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from agent.models.limits import DeadlinePassed

if TYPE_CHECKING:
    from agent.models.presets import Endpoint

TOOLS_REFUSED = (
    '"auto" tool choice requires --enable-auto-tool-choice',  # vLLM without a tool parser
    "does not support tools",  # Ollama, for a model without a tool template
    "tools param requires --jinja",  # llama.cpp's server without --jinja
)
"""What endpoints say when they take no `tools` parameter: in auto mode the run switches to text calls."""

NULL_REFUSED = (
    "invalid message content type: <nil>",  # Ollama
    "Input should be a valid string",  # llama-cpp-python's server (HTTP 500, a pydantic validation error)
)
"""What endpoints say when an assistant message's content is `null`: the run sends `""` instead."""

REFUSAL_TEXTS: tuple[str, ...] = (
    "System message must be at the beginning.",  # Qwen3 templates (vLLM, llama.cpp --jinja)
    "System role not supported",  # Gemma templates
    "Conversation roles must alternate user/assistant/user/assistant/...",  # Mistral / Llama-2 templates
    "Unexpected role 'user' after role 'tool'",  # Mistral's API
)
"""What endpoints say when a message role is refused where a note put it, matched case-insensitively
(the trailing period is optional) in the provider's error message."""

REFUSAL_STATUSES = frozenset({400, 422, 500})
"""Template errors come back as 400 (vLLM, Mistral), 422, or 500 (llama.cpp's server)."""

CONTEXT_LENGTH_TEXTS: tuple[str, ...] = (
    "context_length",  # OpenAI, Groq: code context_length_exceeded
    "maximum context length",  # OpenAI, vLLM: "This model's maximum context length is 8192 tokens. ..."
    "context window",
    "exceeds the available context size",  # llama.cpp's server: "the request exceeds the available context
    # size, try increasing it"
)
"""What endpoints say when the request is longer than the model's context (matched lower-case)."""


class NotACompletion(Exception):
    """A 200 whose body is not a chat completion: HTML from a proxy or a wrong --base-url, plain text, nothing."""

    def __init__(self, body: str) -> None:
        super().__init__(body)
        self.body = body


class BrokenStream(Exception):
    """A streamed reply that stopped before its end: the connection broke (`cause`), or the stream ended
    without a finish_reason. `chunks` is how many chunks had arrived."""

    def __init__(self, chunks: int, cause: BaseException | None) -> None:
        super().__init__(f"the stream broke after {chunks} chunks")
        self.chunks = chunks
        self.cause = cause

    @property
    def why(self) -> str:
        if self.cause is None:
            return "it ended without a finish_reason"
        return f"the connection failed: {exception_text(self.cause.__cause__ or self.cause)}"


class MalformedReply(Exception):
    """A reply, or a chunk of one, that does not have the shape of a chat completion: `field` says where
    (`choices[0].message.tool_calls[0].id`), `problem` what is wrong there."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def undecodable(exc: BaseException) -> str | None:
    """What the JSON decoder gave up on in a body it had parsed as far as that: JSON nested too deep for
    Python's recursion, or an integer too long to convert; None for any other error."""
    if isinstance(exc, RecursionError):
        return "JSON nested too deep to read"
    if type(exc) is ValueError and "integer string conversion" in str(exc):
        return "a number too long to read"
    return None


def role_refusal(error: BaseException) -> tuple[str, int | None] | None:
    """(message, status) when `error`, or the provider error behind it, is a refusal of a message role."""
    cause: BaseException | None = error if hasattr(error, "status_code") else (error.__cause__ or error.__context__)
    status = getattr(cause, "status_code", None)
    if status is not None and status not in REFUSAL_STATUSES:
        return None
    message = error_text(cause) if cause is not None else str(error)
    haystack = (message + "\n" + str(getattr(error, "detail", "") or error)).lower()
    for text in REFUSAL_TEXTS:
        if text.lower().rstrip(".") in haystack:
            return message, status
    return None


def describe_provider_error(exc: BaseException, endpoint: Endpoint | None) -> str:
    """One line a person can act on, for any error the SDK raises (credentials in the base URL masked)."""
    text = _describe(exc, endpoint)
    return endpoint.redact(text) if endpoint is not None else text


def _describe(exc: BaseException, endpoint: Endpoint | None) -> str:
    import openai

    where = f"{endpoint.provider} at {endpoint.shown_url}" if endpoint else "the provider"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        text = one_line(error_text(exc))
        if status in (401, 403) and endpoint is not None:
            key = endpoint.key_env or "the key variable"
            return f"{where} refused the API key (HTTP {status}): check {key}. Provider said: {text}"
        if status == 404 and endpoint is not None and "model" in text.lower():
            return f"{where} has no model {endpoint.model!r} (HTTP 404): pass --model with one it serves. {text}"
        if status == 429:
            return f"{where} is rate-limiting (HTTP 429) after the SDK's retries (--max-retries): {text}"
        if is_context_length_error(exc):
            return (f"{where}: the conversation no longer fits the model's context (HTTP {status}: {text}); "
                    "lower --max-steps, or use a model with a longer context")
        return f"{where} answered HTTP {status}: {text}"
    if isinstance(exc, openai.APITimeoutError):
        return f"{where} did not answer in time (after the SDK's retries; see --timeout, --max-retries)"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach {where}: {exception_text(exc.__cause__ or exc)}"
    if isinstance(exc, (NotACompletion, json.JSONDecodeError, UnicodeDecodeError)):
        body = exc.body if isinstance(exc, NotACompletion) else getattr(exc, "doc", "?")
        what = f"a body that is not a chat completion: {one_line(body, 120)!r}" if body.strip() else "an empty body"
        if isinstance(exc, UnicodeDecodeError):
            what = "a body that is not UTF-8 text"
        return (f"{where} answered HTTP 200 with {what}; check --base-url (an OpenAI-compatible API, usually "
                "ending in /v1)")
    if isinstance(exc, DeadlinePassed):
        return (f"{where} had not finished its reply {exc.seconds:g} s after the request was sent (the deadline "
                f"of a request, retries and the whole stream included: --timeout {exc.timeout:g} x "
                f"(1 + --max-retries {exc.retries}){', the waits between retries' if exc.retries else ''} and 1 s); "
                "raise --timeout to wait longer")
    if isinstance(exc, MalformedReply) or undecodable(exc):
        return (f"{where} sent a reply that is not a valid chat completion ({undecodable(exc) or exc}); "
                "nothing of it was used or recorded")
    if isinstance(exc, BrokenStream):
        return (f"{where} broke off its streamed reply after {exc.chunks} chunks ({exc.why}), after every "
                "restart --max-retries allows; --no-stream asks for whole replies")
    if is_context_length_error(exc):
        return (f"{where}: the conversation no longer fits the model's context ({one_line(error_text(exc))}); "
                "lower --max-steps, or use a model with a longer context")
    return exception_text(exc)


def exception_text(exc: BaseException) -> str:
    """`Type: message` on one line; the type alone when the message is empty (a reset gives `ReadError('')`)."""
    message = one_line(str(exc))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def one_line(text: str, limit: int = 400) -> str:
    """Whitespace collapsed, long texts cut: an error message fits on one line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def is_context_length_error(exc: BaseException) -> bool:
    text = error_text(exc).lower()
    return any(t in text for t in CONTEXT_LENGTH_TEXTS)


def error_text(exc: BaseException) -> str:
    """The provider's own message: `error.message` of the JSON body when there is one."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(exc, "message", None) or exc)
