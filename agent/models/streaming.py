"""Streamed replies: put the deltas back together, and write them (for the offline model and test doubles).

`StreamAccumulator` takes the SDK's chunks one by one and keeps the reply so far: the text, and the tool
calls, merged by `index`. Endpoints that stream calls without `index` (or with `index` always 0) and with
or without ids, as Ollama does, are handled too: a delta with a new id, or with a name while the call it
would extend already has one, starts a new call.

`sse_chunks(message)` cuts a whole assistant message into the chunks an OpenAI-compatible server streams.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Call:
    id: str | None = None
    name: str = ""
    arguments: str = ""


@dataclass
class StreamAccumulator:
    """The reply so far. `started` is when the request was sent; `ttft_s` is set by the first token."""

    started: float = field(default_factory=time.perf_counter)
    text: str = ""
    calls: list[_Call] = field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None
    usage: Any = None
    ttft_s: float | None = None
    _by_index: dict[int, _Call] = field(default_factory=dict)

    def add(self, chunk: Any) -> bool:
        """Take one chunk; True when it changed the text or the calls."""
        self.model = getattr(chunk, "model", None) or self.model
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        changed = False
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "index", 0) not in (0, None):
                continue
            delta = getattr(choice, "delta", None)
            if delta is not None:
                piece = getattr(delta, "content", None)
                if piece:
                    self.text += piece
                    changed = True
                for tc in getattr(delta, "tool_calls", None) or []:
                    self._add_call_delta(tc)
                    changed = True
            if getattr(choice, "finish_reason", None):
                self.finish_reason = choice.finish_reason
        if changed and self.ttft_s is None:
            self.ttft_s = time.perf_counter() - self.started
        return changed

    def _add_call_delta(self, tc: Any) -> None:
        index = getattr(tc, "index", None)
        cid = getattr(tc, "id", None) or None
        function = getattr(tc, "function", None)
        name = getattr(function, "name", None) or ""
        arguments = getattr(function, "arguments", None) or ""
        target = self._by_index.get(index) if index is not None else (self.calls[-1] if self.calls else None)
        starts_new = (target is None
                      or (cid is not None and target.id is not None and cid != target.id)
                      or (bool(name) and bool(target.name) and cid is None))
        if starts_new:
            target = _Call()
            self.calls.append(target)
            if index is not None:
                self._by_index[index] = target
        if cid is not None:
            target.id = cid
        if name and not target.name:  # names come whole (some servers repeat them in every delta)
            target.name = name
        target.arguments += arguments

    def message(self) -> dict[str, Any]:
        """The reply as a Chat Completions assistant message (ids may be missing: see wire.ensure_ids)."""
        out: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.calls:
            out["tool_calls"] = [{"id": c.id or "", "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in self.calls]
        return out

    def preview(self) -> list[dict[str, str]]:
        """The calls so far, for a live view: id (may be empty), name, arguments (possibly cut short)."""
        return [{"id": c.id or "", "name": c.name, "arguments": c.arguments} for c in self.calls]


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
