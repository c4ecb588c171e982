"""The transcript as the view sees it: blocks of items, fed one event at a time.

A block is one iteration (plus a leading "start" block for the seed messages and a trailing "finish"
block). An item is one selectable thing inside a block: a message, a tool call, a tool result, a
reflection note, a notice. Items are derived from the block's events in arrival order, so new events only
ever append items, and a cursor `(block, item)` stays valid while a run grows.

Nothing here imports Textual: the model is plain data, cheap per block (a 10,000-iteration transcript
costs a few MB on top of its events), and testable on its own.
"""

from __future__ import annotations

import gc
import json
from array import array
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from agent.events import (
    AssistantMessage,
    DriverMessage,
    IterationStarted,
    Notice,
    ReflectionFallback,
    ReflectionNote,
    RunFinished,
    RunStarted,
    ToolResult,
    Usage,
    appended_messages,
    removed_messages,
)

# Colours of the tool_call_id links: restrained, distinct on a dark background, none of them red (red
# means error) or pink (pink means reflection).
ID_PALETTE = (
    "#61afef",  # blue
    "#e5c07b",  # gold
    "#98c379",  # green
    "#56b6c2",  # cyan
    "#d19a66",  # orange
    "#a9b1ff",  # lavender
    "#7fd1b9",  # teal
    "#d7c39b",  # sand
)


NO_VIOLATIONS: Mapping[Any, Any] = MappingProxyType({})
NOTHING_UNFOLDED: frozenset[int] = frozenset()


class ViolationLike(Protocol):
    index: int
    rule: str
    message: str


Checker = Callable[[list[dict[str, Any]]], "list[ViolationLike]"]


def default_checker() -> Checker | None:
    """`agent.ordering.check_messages`, with roles the API does not know (mini-swe-agent's `exit`) neutral."""
    try:
        from agent.ordering import CHAT_ROLES, check_messages
    except Exception:  # pragma: no cover - agent.ordering is part of the package
        return None

    def check(messages: list[dict[str, Any]]) -> list[Any]:
        foreign = {m.get("role") for m in messages if isinstance(m, dict)} - CHAT_ROLES
        return check_messages(messages, skip_roles=foreign)

    return check


# ---------------------------------------------------------------------------------------------------------
# Reading messages defensively: any field may be missing or of an unexpected type.


