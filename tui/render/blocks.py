"""How one block looks: pure functions from a block of the model to lines of segments.

`render_block` returns the block's lines (title first) and where each item starts, so the view can map a
line to the item under it. What a title and an item say is `agent.view.describe`'s; here is only how it is
drawn: styles from the theme's palette, bars and indents, folds, search matches, a live run's spinner.
Everything here is a function of its arguments (the block, the model, the width, the render state); the
view caches the result per block and re-renders only blocks that change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from agent.display.folding import FOLD_FROM, HEAD, TAIL
from agent.display.terminal import inert
from agent.events import AssistantMessage
from agent.view.describe import INVALID_ARGUMENTS, Body, Description, Line, Title, describe_item, describe_title
from agent.view.model import Block, Item, TranscriptModel, item_search_text, tool_calls_of
from tui.render.content import arguments_lines, folded, inert_text, result_lines, unified_diff_lines
from tui.render.palette import DEFAULT, Palette

INDENT = 2
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

# Restrained styles: colour carries meaning (id links, errors, reflection, warnings), the rest is weight.
# The colours come from the theme, in `RenderState.palette`.
BOLD = Style(bold=True)
ITALIC = Style(italic=True)
HIGHLIGHT = Style(bold=True, reverse=True)
"""The tool_call_id linked to the cursor: its colour as a background."""

FOLD_HINT = "click, or o for all"
"""What a fold line says unfolds it."""
REFOLD_HINT = "(click to fold)"


@dataclass
class RenderState:
    """What besides the block decides its look."""

    highlight_ids: frozenset[str] = frozenset()
    query: str = ""
    live: bool = False
    running: bool = False
    """The request of this block is in flight (only the title shows it)."""
    elapsed: float = 0.0
    frame: int = 0
    streaming: Any = None
    """The reply streaming in (an AssistantDelta), shown under the running block until the message lands."""
    tools_running: bool = False
    """The calls of this block are being run (live): the ones without a result are shown as running."""
    unfold_all: bool = False
    """Every long text shown whole (`o`)."""
    palette: Palette = DEFAULT


# ---------------------------------------------------------------------------------------------------------
# Low-level line building


class _Lines:
    """Accumulates the lines of a block at a fixed width."""

    def __init__(self, console: Console, width: int, palette: Palette) -> None:
        self.console = console
        self.palette = palette
        self.width = max(width, 8)
        self.lines: list[list[Segment]] = []
        self._options = console.options

    def text(self, text: Text, indent: int = INDENT, prefix: list[Segment] | None = None) -> None:
        """Append `text` wrapped at the width, each line prefixed by `indent` spaces or by `prefix`."""
        if prefix is None:
            prefix = [Segment(" " * indent)] if indent else []
        used = sum(cell_len(s.text) for s in prefix)
        avail = max(self.width - used, 4)
        text = inert_text(text)
        text.overflow = "fold"
        text.no_wrap = False
        options = self._options.update(width=avail, min_width=avail, max_width=avail, height=None,
                                       no_wrap=False, overflow="fold", highlight=False, markup=False)
        for line in self.console.render_lines(text, options, pad=True, new_lines=False):
            self.lines.append(prefix + line)

    def line(self, text: Text) -> None:
        """One line, truncated (never wrapped) at the width, ending with `…` when cut."""
        text = inert_text(text)
        text.truncate(self.width, overflow="ellipsis", pad=True)
        self.lines.append(list(text.render(self.console)))


def _bar(style: Style, indent: int = INDENT) -> list[Segment]:
    return [Segment(" " * indent), Segment("│ ", style)]


def _body(out: _Lines, content: str, *, unfolded: bool, prefix: list[Segment] | None = None,
          style: Style | str = "", query: str = "") -> None:
    """Plain text (a message, a note, a detail), folded when long."""
    content = content.rstrip("\n")
    if content == "":
        return
    _lines_body(out, content.split("\n"), unfolded=unfolded, prefix=prefix, style=style, query=query)


def _lines_body(out: _Lines, lines: list[Text] | list[str], *, unfolded: bool, prefix: list[Segment] | None = None,
                style: Style | str = "", query: str = "") -> None:
    """Lines of a body, folded around what carries a failure unless `unfolded` (then, if it is long, a last
    line says a click folds it again)."""
    p = out.palette
    if not lines:
        return
    shown, hidden = folded(lines, unfolded=False, hint=FOLD_HINT)
    if unfolded:
        shown, _ = folded(lines, unfolded=True)
    text = Text("\n", style=style).join(shown)
    text.style = style
    if query:
        text.highlight_words([query], p.match, case_sensitive=False)
    out.text(text, prefix=prefix)
    if unfolded and hidden:
        out.text(Text(REFOLD_HINT, style=p.muted), prefix=prefix)


def _id_text(call_id: str | None, model: TranscriptModel, state: RenderState) -> Text:
    p = state.palette
    if not call_id:
        return Text("(no id)", style=p.muted)
    style = state.palette.link(model.link(call_id))
    if call_id in state.highlight_ids:
        return Text(f" {call_id} ", style=style + HIGHLIGHT)
    return Text(call_id, style=style)


# ---------------------------------------------------------------------------------------------------------
# Styles by name (`agent.view.describe` names them)


@lru_cache(maxsize=256)
def _named(palette: Palette, name: str) -> Style:
    style = Style()
    for word in name.split():
        style += BOLD if word == "bold" else ITALIC if word == "italic" else getattr(palette, word)
    return style


def _style(palette: Palette, name: str, link: Style | None = None) -> Style:
    """The style a description names (`error bold`; '' for none); `link` stands for the colour of the item's
    id (muted when it has none)."""
    if "link" in name.split():
        rest = " ".join(word for word in name.split() if word != "link")
        return (link or palette.muted) + (_named(palette, rest) if rest else Style())
    return _named(palette, name)


# ---------------------------------------------------------------------------------------------------------
# Titles


def title_text(block: Block, model: TranscriptModel, width: int, state: RenderState) -> Text:
    """The block's title at `width`: an arrow, what `describe_title` says, a live run's spinner, and the
    figures on the right."""
    p = state.palette
    running = state.running or state.tools_running
    title = describe_title(block, model, live=state.live or running)
    left = Text()
    left.append(f"{'▼' if block.expanded else '▶'} ", p.muted)
    _TITLE_HEADS[title.kind](left, title, block, p)
    badges = [(badge.text, _style(p, badge.style)) for badge in title.badges]
    if running and title.kind == "iteration":
        frame = SPINNER[state.frame % len(SPINNER)]
        what = "running" if state.running else "running " + ", ".join(running_calls(block, model))
        badges.append((f"{frame} {what}… {state.elapsed:.1f}s", p.running))
    for label, style in badges:
        left.append("   ")
        left.append(label, style)
    return _fit(left, Text(" · ".join(title.right), style=p.muted), width)


def _iteration_head(left: Text, title: Title, block: Block, p: Palette) -> None:
    left.append(f"{block.number}", BOLD)
    left.append("  ")
    left.append(title.head.text, _style(p, title.head.style))


def _start_head(left: Text, title: Title, block: Block, p: Palette) -> None:
    left.append(title.head.text, _style(p, title.head.style))
    for detail in title.details:  # the roles, then the goal
        left.append(f"  {detail.text}", _style(p, detail.style))


def _finish_head(left: Text, title: Title, block: Block, p: Palette) -> None:
    left.append(title.head.text, _style(p, title.head.style))
    for detail in title.details:  # a failed ending's first line
        left.append("  ")
        left.append(detail.text, _style(p, detail.style))


_TITLE_HEADS: dict[str, Callable[[Text, Title, Block, Palette], None]] = {
    "iteration": _iteration_head, "start": _start_head, "finish": _finish_head}


def _fit(left: Text, right: Text, width: int) -> Text:
    """`left` with `right` at the end of `width` cells (when there is room for it), `left` cut to fit."""
    right_len = right.cell_len
    avail = width - (right_len + 2 if right_len else 0)
    if left.cell_len > avail:
        left.truncate(max(avail, 4), overflow="ellipsis")
    if right_len and width > right_len + 6:
        left.append(" " * max(1, width - left.cell_len - right_len))
        left.append_text(right)
    left.truncate(width, overflow="ellipsis", pad=True)
    left.stylize(Style(bold=False))
    return left


# ---------------------------------------------------------------------------------------------------------
# Items


def render_item(out: _Lines, block: Block, index: int, item: Item, model: TranscriptModel,
                state: RenderState) -> None:
    p = out.palette
    unfolded = (index in block.unfolded) != state.unfold_all  # a click inverts `o` for one item
    try:
        _render_item(out, block, item, model, state, unfolded)
    except Exception as exc:  # never let one odd event take the view down
        out.text(Text(f"(cannot render this {item.kind}: {type(exc).__name__}: {exc})", style=p.error))


@dataclass
class _Drawing:
    """One item being drawn: its description, and what its rows need besides."""

    out: _Lines
    desc: Description
    link: Style | None
    """The colour of the item's tool_call_id (None: it has none)."""
    unfolded: bool
    query: str

    def style(self, name: str) -> Style:
        return _style(self.out.palette, name, self.link)

    def margin(self, name: str) -> list[Segment]:
        """An indent (''), a note's dotted bar (`note`), or a solid bar in the style named."""
        if not name:
            return [Segment(" " * INDENT)]
        if name == "note":
            return [Segment(" " * INDENT), Segment("┊ ", self.out.palette.reflection)]
        return _bar(self.style(name))


