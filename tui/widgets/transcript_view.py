"""The transcript view: one line-API widget for the whole run, however long.

One collapsible block per iteration. The cursor is `(block, item)`: item 0 is the block's title line, the
others are its messages, calls, results, notes. A cursor on a tool call or result highlights its partner
(same tool_call_id) and brings it into view. Ordering violations are flagged on the offending message.

Nothing is mounted per block or per message: blocks are rendered to Strips lazily, only when on screen
(see `LazyBlockView`), so opening 10,000 iterations costs what opening 10 does, plus a few MB.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.timer import Timer

from agent.display.errors import event_mark
from agent.view.filters import BlockFilter
from agent.events import AssistantMessage, IterationStarted, RunFinished
from tui.render.blocks import BOLD, FOLD_HINT, REFOLD_HINT, RenderState, estimate_height, render_block, render_title, running_calls
from tui.widgets.lazy_view import GUTTER, LazyBlockView, gutter
from agent.view.model import Block, Item, TranscriptModel, iter_link_items

class TranscriptView(LazyBlockView, can_focus=True):
    """Blocks of iterations, a cursor, id links, search matches and ordering flags."""

    DEFAULT_CSS = """
    TranscriptView {
        height: 1fr;
        background: $background;
    }
    """

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, tooltip="next item (or next iteration)"),
        Binding("k,up", "cursor_up", "Up", show=False, tooltip="previous item (or previous iteration)"),
        Binding("enter", "toggle", "Open", show=False, tooltip="open / close the iteration at the cursor"),
        Binding("tab", "next_link", "Next link", show=False,
                tooltip="next tool call or result (its partner lights up)"),
        Binding("shift+tab", "previous_link", "Previous link", show=False, tooltip="previous tool call or result"),
        Binding("l", "partner", "Partner", show=False, tooltip="jump to the linked call / result (same id)"),
        Binding("o", "unfold_all", "Unfold all", show=False,
                tooltip="unfold / fold every long text (a click unfolds or folds one)"),
        Binding("x", "next_error", "Next error", show=False, tooltip="next error: a tool error, failing tests, a "
                "non-zero exit"),
        Binding("X", "previous_error", "Previous error", show=False, tooltip="previous error"),
        Binding("e", "expand_all", "Expand all", show=False, tooltip="open every iteration"),
        Binding("E", "collapse_all", "Collapse all", show=False, tooltip="close every iteration"),
        Binding("g,home", "first", "First", show=False, tooltip="first block"),
        Binding("G,end", "last", "Last", show=False, tooltip="last block, open"),
        Binding("a", "toggle_auto_collapse", "Auto-collapse", show=False,
                tooltip="auto-collapse older iterations on / off"),
    ]

    cursor: reactive[tuple[int, int]] = reactive((0, 0), init=False, always_update=True)
    """(block, item) under the cursor; item 0 is the block's title line."""

    auto_collapse: reactive[bool] = reactive(True, init=False)
    """Collapse older iterations as new ones arrive (and when stepping through a file)."""

    search_query: reactive[str] = reactive("", init=False)
    """The text searched for ("" when no search is on): its matches are lit in every block."""

    filter: reactive[BlockFilter | None] = reactive(None, init=False)
    """The iterations shown (None: all); the others are drawn with no line at all."""

    unfold_all: reactive[bool] = reactive(False, init=False)
    """`o`: every long text shown whole (a click still folds or unfolds one)."""

    class CursorMoved(Message):
        """The cursor moved to `(block, item)`; `iteration` is the block's iteration number, if any."""

        def __init__(self, block: int, item: int, iteration: int | None) -> None:
            super().__init__()
            self.block = block
            self.item = item
            self.iteration = iteration

    def __init__(self, model: TranscriptModel | None = None, *, live: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model = model if model is not None else TranscriptModel()
        self.live = live
        self.highlighted_ids: frozenset[str] = frozenset()
        """The tool_call_ids linked to the item at the cursor."""
        self.partner_items: list[tuple[int, int]] = []
        """(block, item) of the call/result(s) that the item at the cursor is linked to."""
        self.matches: list[tuple[int, int]] = []
        self.match_index = -1
        self.running_block: int | None = None
        self.tools_block: int | None = None
        """Live: the block whose calls are being run (some have no result yet)."""
        self.hidden: set[int] = set()
        """Blocks the filter leaves out (drawn with no line at all)."""
        self.streaming: Any = None
        self._running_since = 0.0
        self._frame = 0
        self._ticker: Timer | None = None
        self._newest: int | None = None
        self.follow = True
        """Live runs: keep the newest iteration under the cursor and in view."""
        self.tailing = False
        """A file still being written is followed: new iterations come into view as in a live run."""
        if self.model.blocks:
            self._initial_expansion()

    # -- setup -------------------------------------------------------------------------------------------

    def _initial_expansion(self) -> None:
        """A file opens with its first iteration and its ending open, the cursor on the first iteration."""
        blocks = self.model.blocks
        first = next((i for i, b in enumerate(blocks) if b.kind == "iteration"), 0)
        blocks[first].expanded = True
        if blocks[-1].kind == "finish":
            blocks[-1].expanded = True
        self.set_reactive(TranscriptView.cursor, (first, 0))
        self._newest = first if blocks[first].kind == "iteration" else None

    def on_mount(self) -> None:
        self._update_links()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- rendering ---------------------------------------------------------------------------------------

    def block_count(self) -> int:
        return len(self.model.blocks)

    def _state(self, index: int) -> RenderState:
        running = index == self.running_block
        tools = index == self.tools_block
        return RenderState(
            highlight_ids=self.highlighted_ids,
            query=self.search_query,
            live=self.live,
            running=running,
            elapsed=(time.monotonic() - self._running_since) if running or tools else 0.0,
            frame=self._frame,
            streaming=self.streaming if running else None,
            tools_running=tools,
            unfold_all=self.unfold_all,
            palette=self.palette,
        )

    def render_block(self, index: int, width: int) -> tuple[list[Strip], list[int]]:
        if index in self.hidden:
            return [], [0]  # filtered out: no line at all
        return render_block(self.app.console, self.model.blocks[index], self.model, width, self._state(index))

    def estimate_block(self, index: int, width: int) -> int:
        return 0 if index in self.hidden else estimate_height(self.model.blocks[index], width)

    # -- filter ------------------------------------------------------------------------------------------

    def set_filter(self, block_filter: BlockFilter | None) -> tuple[int, int]:
        """Show only the blocks `block_filter` keeps (None or an empty one: all). Returns how many
        iterations are shown, and how many there are."""
        self.filter = None if block_filter is None or block_filter.empty else block_filter
        return self.filter_counts()

    def watch_filter(self, block_filter: BlockFilter | None) -> None:
        """Another filter: the blocks it leaves out, every height again, the cursor on a block shown."""
        self.hidden = set() if block_filter is None else {
            b for b, block in enumerate(self.model.blocks) if not block_filter.keeps(block)}
        self.relayout()
        if self.hidden and self.cursor[0] in self.hidden:
            self.move_cursor(self.cursor[0], 0)
        else:
            self.scroll_cursor_into_view()

    def filter_counts(self) -> tuple[int, int]:
        iterations = [b for b, block in enumerate(self.model.blocks) if block.kind == "iteration"]
        return sum(1 for b in iterations if b not in self.hidden), len(iterations)

    def _visible(self, b: int, step: int) -> int:
        """`b`, or the nearest block the filter shows from it on (step 1) or back (step -1)."""
        n = len(self.model.blocks)
        k = b
        while 0 <= k < n and k in self.hidden:
            k += step
        if 0 <= k < n:
            return k
        k = b
        while 0 <= k < n and k in self.hidden:
            k -= step
        return k if 0 <= k < n else b

    def evicted(self, index: int) -> None:
        # Items are derived from the events in order, so dropping them keeps every (block, item) valid.
        if index != self.cursor[0] and all(index != b for b, _ in self.partner_items):
            self.model.blocks[index].drop_items()

    def decorate_line(self, index: int, line: int, item: int, strip: Strip, width: int) -> Strip:
        palette = self.palette
        if (index, item) == self.cursor:
            mark = gutter("▌", palette.cursor_mark)
            return Strip(mark + list(strip), width).apply_style(
                palette.cursor if self.has_focus else palette.cursor_blurred)
        if (index, item) in self.partner_items:
            items = self.model.blocks[index].get_items()
            call_id = items[item].call_id if item < len(items) else None
            color = palette.link(self.model.link(call_id)) if call_id else palette.cursor_mark
            return Strip(gutter("┃", color + BOLD) + list(strip), width)
        return Strip([Segment(" " * GUTTER)] + list(strip), width)

    # -- public queries ----------------------------------------------------------------------------------

    @property
    def cursor_block(self) -> Block | None:
        b = self.cursor[0]
        return self.model.blocks[b] if 0 <= b < len(self.model.blocks) else None

    @property
    def cursor_item(self) -> Item | None:
        block = self.cursor_block
        if block is None:
            return None
        items = block.get_items()
        return items[self.cursor[1]] if self.cursor[1] < len(items) else None

    @property
    def cursor_iteration(self) -> int | None:
        """The iteration number of the block at the cursor (the last one for the closing block)."""
        block = self.cursor_block
        if block is None:
            return None
        if block.kind == "iteration":
            return block.number
        if block.kind == "finish":
            numbers = [b.number for b in self.model.blocks if b.kind == "iteration"]
            return numbers[-1] if numbers else None
        return None

    def item_lines(self, b: int, i: int) -> tuple[int, int]:
        """Virtual lines [start, end) of item `i` of block `b` (the title if the block is collapsed)."""
        strips, starts = self.get_block(b)
        top = self.block_top(b)
        if i >= len(starts):
            return top, top + 1
        end = starts[i + 1] if i + 1 < len(starts) else len(strips) - (1 if self.model.blocks[b].expanded else 0)
        return top + starts[i], top + max(end, starts[i] + 1)

    # -- events from the run -----------------------------------------------------------------------------

    def add_events(self, new_events: Iterable[Any]) -> None:
        """Append events (live run, or a file growing); re-renders only the blocks they touch."""
        blocks = self.model.blocks
        follow = (self.live or self.tailing) and (self.follow or not blocks)
        touched: set[int] = set()
        for event in new_events:
            b, is_new = self.model.add(event)
            block = blocks[b]
            if is_new:
                self.blocks_added()
                if block.kind == "iteration":
                    if self._newest is not None and self.auto_collapse:
                        self._collapse_auto(self._newest)
                    block.expanded = True
                    self._newest = b
                elif block.kind == "finish":
                    block.expanded = True
            touched.add(b)
            if self.filter is not None:  # a growing block may start or stop matching
                (self.hidden.discard if self.filter.keeps(block) else self.hidden.add)(b)
            if self.live and isinstance(event, IterationStarted):
                self._start_running(b)
            elif isinstance(event, (AssistantMessage, RunFinished)) and self.running_block is not None:
                if isinstance(event, RunFinished) or self.running_block == b:
                    self._stop_running()
            if isinstance(event, RunFinished):
                self._stop_tools()
            elif (self.live or self.tailing) and isinstance(event, AssistantMessage) and running_calls(block, self.model):
                self.tools_block = b  # its tools run now: shown as running until their results are in
                self._start_ticker()
            elif b == self.tools_block and not running_calls(block, self.model):
                self._stop_tools()
        for b in sorted(touched):
            if self.model.blocks[b].expanded or b in self.hidden:
                self.forget_block(b)
                self.get_block(b)  # exact height now: it is the block being watched
            else:
                self.resize_block(b, 1)
        if follow and blocks:
            target = self._newest if self._newest is not None else len(blocks) - 1
            if blocks[-1].kind == "finish":
                target = len(blocks) - 1
            self.move_cursor(target, 0, scroll=False)
            self.scroll_to(y=max(0, self.total_height - self.scrollable_content_region.height), animate=False)
        self.prepare_viewport()
        self.refresh()

    def blocks_read(self, first: int, *, complete: bool) -> None:
        """A file read in steps: blocks `first` on are new or grew (the one that was last may have gained
        events). They come in as a file opens: collapsed, but for its ending, once the file is `complete`
        (a run resumed has more than one)."""
        blocks = self.model.blocks
        if not blocks:
            return
        if first == 0:
            self._initial_expansion()
        elif complete and blocks[-1].kind == "finish":
            blocks[-1].expanded = True  # new, or the last block before this step: measured below
        if self.filter is not None:
            for b in range(max(first - 1, 0), len(blocks)):
                (self.hidden.discard if self.filter.keeps(blocks[b]) else self.hidden.add)(b)
        if first:
            self.resize_block(first - 1)
        self.blocks_added()
        self._update_links()
        self.prepare_viewport()
        self.refresh()

    def _collapse_auto(self, b: int) -> None:
        block = self.model.blocks[b]
        if block.pinned or not block.expanded:
            return
        block.expanded = False
        self.resize_block(b)
        if self.cursor[0] == b and self.cursor[1] != 0:
            self.cursor = (b, 0)

    def _start_running(self, b: int) -> None:
        self.running_block = b
        self._start_ticker()

    def _start_ticker(self) -> None:
        self._running_since = time.monotonic()
        if self._ticker is None:
            self._ticker = self.set_interval(0.1, self._tick)

    def _stop_tools(self) -> None:
        """Every call of the tools block has its result (or the run ended)."""
        self.tools_block = None
        if self.running_block is None and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def start_tailing(self) -> None:
        """The file is still being written: new iterations come into view, and calls at its end are
        running (their results are not written yet)."""
        self.tailing = True
        last = next((b for b in range(len(self.model.blocks) - 1, -1, -1)
                     if self.model.blocks[b].kind == "iteration"), None)
        if last is not None and running_calls(self.model.blocks[last], self.model):
            self.tools_block = last
            self.forget_block(last)
            self._start_ticker()

    def run_stopped(self) -> None:
        """The live run is over (finished, quit, crashed), or a followed file is no longer followed:
        nothing is running any more."""
        self.tailing = False
        for b in (self.running_block, self.tools_block):
            if b is not None:
                self.forget_block(b)
        self.tools_block = None
        self._stop_running()

    def show_delta(self, delta: Any) -> None:
        """The reply streaming in: re-render the running block with the text and calls so far."""
        b = self.running_block
        if b is None:
            return
        self.streaming = delta
        self.forget_block(b)
        if self.model.blocks[b].expanded:
            self.get_block(b)
        self.prepare_viewport()
        self.refresh()

    def _stop_running(self) -> None:
        b = self.running_block
        self.running_block = None
        self.streaming = None
        if self._ticker is not None and self.tools_block is None:
            self._ticker.stop()
            self._ticker = None
        if b is not None:
            self.forget_block(b)
            self.refresh()

    def _tick(self) -> None:
        """Spinner and elapsed seconds: re-render the running block's title line only."""
        b = self.running_block if self.running_block is not None else self.tools_block
        if b is None:
            if self._ticker is not None:
                self._ticker.stop()
                self._ticker = None
            return
        self._frame += 1
        self.update_line(b, 0, render_title(self.app.console, self.model.blocks[b], self.model, self.line_width,
                                            self._state(b)))

    def check_order(self) -> None:
        """Re-run the ordering check and re-render the blocks whose flags changed."""
        for b in self.model.check_order():
            self.forget_block(b)
        self.prepare_viewport()
        self.refresh()

    # -- cursor ------------------------------------------------------------------------------------------

    def move_cursor(self, b: int, i: int = 0, *, scroll: bool = True) -> None:
        blocks = self.model.blocks
        if not blocks:
            return
        b = max(0, min(b, len(blocks) - 1))
        if self.hidden:
            b = self._visible(b, 1 if b >= self.cursor[0] else -1)
        items = blocks[b].get_items()
        if not blocks[b].expanded:
            i = 0
        i = max(0, min(i, len(items) - 1))
        self.follow = b == len(blocks) - 1 or b == self._newest
        self.cursor = (b, i)
        if scroll:
            self.scroll_cursor_into_view()

    def watch_cursor(self, cursor: tuple[int, int]) -> None:
        self._update_links()
        self.refresh()
        self.post_message(self.CursorMoved(cursor[0], cursor[1], self.cursor_iteration))

    def _update_links(self) -> None:
        """Recompute which ids and items are linked to the cursor; re-render the blocks that show them."""
        old_ids = self.highlighted_ids
        item = self.cursor_item
        if item is not None and item.is_link and item.call_id:
            ids = frozenset([item.call_id])
            partners = []
            for site in self.model.partner_sites(item.call_id, item.kind, self.cursor[0]):
                block = self.model.blocks[site.block]
                if item.kind == "call":
                    j = block.item_for_message(site.pos, 0)
                else:
                    j = next((k for k, it in enumerate(block.get_items())
                              if it.kind == "call" and it.pos == site.pos and it.sub == site.sub), None)
                if j is not None:
                    partners.append((site.block, j))
        else:
            ids, partners = frozenset(), []
        self.partner_items = partners
        if ids != old_ids:
            self.highlighted_ids = ids
            for call_id in old_ids | ids:
                for b in self.model.blocks_with_id(call_id):
                    self.forget_block(b)

    def scroll_cursor_into_view(self) -> None:
        """Show the cursor's item, and its linked partner too when both fit."""
        height = self.scrollable_content_region.height
        if height <= 0 or not self.model.blocks:
            return
        for _ in range(3):  # rendering newly visible blocks can refine heights: settle
            b, i = self.cursor
            y0, y1 = self.item_lines(b, i)
            y1 = min(y1, y0 + height)
            lo, hi = y0, y1
            for pb, pi in self.partner_items:
                if self.model.blocks[pb].expanded:
                    p0, p1 = self.item_lines(pb, pi)
                    p1 = min(p1, p0 + 3)  # the partner's header and a few lines are enough
                    if max(hi, p1) - min(lo, p0) <= height:
                        lo, hi = min(lo, p0), max(hi, p1)
            top = round(self.scroll_y)
            if lo < top:
                new = lo
            elif hi > top + height:
                new = hi - height
            else:
                return
            self.scroll_to(y=new, animate=False)

    # -- actions -----------------------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        b, i = self.cursor
        blocks = self.model.blocks
        if not blocks:
            return
        block = blocks[b]
        if block.expanded:
            nxt = next((j for j in block.selectable_items() if j > i), None)
            if nxt is not None:
                self.move_cursor(b, nxt)
                return
        if b + 1 < len(blocks):
            self.move_cursor(b + 1, 0)

    def action_cursor_up(self) -> None:
        b, i = self.cursor
        blocks = self.model.blocks
        if not blocks:
            return
        block = blocks[b]
        if i > 0 and block.expanded:
            prev = [j for j in block.selectable_items() if j < i]
            self.move_cursor(b, prev[-1] if prev else 0)
        elif b > 0:
            above = blocks[b - 1]
            self.move_cursor(b - 1, above.selectable_items()[-1] if above.expanded else 0)

    def set_expanded(self, b: int, expanded: bool, *, pinned: bool = True) -> None:
        block = self.model.blocks[b]
        if block.expanded == expanded:
            return
        block.expanded = expanded
        block.pinned = expanded and pinned
        self.resize_block(b)
        self.get_block(b)
        if not expanded and self.cursor[0] == b:
            self.cursor = (b, 0)

    def action_toggle(self) -> None:  # type: ignore[override]  # the `toggle` key's action, not DOMNode's attribute toggle
        b = self.cursor[0]
        if not self.model.blocks:
            return
        block = self.model.blocks[b]
        self.set_expanded(b, not block.expanded)
        if block.expanded:
            # Show as much of the opened block as fits, its title staying on screen.
            top, height = self.block_top(b), self.scrollable_content_region.height
            bottom = top + self.block_height(b)
            if bottom > round(self.scroll_y) + height:
                self.scroll_to(y=min(top, bottom - height), animate=False)
        self.move_cursor(*self.cursor)

    def action_expand_all(self) -> None:
        for block in self.model.blocks:
            block.expanded = True
        self.relayout()
        self.move_cursor(*self.cursor)

    def action_collapse_all(self) -> None:
        for block in self.model.blocks:
            block.expanded = False
            block.pinned = False
        self.relayout()
        self.move_cursor(self.cursor[0], 0)

    def action_first(self) -> None:
        self.move_cursor(0, 0)

    def action_last(self) -> None:
        """The last block, open, scrolled so that its contents show (not only its title)."""
        b = len(self.model.blocks) - 1
        if b < 0:
            return
        self.set_expanded(b, True)
        self.move_cursor(b, 0, scroll=False)
        self.prepare_viewport()
        self.scroll_to(y=max(0, self.total_height - self.scrollable_content_region.height), animate=False)

    def goto(self, b: int, i: int) -> None:
        """Move the cursor to item `i` of block `b`, opening the block if needed."""
        if i > 0:
            self.set_expanded(b, True)
        self.move_cursor(b, i)

    def _link_step(self, step: int) -> None:
        for b, i in iter_link_items(self.model.blocks, self.cursor, step):
            if b in self.hidden:
                continue
            self.goto(b, i)
            return
        self.app.bell()

    def action_next_link(self) -> None:
        self._link_step(1)

    def action_previous_link(self) -> None:
        self._link_step(-1)

    def action_partner(self) -> None:
        """Jump to the call (from a result) or to the first result (from a call) with the same id."""
        if not self.partner_items:
            self.app.bell()
            return
        self.goto(*self.partner_items[0])

    def toggle_fold(self, b: int, i: int) -> None:
        """Fold or unfold the long text of item `i` of block `b` (the inverse of what `o` says for it)."""
        block = self.model.blocks[b]
        block.unfolded = block.unfolded ^ {i}
        self.forget_block(b)
        self.get_block(b)
        self.prepare_viewport()
        self.scroll_cursor_into_view()
        self.refresh()

    def watch_unfold_all(self, _unfold_all: bool) -> None:
        """Every long text whole, or folded again: what one click did to one text is forgotten, and every
        block is measured again."""
        for block in self.model.blocks:
            block.unfolded = frozenset()
        self.relayout()
        self.scroll_cursor_into_view()

    def action_unfold_all(self) -> None:
        """Every long text whole, or folded again around its cause."""
        self.unfold_all = not self.unfold_all
        self.notify("every long text unfolded (o folds them again)" if self.unfold_all
                    else "long texts folded around their cause", timeout=2)

    def _error_step(self, step: int) -> None:
        """The next (previous) item that carries an error mark: a tool error, failing tests, a non-zero exit."""
        blocks = self.model.blocks
        b, i = self.cursor
        first = True
        while 0 <= b < len(blocks):
            block = blocks[b]
            if block.marks and b not in self.hidden:
                items = block.get_items()
                order = range(len(items)) if step > 0 else range(len(items) - 1, -1, -1)
                for j in order:
                    if first and (j <= i if step > 0 else j >= i):
                        continue
                    item = items[j]
                    if item.kind in ("result", "driver") and event_mark(block.events[item.pos]) is not None:
                        self.goto(b, j)
                        return
            first = False
            b += step
        self.notify("no error " + ("after" if step > 0 else "before") + " the cursor", timeout=2)

    def action_next_error(self) -> None:
        self._error_step(1)

    def action_previous_error(self) -> None:
        self._error_step(-1)

    def action_toggle_auto_collapse(self) -> None:
        self.auto_collapse = not self.auto_collapse
        self.notify(f"auto-collapse {'on' if self.auto_collapse else 'off'}", timeout=2)

    def step_file(self) -> None:
        """Inspecting a file: open the next iteration (closing the one before, if auto-collapse is on)."""
        blocks = self.model.blocks
        if not blocks:
            self.app.bell()
            return
        b = self.cursor[0]
        nxt = next((k for k in range(b + 1, len(blocks)) if blocks[k].kind in ("iteration", "finish")), None)
        if nxt is None:
            self.app.bell()
            return
        if self.auto_collapse and blocks[b].expanded and not blocks[b].pinned:
            self.set_expanded(b, False)
        self.set_expanded(nxt, True, pinned=False)
        self.move_cursor(nxt, 0)
        self.scroll_to(y=self.block_top(nxt), animate=False)

    # -- search ------------------------------------------------------------------------------------------

    def search(self, query: str, *, backwards: bool = False) -> tuple[int, int]:
        """Move to the next (previous) match of `query`. Returns (1-based match number, match count)."""
        self.search_query = query
        if not self.matches:
            return 0, 0
        if self.match_index < 0:
            # First jump: the nearest match from the cursor on (or before it, backwards).
            if backwards:
                before = [k for k, m in enumerate(self.matches) if m < self.cursor]
                k = before[-1] if before else len(self.matches) - 1
            else:
                after = [k for k, m in enumerate(self.matches) if m >= self.cursor]
                k = after[0] if after else 0
        else:
            k = (self.match_index + (-1 if backwards else 1)) % len(self.matches)
        self.match_index = k
        self.goto(*self.matches[k])
        self.reveal(*self.matches[k], query)
        return k + 1, len(self.matches)

    def reveal(self, b: int, i: int, text: str) -> None:
        """Scroll to the line of item `i` of block `b` that shows `text`; when a fold hides it, unfold that
        item first (the block is already open: `goto`)."""
        needle = text.casefold()
        for attempt in range(2):
            lo, hi = self.item_lines(b, i)
            strips, _ = self.get_block(b)
            top = self.block_top(b)
            found = next((y for y in range(lo, hi) if needle in strips[y - top].text.casefold()), None)
            if found is not None:
                height = self.scrollable_content_region.height
                if not round(self.scroll_y) <= found < round(self.scroll_y) + height:
                    self.scroll_to(y=max(0, found - height // 3), animate=False)
                return
            if attempt == 0 and any(FOLD_HINT in strips[y - top].text for y in range(lo, hi)):
                self.toggle_fold(b, i)  # the match is in what the fold hides
            else:
                return  # cut by a line wrap: the item is in view, that will do

    def clear_search(self) -> None:
        self.search_query = ""

    def watch_search_query(self, query: str) -> None:
        """Another search (or none): its matches in the blocks shown, and every block drawn again, with
        them lit."""
        self.matches = [m for m in self.model.search(query) if m[0] not in self.hidden] if query else []
        self.match_index = -1
        self.forget_all()

    # -- mouse -------------------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self.model.blocks:
            return
        vy = round(self.scroll_y) + offset.y
        if vy >= self.total_height:
            return
        b, line = self.locate(vy)
        strips, starts = self.get_block(b)
        from bisect import bisect_right

        i = bisect_right(starts, line) - 1
        self.focus()
        if i == 0:
            self.move_cursor(b, 0, scroll=False)
            self.action_toggle()
            return
        item = self.model.blocks[b].get_items()[i]
        if not item.selectable:
            return
        self.move_cursor(b, i)
        if line < len(strips) and (FOLD_HINT in strips[line].text or REFOLD_HINT in strips[line].text):
            self.toggle_fold(b, i)