def content_text(content: Any) -> str:
    """The text of a message's `content`, whatever shape it has (string, list of parts, None, other)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif part.get("type") in ("image_url", "image", "input_image"):
                    parts.append("[image]")
                else:
                    parts.append(_dumps(part))
            else:
                parts.append(str(part))
        return "\n".join(parts)
    return _dumps(content)


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


def tool_calls_of(message: Any) -> list[ToolCall]:
    """The tool calls of an assistant message; malformed entries become calls named '?'."""
    if not isinstance(message, dict):
        return []
    raw = message.get("tool_calls")
    if not isinstance(raw, list):
        return []
    calls = []
    for entry in raw:
        if not isinstance(entry, dict):
            calls.append(ToolCall("", "?", _dumps(entry)))
            continue
        fn = entry.get("function")
        fn = fn if isinstance(fn, dict) else {}
        args = fn.get("arguments", "")
        if not isinstance(args, str):
            args = _dumps(args)
        name = fn.get("name")
        calls.append(ToolCall(str(entry.get("id") or ""), str(name) if name else "?", args))
    return calls


def role_of(message: Any) -> str:
    if isinstance(message, dict):
        role = message.get("role")
        return str(role) if role else "?"
    return "?"


# ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Item:
    """One selectable (or decorative) part of a block."""

    kind: str
    """title, message, request, assistant, call, result, reflection, fallback, driver, notice, finish, unknown"""
    pos: int = -1
    """Index of the event it comes from in `Block.events` (-1 for the title)."""
    sub: int = 0
    """For a call: its index in tool_calls. For a seed message: its index in RunStarted.messages."""
    call_id: str | None = None
    selectable: bool = True

    @property
    def is_link(self) -> bool:
        return self.kind in ("call", "result") and bool(self.call_id)


class Block:
    """The events of one iteration (or the start / finish of a run), and its display state."""

    __slots__ = (
        "kind", "number", "events", "items", "_item_index", "expanded", "pinned", "unfolded",
        "tool_names", "error_count", "reflection", "usage", "latency_s", "assistant_seen", "started_seen",
        "request_size", "previous_request_size", "violations", "fallbacks",
    )

    def __init__(self, kind: str, number: int | None = None) -> None:
        self.kind = kind
        """start, iteration or finish"""
        self.number = number
        self.events: list[Any] = []
        self.items: list[Item] | None = None
        self._item_index: dict[tuple[int, int], int] | None = None
        self.expanded = False
        self.pinned = False
        """Expanded by the user: auto-collapse leaves it open."""
        self.unfolded: frozenset[int] = NOTHING_UNFOLDED
        """Items whose long text is shown whole."""
        self.tool_names: list[str] = []
        self.error_count = 0
        self.reflection: str | None = None
        self.usage: Usage | None = None
        self.latency_s = 0.0
        self.assistant_seen = False
        self.started_seen = False
        self.request_size: int | None = None
        self.previous_request_size = 0
        self.fallbacks = 0
        """Reflection role refusals of this iteration's request."""
        self.violations: Mapping[tuple[int, int], list[ViolationLike]] = NO_VIOLATIONS
        """(event pos, sub) -> ordering violations of the message(s) there."""

    @property
    def violation_count(self) -> int:
        return sum(len(v) for v in self.violations.values())

    # -- items -------------------------------------------------------------------------------------------

    def get_items(self) -> list[Item]:
        if self.items is None:
            self.items = [Item("title", selectable=True)]
            self._item_index = {}
            for pos, event in enumerate(self.events):
                self._extend_items(pos, event)
        return self.items

    def drop_items(self) -> None:
        """Forget the derived items (rebuilt on demand, identical)."""
        self.items = None
        self._item_index = None

    def _extend_items(self, pos: int, event: Any) -> None:
        assert self.items is not None and self._item_index is not None
        add = self.items.append
        index = self._item_index

        def mark(sub: int = 0) -> None:
            index.setdefault((pos, sub), len(self.items))  # type: ignore[arg-type]

        if isinstance(event, RunStarted):
            for sub, _ in enumerate(event.messages):
                mark(sub)
                add(Item("message", pos, sub))
        elif isinstance(event, IterationStarted):
            add(Item("request", pos, selectable=False))
        elif isinstance(event, AssistantMessage):
            mark()
            add(Item("assistant", pos))
            for sub, call in enumerate(tool_calls_of(event.message)):
                add(Item("call", pos, sub, call.id or None))
        elif isinstance(event, ToolResult):
            mark()
            add(Item("result", pos, 0, event.tool_call_id or None))
        elif isinstance(event, ReflectionNote):
            mark()
            add(Item("reflection", pos))
        elif isinstance(event, ReflectionFallback):
            mark()
            add(Item("fallback", pos))
        elif isinstance(event, DriverMessage):
            mark()
            add(Item("driver", pos))
        elif isinstance(event, Notice):
            add(Item("notice", pos))
        elif isinstance(event, RunFinished):
            add(Item("finish", pos))
        else:
            add(Item("unknown", pos))

    def item_for_message(self, pos: int, sub: int) -> int | None:
        """The item showing the message at (event pos, sub)."""
        self.get_items()
        assert self._item_index is not None
        found = self._item_index.get((pos, sub))
        if found is None:
            found = self._item_index.get((pos, 0))
        return found

    def item_for_call(self, call_id: str, kind: str) -> int | None:
        for i, item in enumerate(self.get_items()):
            if item.kind == kind and item.call_id == call_id:
                return i
        return None

    def selectable_items(self) -> list[int]:
        return [i for i, item in enumerate(self.get_items()) if item.selectable]


@dataclass(frozen=True, slots=True)
class Site:
    block: int
    pos: int
    sub: int = 0


