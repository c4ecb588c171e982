"""A modal that shows lines of text to read and copy: an item's raw JSON (`J`), what the agent changed (`d`).

`y` copies what it shows (as plain text) through the terminal; esc, q, or the key that opened it (J, d) close it.
"""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.content import inert_text


class TextScreen(ModalScreen[None]):
    """Titled lines in a scrollable box; `start_line` (a line number) is scrolled to the top when it opens."""

    DEFAULT_CSS = """
    TextScreen {
        align: center middle;
    }
    TextScreen > VerticalScroll {
        width: 92%;
        height: 90%;
        border: round $primary;
        border-title-align: left;
        border-subtitle-align: right;
        background: $background;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("escape,q,J,d", "close", "Close"),
        Binding("y", "copy", "Copy"),
        Binding("j,down", "scroll_down", "Down", show=False),
        Binding("k,up", "scroll_up", "Up", show=False),
        Binding("g,home", "scroll_home", "Top", show=False),
        Binding("G,end", "scroll_end", "Bottom", show=False),
    ]

    def __init__(self, title: str, lines: Sequence[Text], copy_text: str, *, anchor: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.copy_text = copy_text
        self.start_line = anchor
        """The line scrolled to the top when the screen opens (`anchor` would hide Widget.anchor)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.title_text
            box.border_subtitle = "y copy · esc close"
            yield Static(inert_text(Text("\n").join(self.lines)), id="text-body")

    def on_mount(self) -> None:
        box = self.query_one(VerticalScroll)
        box.focus()
        if self.start_line:
            self.call_after_refresh(box.scroll_to, y=self.start_line, animate=False)

    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up(animate=False)

    def action_scroll_home(self) -> None:
        self.query_one(VerticalScroll).scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.query_one(VerticalScroll).scroll_end(animate=False)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.copy_text)
        self.notify(f"copied {len(self.copy_text):,} characters", title="clipboard", timeout=3)

    def action_close(self) -> None:
        self.dismiss(None)
