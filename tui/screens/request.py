"""What the model saw: one iteration's request as it went on the wire, or as the history holds it (`c`).

As sent (`agent.transcripts.sent`): the parameters (model, stream, temperature, max_tokens, stop,
tool_choice...), the messages in their wire form (text tool calls, `developer`, rewritten ids) and the
`tools`, rebuilt by the code that built the request. `c` switches to the canonical history the transcript
keeps, and back. Messages that were not in the previous request carry a green "+" gutter and a "+ new"
label, so what changed between two requests (the assistant's turn, the tool results, a reflection note)
stands out. The list can be long (the whole history): `RequestView` draws it with the lazy line view.
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
from agent.transcripts.sent import SentRequest
from tui.widgets.request_view import RequestPart, RequestView, message_parts


class RequestScreen(ModalScreen[None]):
    """The modal: a summary, the request's parts, a key hint. `c` switches between the request as sent and
    the history; escape closes it."""

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
        Binding("c", "switch", "As sent / history", tooltip="the request as sent, or the canonical history it "
                "was built from"),
        Binding("y", "copy", "Copy", tooltip="copy what is shown, as JSON (as sent: the request's body)"),
    ]

    def __init__(self, sent: SentRequest, *, link_of: Callable[[str], int] | None = None,
                 reflection: str | None = None) -> None:
        super().__init__()
        self.sent = sent
        self.iteration = sent.iteration
        self.link_of = link_of
        self.reflection = reflection
        self.as_sent = sent.body is not None
        """Showing the request as sent (else the history it was built from)."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages shown."""
        return self.sent.messages if self.as_sent else self.sent.canonical

    @property
    def previous_size(self) -> int:
        """How many of the messages shown the previous request held as they are."""
        return self.sent.new_from if self.as_sent else self.sent.canonical_previous

    @property
    def new_count(self) -> int:
        return max(0, len(self.messages) - self.previous_size)

    def parts(self) -> list[RequestPart]:
        """The blocks shown: as sent, the parameters, the messages and the tools; else the messages."""
        parts = message_parts(self.messages, self.previous_size)
        body = self.sent.body
        if not self.as_sent or body is None:
            return parts
        params = {k: v for k, v in body.items() if k not in ("messages", "tools")}
        head = [RequestPart("parameters", params, note="POST /chat/completions, besides messages and tools")]
        tools = body.get("tools")
        tail = [RequestPart("tools", tools, note=f"{plural(len(tools), 'tool')} sent")] if isinstance(tools, list) else []
        return head + parts + tail

    def copy_text(self) -> str:
        """What `y` copies: the request's body as sent (keys in the order sent), else the messages shown."""
        value = self.sent.body if self.as_sent else self.sent.canonical
        return json.dumps(value, indent=2, ensure_ascii=False)

    def _summary(self) -> Content:
        what = "sent" if self.as_sent else "in the history"
        lines: list[Any] = [
            (plural(len(self.messages), "message"), "bold"), (f" {what} at iteration ", "$text-muted"),
            (str(self.iteration), "bold"), (" · ", "$text-muted"), (f"+ {self.new_count} new", "bold $text-success"),
            (" since the previous request" if self.previous_size else " (first request)", "$text-muted"),
            (f" · reflection {self.reflection}", "$reflection") if self.reflection and self.reflection != "off" else "",
            "\n",
        ]
        if self.as_sent:
            lines += [(self.sent.how, "$text-muted")]
            if self.sent.wire:
                lines += ["\n", ("on the wire: ", "$text-muted"), (self.sent.wire, "")]
        elif self.sent.body is not None:
            lines += [("the canonical history the request was built from, as the transcript keeps it (c: as sent)",
                       "$text-muted")]
        else:
            lines += [(self.sent.how, "$text-muted")]
        return Content.assemble(*lines)

    def _hint(self) -> str:
        switch = (" · c the history" if self.as_sent else " · c as sent") if self.sent.body is not None else ""
        return f"j/k scroll · g/G top/bottom · n first new message{switch} · y copy as JSON · esc close"

    def _title(self) -> str:
        return f"What the model saw — iteration {self.iteration}" + (" (as sent)" if self.as_sent else
                                                                     " (the history)" if self.sent.body else "")

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self._title()
            yield Static(self._summary(), id="request-summary")
            yield RequestView(self.parts(), self.link_of, id="request-view")
            yield Static(self._hint(), id="request-hint", markup=False)

    def on_mount(self) -> None:
        view = self.query_one(RequestView)
        view.focus()
        # Start where the news is, when it would be off the first screen.
        self.call_after_refresh(self._initial_scroll)

    def _initial_scroll(self) -> None:
        view = self.query_one(RequestView)
        first = view.first_new
        if first and 0 < self.previous_size:
            top = view.block_top(first)
            if top + 3 > view.scrollable_content_region.height:
                view.scroll_to(y=max(0, top - 2), animate=False)

    def action_switch(self) -> None:
        """`c`: the request as sent, or the history it was built from."""
        if self.sent.body is None:
            self.notify("this file does not record how its requests were sent: the history is all there is",
                        timeout=4)
            return
        self.as_sent = not self.as_sent
        self.query_one(Vertical).border_title = self._title()
        self.query_one("#request-summary", Static).update(self._summary())
        self.query_one("#request-hint", Static).update(self._hint())
        view = self.query_one(RequestView)
        view.show(self.parts())

    def action_copy(self) -> None:
        """What is shown, as JSON, to the clipboard through the terminal."""
        self.app.copy_to_clipboard(self.copy_text())
        what = "the request's body as sent" if self.as_sent and self.sent.body else "the history's messages"
        self.notify(f"copied {what}: {plural(len(self.messages), 'message')}, as JSON", title="clipboard", timeout=3)

    def action_close(self) -> None:
        self.dismiss(None)
