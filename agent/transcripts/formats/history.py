"""A chat history turned into the loop's events, in steps: the core every imported format shares.

A format's reader yields `Entry`s (a Chat Completions-shaped message, and what the file says about it
beyond the message: its time, tokens, model, whether a result is an error, or, for what the API has no
role for, a kind such as `thinking`). `HistoryReader` turns them into events as the loop would have
published them, one iteration per assistant message, a step at a time: `agent-tui open` draws the first
screen from the first step and converts the rest behind it, exactly as it reads our own JSONL
(`JsonlReader` has the same interface). Every message is checked (`message_problem`) as it is converted;
error marks and the ordering check are the display model's, computed as blocks are fed.
"""

from __future__ import annotations

import gc
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator

from agent.events import (
    AssistantMessage,
    DriverMessage,
    Event,
    IterationStarted,
    RunFinished,
    RunStarted,
    ToolResult,
    Usage,
    content_text,
)
from agent.transcripts.transcript import Transcript, TranscriptError, TranscriptHeader, message_problem

ORIGINAL = "_original"
"""The key under which a converted message keeps the record it was made from (the Chat Completions export
leaves it out; the raw view and the request view show it)."""
_KINDS = {"user": "observation", "system": "note", "developer": "note", "exit": "exit"}
"""The DriverMessage kind of a message that is neither a reply nor a result, by role."""


@dataclass(slots=True)
class Entry:
    """One message of an imported history, with what its file says beyond the message."""

    message: dict[str, Any]
    ts: float | None = None
    usage: Usage | None = None
    model: str | None = None
    is_error: bool = False
    kind: str | None = None
    """For a message that is neither a reply nor a result: the kind shown (thinking, reasoning, score...);
    None: from its role (a user message is an observation, a system one a note)."""
    latency_s: float = 0.0


def foreign(role: str, text: str, original: Any = None, *, kind: str | None = None, ts: float | None = None) -> Entry:
    """What the API has no message for (a thinking block, a reasoning item, a score, a sub-agent's turn):
    a message with a role of its own, shown in its iteration, neutral for the ordering check and left out
    of the Chat Completions export."""
    message: dict[str, Any] = {"role": role, "content": text}
    if original is not None:
        message[ORIGINAL] = original
    return Entry(message, ts=ts, kind=kind or role)


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: a stranger's file may hold anything anywhere."""
    return value if isinstance(value, dict) else {}


