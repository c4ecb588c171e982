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
import sys
from array import array
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Protocol, cast

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
    TurnRetracted,
    Usage,
    WorkspaceChanged,
    appended_messages,
    content_text,
    removed_messages,
)
from agent.display.errors import event_mark
from agent.display.json_text import json_rows, plain_lines
from agent.display.terminal import inert
from agent.outcome import RunOutcome
from agent.ordering import unanswered_calls
from agent.transcripts.transcript import EventLog

ID_PALETTE = ("#61afef", "#e5c07b", "#98c379", "#56b6c2", "#d19a66", "#a9b1ff", "#7fd1b9", "#d7c39b")
"""The colours of tool_call_id link numbers (`TranscriptModel.link`) on a dark background: blue, gold, green,
cyan, orange, lavender, teal, sand; none red (red means error) nor pink (pink means reflection). The app's
dark themes and the HTML export use them; `tui.render.palette` gives their light shades."""

NO_VIOLATIONS: Mapping[Any, Any] = MappingProxyType({})
NOTHING_UNFOLDED: frozenset[int] = frozenset()


class ViolationLike(Protocol):
    index: int
    rule: str
    message: str


Checker = Callable[[list[dict[str, Any]]], "list[ViolationLike]"]


def default_checker() -> Checker | None:
    """`agent.ordering.check_messages`, with roles the API does not know (mini-swe-agent's `exit`) neutral.
    The history shown is not a request: calls at its very end are running, or were cut off by a stop."""
    try:
        from agent.ordering import CHAT_ROLES, check_messages
    except Exception:  # pragma: no cover - agent.ordering is part of the package
        return None

    def check(messages: list[dict[str, Any]]) -> list[Any]:
        if isinstance(messages, _Skeleton):
            foreign = messages.roles() - CHAT_ROLES
        else:
            foreign = {m.get("role") for m in messages if isinstance(m, dict)} - CHAT_ROLES
        return check_messages(messages, skip_roles=foreign, open_end=True)

    check.reads_skeleton = True  # type: ignore[attr-defined]
    return check


# ---------------------------------------------------------------------------------------------------------
# Reading messages defensively: any field may be missing or of an unexpected type.


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class ToolCall(NamedTuple):
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


def readable_arguments(arguments: str) -> tuple[str, bool]:
    """A call's arguments laid out as the app shows them (strings as text: `agent.display.json_text`), and
    whether they were valid JSON (invalid ones are given back as written)."""
    if not arguments.strip():
        return "", True
    try:
        value = json.loads(arguments)
    except (ValueError, TypeError, RecursionError):  # JSON nested past the parser
        return arguments, False
    rows = json_rows(value)
    if len(rows) > 1 and all(row.kind != "text" for row in rows):
        short = inert(json.dumps(value, ensure_ascii=False))
        if len(short) <= SHORT_ARGUMENTS:
            return short, True  # `{"path": "."}` on one line, as written
    return "\n".join(plain_lines(rows)), True


