"""The request step over the openai SDK: one chat completion for any OpenAI-compatible endpoint.

`ChatModel.stream(history, tools)` builds the request the profile asks for (`agent.models.wire`), sends it
(streamed or not), and turns the reply back into canonical form: tool calls parsed from text when the
profile says so, ids generated where the provider gave none or repeated one. It is an async generator: while
it waits it yields what it has to hand over, the reply streaming in (`AssistantDelta`, transient), the SDK's
own retries and its adaptations to the endpoint (`Notice`), so a front end can show the wait; then the
`Completion`. Errors become `StopRun` with a line a person can act on.

What the provider sends is checked as it enters (`agent.models.reply`): a reply of the wrong shape ends the
run with a line naming the field, before anything of it reaches the history. Each request has a wall-clock
deadline and each reply a size and a call count it may not pass (`agent.models.limits`).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any, AsyncIterator, Callable, Iterator

from agent.events import AssistantDelta, Completion, Event, Notice, Usage
from agent.models.errors import (
    NULL_REFUSED,
    TOOLS_REFUSED,
    BrokenStream,
    MalformedReply,
    NotACompletion,
    error_text,
    is_context_length_error,
    one_line,
    undecodable,
)
from agent.models.limits import Deadline, DeadlinePassed, ReplyLimits
from agent.models.profiles import Profile
from agent.models.reply import read_completion
from agent.models.retries import Retried
from agent.models.streaming import StreamAccumulator
from agent.models.textcalls import parse_text_calls
from agent.models.wire import WireRequest, build_request, ensure_ids
from agent.protocols import StopRun

DELTA_INTERVAL = 0.05
"""At most one AssistantDelta this often (seconds): a live view needs no more."""


class ChatModel:
    """A `Model` over the SDK's chat completions, adapted to one endpoint by its `Profile`."""

    def __init__(self, client: Any, model: str, describe_error: Callable[[BaseException], str] | None = None, *,
                 profile: Profile | None = None, stream: bool | None = None, tool_choice: str | None = None,
                 parallel_tool_calls: bool | None = None, limits: ReplyLimits | None = None,
                 **params: Any) -> None:
        self.client = client
        self.model = model
        self.profile = profile or Profile(tool_calls="native", stream=False)
        self._first_profile = self.profile
        """The profile the run began with (the header's): a request records how the current one differs."""
        self.streaming = self.profile.stream if stream is None else stream
        """Whether requests ask for a streamed reply (off for the rest of the run once an endpoint ignored it)."""
        self.text_mode = self.profile.tool_calls == "text"
        """True once requests go in text form (from the start, or after the endpoint refused `tools`)."""
        self.tool_choice = tool_choice
        self.parallel_tool_calls = parallel_tool_calls
        self.limits = limits or ReplyLimits()
        self.params = params
        self._describe = describe_error or (lambda exc: f"{type(exc).__name__}: {exc}")

    def request(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> WireRequest:
        """What `stream` would send for this history."""
        return build_request(messages, tools, self.profile, text_mode=self.text_mode, stream=self.streaming,
                             tool_choice=self.tool_choice, parallel_tool_calls=self.parallel_tool_calls)

    async def stream(self, messages: list[dict[str, Any]],
                     tools: list[dict[str, Any]]) -> AsyncIterator[Event | Completion]:
        """What the model hands over while it works, then the reply to `messages` (a `Model`), all within the
        request's deadline (every SDK retry and stream restart inside it)."""
        deadline = Deadline(self.client)
        try:
            async for item in self._attempts(messages, tools, deadline):
                yield item
        except DeadlinePassed as exc:
            raise StopRun("provider_error", self._describe(exc)) from exc

    async def _attempts(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                        deadline: Deadline) -> AsyncIterator[Event | Completion]:
        """The request, sent again from the start after a broken stream or an adaptation to the endpoint."""
        request = self.request(messages, tools)
        started = time.perf_counter()
        restarts = 0
        while True:
            acc = StreamAccumulator(started=started, limits=self.limits)
            try:
                async for event in self._send(request, acc, deadline):
                    yield event
                break
            except BrokenStream as broke:
                if restarts >= self._retries:
                    raise StopRun("provider_error", self._describe(broke)) from broke
                restarts += 1
                notice = Notice(level="warning", text=f"the stream broke after {broke.chunks} chunks ({broke.why}): "
                                                      "sending the request again from the start, the partial reply "
                                                      f"dropped (stream restart {restarts} of {self._retries}, "
                                                      "--max-retries)")
            except StreamIgnored as ignored:
                self.streaming = False
                request = self.request(messages, tools)
                notice = Notice(level="warning", text=f"the endpoint answered a streamed request with {ignored} "
                                                      "instead of a stream: sending it again without streaming, and "
                                                      "not streaming for the rest of the run")
            except _transport_errors() as exc:
                if is_context_length_error(exc):
                    raise StopRun("context_length", self._describe(exc)) from exc
                adapted = self._adapt(exc, request)
                if adapted is None:
                    raise StopRun("provider_error", self._describe(exc)) from exc
                request, started, restarts, notice = self.request(messages, tools), time.perf_counter(), 0, adapted
            except (NotACompletion, MalformedReply, json.JSONDecodeError, UnicodeDecodeError) as exc:
                # a 200 that is not JSON, or not a chat completion
                raise StopRun("provider_error", self._describe(exc)) from exc
            except (ValueError, RecursionError) as exc:  # JSON the SDK's decoder gave up on
                if not undecodable(exc):
                    raise
                raise StopRun("provider_error", self._describe(exc)) from exc
            yield notice
        for item in self._completion(acc, messages, tools, time.perf_counter() - started, request):
            yield item

    @property
    def _retries(self) -> int:
        """The SDK's retries of one request (--max-retries), which also bound the restarts of a broken stream."""
        return getattr(self.client, "max_retries", 0) or 0

    async def _send(self, request: WireRequest, acc: StreamAccumulator, deadline: Deadline) -> AsyncIterator[Event]:
        """Send `request` and take its reply into `acc`, handing over the SDK's retries as it makes them and
        the reply as it streams in."""
        call = Retried(self._create(request, deadline), self._retries, abandon=_close)
        async for notice in call.notices():
            yield notice
        response = call.result()
        if request.params.get("stream"):
            async for delta in self._read(response, acc, deadline):
                yield delta
        else:
            _take_whole(response, acc)

    async def _create(self, request: WireRequest, deadline: Deadline) -> Any:
        async with deadline.step():
            return await self.client.chat.completions.create(model=self.model, messages=request.messages,
                                                             **request.params, **self.params)

    async def _read(self, stream: Any, acc: StreamAccumulator, deadline: Deadline) -> AsyncIterator[AssistantDelta]:
        """The streamed reply, into `acc`. Raises BrokenStream when the stream stops before its end (the caller
        sends the request again from the start), StreamIgnored when the endpoint answered without streaming.
        Past a limit of the reply, the rest of the stream is not read."""
        reading = _Reading(stream, acc)
        try:
            while True:
                async with deadline.step():
                    delta = await reading.next_delta()
                if delta is None:
                    break
                yield delta
        except _transport_errors() as exc:
            if not _is_connection_fault(exc):
                raise
            raise BrokenStream(reading.chunks, exc) from exc
        finally:
            await stream.close()
        if acc.finish_reason is None and acc.cut is None:
            kind = _content_type(stream)
            if reading.chunks == 0 and kind and "event-stream" not in kind:
                raise StreamIgnored(kind)
            raise BrokenStream(reading.chunks, None)

    def _completion(self, acc: StreamAccumulator, history: list[dict[str, Any]], tools: list[dict[str, Any]],
                    latency: float, request: WireRequest) -> Iterator[Event | Completion]:
        """The reply in canonical form, after the notices of what was done to it."""
        message = acc.message()
        raw_content = None
        parsed = False
        cut = acc.cut
        calls = message.get("tool_calls") or []
        if calls:
            missing = ensure_ids(calls, history, self.profile.id_style)
            if missing:
                yield Notice(level="info", text=f"the provider gave {missing} tool call(s) no id or a repeated "
                                                f"one: using {', '.join(c['id'] for c in calls)}")
        elif self.profile.tool_calls != "native" and message.get("content"):
            names = [t.get("function", {}).get("name", "") for t in tools]
            found, rest = parse_text_calls(message["content"], names)
            if len(found) > 1 and self.text_mode and self.profile.text_one_call:
                yield Notice(level="info", text=f"the reply wrote {len(found)} calls; taking the first "
                                                f"({found[0].name}), one call per reply (the rest stay in "
                                                "raw_content)")
                found = found[:1]
            if len(found) > self.limits.max_tool_calls:
                found, cut = found[:self.limits.max_tool_calls], cut or self.limits.calls_passed()
            if found:
                raw_content, parsed = message["content"], True
                message["content"] = rest or None
                message["tool_calls"] = [{"id": "", "type": "function",
                                          "function": {"name": c.name, "arguments": c.arguments}} for c in found]
                ensure_ids(message["tool_calls"], history, self.profile.id_style)
            elif rest != message["content"].strip():  # a made-up <tool_response> was cut off
                raw_content, message["content"] = message["content"], rest
        usage = None
        if acc.usage is not None:
            usage = Usage(prompt_tokens=getattr(acc.usage, "prompt_tokens", 0) or 0,
                          completion_tokens=getattr(acc.usage, "completion_tokens", 0) or 0)
        yield Completion(message=message, usage=usage, finish_reason=acc.finish_reason, model=acc.model,
                         latency_s=latency, parsed_from_text=parsed, raw_content=raw_content,
                         ttft_s=acc.ttft_s, tool_call_mode="text" if self.text_mode else "native", cut=cut,
                         **self._sent_with(request))

    def _sent_with(self, request: WireRequest) -> dict[str, Any]:
        """What the transcript records of how `request` was sent, besides the history (see `Completion`)."""
        first, now = self._first_profile.settings(), self.profile.settings()
        params = {"model": self.model, **{k: v for k, v in request.params.items() if k != "tools"}, **self.params}
        return {"request_params": params, "profile_changes": {k: v for k, v in now.items() if first[k] != v}}

    def _adapt(self, exc: BaseException, request: WireRequest) -> Notice | None:
        """When the endpoint refused the request for something the profile can change (native tools, `null`
        content, `system` at index 0, the shape of ids): change it for the rest of the run, and say so (the
        request is then sent again). Each change is made once, so this never loops. None: nothing to change."""

        text = error_text(exc)
        change = adaptation(text, self.profile, request, self.text_mode)
        if change is None:
            return None
        field, value, what = change
        if field == "text_mode":
            self.text_mode = True
        else:
            self.profile = replace(self.profile, **{field: value})
        return Notice(level="warning", text=f"the endpoint refused the request ({one_line(text, 200)}): {what} "
                                            "for the rest of the run, and sending it again")


def adaptation(text: str, profile: Profile, request: WireRequest, text_mode: bool) -> tuple[str, Any, str] | None:
    """(profile field, new value, what changes) when an endpoint's error `text` says how to adapt."""
    if profile.tool_calls == "auto" and not text_mode and any(t in text for t in TOOLS_REFUSED):
        return "text_mode", True, "describing the tools in the prompt and parsing calls from the replies"
    if profile.system_role == "system" and "does not support 'system' with this model" in text:
        return "system_role", "developer", "sending system messages as developer"
    if profile.id_style != "mistral9" and "with a length of 9" in text and "a-z, A-Z, 0-9" in text:
        return "id_style", "mistral9", "sending tool-call ids of 9 letters and digits"
    null_content = any(m.get("role") == "assistant" and m.get("content") is None for m in request.messages)
    if profile.assistant_content == "null" and null_content and any(t in text for t in NULL_REFUSED):
        return "assistant_content", "empty", 'sending "" instead of null as the content of tool-call turns'
    return None


class _Reading:
    """A streamed reply being read into `acc`, in stretches that each end where a live view is due the reply
    so far (an AssistantDelta at most every DELTA_INTERVAL)."""

    def __init__(self, stream: Any, acc: StreamAccumulator) -> None:
        self._chunks = stream.__aiter__()
        self.acc = acc
        self.chunks = 0
        """Chunks read so far."""
        self._last = 0.0

    async def next_delta(self) -> AssistantDelta | None:
        """Read on until a delta is due; None once the stream is over or the reply passed a limit."""
        acc = self.acc
        async for chunk in self._chunks:
            self.chunks += 1
            changed = acc.add(chunk)
            if acc.cut:
                return None
            if changed and time.perf_counter() - self._last >= DELTA_INTERVAL:
                self._last = time.perf_counter()
                return AssistantDelta(text=acc.text, tool_calls=acc.preview(), ttft_s=acc.ttft_s,
                                      elapsed_s=self._last - acc.started)
        return None


def _take_whole(response: Any, acc: StreamAccumulator) -> None:
    """A reply that came whole, into `acc` (which checks it against the same limits as a stream)."""
    if isinstance(response, (str, bytes)):  # the SDK hands back a body that is not JSON as text
        raise NotACompletion(response if isinstance(response, str) else response.decode("utf-8", "replace"))
    reply = read_completion(response)
    if not reply.choices:
        raise StopRun("provider_error", "the provider returned a completion with no choices")
    choice = reply.choices[0]
    acc.model, acc.usage, acc.finish_reason = reply.model, reply.usage, choice.finish_reason
    acc.take(choice.message)


async def _close(response: Any) -> None:
    """A reply nobody will read: a stream is closed (its connection, and its turn at a shared gate, given back)."""
    close = getattr(response, "close", None)
    if close is not None:
        await close()


class StreamIgnored(Exception):
    """The endpoint answered `stream: true` with a whole reply (its content type is the message)."""


def _content_type(stream: Any) -> str:
    response = getattr(stream, "response", None)
    return str(getattr(response, "headers", {}).get("content-type", "")) if response is not None else ""


def _is_connection_fault(exc: BaseException) -> bool:
    """A connection that broke while the reply came (reset, closed early, timed out), not an error the
    provider sent inside the stream."""
    import openai

    if isinstance(exc, openai.APIConnectionError):
        return True
    return not isinstance(exc, openai.APIError)  # httpx's own errors


def _transport_errors() -> tuple[type[BaseException], ...]:
    import openai

    errors: list[type[BaseException]] = [openai.APIError]
    for name in ("httpx2", "httpx"):
        try:
            errors.append(__import__(name).HTTPError)
        except ImportError:
            pass
    return tuple(errors)
