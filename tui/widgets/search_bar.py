"""The search bar: `/` opens it, enter jumps to the next match, escape leaves it.

After the first enter the bar stays up with "match i/N"; with the input focused, enter again goes to the
next match; after escape (focus back on the transcript) n / N go to the next / previous match until a
second escape ends the search.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from tui.widgets.input_bar import InputBar


class SearchBar(InputBar):
    NAME = "search"
    PROMPT = "/"
    PLACEHOLDER = "search messages and tool names — enter: next match, esc: back"

    BINDINGS = [Binding("escape", "leave", "Leave search", show=False)]

    class Submitted(Message):
        """Enter in the search input: go to the next match of `text`."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Left(Message):
        """Escape in the input: focus goes back to the transcript (the search stays on if it matched)."""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    def action_leave(self) -> None:
        self.post_message(self.Left())
