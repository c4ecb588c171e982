"""The two-column view of `agent-tui compare A B`: both runs, one row per iteration, their divergence marked.

The two runs are drawn in two columns by one line-API widget: a row holds iteration N of A on the left and iteration N of B on the right, each drawn exactly as
the transcript view draws it (`tui.blocks.render_block`), the shorter side padded so the next row starts on
the same line on both sides. One widget for both columns means one scroll position: the two runs cannot
drift apart, and rows are rendered only when on screen (`LazyBlockView`), so big files stay fast.

Marks, in the two-column gutter of each side:
- `⟂` an orange banner over the first iteration whose request differs ("diverges here: message 7 (...)"),
  and `⟂` beside the message that made the difference, wherever it was written;
- `≠` (yellow) beside a call whose name or arguments differ from the other run's call at the same place,
  and on the title of a row whose calls differ; a dimmer `≠` beside a tool result whose content differs;
- `✦` (pink) and a tinted background on reflection notes.

Keys: j/k rows (both sides), enter opens/closes a row on both sides, d jumps to the divergence, n/N next /
previous row that differs, tab switches the active run (v shows its request), o unfolds the row's long
texts, e/E open/close all, g/G first/last, q, ?.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from agent.events import ToolResult
from agent.transcripts.compare import AlignedIteration, Alignment, Side
from agent.transcripts.store import Block, TranscriptModel
from tui.blocks import BOLD, ITALIC, RenderState, estimate_height, render_block
from tui.widgets.lazy_view import GUTTER, LazyBlockView

REVERSE = Style(reverse=True)
Mark = tuple[str, Style] | None


# ---------------------------------------------------------------------------------------------------------
# Rows: what is aligned with what


@dataclass
class Row:
    """One row of the comparison: the start, an iteration, or the ending, on each side."""

    kind: str
    """start, iteration or finish"""
    number: int | None
    blocks: dict[str, int | None]
    """Side -> index of the block in that side's model (None: that run has no such block)."""
    aligned: AlignedIteration | None = None


def build_rows(model_a: TranscriptModel, model_b: TranscriptModel, alignment: Alignment) -> list[Row]:
    """Start blocks first, then iterations by number (a run lacking one gets a gap), then the endings."""

    def keyed(model: TranscriptModel) -> dict[tuple[str, int], int]:
        out: dict[tuple[str, int], int] = {}
        count = {"start": 0, "finish": 0}
        for index, block in enumerate(model.blocks):
            if block.kind == "iteration" and isinstance(block.number, int):
                key = ("iteration", block.number)
            else:
                kind = "finish" if block.kind == "finish" else "start"
                key = (kind, count[kind])
                count[kind] += 1
            out.setdefault(key, index)
        return out

    ka, kb = keyed(model_a), keyed(model_b)
    rank = {"start": 0, "iteration": 1, "finish": 2}
    by_number = {r.number: r for r in alignment.rows}
    rows = []
    for key in sorted(set(ka) | set(kb), key=lambda k: (rank[k[0]], k[1])):
        kind, n = key
        rows.append(Row(kind, n if kind == "iteration" else None, {"a": ka.get(key), "b": kb.get(key)},
                        by_number.get(n) if kind == "iteration" else None))
    return rows


# ---------------------------------------------------------------------------------------------------------
# The two-column view