SHORT_ARGUMENTS = 100
"""Arguments without a text-valued string are kept on one line up to this many characters."""


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
    """The events of one iteration (or the start / finish of a run), and its display state.

    A block built from an `EventLog` (a big file kept on disk) holds the indices of its events, not the
    events: `events` reads them back when the block is shown and keeps them until `drop_items()` (the view
    calls it when the block leaves its render cache). Everything the title and the model need is kept as
    plain numbers and shared strings, so a closed block costs a few hundred bytes whatever it holds.
    """

    __slots__ = (
        "kind", "number", "_events", "_refs", "_source", "items", "_item_index", "expanded", "pinned", "unfolded",
        "tool_names", "marks", "result_count", "reflection", "_prompt_tokens", "_completion_tokens",
        "latency_s", "assistant_seen", "started_seen", "request_size", "previous_request_size", "violations",
        "fallbacks",
    )

    def __init__(self, kind: str, number: int | None = None) -> None:
        self.kind = kind
        """start, iteration or finish"""
        self.number = number
        self._events: list[Any] | None = []
        self._refs: range | list[int] | None = None
        """Lazy blocks: indices of the events in `_source` (None: the events are held in `_events`)."""
        self._source: Any = None
        self.items: list[Item] | None = None
        self._item_index: dict[tuple[int, int], int] | None = None
        self.expanded = False
        self.pinned = False
        """Expanded by the user: auto-collapse leaves it open."""
        self.unfolded: frozenset[int] = NOTHING_UNFOLDED
        """Items whose long text is shown whole."""
        self.tool_names: list[str] = []
        self.marks: tuple[str, ...] = ()
        """The error marks of its results and observations, in order (`agent.display.errors`)."""
        self.result_count = 0
        self.reflection: str | None = None
        self._prompt_tokens = -1
        self._completion_tokens = 0
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

    # -- events ------------------------------------------------------------------------------------------

    @property
    def events(self) -> list[Any]:
        """The block's events, in arrival order (read back from disk for a lazy block)."""
        events = self._events
        if events is None:
            events = self._events = self._source.take(self._refs)
        return events

    @events.setter
    def events(self, events: list[Any]) -> None:
        self._events = events
        self._refs = self._source = None

    def _add_ref(self, source: Any, index: int) -> int:
        """A lazy block gains the event at `index` of `source`; returns its position in the block."""
        refs = self._refs
        if refs is None:
            self._refs, self._source, self._events = range(index, index + 1), source, None
            return 0
        pos = len(refs)
        if refs.__class__ is range and refs.stop == index:
            self._refs = range(refs.start, index + 1)
        elif refs.__class__ is range:
            self._refs = [*refs, index]
        else:
            refs.append(index)  # type: ignore[union-attr]
        if self._events is not None:
            self._events.append(source[index])
        return pos

    def _hold(self) -> list[Any]:
        """The events, kept in memory from now on (the block grows: a live run, a growing file)."""
        events = self.events
        self._refs = self._source = None
        return events

    @contextmanager
    def transient(self) -> Iterator[Block]:
        """Use the block's events and items without keeping them (search, estimates over every block)."""
        had_items, had_events = self.items is not None, self._events is not None
        try:
            yield self
        finally:
            if not had_items:
                self.items = self._item_index = None
            if not had_events and self._refs is not None:
                self._events = None

    # -- usage -------------------------------------------------------------------------------------------

    @property
    def usage(self) -> Usage | None:
        if self._prompt_tokens < 0:
            return None
        return Usage(prompt_tokens=self._prompt_tokens, completion_tokens=self._completion_tokens)

    @usage.setter
    def usage(self, usage: Usage | None) -> None:
        if usage is None:
            self._prompt_tokens, self._completion_tokens = -1, 0
        else:
            self._prompt_tokens, self._completion_tokens = usage.prompt_tokens, usage.completion_tokens

    @property
    def total_tokens(self) -> int | None:
        return None if self._prompt_tokens < 0 else self._prompt_tokens + self._completion_tokens

    # -- items -------------------------------------------------------------------------------------------

    def get_items(self) -> list[Item]:
        if self.items is None:
            self.items = [Item("title", selectable=True)]
            self._item_index = {}
            for pos, event in enumerate(self.events):
                self._extend_items(pos, event)
        return self.items

    def drop_items(self) -> None:
        """Forget the derived items (rebuilt on demand, identical), and a lazy block's events."""
        self.items = None
        self._item_index = None
        if self._refs is not None:
            self._events = None

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
        elif isinstance(event, TurnRetracted):
            pass  # the notice beside it says so; the history it changes is the store's (`_account`)
        elif isinstance(event, DriverMessage):
            mark()
            add(Item("driver", pos))
        elif isinstance(event, WorkspaceChanged):
            add(Item("changes", pos))
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

    def selectable_items(self) -> list[int]:
        return [i for i, item in enumerate(self.get_items()) if item.selectable]


