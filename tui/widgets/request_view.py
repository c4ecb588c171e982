"""The messages of one request as indented JSON, one block per message, new ones marked with a green "+"."""

from __future__ import annotations

import json
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


class RequestView(LazyBlockView, can_focus=True):
    """One block per message: a header line and the message as indented JSON."""

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

    def __init__(self, messages: list[dict[str, Any]], previous_size: int,
                 link_of: Callable[[str], int] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.messages = messages
        self.previous_size = previous_size
        self.link_of = link_of
        """The link number of a tool_call_id in the transcript (so it has the same colour here)."""

    def block_count(self) -> int:
        return len(self.messages)

    def is_new(self, index: int) -> bool:
        return index >= self.previous_size

    def estimate_block(self, index: int, width: int) -> int:
        try:
            dumped = json.dumps(self.messages[index], indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            dumped = repr(self.messages[index])
        avail = max(width - 2, 10)
        return 1 + sum(max(1, -(-len(line) // avail)) for line in dumped.split("\n"))

    def render_block(self, index: int, width: int) -> tuple[list[Strip], list[int]]:
        console = self.app.console
        palette = self.palette
        message = self.messages[index]
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f"[{index}] ", palette.muted)
        role = message.get("role", "?") if isinstance(message, dict) else "?"
        head.append(str(role), BOLD)
        call_id = message.get("tool_call_id") if isinstance(message, dict) else None
        if isinstance(call_id, str) and call_id:
            head.append("  ")
            head.append(call_id, palette.link(self.link_of(call_id)) if self.link_of else palette.muted)
        if self.is_new(index):
            head.append("   + new", palette.success + BOLD)
        head = inert_text(head)
        head.truncate(width, overflow="ellipsis", pad=True)
        lines = [Strip(list(head.render(console)), width)]
        try:
            dumped = json.dumps(message, indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            dumped = repr(message)
        body = Text(inert(dumped), overflow="fold")  # JSON escapes C0 controls, not C1 ones
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
        if self.previous_size < len(self.messages):
            self.scroll_to(y=self.block_top(self.previous_size), animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_to(y=self.scroll_y + 1, animate=False)

    def action_scroll_up(self) -> None:
        self.scroll_to(y=max(0, self.scroll_y - 1), animate=False)
