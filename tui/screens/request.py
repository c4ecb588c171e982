"""What the model saw: the exact messages list sent at one iteration, as pretty JSON.

Messages that were not in the previous request carry a green "+" gutter and a "+ new" label, so what
changed between two requests (the assistant's turn, the tool results, a reflection note) stands out.
The list can be long (the whole history): `RequestView` draws it with the lazy line view of the transcript.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from agent.display.wording import plural
from tui.widgets.request_view import RequestView


class RequestScreen(ModalScreen[None]):
    """The modal: a summary line, the messages, a key hint. Escape closes it."""

    DEFAULT_CSS = """
    RequestScreen {
        align: center middle;
    }
    RequestScreen > Vertical {
        width: 92%;
        height: 90%;
        border: round $primary;
        border-title-align: left;
        background: $background;
    }
    RequestScreen #request-summary {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    RequestScreen #request-hint {
        height: 1;
        padding: 0 1;
        color: $text-muted;
        background: $panel;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("v", "close", "Close", show=False),
        Binding("y", "copy", "Copy", tooltip="copy the whole request, as JSON"),
    ]

    def __init__(self, messages: list[dict[str, Any]], previous_size: int, iteration: int, *,
                 link_of: Callable[[str], int] | None = None, reflection: str | None = None) -> None:
        super().__init__()
        self.messages = messages
        self.previous_size = previous_size
        self.iteration = iteration
        self.link_of = link_of
        self.reflection = reflection

    @property
    def new_count(self) -> int:
        return max(0, len(self.messages) - self.previous_size)

    def compose(self) -> ComposeResult:
        summary = Content.assemble(
            (plural(len(self.messages), "message"), "bold"), (" sent at iteration ", "$text-muted"),
            (str(self.iteration), "bold"), (" · ", "$text-muted"), (f"+ {self.new_count} new", "bold $text-success"),
            (" since the previous request" if self.previous_size else " (first request)", "$text-muted"),
            (f" · reflection {self.reflection}", "$reflection") if self.reflection and self.reflection != "off" else "",
        )
        with Vertical() as box:
            box.border_title = f"What the model saw — iteration {self.iteration}"
            yield Static(summary, id="request-summary")
            yield RequestView(self.messages, self.previous_size, self.link_of, id="request-view")
            yield Static("j/k scroll · g/G top/bottom · n first new message · y copy as JSON · esc close",
                         id="request-hint")

    def on_mount(self) -> None:
        view = self.query_one(RequestView)
        view.focus()
        # Start where the news is, when it would be off the first screen.
        self.call_after_refresh(self._initial_scroll)

    def _initial_scroll(self) -> None:
        view = self.query_one(RequestView)
        if 0 < self.previous_size < len(self.messages):
            top = view.block_top(self.previous_size)
            if top + 3 > view.scrollable_content_region.height:
                view.scroll_to(y=max(0, top - 2), animate=False)

    def action_copy(self) -> None:
        """The request as the API got it (its messages, as JSON) to the clipboard, through the terminal."""
        text = json.dumps(self.messages, indent=2, ensure_ascii=False)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied the request: {plural(len(self.messages), 'message')}, as JSON", title="clipboard",
                    timeout=3)

    def action_close(self) -> None:
        self.dismiss(None)
