"""The filter bar: `f` opens it; what is typed filters the iterations as it is typed; esc clears it.

Words: a tool name (or part of one), `role:NAME` (system, user, assistant, tool, reflection), `errors`
(see `agent.transcripts.filters`). The bar says how many iterations are shown.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar {
        height: 1;
        display: none;
        background: $panel;
    }
    FilterBar.-open {
        display: block;
    }
    FilterBar > Label {
        width: auto;
        padding: 0 1;
    }
    FilterBar > #filter-prompt {
        color: $accent;
        text-style: bold;
    }
    FilterBar > #filter-status {
        color: $text-muted;
    }
    FilterBar > Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0;
        background: $panel;
    }
    FilterBar > Input:focus {
        border: none;
    }
    """

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

    def compose(self) -> ComposeResult:
        yield Label("filter", id="filter-prompt")
        yield Input(placeholder="tool name · role:user · errors — enter: back · esc: clear", id="filter-input")
        yield Label("", id="filter-status")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def text(self) -> str:
        return self.query_one(Input).value

    def open(self) -> None:
        self.add_class("-open")
        self.query_one(Input).focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.query_one(Input).value = ""
        self.set_status("")

    def prepend(self, text: str) -> None:
        """Keys typed before the input had the focus go in front of whatever it got since."""
        field = self.query_one(Input)
        field.value = text + field.value
        field.cursor_position = len(field.value)

    def set_status(self, text: str) -> None:
        self.query_one("#filter-status", Label).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Left(clear=False))

    def action_clear(self) -> None:
        self.post_message(self.Left(clear=True))
