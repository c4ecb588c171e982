"""The status bar: what the loop is doing and what the keys will do, in two lines at the top.

Line 1 is the state a researcher acts on: step or continuous, whether the loop is parked waiting for a
key press, how many steps are queued, the reflection switch. Line 2 is what ran: provider, model,
iteration count, tokens, ordering violations, where the transcript and the workspace are. Each line is
fitted to the width: what matters least goes first (line 2 drops the token split, then the file), and what
still does not fit is cut with `…`, so the two lines stay two lines at 80 columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from agent.display.wording import plural, tokens
from agent.events import Usage
from agent.outcome import ERROR_REASONS, reason_words, tests_said

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
    tests_passed: bool | None = None
    """The verdict, once the run is over: did the task's tests pass (None: no test command, or not said)."""
    provider: str = ""
    model: str = ""
    iterations: int = 0
    usage: Usage | None = None
    """None: no completion recorded token counts (an imported file)."""
    unreported: int = 0
    """Calls whose tokens the endpoint did not report: `usage` is the rest, never shown as the whole."""
    violations: int = 0
    source: str = ""
    """The file shown or written."""
    imported_from: str | None = None
    workspace: str = ""
    """The folder the agent worked in (our own runs)."""
    workspace_gone: bool = False
    """That folder is no longer there (a task's temporary copy is removed when its run ends)."""
    following: bool = False
    """The file is still being written by a run: new events appear as they are appended."""
    reading: float | None = None
    """A big file is still being read behind the first screen: how much of it is (0 to 1)."""
    tokens_so_far: bool = False
    """`usage` counts the lines read so far only (the file's ending, not read yet, does not say the total)."""
    filtered: str = ""
    """The filter on, and what it shows (`errors: 3 of 12 iterations`)."""