class Site(NamedTuple):
    """Where a message, call or result is shown: block, event position in it, sub-index."""

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
        """Where each tool_call_id was first called."""
        self._reused_calls: dict[str, list[Site]] = {}
        """Later calls with an id already used (rare: a few models restart their numbering)."""
        self.result_sites: dict[str, list[Site]] = {}
        self._links: dict[str, int] = {}
        self.checker = checker if checker is not None else (default_checker() if use_default_checker else None)
        self.violation_count = 0
        self.unanswered: frozenset[str] = frozenset()
        """Calls at the very end of the history without a result: running, or cut off by a stop."""
        self.outcome = RunOutcome()
        """How the run went so far: its ending, tokens and notes (`agent.outcome`)."""
        self.last_request_size = 0
        self._checked_upto = -1
        # Opened from an EventLog: the history is kept as a skeleton (each message's role and ids, what the
        # ordering check reads), and `messages` reads a message back from its event when it is asked for.
        self._source: Any = None
        self._fed = 0
        """How many of the source's events were fed."""
        self._roles: list[Any] = []
        self._ids: list[Any] = []

    @property
    def lazy(self) -> bool:
        """Whether the model was fed from an EventLog (events and messages are read back on demand)."""
        return self._source is not None

    # -- feeding -----------------------------------------------------------------------------------------

    def add(self, event: Any) -> tuple[int, bool]:
        """Add one event. Returns (index of the block it went to, whether that block is new)."""
        before = len(self.blocks)
        b = self._block_for(event)
        block = self.blocks[b]
        events = block._hold() if block._refs is not None else block.events
        pos = len(events)
        events.append(event)
        self._account(block, b, pos, event)
        if block.items is not None:
            block._extend_items(pos, event)
        return b, b >= before

    def extend(self, events: Iterable[Any], *, read: list[Any] | None = None) -> None:
        """Add many events (opening a file). The collector is paused meanwhile: building a few objects per
        event over a heap of already-loaded events would otherwise trigger full collections for nothing.

        From an EventLog (a big file kept on disk), each event is accounted for and dropped: the blocks keep
        its index, and read it back when they are shown. `read`: the log's newest events, just read from the
        file (a `JsonlReader` step), so that they are not read from disk a second time."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            if isinstance(events, EventLog) and (self._source is events or (not self.blocks and not self.messages)):
                self._feed_lazily(events, read)
            else:
                add = self.add
                for event in (events if read is None else read):
                    add(event)
        finally:
            if was_enabled:
                gc.enable()

    def _feed_lazily(self, source: EventLog, read: list[Any] | None) -> None:
        if self._source is None:
            self._source = source
            self.messages = _Messages(self)  # type: ignore[assignment]
        blocks, block_for, account = self.blocks, self._block_for, self._account
        start, self._fed = self._fed, len(source)
        if read is not None:
            assert start + len(read) == len(source), "`read` are the events after those already fed"
            events: Iterable[Any] = read
        else:
            events = source._stream(range(start, len(source)), source.CHUNK)
        for index, event in enumerate(events, start):
            b = block_for(event)
            block = blocks[b]
            if block._refs is None and block._events:  # a block already held in memory stays so
                pos = len(block._events)
                block._events.append(event)
            else:
                pos = block._add_ref(source, index)
            account(block, b, pos, event)
            if block.items is not None:  # shown already (a file read in steps): its items grow with it
                block._extend_items(pos, event)

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
            return b
        # No iteration: a run-level notice (or an event of unknown shape) goes with the latest block.
        if not self.blocks:
            return self._new_block("start")
        return len(self.blocks) - 1

    def _messages_added(self, b: int, pos: int, added: list[Any]) -> None:
        for sub, message in enumerate(added):
            self._message_added(b, pos, sub, message)

    def _message_added(self, b: int, pos: int, sub: int, message: Any) -> None:
        self._loc_block.append(b)
        self._loc_pos.append(pos)
        self._loc_sub.append(sub)
        if self._source is None:
            self.messages.append(message)
        else:
            role, ids = _skeleton_of(message)
            self._roles.append(role)
            self._ids.append(ids)

    def _account(self, block: Block, b: int, pos: int, event: Any) -> None:
        """What one event changes: how the run went, the block's title facts, the history and its sites."""
        self.outcome.add(event)
        kind = type(event)
        if kind is IterationStarted:
            if not block.started_seen:  # a request sent again (after a role refusal) keeps its "previous"
                block.previous_request_size = self.last_request_size
            block.started_seen = True
            block.request_size = event.request_size
            self.last_request_size = event.request_size
        elif kind is AssistantMessage:
            self._account_reply(block, b, pos, event)
        elif kind is ToolResult:
            self._account_result(block, b, pos, event)
        elif kind is ReflectionNote:
            self._messages_added(b, pos, event.messages)
            block.reflection = intern(event.role) if isinstance(event.role, str) else event.role
        elif kind is not RunFinished:
            self._account_other(block, b, pos, event)

    def _account_reply(self, block: Block, b: int, pos: int, event: AssistantMessage) -> None:
        self._message_added(b, pos, 0, event.message)
        block.assistant_seen = True
        block.usage = event.usage
        block.latency_s = event.latency_s
        for sub, call in enumerate(tool_calls_of(event.message)):
            block.tool_names.append(intern(call.name))
            if call.id:
                call_id = intern(call.id)
                if call_id not in self.call_sites:
                    self.call_sites[call_id] = Site(b, pos, sub)
                else:
                    self._reused_calls.setdefault(call_id, []).append(Site(b, pos, sub))
                self.link(call_id)

    def _account_result(self, block: Block, b: int, pos: int, event: ToolResult) -> None:
        self._message_added(b, pos, 0, event.message)
        block.result_count += 1
        mark = event_mark(event)
        if mark is not None:
            block.marks += (intern(mark.label),)
        if event.tool_call_id:
            call_id = intern(event.tool_call_id)
            sites = self.result_sites.get(call_id)
            if sites is None:
                self.result_sites[call_id] = [Site(b, pos)]
            else:
                sites.append(Site(b, pos))
            self.link(call_id)

    def _account_other(self, block: Block, b: int, pos: int, event: Any) -> None:
        """A refusal of a note's role, a driver's message, a retracted turn, a notice, a change, or an event
        of unknown shape: what it drops from the history and adds to it."""
        kind = type(event)
        try:
            dropped, added = removed_messages(event), appended_messages(event)
        except Exception:
            dropped, added = 0, []
        if dropped:  # a reflection fallback replaces the note at the end of the history
            keep = max(0, len(self._loc_block) - dropped)
            del self._loc_block[keep:], self._loc_pos[keep:], self._loc_sub[keep:]
            if self._source is None:
                del self.messages[keep:]
            else:
                del self._roles[keep:], self._ids[keep:]
        if kind is ReflectionFallback:
            block.fallbacks += 1
        elif kind is DriverMessage:
            mark = event_mark(event)
            if mark is not None:
                block.marks += (intern(mark.label),)
            if event.kind == "note":  # another tool's note (a system message mid-run): a note all the same
                block.reflection = intern(role_of(event.message))
        self._messages_added(b, pos, added)

    # -- how the run went (`outcome`) ----------------------------------------------------------------------

    @property
    def imported(self) -> bool:
        """Another tool's file (its header's `source`): a reply without tokens was not recorded with any,
        rather than not reported by the endpoint. Set by the screen that shows it."""
        return self.outcome.imported

    @imported.setter
    def imported(self, imported: bool) -> None:
        self.outcome.imported = imported

    @property
    def iterations(self) -> int:
        """Iterations seen so far (one block each)."""
        return len(self._by_number)

    @property
    def finished(self) -> RunFinished | None:
        return self.outcome.ending

    @property
    def usage(self) -> Usage | None:
        """Tokens of every completion and reflection call so far (None when none recorded any: then, as the
        ending says)."""
        return self.outcome.reported

    @property
    def prompt_tokens(self) -> int:
        return self.outcome.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.outcome.completion_tokens

    @property
    def unreported(self) -> int:
        """Calls whose tokens the endpoint did not report (0 for another tool's file: it records none)."""
        return self.outcome.unreported

    def location(self, index: int) -> Site:
        """Where message `index` of the history is shown."""
        return Site(self._loc_block[index], self._loc_pos[index], self._loc_sub[index])

    # -- ids ---------------------------------------------------------------------------------------------

    def link(self, call_id: str) -> int:
        """The link number of a tool_call_id: 0, 1, 2... in order of first appearance (the view gives
        each number a colour, so that a call and its result share one)."""
        found = self._links.get(call_id)
        if found is None:
            found = self._links[call_id] = len(self._links)
        return found

    def partner_sites(self, call_id: str, kind: str, block: int | None = None) -> list[Site]:
        """For a call: the result(s) answering it. For a result: the call it answers. An id used again in
        another iteration (some models number their calls from 1 every time) links within `block` first."""
        if kind == "call":
            sites = self.result_sites.get(call_id, [])
            here = [s for s in sites if s.block == block]
            return here or list(sites)
        calls = [self.call_sites[call_id]] if call_id in self.call_sites else []
        calls += self._reused_calls.get(call_id, ())
        if block is not None and len(calls) > 1:
            before = [s for s in calls if s.block <= block]
            return [max(before) if before else calls[0]]
        return calls[:1]

    def blocks_with_id(self, call_id: str) -> set[int]:
        out = {s.block for s in self.result_sites.get(call_id, [])}
        site = self.call_sites.get(call_id)
        if site:
            out.add(site.block)
        out.update(s.block for s in self._reused_calls.get(call_id, ()))
        return out

    # -- ordering ----------------------------------------------------------------------------------------

    def check_order(self) -> set[int]:
        """Run the ordering check over the whole history; returns the blocks whose flags changed."""
        if self.checker is None or self._checked_upto == len(self.messages):
            return set()
        self._checked_upto = len(self.messages)
        try:
            if self._source is not None and getattr(self.checker, "reads_skeleton", False):
                skeleton = cast("list[dict[str, Any]]", _Skeleton(self))  # roles and ids are all it reads
                found = list(self.checker(skeleton))
            else:
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
            if wanted is NO_VIOLATIONS and block.violations is NO_VIOLATIONS:
                continue
            if _violation_keys(block.violations) != _violation_keys(wanted):
                changed.add(b)
            block.violations = wanted
        self.violation_count = sum(len(v) for d in new.values() for v in d.values())
        unanswered = unanswered_calls(self.messages if self._source is None else _Skeleton(self))
        self.unanswered = frozenset(unanswered.ids) if unanswered else frozenset()
        return changed

    # -- search ------------------------------------------------------------------------------------------

    def search(self, query: str) -> list[tuple[int, int]]:
        """(block, item) of every item whose text or tool name contains `query` (case-insensitive)."""
        needle = query.casefold()
        if not needle:
            return []
        found = []
        for b, block in enumerate(self.blocks):
            with block.transient():  # every block once: keep nothing of those not already shown
                for i, item in enumerate(block.get_items()):
                    if item.selectable and item.kind != "title" and needle in item_search_text(block, item).casefold():
                        found.append((b, i))
        return found