def _render_item(out: _Lines, block: Block, item: Item, model: TranscriptModel, state: RenderState,
                 unfolded: bool) -> None:
    """An item as `describe_item` says it: its head, the ordering findings on it, then its rows."""
    desc = describe_item(block, item, model, running=state.tools_running)
    p = out.palette
    drawing = _Drawing(out, desc, p.link(model.link(desc.call_id)) if desc.call_id else None, unfolded, state.query)
    _HEADS.get(desc.kind, _labelled_head)(drawing, model, state)
    for v in desc.findings:
        out.text(Text(f"⚠ {v.rule}: {v.message}", style=p.error + BOLD))
    for row in desc.rows:
        if isinstance(row, Line):
            _line(drawing, row)
        else:
            _body_row(drawing, row)


def _labelled_head(drawing: _Drawing, model: TranscriptModel, state: RenderState) -> None:
    """`label  meta · meta  mark`: a message, a reply, a note, a refusal, a driver's message, the ending."""
    desc = drawing.desc
    head = Text()
    head.append(desc.label.text, drawing.style(desc.label.style))
    _meta_and_marks(drawing, head)


def _named_head(drawing: _Drawing, model: TranscriptModel, state: RenderState) -> None:
    """`label    name  id  meta  mark`, the names in one column: a call, a result, a change's files."""
    desc = drawing.desc
    head = Text()
    head.append(desc.label.text.ljust(max(9, len(desc.label.text) + 1)), drawing.style(desc.label.style))
    head.append(desc.name, BOLD)
    if desc.call_id is not None:
        head.append("  ")
        head.append_text(_id_text(desc.call_id, model, state))
    _meta_and_marks(drawing, head)


