"""The header of the comparison: what each run was and how it went, over its column."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events
from textual.widgets import Static

from agent.display.wording import plural, tokens
from agent.transcripts.compare import RunSummary
from tui.blocks import REFLECT, WARN
from tui.widgets.compare_view import S_MUTED, S_SEP, SIDE_COLORS, CompareView


def _fmt_side(summary: RunSummary, side: str, active: bool) -> Text:
    color = SIDE_COLORS[side]
    t = Text(no_wrap=True, overflow="ellipsis")
    if active:
        t.append(f" {side.upper()} ", Style(color="#1e1e1e", bgcolor=color, bold=True))
    else:
        t.append(f" {side.upper()} ", Style(color=color, bold=True))
    t.append(" ")
    t.append(summary.label or "?", Style(bold=True))
    t.append("\n")
    who = f"{summary.provider}/{summary.model}" if summary.provider else (summary.model or "model unknown")
    t.append(who, Style(color="#c8ccd4"))
    t.append(" · reflection ", S_MUTED)
    t.append(summary.reflection, Style(color=REFLECT, bold=True) if summary.reflection not in ("off", "?")
             else Style(bold=True))
    if summary.reflections or summary.reflection not in ("off", "?"):
        t.append(" · ")
        t.append(f"✦ {summary.reflections} reflection call{'s' if summary.reflections != 1 else ''}",
                 Style(color=REFLECT) if summary.reflections else S_MUTED)
    if summary.task:
        t.append(f" · task {summary.task}", S_MUTED)
    if summary.imported_from:
        t.append(f" · from {summary.imported_from}", S_MUTED)
    t.append("\n")
    if summary.reason is None:
        t.append("… no ending recorded", Style(color=WARN, bold=True))
    else:
        good = summary.success
        bad = summary.reason in ("provider_error", "error", "context_length")
        style = Style(color="#e06c75", bold=True) if bad or not good else Style(color="#98c379", bold=True)
        t.append(f"■ {summary.outcome}", style)
    t.append(f" · {plural(summary.iterations, 'iteration')}")
    t.append(f" · {tokens(summary.usage, split=False)}")
    if summary.usage is not None:
        t.append(f" ({summary.usage.prompt_tokens:,} in / {summary.usage.completion_tokens:,} out)", S_MUTED)
    return t


class CompareHeader(Static):
    """Each run: file, provider/model, reflection setting; outcome, iterations, tokens, reflection calls."""

    DEFAULT_CSS = """
    CompareHeader {
        height: 3;
        background: $panel;
    }
    """

    def __init__(self, a: RunSummary, b: RunSummary, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.summaries = {"a": a, "b": b}
        self.active = "a"

    def on_mount(self) -> None:
        self.show_active(self.active)

    def on_resize(self, event: events.Resize) -> None:
        self.show_active(self.active)

    def show_active(self, side: str) -> None:
        self.active = side
        # The separator sits above the view's: the view is as wide, less its one-column scrollbar.
        left = CompareView.side_width(max(self.size.width - 1, 20)) + 2
        grid = Table.grid(expand=True, padding=0)
        grid.add_column(width=left, no_wrap=True, overflow="ellipsis")
        grid.add_column(width=3, no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        sep = Text("\n".join([" │ "] * 3), style=S_SEP)
        grid.add_row(_fmt_side(self.summaries["a"], "a", side == "a"), sep,
                     _fmt_side(self.summaries["b"], "b", side == "b"))
        self.update(grid)
