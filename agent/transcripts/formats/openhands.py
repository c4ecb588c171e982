"""OpenHands event streams: a JSON array of events `{id, timestamp, source: user|agent|environment,
message, action + args | observation + content + extras + cause, tool_call_metadata: {function_name,
tool_call_id, model_response}}` (or an object whose `history` is that array, as evaluation outputs keep it).

An agent action made by a tool call is shown as the model's reply that made it (`model_response`, a Chat
Completions response: several actions of one response are one assistant message); its observation is the
`tool` message answering the call. Messages are user or assistant messages; state changes and other events
are shown in their place."""

from __future__ import annotations

import re
from typing import Any, Iterator

from agent.events import RunFinished, content_text
from agent.transcripts.formats.history import (
    Entry,
    HistoryReader,
    ORIGINAL,
    chat_call,
    dumps,
    foreign,
    goal_of,
    iso_time,
    mapping,
    new_transcript,
    read_all,
    usage_of,
)
from agent.transcripts.formats.peek import Peek
from agent.transcripts.transcript import Transcript, TranscriptError

NAME = "openhands"
LABEL = "OpenHands event stream"
_EVENT = re.compile(rb'^\s*(\{\s*"[^"]*"\s*:[^\[]{0,2000}"history"\s*:\s*)?\[\s*\{\s*"id"\s*:[^{}]{0,2000}"source"\s*:\s*"'
                    rb'(user|agent|environment)"')


def detect(peek: Peek) -> bool:
    return bool(_EVENT.match(peek.head))


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    data = peek.json("OpenHands event stream")
    events = data.get("history") if isinstance(data, dict) else data
    if not isinstance(events, list):
        raise TranscriptError(f"{peek.label}: not an OpenHands event stream (no list of events)")
    first_user = next((e for e in events[:20] if isinstance(e, dict) and e.get("source") == "user"), {})
    transcript = new_transcript(
        NAME, created=iso_time(first_user.get("timestamp")) or peek.mtime, model=_model(events),
        goal=goal_of([{"role": "user", "content": first_user.get("message")}]) if first_user else "",
        settings={k: v for k, v in data.items() if k != "history"} if isinstance(data, dict) else None)
    last = next((e for e in reversed(events) if isinstance(e, dict) and e.get("action")), {})
    ending = RunFinished(reason="finished", detail="finish", ts=iso_time(last.get("timestamp")) or peek.mtime) \
        if last.get("action") == "finish" else None

    def entries() -> Iterator[tuple[Entry, int]]:
        seen: set[str] = set()
        for i, event in enumerate(events):
            for entry in _event(event, seen):
                yield entry, i + 1

    reader = HistoryReader(transcript, entries(), total=len(events), size=peek.size, source=peek.label,
                           what="message", ending=None if ending is None else (lambda: ending))
    return read_all(transcript, reader, in_steps)


def _model(events: list[Any]) -> str | None:
    for e in events[:50]:
        meta = e.get("tool_call_metadata") if isinstance(e, dict) else None
        response = meta.get("model_response") if isinstance(meta, dict) else None
        if isinstance(response, dict) and isinstance(response.get("model"), str):
            return response["model"]
    return None


def _event(event: Any, seen: set[str]) -> list[Entry]:
    if not isinstance(event, dict):
        raise TranscriptError(f"an event that is {type(event).__name__}, not an object")
    ts = iso_time(event.get("timestamp"))
    meta = event.get("tool_call_metadata") if isinstance(event.get("tool_call_metadata"), dict) else None
    args = mapping(event.get("args"))
    action, observation, source = event.get("action"), event.get("observation"), event.get("source")
    if action is not None and meta is not None:
        return _reply(event, meta, args, seen, ts)
    if observation is not None and meta is not None:
        return [Entry({"role": "tool", "tool_call_id": str(meta.get("tool_call_id") or ""),
                       "content": content_text(event.get("content")), ORIGINAL: event}, ts=ts,
                      is_error=observation == "error")]
    if action == "message":
        role = "user" if source == "user" else "assistant"
        return [Entry({"role": role, "content": content_text(args.get("content", event.get("message"))),
                       ORIGINAL: event}, ts=ts)]
    if action == "system":
        return [Entry({"role": "system", "content": content_text(args.get("content", event.get("message"))),
                       ORIGINAL: event}, ts=ts)]
    if observation is not None:
        text = content_text(event.get("content")) or content_text(event.get("message"))
        kind = str(observation)
        if kind in ("agent_state_changed", "null", "recall"):
            return [foreign("event", text or dumps(event.get("extras")), event, kind=kind, ts=ts)]
        return [Entry({"role": "user", "content": text, ORIGINAL: event}, ts=ts, kind="observation",
                      is_error=kind == "error")]
    text = content_text(event.get("message")) or dumps(args)
    return [foreign("event", text, event, kind=str(action or "event"), ts=ts)]


def _reply(event: dict[str, Any], meta: dict[str, Any], args: dict[str, Any], seen: set[str],
           ts: float | None) -> list[Entry]:
    """The model's reply that made this action, once per response (its other actions share it)."""
    response = mapping(meta.get("model_response"))
    key = str(response.get("id") or meta.get("tool_call_id") or id(event))
    if key in seen:
        return []
    seen.add(key)
    choices = response.get("choices")
    message = choices[0].get("message") if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    if isinstance(message, dict) and message.get("tool_calls"):
        calls = [chat_call(c.get("id"), (c.get("function") or {}).get("name"), (c.get("function") or {}).get("arguments"))
                 if isinstance(c, dict) and isinstance(c.get("function"), dict) else c for c in message["tool_calls"]]
        content = content_text(message.get("content"))
    else:
        calls = [chat_call(meta.get("tool_call_id"), meta.get("function_name"),
                           {k: v for k, v in args.items() if k != "thought"})]
        content = content_text(args.get("thought")) or content_text(event.get("message"))
    usage = mapping(response.get("usage"))
    return [Entry({"role": "assistant", "content": content, "tool_calls": calls, ORIGINAL: event}, ts=ts,
                  usage=usage_of(usage.get("prompt_tokens"), usage.get("completion_tokens")),
                  model=response.get("model") if isinstance(response.get("model"), str) else None)]