def _meta_and_marks(drawing: _Drawing, head: Text) -> None:
    if drawing.desc.meta:
        head.append("  " + " · ".join(drawing.desc.meta), drawing.out.palette.muted)
    for mark in drawing.desc.marks:
        head.append(f"  {mark.text}", drawing.style(mark.style))
    drawing.out.text(head)


def _request_head(drawing: _Drawing, model: TranscriptModel, state: RenderState) -> None:
    desc = drawing.desc
    said = " · ".join([desc.label.text, *desc.meta, "v shows it"])
    drawing.out.text(Text(said, style=drawing.style(desc.label.style)))


def _notice_head(drawing: _Drawing, model: TranscriptModel, state: RenderState) -> None:
    desc = drawing.desc
    style = drawing.style(desc.label.style)
    t = Text(f"{desc.label.text} ", style=style)
    t.append(desc.text, style)
    if drawing.query:
        t.highlight_words([drawing.query], drawing.out.palette.match, case_sensitive=False)
    drawing.out.text(t)


def _unknown_head(drawing: _Drawing, model: TranscriptModel, state: RenderState) -> None:
    drawing.out.text(Text(drawing.desc.label.text, style=drawing.style(drawing.desc.label.style)))


_HEADS: dict[str, Callable[[_Drawing, TranscriptModel, RenderState], None]] = {
    "call": _named_head, "result": _named_head, "changes": _named_head, "request": _request_head,
    "notice": _notice_head, "unknown": _unknown_head}
"""How an item's head is laid out, by its kind (the others: `_labelled_head`)."""


def _line(drawing: _Drawing, line: Line) -> None:
    t = Text(style=drawing.style(line.style))
    t.append(line.label.text, drawing.style(line.label.style))
    if line.text is not None and (line.text.text or not line.brief):  # evidence, when there is any
        t.append(": ")
        text = line.text.text
        t.append(inert(text.split("\n", 1)[0][:300]) if line.brief else text, drawing.style(line.text.style))
    drawing.out.text(t, prefix=drawing.margin(line.margin))