class CompareView(LazyBlockView, can_focus=True):
    """Both runs, row by row, in one line-API widget (one scroll position for both columns)."""

    COMPONENT_CLASSES = {
        "compare--side-a", "compare--side-b", "compare--diverge", "compare--diff", "compare--result-diff",
        "compare--reflection-tint", "compare--separator", "compare--cursor-other", "compare--cursor-mark-other",
        "compare--fork",
    }
    """Run A and B's colours; the divergence, a differing call, a differing result; the tint of a note; where
    a fork went live."""

    DEFAULT_CSS = """
    CompareView {
        height: 1fr;
        background: $background;
    }
    CompareView > .compare--side-a { color: $text-primary; text-style: bold; }
    CompareView > .compare--side-b { color: $text-accent; text-style: bold; }
    CompareView > .compare--diverge { color: $link-4; text-style: bold; }
    CompareView > .compare--diff { color: $text-warning; text-style: bold; }
    CompareView > .compare--result-diff { color: $warning-muted; }
    CompareView > .compare--reflection-tint { background: $reflection 12%; }
    CompareView > .compare--separator { color: $foreground 25%; }
    CompareView > .compare--cursor-other { background: $foreground 5%; }
    CompareView > .compare--cursor-mark-other { color: $text-muted; }
    CompareView > .compare--fork { color: $text-secondary; text-style: bold; }
    """

    BINDINGS = [
        Binding("j,down", "next_row", "Next", show=False, tooltip="next iteration, on both sides"),
        Binding("k,up", "previous_row", "Previous", show=False, tooltip="previous iteration, on both sides"),
        Binding("enter", "toggle", "Open", tooltip="open / close the iteration on both sides"),
        Binding("d", "divergence", "Divergence", tooltip="jump to the first iteration whose request differs"),
        Binding("n", "next_difference", "Next diff",
                tooltip="next iteration whose calls differ, or with a reflection note on one side only"),
        Binding("N", "previous_difference", "Previous diff", show=False, tooltip="previous such iteration"),
        Binding("tab", "switch_side", "Switch run", tooltip="make the other run active (v shows its request)"),
        Binding("v", "show_request", "Request", tooltip="what the model saw: the active run's request here"),
        Binding("o", "unfold", "Unfold", show=False, tooltip="unfold / fold the long texts of the row (both sides)"),
        Binding("e", "expand_all", "Expand all", show=False, tooltip="open every iteration"),
        Binding("E", "collapse_all", "Collapse all", show=False, tooltip="close every iteration"),
        Binding("g,home", "first", "First", show=False, tooltip="first row"),
        Binding("G,end", "last", "Last", show=False, tooltip="last row"),
    ]

    cursor: reactive[int] = reactive(0, init=False, always_update=True)
    """The row under the cursor (both runs)."""
    side: reactive[Side] = reactive("a", init=False)
    """The active run: tab switches it, v shows its request."""

    class CursorMoved(Message):
        """The cursor moved to `row`, or the active run is now `side`."""

        def __init__(self, row: int, side: str) -> None:
            super().__init__()
            self.row = row
            self.side = side

    class RequestWanted(Message):
        """`v`: show what the model saw in run `side` at `row`."""

        def __init__(self, row: Row, side: str) -> None:
            super().__init__()
            self.row = row
            self.side = side

    def __init__(self, models: dict[str, TranscriptModel], alignment: Alignment, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.models = models
        self.alignment = alignment
        self.rows = build_rows(models["a"], models["b"], alignment)
        self.divergence_row: int | None = None
        if alignment.divergence is not None:
            self.divergence_row = next((k for k, r in enumerate(self.rows)
                                        if r.kind == "iteration" and r.number == alignment.divergence), None)
        self.cause: dict[str, tuple[int, int] | None] = {"a": None, "b": None}
        """Per side: (block, item) of the message that made the first request differ."""
        self._find_cause()
        # Open on what made the difference: the row where the first differing message was written (a note,
        # a tool result, a reply), the divergence banner under it; else on the first iteration.
        self.cause_row = self._cause_row()
        first = next((k for k, r in enumerate(self.rows) if r.kind == "iteration"), 0)
        self.set_reactive(CompareView.cursor, self.cause_row if self.cause_row is not None else first)
        if self.cause_row is not None:
            self._set_row_expanded(self.cause_row, True)
        elif self.divergence_row is not None:
            self._set_row_expanded(self.divergence_row, True)
        self.fork_row: int | None = None
        """When one run is a fork of the other: the row of the last iteration it replayed (the view opens
        there, and a line under it says where the fork went live)."""
        fork = alignment.fork
        if fork is not None:
            self.fork_row = next((k for k, r in enumerate(self.rows)
                                  if r.kind == "iteration" and r.number == fork.at), None)
        if self.fork_row is not None:
            self.set_reactive(CompareView.cursor, self.fork_row)
            self._set_row_expanded(self.fork_row, True)

    def _find_cause(self) -> None:
        diff = self.alignment.diff
        if diff is None or diff.index < 0:
            return
        for side in ("a", "b"):
            if (side == "a" and diff.kind == "only_b") or (side == "b" and diff.kind == "only_a"):
                continue
            model = self.models[side]
            if 0 <= diff.index < len(model.messages):
                site = model.location(diff.index)
                item = model.blocks[site.block].item_for_message(site.pos, site.sub)
                if item is not None:
                    self.cause[side] = (site.block, item)

    def _cause_row(self) -> int | None:
        for side in ("a", "b"):
            cause = self.cause[side]
            if cause is not None:
                return next((k for k, r in enumerate(self.rows) if r.blocks[side] == cause[0]), None)
        return None

    # -- geometry ----------------------------------------------------------------------------------------

    @staticmethod
    def side_width(full: int) -> int:
        """Content columns of each side at a full width (both sides are rendered at this width)."""
        return max((full - 6) // 2, 8)

    def _layout(self, full: int) -> tuple[int, int, int]:
        """(content width, start of the separator, start of the right side's cursor column)."""
        cw = self.side_width(full)
        return cw, 2 + cw, 4 + cw

    def title_line(self, row: int) -> int:
        """The line of the row's title (the divergence row has its banner above it)."""
        return 1 if row == self.divergence_row else 0

    # -- rendering ---------------------------------------------------------------------------------------

    def block_count(self) -> int:
        return len(self.rows)

    def side_block(self, row: int, side: str) -> Block | None:
        b = self.rows[row].blocks[side]
        return self.models[side].blocks[b] if b is not None else None

    def estimate_block(self, index: int, width: int) -> int:
        cw = self.side_width(width + GUTTER)
        heights = [estimate_height(block, cw) if block is not None else 1
                   for block in (self.side_block(index, "a"), self.side_block(index, "b"))]
        return max(heights) + self.title_line(index) + (index == self.fork_row)

    def evicted(self, index: int) -> None:
        for side in ("a", "b"):
            block = self.side_block(index, side)
            if block is not None and index != self.cursor:
                block.drop_items()

    def render_block(self, index: int, width: int) -> tuple[list[Strip], list[int]]:
        full = width + GUTTER
        cw, sep, right = self._layout(full)
        sides = {side: self._side_lines(index, side, cw) for side in ("a", "b")}
        height = max(len(strips) for strips, _, _ in sides.values())
        self._note_gap(index, sides, cw)
        lines: list[Strip] = []
        if index == self.divergence_row:
            banner = self._banner(cw)
            mark = ("⟂", self.component_style("compare--diverge") + REVERSE)
            lines.append(self._join_sides(full, cw, banner, mark, banner, mark))
        blank = Strip.blank(cw)
        for k in range(height):
            parts = []
            for side in ("a", "b"):
                strips, mks, bgs = sides[side]
                strip = strips[k] if k < len(strips) else blank
                bg = bgs[k] if k < len(bgs) else None
                if bg is not None:
                    strip = strip.apply_style(bg)
                parts.append((strip, mks[k] if k < len(mks) else None))
            lines.append(self._join_sides(full, cw, parts[0][0], parts[0][1], parts[1][0], parts[1][1]))
        if index == self.fork_row:
            line = self._fork_line(cw)
            fork_mark = ("⎇", self.component_style("compare--fork"))
            lines.append(self._join_sides(full, cw, line, fork_mark, line, fork_mark))
        return lines, [0]

    def _note_gap(self, index: int, sides: dict[str, tuple[list[Strip], list[Mark], list[Style | None]]],
                  cw: int) -> None:
        """Across from a reflection note the other run did not write, say so (in the padding)."""
        for side, other in (("a", "b"), ("b", "a")):
            mine, theirs = self.side_block(index, side), self.side_block(index, other)
            if mine is None or theirs is None or not mine.expanded or mine.reflection or not theirs.reflection:
                continue
            strips, marks, bgs = sides[side]
            at = next((k for k, bg in enumerate(sides[other][2]) if bg is not None), None)
            if at is None or at < len(strips) - 1:
                continue  # this side has content there
            while len(strips) <= at:
                strips.append(Strip.blank(cw))
                marks.append(None)
                bgs.append(None)
            text = Text("  ")
            text.append("┊ ", self.palette.reflection)
            text.append("no reflection note here", self.palette.muted + ITALIC)
            text.truncate(cw, overflow="ellipsis", pad=True)
            strips[at] = Strip(list(text.render(self.app.console)), cw)

    def _join_sides(self, full: int, cw: int, left: Strip, left_mark: Mark, right: Strip, right_mark: Mark) -> Strip:
        """[cursor][mark] left │ [cursor][mark] right, `full` columns."""
        right_width = full - 6 - cw
        segs: list[Segment] = [Segment(" ")]
        segs.append(Segment(left_mark[0], left_mark[1]) if left_mark else Segment(" "))
        segs.extend(left.crop(0, cw).extend_cell_length(cw))
        segs.append(Segment(" "))
        segs.append(Segment("│", self.component_style("compare--separator")))
        segs.append(Segment(" "))
        segs.append(Segment(right_mark[0], right_mark[1]) if right_mark else Segment(" "))
        segs.extend(right.crop(0, right_width).extend_cell_length(right_width))
        return Strip(segs, full)

    def _banner(self, cw: int) -> Strip:
        diff = self.alignment.diff
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" diverges here")
        if diff is not None:
            text.append(f": message {diff.index} ({diff.what})" if diff.index >= 0 else f": {diff.what}")
        return self._line(text, cw, self.component_style("compare--diverge") + REVERSE)

    def _fork_line(self, cw: int) -> Strip:
        fork = self.alignment.fork
        assert fork is not None
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {fork.side.upper()} forked here: iterations 1–{fork.at} replayed, live from {fork.at + 1}")
        return self._line(text, cw, self.component_style("compare--fork") + REVERSE)

    def _line(self, text: Text, width: int, style: Style) -> Strip:
        """`text` on one line of `width` cells, all of it in `style` (Text.render ignores a base style)."""
        text.truncate(width, overflow="ellipsis", pad=True)
        text.stylize(style)
        return Strip(list(text.render(self.app.console)), width)

    def _side_lines(self, index: int, side: str, cw: int) -> tuple[list[Strip], list[Mark], list[Style | None]]:
        """One side of a row: its lines at `cw` columns, a gutter mark and a background per line."""
        row = self.rows[index]
        model = self.models[side]
        b = row.blocks[side]
        if b is None:
            what = (f"no iteration {row.number} in this run" if row.kind == "iteration" else
                    "no ending recorded in this run" if row.kind == "finish" else "no start recorded")
            return [self._line(Text(f"   — {what} —"), cw, self.palette.muted + ITALIC)], [None], [None]
        block = model.blocks[b]
        strips, starts = render_block(self.app.console, block, model, cw, RenderState(palette=self.palette))
        diff_mark = self.component_style("compare--diff")
        diverge_mark = self.component_style("compare--diverge")
        marks: list[Mark] = [None] * len(strips)
        bgs: list[Style | None] = [None] * len(strips)
        aligned = row.aligned
        cause = self.cause[side]
        cause_item = cause[1] if cause is not None and cause[0] == b else None
        # The title: ≠ when the calls differ; ⟂ when the message that made the difference hides in it.
        if aligned is not None and aligned.calls_differ and aligned.only_in is None:
            marks[0] = ("≠", diff_mark)
        elif cause_item is not None and not block.expanded:
            marks[0] = ("⟂", diverge_mark)
        if block.expanded and len(starts) > 1:
            items = block.get_items()
            call_flags = aligned.call_differs(side) if aligned is not None else []  # type: ignore[arg-type]
            result_flags = aligned.result_differs(side) if aligned is not None else []  # type: ignore[arg-type]
            result_pos = _result_positions(block)
            last = len(strips) - 1  # the blank line under an open block
            for line in range(starts[1], last):
                i = bisect_right(starts, line) - 1
                item = items[i] if i < len(items) else None
                if item is None:
                    continue
                mark: Mark = None
                if item.kind == "reflection":
                    mark = ("✦", self.palette.reflection + BOLD) if line == starts[i] else None
                    bgs[line] = self.component_style("compare--reflection-tint", background=True)
                elif item.kind == "call" and item.sub < len(call_flags) and call_flags[item.sub] \
                        and aligned is not None and aligned.only_in is None:
                    mark = ("≠", diff_mark)
                elif item.kind == "result" and aligned is not None and aligned.only_in is None:
                    k = result_pos.get(item.pos)
                    if k is not None and k < len(result_flags) and result_flags[k]:
                        mark = ("≠", self.component_style("compare--result-diff"))
                if cause_item is not None and i == cause_item and line == starts[i]:
                    mark = ("⟂", diverge_mark)
                marks[line] = mark
        return strips, marks, bgs

    def decorate_line(self, index: int, line: int, item: int, strip: Strip, width: int) -> Strip:
        if index != self.cursor or line != self.title_line(index):
            return strip
        cw, sep, right = self._layout(width)
        focused = self.has_focus
        styles = {}
        palette, style = self.palette, self.component_style
        other_mark = style("compare--cursor-mark-other")
        for side in ("a", "b"):
            active = side == self.side
            if not focused:
                styles[side] = (palette.muted + BOLD if active else other_mark, palette.cursor_blurred)
            elif active:
                styles[side] = (style(f"compare--side-{side}"), palette.cursor)
            else:
                styles[side] = (other_mark, style("compare--cursor-other", background=True))
        left = strip.crop(1, sep)
        middle = strip.crop(sep, right)
        rest = strip.crop(right + 1, width)
        return Strip.join([
            Strip([Segment("▌", styles["a"][0])], 1), left.apply_style(styles["a"][1]), middle,
            Strip([Segment("▌", styles["b"][0])], 1), rest.apply_style(styles["b"][1]),
        ])

    # -- state -------------------------------------------------------------------------------------------

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def row_expanded(self, row: int) -> bool:
        return any(block.expanded for block in (self.side_block(row, "a"), self.side_block(row, "b")) if block is not None)

    def _set_row_expanded(self, row: int, expanded: bool) -> None:
        for side in ("a", "b"):
            block = self.side_block(row, side)
            if block is not None:
                block.expanded = expanded
                block.pinned = expanded

    def set_expanded(self, row: int, expanded: bool) -> None:
        if self.row_expanded(row) == expanded:
            return
        self._set_row_expanded(row, expanded)
        self._relayout_row(row)

    def move_to(self, row: int, *, top: bool = False) -> None:
        """Put the cursor on `row` and bring it into view (`top`: its first line at the top)."""
        if not self.rows:
            return
        self.cursor = max(0, min(row, len(self.rows) - 1))
        self.scroll_row_into_view(self.cursor, top=top)

    def watch_cursor(self, row: int) -> None:
        self.refresh()
        self.post_message(self.CursorMoved(row, self.side))

    def watch_side(self, side: Side) -> None:
        self.refresh()
        self.post_message(self.CursorMoved(self.cursor, side))

    def scroll_row_into_view(self, row: int, *, top: bool = False) -> None:
        height = self.scrollable_content_region.height
        if height <= 0 or not self.laid_out:
            return
        for _ in range(3):  # rendering the row can refine heights: settle
            self.get_block(row)
            start = self.block_top(row)
            end = start + self.block_height(row)
            view_top = round(self.scroll_y)
            if top:
                new = start
            elif start < view_top:
                new = start
            elif end > view_top + height:
                new = min(start, end - height)  # as much of the row as fits, its title kept on screen
            else:
                return
            self.scroll_to(y=new, animate=False)
            if top:
                return

    @property
    def current(self) -> Row:
        return self.rows[self.cursor]

    def differs(self, row: Row) -> bool:
        """Worth stopping at with n: the calls differ, or only one side reflected here."""
        a = row.aligned
        if a is None:
            return False
        return a.calls_differ or (a.reflection_a is None) != (a.reflection_b is None) or a.only_in is not None

    # -- actions -----------------------------------------------------------------------------------------

    def action_next_row(self) -> None:
        if self.cursor + 1 < len(self.rows):
            self.move_to(self.cursor + 1)

    def action_previous_row(self) -> None:
        if self.cursor > 0:
            self.move_to(self.cursor - 1)

    def action_toggle(self) -> None:  # type: ignore[override]  # the `toggle` key's action, not DOMNode's attribute toggle
        row = self.cursor
        self.set_expanded(row, not self.row_expanded(row))
        self.move_to(row)

    def action_unfold(self) -> None:
        row = self.cursor
        blocks = [b for b in (self.side_block(row, "a"), self.side_block(row, "b")) if b is not None]
        if not blocks:
            return
        if not self.row_expanded(row):
            self._set_row_expanded(row, True)
        fold = any(b.unfolded for b in blocks)
        for block in blocks:
            block.unfolded = frozenset() if fold else frozenset(range(len(block.get_items())))
        self._relayout_row(row)
        self.move_to(row)

    def _relayout_row(self, row: int) -> None:
        self.resize_block(row)
        if self.laid_out:
            self.get_block(row)
        self.refresh()

    def action_divergence(self) -> None:
        if self.divergence_row is None:
            self.notify("no divergence: every request the two runs share is the same", timeout=3)
            return
        self.set_expanded(self.divergence_row, True)
        self.move_to(self.divergence_row, top=True)

    def _difference_step(self, step: int) -> None:
        k = self.cursor + step
        while 0 <= k < len(self.rows):
            if self.differs(self.rows[k]) or k == self.divergence_row:
                self.move_to(k)
                return
            k += step
        self.notify("no further difference" if step > 0 else "no earlier difference", timeout=2)

    def action_next_difference(self) -> None:
        self._difference_step(1)

    def action_previous_difference(self) -> None:
        self._difference_step(-1)

    def action_switch_side(self) -> None:
        self.side = "b" if self.side == "a" else "a"

    def action_expand_all(self) -> None:
        for k in range(len(self.rows)):
            self._set_row_expanded(k, True)
        self.relayout()
        self.move_to(self.cursor)

    def action_collapse_all(self) -> None:
        for k in range(len(self.rows)):
            self._set_row_expanded(k, False)
        self.relayout()
        self.move_to(self.cursor)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.rows) - 1)

    def action_show_request(self) -> None:
        self.post_message(self.RequestWanted(self.current, self.side))

    # -- mouse -------------------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self.rows:
            return
        vy = round(self.scroll_y) + offset.y
        if vy >= self.total_height:
            return
        row, line = self.locate(vy)
        cw, sep, right = self._layout(self.scrollable_content_region.width)
        self.side = "a" if offset.x < sep + 1 else "b"
        self.focus()
        if line == self.title_line(row):
            self.cursor = row
            self.action_toggle()
            return
        self.move_to(row)
        strips, _ = self.get_block(row)
        if line < len(strips) and "click to" in strips[line].text:
            self.action_unfold()


def _result_positions(block: Block) -> dict[int, int]:
    """Event position of each tool result in the block -> its index among the block's results."""
    out: dict[int, int] = {}
    for pos, event in enumerate(block.events):
        if isinstance(event, ToolResult):
            out[pos] = len(out)
    return out
