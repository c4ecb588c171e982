"""The status bar: what the loop is doing and what the keys will do, in two lines at the top.

Line 1 is the state a researcher acts on: step or continuous, whether the loop is parked waiting for a
key press, how many steps are queued, the reflection switch. Line 2 is what ran: provider, model,
iteration count, tokens, ordering violations, where the transcript is.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

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
    prompt_tokens: int = 0
    completion_tokens: int = 0
    violations: int = 0
    source: str = ""
    """The file shown or written."""
    imported_from: str | None = None
    position: str = ""


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

    def show(self, info: StatusInfo) -> None:
        if info != self.info:
            self.info = info
            self._render_info()

    def _render_info(self) -> None:
        text = render_status(self.info)
        self.text = text.plain
        self.update(text)


def render_status(info: StatusInfo) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
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
    t.append("\n")
    # Line 2: what ran.
    parts: list[tuple[str, Style | str]] = []
    if info.provider or info.model:
        parts.append((f"{info.provider}/{info.model}" if info.provider else info.model, Style(bold=True)))
    parts.append((f"{info.iterations} iteration{'s' if info.iterations != 1 else ''}", ""))
    tokens = info.prompt_tokens + info.completion_tokens
    if tokens or info.live:
        parts.append((f"{tokens:,} tokens ({info.prompt_tokens:,} in / {info.completion_tokens:,} out)", ""))
    else:
        parts.append(("tokens not recorded", MUTED))
    if info.violations:
        parts.append((f"⚠ {info.violations} ordering violation{'s' if info.violations > 1 else ''}",
                      Style(color="#e06c75", bold=True)))
    if info.position:
        parts.append((info.position, MUTED))
    if info.source:
        src = info.source + (f" (from {info.imported_from})" if info.imported_from else "")
        parts.append((src, MUTED))
    for k, (label, style) in enumerate(parts):
        if k:
            t.append(" · ", MUTED)
        t.append(label, style)
    return t