def _body_row(drawing: _Drawing, body: Body) -> None:
    """A body as its kind is drawn: arguments and results as `tui.render.content` lays them out, a diff
    coloured, a text as it is; folded unless unfolded or `whole`."""
    out, p = drawing.out, drawing.out.palette
    if body.heading is not None:
        _line(drawing, body.heading)
    prefix, style = drawing.margin(body.margin), drawing.style(body.style)
    query = drawing.query if body.searchable else ""
    unfolded = drawing.unfolded or body.whole
    if body.kind == "arguments":
        lines, ok = arguments_lines(body.tool, body.text, p.code_theme)
        if not ok:
            out.text(Text(INVALID_ARGUMENTS, style=p.warning), prefix=prefix)
        _lines_body(out, lines, unfolded=unfolded, prefix=prefix, query=query)
    elif body.kind == "result":
        _lines_body(out, result_lines(body.text, p.code_theme), unfolded=unfolded, prefix=prefix, style=style,
                    query=query)
    elif body.kind == "diff":
        _lines_body(out, unified_diff_lines(body.text, p.code_theme), unfolded=unfolded, prefix=prefix, query=query)
    else:
        _body(out, body.text, unfolded=unfolded, prefix=prefix, style=style, query=query)


def render_block(console: Console, block: Block, model: TranscriptModel, width: int,
                 state: RenderState) -> tuple[list[Strip], list[int]]:
    """The lines of a block at `width` (title first), and the first line of each item."""
    out = _Lines(console, width, state.palette)
    out.line(title_text(block, model, out.width, state))
    starts = [0]
    if block.expanded:
        items = block.get_items()
        for index in range(1, len(items)):
            starts.append(len(out.lines))
            render_item(out, block, index, items[index], model, state)
            if len(out.lines) == starts[-1]:  # every item owns at least one line
                out.lines.append([Segment(" " * out.width)])
        if state.running and state.streaming is not None:
            render_streaming(out, state.streaming)
        out.lines.append([Segment(" " * out.width)])  # breathing room under an open block
    return [Strip(line, out.width) for line in out.lines], starts


def render_streaming(out: _Lines, delta: Any) -> None:
    """The reply as it streams in: its text so far and the calls whose arguments are still arriving."""
    p = out.palette
    head = Text()
    head.append("assistant", p.label)
    meta = [f"streaming {delta.elapsed_s:.1f}s"]
    if delta.ttft_s is not None:
        meta.append(f"first token {delta.ttft_s:.2f}s")
    head.append("  " + " · ".join(meta), p.muted)
    out.text(head)
    if delta.text:
        out.text(Text(delta.text))
    for call in delta.tool_calls:
        line = Text()
        line.append("→ call   ", p.muted)
        line.append(call.get("name") or "…", p.label)
        if call.get("id"):
            line.append(f"  {call['id']}", p.muted)
        out.text(line)
        if call.get("arguments"):
            out.text(Text(call["arguments"], style=p.muted), prefix=_bar(p.muted))


def running_calls(block: Block, model: TranscriptModel) -> list[str]:
    """The tools of `block` still waiting for their result (live: running)."""
    event = next((e for e in block.events if isinstance(e, AssistantMessage)), None)
    if event is None:
        return []
    return [c.name for c in tool_calls_of(event.message) if c.id and c.id not in model.result_sites]


def render_title(console: Console, block: Block, model: TranscriptModel, width: int, state: RenderState) -> Strip:
    out = _Lines(console, width, state.palette)
    out.line(title_text(block, model, out.width, state))
    return Strip(out.lines[0], out.width)


def estimate_height(block: Block, width: int) -> int:
    """A cheap guess of the rendered height (exact for a collapsed block)."""
    if not block.expanded:
        return 1
    avail = max(width - INDENT - 2, 10)
    total = 2  # title + trailing blank
    with block.transient():  # a lazy block's events are read for this, and not kept
        items = block.get_items()
        for index, item in enumerate(items):
            if index == 0:
                continue
            total += 1
            lines = item_search_text(block, item).split("\n")
            if index not in block.unfolded and len(lines) > FOLD_FROM:
                lines = lines[:HEAD] + ["…"] + lines[-TAIL:]  # causes kept in the middle are not guessed
            for line in lines:
                total += max(1, -(-len(line) // avail))
    return total
