"""The filter bar: `f` opens it; what is typed filters the iterations as it is typed; esc clears it.

Words: a tool name (or part of one), `role:NAME` (system, user, assistant, tool, reflection), `errors`
(see `agent.view.filters`). The bar says how many iterations are shown.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from tui.widgets.input_bar import InputBar


class FilterBar(InputBar):
    NAME = "filter"
    PROMPT = "filter"
    PLACEHOLDER = "tool name · role:user · errors — enter: back · esc: clear"

    BINDINGS = [Binding("escape", "clear", "Clear the filter", show=False)]

    class Changed(Message):
        """The filter text changed: apply it."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Left(Message):
        """Enter: back to the transcript, the filter staying on (`clear`: esc, the filter is gone)."""

        def __init__(self, clear: bool) -> None:
            super().__init__()
            self.clear = clear

    def close(self) -> None:
        """Closed, the filter is gone: its text too."""
        self.query_one(Input).value = ""
        super().close()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Left(clear=False))

    def action_clear(self) -> None:
        self.post_message(self.Left(clear=True))