def dumps(value: Any) -> str:
    """JSON text of a value a file gave (arguments as an object); never raises."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class HistoryReader:
    """Entries converted to events a step at a time, appended to `transcript.events`.

    `entries` yields (entry, progress) pairs, progress counting up to `total` in any unit (bytes of a
    JSONL file, messages of a parsed document); `size` is the file's bytes, so that `read(budget)` takes
    about `budget` bytes' worth of entries. `ending` is how the run ended, when the file says so up front;
    it is appended once every entry is read. The same interface as `JsonlReader`."""

    def __init__(self, transcript: Transcript, entries: Iterable[tuple[Entry, int]], *, total: int, size: int,
                 source: str, what: str = "message", ending: Callable[[], RunFinished | None] | None = None) -> None:
        self.transcript = transcript
        self.size = size
        self.done = False
        self.error: TranscriptError | None = None
        self._entries: Iterator[tuple[Entry, int]] = iter(entries)
        self._total = max(total, 1)
        self._progress = 0
        self._source = source
        self._what = what
        self._ending = ending
        self._seed: list[dict[str, Any]] | None = []
        """Messages before the first reply (the RunStarted), until that reply comes; then None."""
        self._seed_ts: float | None = None
        self._index = 0
        """Messages of the history so far."""
        self._iteration = 0
        self._calls: dict[str, dict[str, Any]] = {}
        self._last_role: Any = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.done else min(self._progress / self._total, 1.0)

    def ending(self) -> RunFinished | None:
        """How the run ended, before the entries up to it are read (None: the file does not say up front)."""
        return None if self._ending is None or self.done else self._ending()

    def close(self) -> None:
        self.done = True

    def read(self, budget: int | None = None) -> list[Event]:
        """Convert the next entries, about `budget` bytes' worth (all when None); return their events. A
        malformed message ends the reading: the events before it are returned and `error` says why."""
        if self.done:
            return []
        out: list[Event] = []
        stop = None if budget is None else self._progress + max(1, budget * self._total // max(self.size, 1))
        was_enabled = gc.isenabled()
        gc.disable()  # only new, long-lived objects
        try:
            for entry, self._progress in self._entries:
                self._convert(entry, out)
                if stop is not None and self._progress >= stop:
                    break
            else:
                self._finish(out)
        except TranscriptError as exc:
            self.error, self.done = exc, True
        except (RecursionError, MemoryError) as exc:  # a pathological file, found while converting it
            self.error, self.done = TranscriptError(f"{self._source}: not a transcript: {type(exc).__name__} "
                                                    f"while converting it"), True
        finally:
            if was_enabled:
                gc.enable()
        self.transcript.events.extend(out)
        self.transcript._iterations = None
        return out

    def _finish(self, out: list[Event]) -> None:
        self._flush_seed(out)
        ending = self._ending() if self._ending is not None else None
        if ending is not None:
            out.append(ending.model_copy(update={"iterations": self._iteration}))
        self.done = True

    def _flush_seed(self, out: list[Event]) -> None:
        if self._seed is not None:
            out.append(RunStarted.model_construct(messages=self._seed, ts=self._ts(self._seed_ts)))
            self._seed = None

    def _ts(self, ts: float | None) -> float:
        return self.transcript.header.created if ts is None else ts

    def _convert(self, entry: Entry, out: list[Event]) -> None:
        m = entry.message
        problem = message_problem(m)
        if problem:
            raise TranscriptError(f"{self._source}: not a transcript: {self._what} {self._index} {problem}")
        role = m.get("role")
        ts = self._ts(entry.ts)
        if role == "assistant":
            self._flush_seed(out)
            self._iteration += 1
            out.append(IterationStarted.model_construct(iteration=self._iteration, request_size=self._index, ts=ts))
            out.append(AssistantMessage.model_construct(iteration=self._iteration, message=m, ts=ts, usage=entry.usage,
                                                        model=entry.model, latency_s=entry.latency_s))
            for call in m.get("tool_calls") or ():
                if call.get("id"):
                    self._calls[call["id"]] = call.get("function") or {}
        elif self._last_role != "assistant" and refused_reply(m):  # asked, its reply refused and not kept
            self._flush_seed(out)
            self._iteration += 1
            out.append(IterationStarted.model_construct(iteration=self._iteration, request_size=self._index, ts=ts))
            out.append(DriverMessage.model_construct(iteration=self._iteration, kind="format_error", message=m, ts=ts))
        elif self._seed is not None:  # before the first reply: the seed of the run
            if self._seed_ts is None:
                self._seed_ts = entry.ts
            self._seed.append(m)
        else:
            self._flush_seed(out)
            if role == "tool":
                cid = str(m.get("tool_call_id") or "")
                fn = self._calls.get(cid, {})
                args = fn.get("arguments", "")
                out.append(ToolResult.model_construct(
                    iteration=self._iteration, tool_call_id=cid, name=str(fn.get("name") or m.get("name") or "?"),
                    arguments=args if isinstance(args, str) else dumps(args), content=content_text(m.get("content")),
                    is_error=entry.is_error, duration_s=0.0, message=m, ts=ts))
            else:
                kind = entry.kind or _KINDS.get(str(role), str(role))
                out.append(DriverMessage.model_construct(iteration=self._iteration, kind=kind, message=m, ts=ts))
        self._last_role = role
        self._index += 1


def refused_reply(message: dict[str, Any]) -> bool:
    """Whether `message` is mini-swe-agent 2's format error: its model refuses a reply before the agent
    appends it, so the error stands for a turn whose reply is not in the history (an iteration of its own;
    a text-based agent keeps the reply in `extra.model_response`)."""
    extra = message.get("extra")
    return isinstance(extra, dict) and extra.get("interrupt_type") == "FormatError"


def iso_time(value: Any) -> float | None:
    """Unix time of an ISO 8601 timestamp (`2025-01-31T11:00:00.000Z`), None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        return None
    return ts if math.isfinite(ts) and ts >= 0 else None


def chat_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """A Chat Completions tool call (arguments as JSON text, ids and names as strings whatever the file
    held)."""
    return {"id": "" if call_id is None else str(call_id), "type": "function",
            "function": {"name": name if isinstance(name, str) else dumps(name),
                         "arguments": arguments if isinstance(arguments, str) else dumps(arguments)}}


def usage_of(prompt: Any, completion: Any) -> Usage | None:
    """Token counts from a file's numbers (None when it has neither)."""
    def count(x: Any) -> int:
        return x if isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 1 << 62 else 0

    if not isinstance(prompt, int) and not isinstance(completion, int):
        return None
    return Usage(prompt_tokens=count(prompt), completion_tokens=count(completion))


def new_transcript(source: str, **header: Any) -> Transcript:
    """An empty transcript of an imported `source` format; None values of `header` are left out."""
    return Transcript(header=TranscriptHeader(source=source, **{k: v for k, v in header.items() if v is not None}))


def read_all(transcript: Transcript, reader: HistoryReader, in_steps: bool) -> Transcript:
    """`transcript` with `reader` as its rest (read in steps), or read whole; a broken message raises."""
    if in_steps:
        transcript.rest = reader  # type: ignore[assignment]
        return transcript
    reader.read()
    if reader.error is not None:
        raise reader.error
    return transcript


def goal_of(messages: Iterable[dict[str, Any]]) -> str:
    """The first user message's text: what the run was asked to do."""
    user = next((m for m in messages if isinstance(m, dict) and m.get("role") == "user"), None)
    return content_text(user.get("content")) if user else ""


def transcript_from_messages(messages: list[dict[str, Any]], source: str,
                             header_extra: dict[str, Any] | None = None) -> Transcript:
    """A bare history's events, read whole: one iteration per assistant message (and per reply refused and
    not kept, `refused_reply`), everything before the first one the seed, `tool` messages the results of the
    calls they answer, any other message a DriverMessage of its iteration. The dicts are kept as they are, so `messages()` gives the history back exactly."""
    transcript = new_transcript(source, goal=goal_of(messages[:50]), **(header_extra or {}))
    reader = HistoryReader(transcript, ((Entry(m), i + 1) for i, m in enumerate(messages)), total=len(messages),
                           size=1, source=source, what="messages item")
    return read_all(transcript, reader, in_steps=False)
