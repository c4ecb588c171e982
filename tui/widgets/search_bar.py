"""The search bar: `/` opens it, enter jumps to the next match, escape leaves it.

After the first enter the bar stays up with "match i/N"; with the input focused, enter again goes to the
next match; after escape (focus back on the transcript) n / N go to the next / previous match until a
second escape ends the search.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class SearchBar(Horizontal):
    DEFAULT_CSS = """
    SearchBar {
        height: 1;
        display: none;
        background: $panel;
    }
    SearchBar.-open {
        display: block;
    }
    SearchBar > Label {
        width: auto;
        padding: 0 1;
    }
    SearchBar > #search-prompt {
        color: $accent;
        text-style: bold;
    }
    SearchBar > #search-status {
        color: $text-muted;
    }
    SearchBar > Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0;
        background: $panel;
    }
    SearchBar > Input:focus {
        border: none;
    }
    """

    BINDINGS = [Binding("escape", "leave", "Leave search", show=False)]

    class Submitted(Message):
        """Enter in the search input: go to the next match of `text`."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Left(Message):
        """Escape in the input: focus goes back to the transcript (the search stays on if it matched)."""

    def compose(self) -> ComposeResult:
        yield Label("/", id="search-prompt")
        yield Input(placeholder="search messages and tool names — enter: next match, esc: back", id="search-input")
        yield Label("", id="search-status")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def text(self) -> str:
        """What is typed in the bar."""
        return self.query_one(Input).value

    def open(self) -> None:
        self.add_class("-open")
        self.query_one(Input).focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.set_status("")

    def prepend(self, text: str) -> None:
        """Keys typed before the input had the focus go in front of whatever it got since."""
        field = self.query_one(Input)
        field.value = text + field.value
        field.cursor_position = len(field.value)

    def set_status(self, text: str) -> None:
        self.query_one("#search-status", Label).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    def action_leave(self) -> None:
        self.post_message(self.Left())
