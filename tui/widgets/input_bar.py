"""A one-line input under the transcript, opened by a key: a prompt, the input, a status at the right.
The search bar and the filter bar are two of them; each says what its keys do."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label


class InputBar(Horizontal):
    """Hidden until `open()`; the subclass names it (`NAME`: the ids `NAME-prompt`, `NAME-input`,
    `NAME-status`) and says what it prompts with and what its input is for."""

    NAME: ClassVar[str]
    PROMPT: ClassVar[str]
    PLACEHOLDER: ClassVar[str]

    DEFAULT_CSS = """
    InputBar {
        height: 1;
        display: none;
        background: $panel;
    }
    InputBar.-open {
        display: block;
    }
    InputBar > Label {
        width: auto;
        padding: 0 1;
    }
    InputBar > .input-bar--prompt {
        color: $accent;
        text-style: bold;
    }
    InputBar > .input-bar--status {
        color: $text-muted;
    }
    InputBar > Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0;
        background: $panel;
    }
    InputBar > Input:focus {
        border: none;
    }
    """

    def compose(self) -> ComposeResult:
        yield Label(self.PROMPT, id=f"{self.NAME}-prompt", classes="input-bar--prompt")
        yield Input(placeholder=self.PLACEHOLDER, id=f"{self.NAME}-input")
        yield Label("", id=f"{self.NAME}-status", classes="input-bar--status")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def text(self) -> str:
        """What is typed in the bar."""
        return self.query_one(Input).value

    def open(self) -> None:
        """Shown, and its input focused now (not after the app's pending messages, as `focus()` would): the
        next key the app hands on is typed into it."""
        self.add_class("-open")
        self.screen.set_focus(self.query_one(Input))

    def close(self) -> None:
        self.remove_class("-open")
        self.set_status("")

    def set_status(self, text: str) -> None:
        self.query_one(f"#{self.NAME}-status", Label).update(text)
