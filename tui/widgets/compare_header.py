"""The header of the comparison: what each run was and how it went, over its column."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from agent.display.wording import plural, tokens
from agent.outcome import ERROR_REASONS
from agent.transcripts.runs import RunSummary
from tui.widgets.compare_view import CompareView

SIDE_STYLES = {"a": "$text-primary", "b": "$text-accent"}
"""A's and B's colours, as the view's cursor shows them."""
BADGES = {"a": "$background on $primary", "b": "$background on $accent"}


def side_text(summary: RunSummary, side: str, active: bool) -> Content:
    """Three lines: the badge and the file; provider/model and reflection; outcome, iterations, tokens."""
    muted = "$text-muted"
    parts: list[str | tuple[str, str]] = [
        (f" {side.upper()} ", f"bold {BADGES[side] if active else SIDE_STYLES[side]}"), " ",
        (summary.label or "?", "bold"), "\n",
        f"{summary.provider}/{summary.model}" if summary.provider else (summary.model or "model unknown"),
        (" · reflection ", muted),
        (summary.reflection or "?", "bold $reflection" if summary.reflection not in ("off", None) else "bold"),
    ]
    reflections = summary.reflections or 0
    if reflections or summary.reflection not in ("off", None):
        parts += [" · ", (f"✦ {reflections} reflection call{'s' if reflections != 1 else ''}",
                          "$reflection" if reflections else muted)]
    if summary.task:
        parts.append((f" · task {summary.task}", muted))
    if summary.imported_from:
        parts.append((f" · from {summary.imported_from}", muted))
    parts.append("\n")
    if summary.reason is None:
        parts.append(("… no ending recorded", "bold $text-warning"))
    else:
        bad = summary.reason in ERROR_REASONS
        parts.append((f"■ {summary.outcome}", "bold $text-error" if bad or not summary.success else "bold $text-success"))
    parts += [f" · {plural(summary.iterations or 0, 'iteration')}",
              f" · {tokens(summary.usage, split=False, unreported=summary.unreported)}"]
    if summary.usage is not None:
        parts.append((f" ({summary.usage.prompt_tokens:,} in / {summary.usage.completion_tokens:,} out)", muted))
    return Content.assemble(*parts)


class CompareHeader(Horizontal):
    """Each run: file, provider/model, reflection setting; outcome, iterations, tokens, reflection calls."""

    DEFAULT_CSS = """
    CompareHeader {
        height: 3;
        background: $panel;
    }
    CompareHeader > Static {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    CompareHeader > #header-b {
        width: 1fr;
    }
    CompareHeader > #header-separator {
        width: 3;
        color: $foreground 25%;
    }
    """

    active: reactive[str] = reactive("a", init=False)
    """The run the keys act on (tab switches): its badge is filled in."""

    def __init__(self, a: RunSummary, b: RunSummary, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.summaries = {"a": a, "b": b}

    def compose(self) -> ComposeResult:
        yield Static(side_text(self.summaries["a"], "a", True), id="header-a")
        yield Static(" │ \n │ \n │ ", id="header-separator")
        yield Static(side_text(self.summaries["b"], "b", False), id="header-b")

    def on_resize(self, event: events.Resize) -> None:
        # The separator sits above the view's: the view is as wide, less its one-column scrollbar.
        self.query_one("#header-a").styles.width = CompareView.side_width(max(event.size.width - 1, 20)) + 2

    def watch_active(self, side: str) -> None:
        for s in ("a", "b"):
            self.query_one(f"#header-{s}", Static).update(side_text(self.summaries[s], s, s == side))
