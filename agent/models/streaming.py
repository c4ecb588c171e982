"""Streamed replies: put the deltas back together, and write them (for the offline model and test doubles).

`StreamAccumulator` takes the SDK's chunks one by one, each checked as it enters (`agent.models.reply`), and
keeps the reply so far: the text, and the tool calls, merged by `index`. Endpoints that stream calls without
`index` (or with `index` always 0) and with or without ids, as Ollama does, are handled too: a delta with a
new id, or with a name while the call it would extend already has one, starts a new call. A whole reply
goes through it too (`take`), so both kinds meet the same `ReplyLimits`: past one, the accumulator takes
nothing more and says why in `cut`. Pieces are kept in lists and joined when read, so a reply of n
characters costs O(n) however finely it was cut.

`sse_chunks(message)` cuts a whole assistant message into the chunks an OpenAI-compatible server streams.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from agent.models.limits import ReplyLimits
from agent.models.reply import CallPart, MessagePart, read_chunk


class _Pieces:
    """A string that grows by appending: the pieces are joined when it is read (and kept joined)."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[str] = []

    def append(self, piece: str) -> None:
        self._parts.append(piece)

    def __str__(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""


@dataclass
class _Call:
    id: str | None = None
    name: str = ""
    arguments: _Pieces = field(default_factory=_Pieces)


@dataclass
class StreamAccumulator:
    """The reply so far. `started` is when the request was sent; `ttft_s` is set by the first token."""

    started: float = field(default_factory=time.perf_counter)
    limits: ReplyLimits = field(default_factory=ReplyLimits)
    calls: list[_Call] = field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None
    usage: Any = None
    ttft_s: float | None = None
    cut: str | None = None
    """Set when the reply passed one of `limits`: which, and the flag that changes it. Nothing more is taken."""
    size: int = 0
    """Characters taken: content, and the calls' ids, names and arguments."""
    _text: _Pieces = field(default_factory=_Pieces)
    _by_index: dict[int, _Call] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self._text)

    def add(self, chunk: Any) -> bool:
        """Take one chunk (MalformedReply when it is not one); True when it changed the text or the calls."""
        if self.cut:
            return False
        checked = read_chunk(chunk)
        self.model = checked.model or self.model
        if checked.usage is not None:
            self.usage = checked.usage
        changed = False
        for choice in checked.choices or []:
            if choice.index not in (0, None):
                continue
            if choice.delta is not None:
                changed = self._take_text(choice.delta) or changed
                for tc in choice.delta.tool_calls or []:
                    changed = self._add_call_delta(tc) or changed
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        if changed and self.ttft_s is None:
            self.ttft_s = time.perf_counter() - self.started
        return changed

    def take(self, message: MessagePart) -> None:
        """A whole (unstreamed, already checked) reply's message: each call is a call of its own."""
        self._take_text(message)
        for tc in message.tool_calls or []:
            if tc.function is not None and self._room_for_a_call():
                self.calls.append(_Call(id=self._clip(tc.id) or None, name=self._clip(tc.function.name)))
                self.calls[-1].arguments.append(self._clip(tc.function.arguments))

    def _take_text(self, part: MessagePart) -> bool:
        piece = self._clip(part.content)
        if piece:
            self._text.append(piece)
        return bool(piece)

    def _clip(self, piece: str | None) -> str:
        """As much of `piece` as the character limit leaves room for (setting `cut` when that is not all)."""
        if not piece or self.cut:
            return ""
        room = self.limits.max_chars - self.size
        if len(piece) > room:
            piece = piece[:room]
            self.cut = self.limits.chars_passed()
        self.size += len(piece)
        return piece

    def _room_for_a_call(self) -> bool:
        if self.cut:
            return False
        if len(self.calls) >= self.limits.max_tool_calls:
            self.cut = self.limits.calls_passed()
            return False
        return True

    def _add_call_delta(self, tc: CallPart) -> bool:
        index = tc.index
        cid = tc.id or None
        name = (tc.function.name or "") if tc.function else ""
        arguments = (tc.function.arguments or "") if tc.function else ""
        target = self._by_index.get(index) if index is not None else (self.calls[-1] if self.calls else None)
        starts_new = (target is None
                      or (cid is not None and target.id is not None and cid != target.id)
                      or (bool(name) and bool(target.name) and cid is None))
        if starts_new:
            if not self._room_for_a_call():
                return False
            target = _Call()
            self.calls.append(target)
            if index is not None:
                self._by_index[index] = target
        assert target is not None  # found, or made just above
        if cid is not None and cid != target.id:
            target.id = self._clip(cid)
        if name and not target.name:  # names come whole (some servers repeat them in every delta)
            target.name = self._clip(name)
        target.arguments.append(self._clip(arguments))
        return True

    def message(self) -> dict[str, Any]:
        """The reply as a Chat Completions assistant message (ids may be missing: see wire.ensure_ids)."""
        out: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.calls:
            out["tool_calls"] = [{"id": c.id or "", "type": "function",
                                  "function": {"name": c.name, "arguments": str(c.arguments)}} for c in self.calls]
        return out

    def preview(self) -> list[dict[str, str]]:
        """The calls so far, for a live view: id (may be empty), name, arguments (possibly cut short)."""
        return [{"id": c.id or "", "name": c.name, "arguments": str(c.arguments)} for c in self.calls]


def sse_chunks(message: dict[str, Any], *, model: str, usage: dict[str, Any] | None = None,
               piece: int = 8, with_index: bool = True, with_ids: bool = True,
               finish: str | None = None) -> list[dict[str, Any]]:
    """The chunks a server streams for `message`: the text in pieces, each call's name then its arguments
    in pieces, a finish chunk (`finish`, or tool_calls / stop), and a usage chunk when `usage` is given.
    `with_index=False` / `with_ids=False` stream calls as Ollama does (each call whole, no index, no id)."""
    created = int(time.time())
    base = {"id": "chatcmpl-stream", "object": "chat.completion.chunk", "created": created, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    out = [chunk({"role": "assistant", "content": ""})]
    text = message.get("content") or ""
    for k in range(0, len(text), piece):
        out.append(chunk({"content": text[k:k + piece]}))
    calls = message.get("tool_calls") or []
    for i, call in enumerate(calls):
        fn = call.get("function") or {}
        head: dict[str, Any] = {"type": "function", "function": {"name": fn.get("name", ""), "arguments": ""}}
        if with_ids and call.get("id"):
            head["id"] = call["id"]
        if with_index:
            head["index"] = i
            out.append(chunk({"tool_calls": [head]}))
            args = fn.get("arguments") or ""
            for k in range(0, len(args), piece):
                out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[k:k + piece]}}]}))
        else:
            head["function"]["arguments"] = fn.get("arguments") or ""
            out.append(chunk({"tool_calls": [head]}))
    out.append(chunk({}, finish or ("tool_calls" if calls else "stop")))
    if usage is not None:
        out.append({**base, "choices": [], "usage": usage})
    return out


def sse_body(chunks: list[dict[str, Any]]) -> bytes:
    """Server-sent events, as the SDK reads them."""
    return b"".join(f"data: {json.dumps(c)}\n\n".encode("utf-8") for c in chunks) + b"data: [DONE]\n\n"
