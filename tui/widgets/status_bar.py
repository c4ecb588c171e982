"""The status bar: what the loop is doing and what the keys will do, in two lines at the top.

Line 1 is the state a researcher acts on: step or continuous, whether the loop is parked waiting for a
key press, how many steps are queued, the reflection switch. Line 2 is what ran: provider, model,
iteration count, tokens, ordering violations, where the transcript is.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

MUTED = "$text-muted"
BADGES = {
    "STEP": "bold $background on $warning",
    "RUNNING": "bold $background on $success",
    "VIEW": "bold $background on $primary",
    "DONE": "bold $background on $success",
    "FAILED": "bold $background on $error",
    "STOPPED": "bold $background on $warning",
}
"""Line 1 starts with the state in a badge: the theme's colours, the background's colour for the text."""


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
    """Two lines docked at the top of the screen; set `info` and it shows it."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 2;
        background: $panel;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    info: reactive[StatusInfo] = reactive(StatusInfo, layout=False)

    def __init__(self, info: StatusInfo | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        if info is not None:
            self.set_reactive(StatusBar.info, info)
        self.text = ""
        """What the bar says, as plain text."""

    def on_mount(self) -> None:
        self.watch_info(self.info)

    def watch_info(self, info: StatusInfo) -> None:
        content = render_status(info)
        self.text = content.plain
        self.update(content)


def render_status(info: StatusInfo) -> Content:
    parts: list[str | tuple[str, str]] = []
    add = parts.append
    # Line 1: state.
    if info.finished is not None:
        badge = "FAILED" if info.finished in ("provider_error", "error", "context_length") else (
            "DONE" if info.finished == "finished" else "STOPPED")
    elif not info.live:
        badge = "VIEW"
    else:
        badge = "STEP" if info.mode == "step" else "RUNNING"
    add((f" {badge} ", BADGES[badge]))
    add("  ")
    if not info.live:
        add(("transcript", "bold"))
        if info.finished:
            add((f" · run ended: {info.finished.replace('_', ' ')}", MUTED))
        add(("   n next iteration · v request · / search · ? keys", MUTED))
    elif info.finished is not None:
        add((f"run ended: {info.finished.replace('_', ' ')}", "bold"))
        add(("   v request · / search · q quit", MUTED))
    else:
        if info.in_flight:
            add(("⋯ waiting for the model", "$text-primary"))
        elif info.mode == "step" and info.waiting and info.pending_steps == 0:
            add(("paused — press n for the next iteration", "bold $text-warning"))
        elif info.mode == "step":
            add(("stepping", "bold"))
        else:
            add(("running continuously", "bold"))
            add((" · p pauses at the next iteration", MUTED))
        if info.pending_steps:
            add((f" · {info.pending_steps} step{'s' if info.pending_steps > 1 else ''} queued", "$text-warning"))
        add(("   reflection ", MUTED))
        if info.reflection == "off":
            add(("off", "bold"))
            add((f" (r: on as {info.reflection_role})", MUTED))
        else:
            add((f"on · as {info.reflection}", "bold $reflection"))
            if info.effective_role and info.effective_role != info.reflection:
                add((f" → sent as {info.effective_role} (endpoint refused {info.reflection})", "$text-warning"))
            add((" (r: off)", MUTED))
    add("\n")
    # Line 2: what ran.
    facts: list[tuple[str, str]] = []
    if info.provider or info.model:
        facts.append((f"{info.provider}/{info.model}" if info.provider else info.model, "bold"))
    facts.append((f"{info.iterations} iteration{'s' if info.iterations != 1 else ''}", ""))
    tokens = info.prompt_tokens + info.completion_tokens
    if tokens or info.live:
        facts.append((f"{tokens:,} tokens ({info.prompt_tokens:,} in / {info.completion_tokens:,} out)", ""))
    else:
        facts.append(("tokens not recorded", MUTED))
    if info.violations:
        facts.append((f"⚠ {info.violations} ordering violation{'s' if info.violations > 1 else ''}",
                      "bold $text-error"))
    if info.position:
        facts.append((info.position, MUTED))
    if info.source:
        facts.append((info.source + (f" (from {info.imported_from})" if info.imported_from else ""), MUTED))
    for k, fact in enumerate(facts):
        if k:
            add((" · ", MUTED))
        add(fact)
    return Content.assemble(*parts)