class TranscriptModel:
    """Blocks built incrementally from events, with the message index map, id colours and violations."""

    def __init__(self, checker: Checker | None = None, *, use_default_checker: bool = True) -> None:
        self.blocks: list[Block] = []
        self._by_number: dict[int, int] = {}
        self.messages: list[dict[str, Any]] = []
        # Where each message of the history is shown: message index -> (block, event pos, sub), kept in
        # three int arrays (a few bytes per message, not an object each).
        self._loc_block = array("i")
        self._loc_pos = array("i")
        self._loc_sub = array("i")
        self.call_sites: dict[str, Site] = {}
        self.result_sites: dict[str, list[Site]] = {}
        self._colors: dict[str, str] = {}
        self.checker = checker if checker is not None else (default_checker() if use_default_checker else None)
        self.violation_count = 0
        self.finished: RunFinished | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.iterations = 0
        self.last_request_size = 0
        self._checked_upto = -1

    # -- feeding -----------------------------------------------------------------------------------------

    def add(self, event: Any) -> tuple[int, bool]:
        """Add one event. Returns (index of the block it went to, whether that block is new)."""
        before = len(self.blocks)
        b = self._block_for(event)
        block = self.blocks[b]
        pos = len(block.events)
        block.events.append(event)
        self._account(block, b, pos, event)
        if block.items is not None:
            block._extend_items(pos, event)
        return b, b >= before

    def extend(self, events: Iterable[Any]) -> None:
        """Add many events (opening a file). The collector is paused meanwhile: building a few objects per
        event over a heap of already-loaded events would otherwise trigger full collections for nothing."""
        add = self.add
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for event in events:
                add(event)
        finally:
            if was_enabled:
                gc.enable()

    def _new_block(self, kind: str, number: int | None = None) -> int:
        self.blocks.append(Block(kind, number))
        return len(self.blocks) - 1

    def _block_for(self, event: Any) -> int:
        kind = type(event)
        if kind is RunStarted:
            if self.blocks and self.blocks[0].kind == "start":
                return 0
            if not self.blocks:
                return self._new_block("start")
            return len(self.blocks) - 1 if self.blocks[-1].kind == "start" else self._new_block("start")
        if kind is RunFinished:
            return self._new_block("finish")
        number = getattr(event, "iteration", None)
        if number.__class__ is int:
            b = self._by_number.get(number)
            if b is None:
                b = self._new_block("iteration", number)
                self._by_number[number] = b
                self.iterations = len(self._by_number)
            return b
        # No iteration: a run-level notice (or an event of unknown shape) goes with the latest block.
        if not self.blocks:
            return self._new_block("start")
        return len(self.blocks) - 1

    def _messages_added(self, b: int, pos: int, added: list[Any]) -> None:
        for sub, message in enumerate(added):
            self._loc_block.append(b)
            self._loc_pos.append(pos)
            self._loc_sub.append(sub)
            self.messages.append(message)

    def _account(self, block: Block, b: int, pos: int, event: Any) -> None:
        kind = type(event)
        if kind is IterationStarted:
            if not block.started_seen:  # a request sent again (after a role refusal) keeps its "previous"
                block.previous_request_size = self.last_request_size
            block.started_seen = True
            block.request_size = event.request_size
            self.last_request_size = event.request_size
        elif kind is AssistantMessage:
            self._messages_added(b, pos, [event.message])
            block.assistant_seen = True
            block.usage = event.usage
            block.latency_s = event.latency_s
            if event.usage is not None:
                self.prompt_tokens += event.usage.prompt_tokens
                self.completion_tokens += event.usage.completion_tokens
            for sub, call in enumerate(tool_calls_of(event.message)):
                block.tool_names.append(call.name)
                if call.id:
                    self.call_sites.setdefault(call.id, Site(b, pos, sub))
                    self.color(call.id)
        elif kind is ToolResult:
            self._messages_added(b, pos, [event.message])
            if event.is_error:
                block.error_count += 1
            if event.tool_call_id:
                self.result_sites.setdefault(event.tool_call_id, []).append(Site(b, pos))
                self.color(event.tool_call_id)
        elif kind is ReflectionNote:
            self._messages_added(b, pos, event.messages)
            block.reflection = event.role
            if event.usage is not None:
                self.prompt_tokens += event.usage.prompt_tokens
                self.completion_tokens += event.usage.completion_tokens
        elif kind is RunFinished:
            self.finished = event
        else:
            try:
                dropped, added = removed_messages(event), appended_messages(event)
            except Exception:
                dropped, added = 0, []
            if dropped:  # a reflection fallback replaces the note at the end of the history
                keep = max(0, len(self.messages) - dropped)
                del self.messages[keep:], self._loc_block[keep:], self._loc_pos[keep:], self._loc_sub[keep:]
            if kind is ReflectionFallback:
                block.fallbacks += 1
            self._messages_added(b, pos, added)

    @property
    def usage(self) -> Usage:
        """Tokens of every completion and reflection call so far."""
        return Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)

    def location(self, index: int) -> Site:
        """Where message `index` of the history is shown."""
        return Site(self._loc_block[index], self._loc_pos[index], self._loc_sub[index])

    # -- ids ---------------------------------------------------------------------------------------------

    def color(self, call_id: str) -> str:
        """The link colour of a tool_call_id: palette colours in order of first appearance."""
        found = self._colors.get(call_id)
        if found is None:
            found = self._colors[call_id] = ID_PALETTE[len(self._colors) % len(ID_PALETTE)]
        return found

    def partner_sites(self, call_id: str, kind: str) -> list[Site]:
        """For a call: the result(s) answering it. For a result: the call it answers."""
        if kind == "call":
            return list(self.result_sites.get(call_id, []))
        site = self.call_sites.get(call_id)
        return [site] if site else []

    def blocks_with_id(self, call_id: str) -> set[int]:
        out = {s.block for s in self.result_sites.get(call_id, [])}
        site = self.call_sites.get(call_id)
        if site:
            out.add(site.block)
        return out

    # -- ordering ----------------------------------------------------------------------------------------

    def check_order(self) -> set[int]:
        """Run the ordering check over the whole history; returns the blocks whose flags changed."""
        if self.checker is None or self._checked_upto == len(self.messages):
            return set()
        self._checked_upto = len(self.messages)
        try:
            found = list(self.checker(self.messages))
        except Exception:
            found = []
        new: dict[int, Mapping[tuple[int, int], list[ViolationLike]]] = {}
        for violation in found:
            index = getattr(violation, "index", None)
            if not isinstance(index, int) or not 0 <= index < len(self.messages):
                continue
            site = self.location(index)
            new.setdefault(site.block, {}).setdefault((site.pos, site.sub), []).append(violation)  # type: ignore[attr-defined]
        changed = set()
        for b, block in enumerate(self.blocks):
            wanted = new.get(b, NO_VIOLATIONS)
            if _violation_keys(block.violations) != _violation_keys(wanted):
                changed.add(b)
            block.violations = wanted
        self.violation_count = sum(len(v) for d in new.values() for v in d.values())
        return changed

    def violation_item(self, b: int, key: tuple[int, int]) -> int | None:
        return self.blocks[b].item_for_message(*key)

    # -- search ------------------------------------------------------------------------------------------

    def search(self, query: str) -> list[tuple[int, int]]:
        """(block, item) of every item whose text or tool name contains `query` (case-insensitive)."""
        needle = query.casefold()
        if not needle:
            return []
        found = []
        for b, block in enumerate(self.blocks):
            items = block.get_items() if block.items is not None else _transient_items(block)
            for i, item in enumerate(items):
                if item.selectable and item.kind != "title" and needle in item_search_text(block, item).casefold():
                    found.append((b, i))
        return found