def _violation_keys(d: Mapping[tuple[int, int], list[ViolationLike]]) -> list[tuple[Any, ...]]:
    return sorted((k, tuple((getattr(v, "rule", ""), getattr(v, "message", "")) for v in vs)) for k, vs in d.items())


intern = sys.intern


def _intern_any(value: Any) -> Any:
    return sys.intern(value) if value.__class__ is str else value


FULL = object()
"""In a skeleton: this message is not plain enough to summarize; read the real one."""


def _skeleton_of(message: Any) -> tuple[Any, Any]:
    """What the ordering check reads of a message: its role, and its call ids (assistant) or the id it
    answers (tool). FULL when the message is odd enough that only the real one will do."""
    if message.__class__ is not dict:
        return None, FULL
    role = message.get("role")
    if role.__class__ is not str:
        return None, FULL
    role = intern(role)
    if role == "assistant":
        calls = message.get("tool_calls")
        if not calls:
            return role, None
        if calls.__class__ is not list or any(c.__class__ is not dict for c in calls):
            return role, FULL
        return role, tuple(_intern_any(c.get("id")) for c in calls)
    if role == "tool":
        return role, _intern_any(message.get("tool_call_id"))
    return role, None


class _Messages(Sequence):
    """The history of a lazy model: each message read back from its event when asked for."""

    def __init__(self, model: TranscriptModel) -> None:
        self._model = model

    def __len__(self) -> int:
        return len(self._model._loc_block)

    def _one(self, index: int, cache: dict[int, list[Any]] | None = None) -> Any:
        model = self._model
        b, pos, sub = model._loc_block[index], model._loc_pos[index], model._loc_sub[index]
        events = cache.get(b) if cache is not None else None
        if events is None:
            block = model.blocks[b]
            with block.transient():  # read back for this, not kept
                events = block.events
            if cache is not None:
                cache.clear()  # a block's messages are neighbours: one block is enough
                cache[b] = events
        return appended_messages(events[pos])[sub]

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            cache: dict[int, list[Any]] = {}
            return [self._one(i, cache) for i in range(*index.indices(len(self)))]
        index = index.__index__()
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("message index out of range")
        return self._one(index)

    def __iter__(self) -> Iterator[Any]:
        cache: dict[int, list[Any]] = {}
        for index in range(len(self)):
            yield self._one(index, cache)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, Sequence)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class _Skeleton(Sequence):
    """The history as the ordering check reads it, built from the roles and ids a lazy model keeps."""

    def __init__(self, model: TranscriptModel) -> None:
        self._model = model
        self._full: _Messages | None = None

    def __len__(self) -> int:
        return len(self._model._roles)

    def _make(self, index: int, role: Any, ids: Any) -> Any:
        if ids is FULL:
            if self._full is None:
                self._full = _Messages(self._model)
            return self._full[index]
        if ids is None:
            return {"role": role}
        if role == "tool":
            return {"role": role, "tool_call_id": ids}
        return {"role": role, "tool_calls": [{"id": i} for i in ids]}

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = index.__index__()
        return self._make(index, self._model._roles[index], self._model._ids[index])

    def __iter__(self) -> Iterator[Any]:
        make = self._make
        for index, (role, ids) in enumerate(zip(self._model._roles, self._model._ids)):
            yield make(index, role, ids)

    def roles(self) -> set[Any]:
        """Every role in the history (as `{m.get("role") for m in messages}` would give)."""
        model = self._model
        roles = set(model._roles)
        if any(ids is FULL for ids in model._ids):
            roles = {m.get("role") for m in self if isinstance(m, dict)}
        return roles


