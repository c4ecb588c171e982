"""A request as indented JSON, one block per part (its parameters, each message, its tools), new messages
marked with a green "+"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from rich.highlighter import JSONHighlighter
from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding
from textual.strip import Strip

from agent.display.terminal import inert
from tui.blocks import BOLD
from tui.content import inert_text
from tui.widgets.lazy_view import GUTTER, LazyBlockView, gutter

_JSON = JSONHighlighter()


@dataclass(frozen=True)
class RequestPart:
    """One block of the view: a label (`[3] tool`, `parameters`), the JSON value shown under it, whether
    it is new in this request, and the tool_call_id it answers (shown in that id's colour)."""

    label: str
    value: Any
    new: bool = False
    call_id: str | None = None
    note: str = ""
    """A few muted words after the label."""


def message_parts(messages: list[dict[str, Any]], new_from: int) -> list[RequestPart]:
    """A block per message: `[index] role`, new from `new_from` on."""
    parts = []
    for index, message in enumerate(messages):
        role = message.get("role", "?") if isinstance(message, dict) else "?"
        call_id = message.get("tool_call_id") if isinstance(message, dict) else None
        parts.append(RequestPart(f"[{index}] {role}", message, index >= new_from,
                                 call_id if isinstance(call_id, str) and call_id else None))
    return parts


class RequestView(LazyBlockView, can_focus=True):
    """One block per part: a header line and the part as indented JSON."""

    DEFAULT_CSS = """
    RequestView {
        height: 1fr;
        background: $background;
    }
    """

    BINDINGS = [
        Binding("j,down", "scroll_down", "Down", show=False, tooltip="scroll down"),
        Binding("k,up", "scroll_up", "Up", show=False, tooltip="scroll up"),
        Binding("g,home", "scroll_home", "Top", show=False, tooltip="top"),
        Binding("G,end", "scroll_end", "Bottom", show=False, tooltip="bottom"),
        Binding("space", "page_down", "Page down", show=False, tooltip="page down"),
        Binding("n", "next_new", "First new", tooltip="jump to the first message new in this request"),
    ]

    def __init__(self, parts: list[RequestPart], link_of: Callable[[str], int] | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.parts = parts
        self.link_of = link_of
        """The link number of a tool_call_id in the transcript (so it has the same colour here)."""

    def show(self, parts: list[RequestPart]) -> None:
        """Show other parts (the request as sent, or as the history holds it), from the top."""
        self.parts = parts
        self.relayout()
        self.scroll_to(y=0, animate=False)

    def block_count(self) -> int:
        return len(self.parts)

    def is_new(self, index: int) -> bool:
        return self.parts[index].new

    @property
    def first_new(self) -> int | None:
        return next((i for i, part in enumerate(self.parts) if part.new), None)

    @staticmethod
    def _dump(value: Any) -> str:
        try:
            return json.dumps(value, indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            return repr(value)

    def estimate_block(self, index: int, width: int) -> int:
        avail = max(width - 2, 10)
        return 1 + sum(max(1, -(-len(line) // avail)) for line in self._dump(self.parts[index].value).split("\n"))

    def render_block(self, index: int, width: int) -> tuple[list[Strip], list[int]]:
        console = self.app.console
        palette = self.palette
        part = self.parts[index]
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(part.label, BOLD)
        if part.call_id:
            head.append("  ")
            head.append(part.call_id, palette.link(self.link_of(part.call_id)) if self.link_of else palette.muted)
        if part.note:
            head.append(f"  {part.note}", palette.muted)
        if part.new:
            head.append("   + new", palette.success + BOLD)
        head = inert_text(head)
        head.truncate(width, overflow="ellipsis", pad=True)
        lines = [Strip(list(head.render(console)), width)]
        body = Text(inert(self._dump(part.value)), overflow="fold")  # JSON escapes C0 controls, not C1 ones
        _JSON.highlight(body)
        avail = max(width - 2, 4)
        options = console.options.update(width=avail, min_width=avail, max_width=avail, height=None,
                                         no_wrap=False, overflow="fold", highlight=False, markup=False)
        for line in console.render_lines(body, options, pad=True, new_lines=False):
            lines.append(Strip([Segment("  ")] + line, width))
        return lines, [0]

    def decorate_line(self, index: int, line: int, item: int, strip: Strip, width: int) -> Strip:
        if self.is_new(index):
            return Strip(gutter("+", self.palette.success + BOLD) + list(strip), width)
        return Strip([Segment(" " * GUTTER)] + list(strip), width)

    def action_next_new(self) -> None:
        first = self.first_new
        if first is not None:
            self.scroll_to(y=self.block_top(first), animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_to(y=self.scroll_y + 1, animate=False)

    def action_scroll_up(self) -> None:
        self.scroll_to(y=max(0, self.scroll_y - 1), animate=False)
