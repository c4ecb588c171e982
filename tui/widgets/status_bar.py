"""The status bar: what the loop is doing and what the keys will do, in two lines at the top.

Line 1 is the state a researcher acts on: step or continuous, whether the loop is parked waiting for a
key press, how many steps are queued, the reflection switch. Line 2 is what ran: provider, model,
iteration count, tokens, ordering violations, where the transcript and the workspace are. Each line is
fitted to the width: what matters least goes first (line 2 drops the token split, then the file), and what
still does not fit is cut with `…`, so the two lines stay two lines at 80 columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import Static

from agent.display.wording import plural, tokens
from agent.events import Usage
from tui.content import inert_text

MUTED = Style(color="#8b949e")
BADGES = {
    "STEP": Style(color="#1e1e1e", bgcolor="#e5c07b", bold=True),
    "RUNNING": Style(color="#1e1e1e", bgcolor="#98c379", bold=True),
    "VIEW": Style(color="#1e1e1e", bgcolor="#61afef", bold=True),
    "DONE": Style(color="#1e1e1e", bgcolor="#98c379", bold=True),
    "FAILED": Style(color="#1e1e1e", bgcolor="#e06c75", bold=True),
    "STOPPED": Style(color="#1e1e1e", bgcolor="#d19a66", bold=True),
}


@dataclass(frozen=True)
class StatusInfo:
    """Everything the bar shows; the app builds one after each change and hands it over."""

    live: bool = False
    mode: str = "step"
    """step or continuous (live runs)"""
    waiting: bool = False
    """The loop is parked at an iteration boundary, waiting for a step."""
    pending_steps: int = 0
    in_flight: bool = False
    reflection: str = "off"
    reflection_role: str = "system"
    effective_role: str | None = None
    """The role notes really go in, when the endpoint refused the one asked for (a role fallback)."""
    finished: str | None = None
    """The RunFinished reason, once the run is over."""
    provider: str = ""
    model: str = ""
    iterations: int = 0
    usage: Usage | None = None
    """None: no completion recorded token counts (an imported file)."""
    violations: int = 0
    source: str = ""
    """The file shown or written."""
    imported_from: str | None = None
    workspace: str = ""
    """The folder the agent worked in (our own runs)."""
    following: bool = False
    """The file is still being written by a run: new events appear as they are appended."""
    filtered: str = ""
    """The filter on, and what it shows (`errors: 3 of 12 iterations`)."""


class StatusBar(Static):
    """Two lines docked at the top of the screen."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 2;
        background: $panel;
        padding: 0 1;
    }
    """

    def __init__(self, info: StatusInfo | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info = info or StatusInfo()
        self.text = ""

    def on_mount(self) -> None:
        self._render_info()

    def on_resize(self, event: events.Resize) -> None:
        self._render_info()

    def show(self, info: StatusInfo) -> None:
        if info != self.info:
            self.info = info
            self._render_info()

    def _render_info(self) -> None:
        text = render_status(self.info, self.content_region.width or 200)
        self.text = text.plain
        self.update(text)


def render_status(info: StatusInfo, width: int = 200) -> Text:
    """The two lines, each fitted to `width` cells."""
    t = Text()
    # Line 1: state.
    if info.finished is not None:
        badge = "FAILED" if info.finished in ("provider_error", "error", "context_length") else (
            "DONE" if info.finished == "finished" else "STOPPED")
    elif not info.live:
        badge = "VIEW"
    else:
        badge = "STEP" if info.mode == "step" else "RUNNING"
    t.append(f" {badge} ", BADGES[badge])
    t.append("  ")
    if not info.live:
        t.append("transcript", Style(bold=True))
        if info.finished:
            t.append(f" · run ended: {info.finished.replace('_', ' ')}", MUTED)
        t.append("   n next iteration · v request · / search · ? keys", MUTED)
    elif info.finished is not None:
        t.append(f"run ended: {info.finished.replace('_', ' ')}", Style(bold=True))
        t.append("   v request · / search · q quit", MUTED)
    else:
        if info.in_flight:
            t.append("⋯ waiting for the model", Style(color="#56b6c2"))
        elif info.mode == "step" and info.waiting and info.pending_steps == 0:
            t.append("paused — press n for the next iteration", Style(color="#e5c07b", bold=True))
        elif info.mode == "step":
            t.append("stepping", Style(bold=True))
        else:
            t.append("running continuously", Style(bold=True))
            t.append(" · p pauses at the next iteration", MUTED)
        if info.pending_steps:
            t.append(f" · {info.pending_steps} step{'s' if info.pending_steps > 1 else ''} queued",
                     Style(color="#e5c07b"))
        t.append("   reflection ", MUTED)
        if info.reflection == "off":
            t.append("off", Style(bold=True))
            t.append(f" (r: on as {info.reflection_role})", MUTED)
        else:
            t.append(f"on · as {info.reflection}", Style(color="#ff79c6", bold=True))
            if info.effective_role and info.effective_role != info.reflection:
                t.append(f" → sent as {info.effective_role} (endpoint refused {info.reflection})",
                         Style(color="#e5c07b"))
            t.append(" (r: off)", MUTED)
    t = _fit(t, width)
    t.append("\n")
    # Line 2: what ran.
    parts: list[tuple[str, Style | str]] = []
    if info.provider or info.model:
        parts.append((f"{info.provider}/{info.model}" if info.provider else info.model, Style(bold=True)))
    parts.append((plural(info.iterations, "iteration"), ""))
    if info.following:
        parts.append(("● following", Style(color="#56b6c2", bold=True)))
    if info.filtered:
        parts.append((f"filter {info.filtered}", Style(color="#e5c07b")))
    usage = info.usage if info.usage is not None or not info.live else Usage()
    parts.append((tokens(usage), MUTED if usage is None else ""))
    if info.violations:
        parts.append((f"⚠ {plural(info.violations, 'ordering violation')}", Style(color="#e06c75", bold=True)))
    if info.source:
        parts.append((info.source + (f" (from {info.imported_from})" if info.imported_from else ""), MUTED))
    if info.workspace:
        parts.append((f"workspace {info.workspace}", MUTED))
    # Too long for the width: first the in/out split of the tokens goes, then the file; the rest is cut.
    def length() -> int:
        return sum(len(label) for label, _ in parts) + 3 * (len(parts) - 1)

    if length() > width and usage is not None:
        parts = [(tokens(usage, split=False), style) if label == tokens(usage) else (label, style)
                 for label, style in parts]
    if length() > width and info.source:
        parts = [p for p in parts if not p[0].startswith(info.source)]
    line = Text()
    for k, (label, style) in enumerate(parts):
        if k:
            line.append(" · ", MUTED)
        line.append(label, style)
    t.append_text(_fit(line, width))
    return t


def _fit(line: Text, width: int) -> Text:
    """`line` made inert and cut at `width` cells, ending with `…` when it was cut."""
    line = inert_text(line)
    if line.cell_len > width:
        line.truncate(width, overflow="ellipsis")
    return line