def _strings(value: Any) -> Iterator[str]:
    """The keys and string values of a JSON value, depth first: what its display shows as text."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def json_text(text: str) -> str:
    """Arguments, or a JSON result, as search finds them: as written, and each string decoded (a multi-line
    `content` is shown, and searched, as its lines, not as `\\n` escapes)."""
    if text.lstrip()[:1] not in ("{", "["):
        return text
    try:
        value = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return text
    return "\n".join([text, *_strings(value)])


def rejected_reply(message: Any) -> str | None:
    """The reply that caused a format error, as the model wrote it, where another tool keeps it beside its
    error message (mini-swe-agent: `extra.model_response`; the reply itself is not in the history)."""
    extra = message.get("extra") if isinstance(message, dict) else None
    reply = extra.get("model_response") if isinstance(extra, dict) else None
    return reply if isinstance(reply, str) and reply else None


def item_search_text(block: Block, item: Item) -> str:
    """The text search looks in: everything an item shows (message text, tool names, arguments with their
    strings decoded, results, notes, changed files and their diff)."""
    if item.pos < 0 or item.pos >= len(block.events):
        return ""
    event = block.events[item.pos]
    if item.kind == "message" and isinstance(event, RunStarted):
        msg = event.messages[item.sub] if item.sub < len(event.messages) else {}
        return content_text(msg.get("content") if isinstance(msg, dict) else msg)
    if item.kind == "assistant" and isinstance(event, AssistantMessage):
        return event.raw_content or content_text(event.message.get("content"))
    if item.kind == "call" and isinstance(event, AssistantMessage):
        calls = tool_calls_of(event.message)
        if item.sub < len(calls):
            return f"{calls[item.sub].name}\n{json_text(calls[item.sub].arguments)}"
        return ""
    if item.kind == "result" and isinstance(event, ToolResult):
        return f"{event.name}\n{json_text(event.content)}"
    if item.kind == "reflection" and isinstance(event, ReflectionNote):
        return event.content
    if item.kind == "fallback" and isinstance(event, ReflectionFallback):
        return "\n".join([event.error] + [content_text(m.get("content")) for m in event.messages
                                           if isinstance(m, dict)])
    if item.kind == "driver" and isinstance(event, DriverMessage):
        text = content_text(event.message.get("content"))
        reply = rejected_reply(event.message)
        return f"{text}\n{reply}" if reply else text
    if item.kind == "changes" and isinstance(event, WorkspaceChanged):
        return "\n".join([*(f.path for f in event.files), event.diff])
    if item.kind == "notice" and isinstance(event, Notice):
        return event.text
    if item.kind == "finish" and isinstance(event, RunFinished):
        return "\n".join(x for x in (event.reason, event.detail, event.summary or "", event.test_output) if x)
    return ""


def item_raw(block: Block, item: Item) -> Any:
    """What an item is, as JSON-ready data: the message for a message, the call for a call, else the event."""
    if item.pos < 0 or item.pos >= len(block.events):
        return None
    event = block.events[item.pos]
    if item.kind == "message" and isinstance(event, RunStarted):
        return event.messages[item.sub] if item.sub < len(event.messages) else None
    if item.kind == "call" and isinstance(event, AssistantMessage):
        calls = event.message.get("tool_calls")
        return calls[item.sub] if isinstance(calls, list) and item.sub < len(calls) else None
    return json.loads(event.model_dump_json()) if hasattr(event, "model_dump_json") else event


def item_copy_text(block: Block, item: Item) -> str:
    """What `y` copies: an item's text, a call's arguments (pretty JSON), a result's content, a diff."""
    if item.pos < 0 or item.pos >= len(block.events):
        return ""
    event = block.events[item.pos]
    if item.kind == "call" and isinstance(event, AssistantMessage):
        calls = tool_calls_of(event.message)
        if item.sub >= len(calls):
            return ""
        try:
            return json.dumps(json.loads(calls[item.sub].arguments), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):
            return calls[item.sub].arguments
    if item.kind == "result" and isinstance(event, ToolResult):
        return event.content
    if item.kind == "changes" and isinstance(event, WorkspaceChanged):
        return event.diff
    return item_search_text(block, item)


def iter_link_items(blocks: list[Block], start: tuple[int, int], step: int) -> Iterator[tuple[int, int]]:
    """Call and result items after (or before, step=-1) `start`, in display order."""
    b, i = start
    first = True
    while 0 <= b < len(blocks):
        block = blocks[b]
        if not first and not block.tool_names and not block.result_count:
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