def _violation_keys(d: Mapping[tuple[int, int], list[ViolationLike]]) -> list[tuple[Any, ...]]:
    return sorted((k, tuple((getattr(v, "rule", ""), getattr(v, "message", "")) for v in vs)) for k, vs in d.items())


def _transient_items(block: Block) -> list[Item]:
    """Items of a block without caching them (search touches every block once)."""
    saved = block.items, block._item_index
    block.items = None
    try:
        return block.get_items()
    finally:
        block.items, block._item_index = saved


def item_search_text(block: Block, item: Item) -> str:
    """The text search looks in: message text, tool names and arguments."""
    if item.pos < 0 or item.pos >= len(block.events):
        return ""
    event = block.events[item.pos]
    if item.kind == "message" and isinstance(event, RunStarted):
        msg = event.messages[item.sub] if item.sub < len(event.messages) else {}
        return content_text(msg.get("content") if isinstance(msg, dict) else msg)
    if item.kind == "assistant" and isinstance(event, AssistantMessage):
        return content_text(event.message.get("content"))
    if item.kind == "call" and isinstance(event, AssistantMessage):
        calls = tool_calls_of(event.message)
        if item.sub < len(calls):
            return f"{calls[item.sub].name}\n{calls[item.sub].arguments}"
        return ""
    if item.kind == "result" and isinstance(event, ToolResult):
        return f"{event.name}\n{event.content}"
    if item.kind == "reflection" and isinstance(event, ReflectionNote):
        return event.content
    if item.kind == "fallback" and isinstance(event, ReflectionFallback):
        return "\n".join([event.error] + [content_text(m.get("content")) for m in event.messages
                                           if isinstance(m, dict)])
    if item.kind == "driver" and isinstance(event, DriverMessage):
        return content_text(event.message.get("content"))
    if item.kind == "notice" and isinstance(event, Notice):
        return event.text
    if item.kind == "finish" and isinstance(event, RunFinished):
        return "\n".join(x for x in (event.reason, event.detail, event.summary or "", event.test_output) if x)
    return ""


def iter_link_items(blocks: list[Block], start: tuple[int, int], step: int) -> Iterator[tuple[int, int]]:
    """Call and result items after (or before, step=-1) `start`, in display order."""
    b, i = start
    first = True
    while 0 <= b < len(blocks):
        block = blocks[b]
        if not first and not block.tool_names and not any(isinstance(e, ToolResult) for e in block.events):
            b += step
            continue
        items = block.get_items()
        if first:
            rng = range(i + 1, len(items)) if step > 0 else range(i - 1, -1, -1)
            first = False
        else:
            rng = range(len(items)) if step > 0 else range(len(items) - 1, -1, -1)
        for j in rng:
            if items[j].is_link:
                yield b, j
        b += step