class StatusBar(Widget):
    """Two lines docked at the top of the screen; set `info` and it shows it, fitted to its width when it
    is drawn (so the first frame already has the fitted lines, and a resize re-fits them without a layout)."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 2;
        background: $panel;
        padding: 0 1;
    }
    """

    info: reactive[StatusInfo] = reactive(StatusInfo, layout=False)

    def __init__(self, info: StatusInfo | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        if info is not None:
            self.set_reactive(StatusBar.info, info)

    @property
    def text(self) -> str:
        """What the bar says, as plain text."""
        return self.render().plain

    def render(self) -> Content:
        return render_status(self.info, self.content_region.width or 200)


Part = tuple[str, str]
"""A piece of a line: its text and its style (theme variables: `bold $text-warning`)."""


def render_status(info: StatusInfo, width: int = 200) -> Content:
    """The two lines, each fitted to `width` cells."""
    return Content("\n").join([_fit(_state(info), width), _fit(_facts(info, width), width)])


def _badge(info: StatusInfo) -> Part:
    """How the run stands, in a badge: DONE ✓ / ✗ (the verdict), FAILED, STOPPED; VIEW; STEP or RUNNING."""
    if info.finished is not None:
        badge = "FAILED" if info.finished in ERROR_REASONS else "DONE" if info.finished == "finished" else "STOPPED"
    elif not info.live:
        badge = "VIEW"
    else:
        badge = "STEP" if info.mode == "step" else "RUNNING"
    style = BADGES[badge]
    if info.finished is not None and info.tests_passed is not None and badge != "FAILED":
        badge += " ✓" if info.tests_passed else " ✗"  # the verdict: a run that finished with failing tests
        style = BADGES["DONE"] if info.tests_passed else BADGES["FAILED"]
    return (f" {badge} ", style)


def _state(info: StatusInfo) -> list[Part]:
    """Line 1: the badge, how the run ended (or what it is doing), and the keys that matter now."""
    state: list[Part] = [_badge(info), ("  ", "")]
    ended: list[str] = []
    if info.finished is not None:
        ended.append(f"run ended: {reason_words(info.finished)}")
        if info.tests_passed is not None:
            ended.append(f", {tests_said(info.tests_passed)}")
    if not info.live:
        state.append(("transcript", "bold"))
        if ended:
            ended[0] = " · " + ended[0]
        state += [(text, MUTED) for text in ended]
        state.append(("   n next iteration · v request · / search · ? keys", MUTED))
    elif ended:
        state += [(text, "bold") for text in ended]
        state.append(("   v request · / search · q quit", MUTED))
    else:
        state += _controls(info)
    return state


def _controls(info: StatusInfo) -> list[Part]:
    """A live run's stepping and its reflection switch."""
    parts: list[Part] = []
    if info.in_flight:
        parts.append(("⋯ waiting for the model", "$text-primary"))
    elif info.mode == "step" and info.waiting and info.pending_steps == 0:
        parts.append(("paused — press n for the next iteration", "bold $text-warning"))
    elif info.mode == "step":
        parts.append(("stepping", "bold"))
    else:
        parts += [("running continuously", "bold"), (" · p pauses at the next iteration", MUTED)]
    if info.pending_steps:
        parts.append((f" · {plural(info.pending_steps, 'step')} queued", "$text-warning"))
    parts.append(("   reflection ", MUTED))
    if info.reflection == "off":
        return parts + [("off", "bold"), (f" (r: on as {info.reflection_role})", MUTED)]
    parts.append((f"on · as {info.reflection}", "bold $reflection"))
    if info.effective_role and info.effective_role != info.reflection:
        parts.append((f" → sent as {info.effective_role} (endpoint refused {info.reflection})", "$text-warning"))
    return parts + [(" (r: off)", MUTED)]


def _facts(info: StatusInfo, width: int) -> list[Part]:
    """Line 2: what ran (model, iterations, tokens, violations, where); too long for the width, first the
    in/out split of the tokens goes, then the file."""
    parts: list[Part] = []
    if info.provider or info.model:
        parts.append((f"{info.provider}/{info.model}" if info.provider else info.model, "bold"))
    parts.append((plural(info.iterations, "iteration"), ""))
    if info.following:
        parts.append(("● following", "bold $text-primary"))
    if info.reading is not None:
        parts.append((f"reading the file {info.reading:.0%}", "bold $text-primary"))
    if info.filtered:
        parts.append((f"filter {info.filtered}", "$text-warning"))
    usage = info.usage if info.usage is not None or not info.live or info.unreported else Usage()
    tokens_text = tokens(usage, unreported=info.unreported)
    if not info.tokens_so_far:
        parts.append((tokens_text, MUTED if usage is None or info.unreported else ""))
    elif usage is not None:
        parts.append((f"{tokens(usage, split=False, unreported=info.unreported)} so far", MUTED))
    if info.violations:
        parts.append((f"⚠ {plural(info.violations, 'ordering violation')}", "bold $text-error"))
    if info.source:
        parts.append((info.source + (f" (from {info.imported_from})" if info.imported_from else ""), MUTED))
    if info.workspace:
        parts.append((f"workspace {info.workspace}" + (" (removed)" if info.workspace_gone else ""), MUTED))
    if _length(parts) > width and usage is not None:
        parts = [(tokens(usage, split=False, unreported=info.unreported), style) if label == tokens_text
                 else (label, style) for label, style in parts]
    if _length(parts) > width and info.source:
        parts = [p for p in parts if not p[0].startswith(info.source)]
    facts: list[Part] = []
    for k, part in enumerate(parts):
        if k:
            facts.append((" · ", MUTED))
        facts.append(part)
    return facts


def _length(parts: list[Part]) -> int:
    """Cells of `parts` joined by ` · `."""
    return sum(len(label) for label, _ in parts) + 3 * (len(parts) - 1)


def _fit(parts: list[Part], width: int) -> Content:
    """One line of `parts`, control characters made inert, cut at `width` cells with `…` when too long."""
    line = Content.assemble(*parts)
    if line.cell_length > width:
        line = line.truncate(width - 1) + Content("…")
    return line
