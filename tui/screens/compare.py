"""`agent-tui compare A B`: two runs side by side, one row per iteration, their divergence marked.

The bar on top says where the runs part; the header says what each run was (file, provider/model,
reflection setting) and how it went (outcome, iterations, tokens, reflection calls); below, the
two-column view (`tui.widgets.compare_view`) draws both runs with one scroll position.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from agent.events import IterationStarted
from agent.transcripts.compare import Alignment, align
from agent.view.model import TranscriptModel
from agent.transcripts.transcript import Transcript
from agent.display.terminal import inert
from tui.screens.help import HelpScreen, binding_rows
from tui.widgets.compare_bar import CompareBar, divergence_text
from tui.widgets.compare_header import CompareHeader
from tui.widgets.compare_view import CompareView
from tui.widgets.key_bar import KeyBar

MARKS_HELP = [
    ("⟂ banner", "the first iteration whose request differs, and which message differs"),
    ("⟂", "beside the message that made the difference (often a note written an iteration earlier)"),
    ("≠ yellow", "a call whose name or arguments differ from the other run's (title: the row's calls differ)"),
    ("≠ dim", "a tool result whose content differs"),
    ("✦ pink", "a reflection note (tinted)"),
    ("— gap —", "an iteration the other run does not have"),
    ("⎇ line", "one run is a fork of the other: the last iteration it replayed (the view opens there)"),
]


class CompareScreen(Screen[None]):
    """Two transcripts side by side, aligned by iteration."""

    BINDINGS = [
        Binding("question_mark", "help", "Keys", tooltip="this list of keys"),
        Binding("q", "close", "Quit", tooltip="quit (back to the runs when opened from a folder)"),
    ]

    def __init__(self, a: Transcript, b: Transcript, *, label_a: str = "A", label_b: str = "B",
                 title: str | None = None, alignment: Alignment | None = None) -> None:
        """Nothing is aligned nor built here: when the screen is composed (`_load`)."""
        super().__init__()
        self.transcripts = {"a": a, "b": b}
        self.labels = (label_a, label_b)
        self._alignment = alignment
        self.models: dict[str, TranscriptModel] = {}
        self.title = title or f"{label_a} ⟷ {label_b}"
        self._view: CompareView | None = None

    @property
    def alignment(self) -> Alignment:
        assert self._alignment is not None, "the screen is not composed yet"
        return self._alignment

    def _load(self) -> None:
        """The two runs aligned by iteration, and each one's model."""
        a, b = self.transcripts["a"], self.transcripts["b"]
        if self._alignment is None:
            self._alignment = align(a, b, *self.labels)
        for side, transcript in self.transcripts.items():
            model = TranscriptModel()
            model.imported = transcript.header.source is not None
            model.extend(transcript.events)
            self.models[side] = model

    def compose(self) -> ComposeResult:
        self._load()
        assert self.alignment.a is not None and self.alignment.b is not None
        yield CompareBar(divergence_text(self.alignment), id="compare-bar")
        yield CompareHeader(self.alignment.a, self.alignment.b, id="compare-header")
        self._view = CompareView(self.models, self.alignment, id="compare")
        yield self._view
        yield KeyBar()

    @property
    def view(self) -> CompareView:
        assert self._view is not None
        return self._view

    def on_mount(self) -> None:
        self.view.focus()
        # The ordering check walks both histories: after the first screen is painted (as the app does).
        self.call_after_refresh(self._check_order)
        for side, transcript in self.transcripts.items():
            for warning in transcript.warnings:
                self.notify(inert(warning), title=f"run {side.upper()}", severity="warning", timeout=8, markup=False)

    def _check_order(self) -> None:
        changed = [model.check_order() for model in self.models.values()]
        if any(changed):
            self.view.relayout()

    def on_compare_view_cursor_moved(self, message: CompareView.CursorMoved) -> None:
        self.query_one(CompareHeader).active = message.side

    def on_compare_view_request_wanted(self, message: CompareView.RequestWanted) -> None:
        from tui.screens.request import RequestScreen

        side, row = message.side, message.row
        number = row.number
        if row.kind == "finish":
            numbers = [r.number for r in self.view.rows if r.kind == "iteration" and r.blocks[side] is not None]
            number = numbers[-1] if numbers else None
        if number is None or row.blocks.get(side) is None and row.kind != "finish":
            self.notify(f"run {side.upper()} has no request here", timeout=3)
            return
        from agent.transcripts.sent import sent_request

        try:
            sent = sent_request(self.transcripts[side], number)
        except (KeyError, ValueError, IndexError) as exc:
            self.notify(f"no request recorded for iteration {number} ({exc})", severity="warning", timeout=4)
            return
        block = self.view.side_block(self.view.rows.index(row), side) if row.kind == "iteration" else None
        started = next((e for e in block.events if isinstance(e, IterationStarted)), None) if block else None
        self.app.push_screen(RequestScreen(sent, link_of=self.models[side].link,
                                           reflection=started.reflection if started else None))

    def action_help(self) -> None:
        rows = binding_rows
        self.app.push_screen(HelpScreen([
            ("Rows (both runs)", rows(b for b in CompareView.BINDINGS if isinstance(b, Binding) and b.action in (
                "next_row", "previous_row", "toggle", "unfold", "expand_all", "collapse_all", "first", "last"))),
            ("Differences", rows(b for b in CompareView.BINDINGS if isinstance(b, Binding) and b.action in (
                "divergence", "next_difference", "previous_difference")) + MARKS_HELP),
            ("Runs", rows(b for b in CompareView.BINDINGS if isinstance(b, Binding) and b.action in ("switch_side", "show_request"))
             + [("click", "a title opens / closes the row; a side becomes the active run")]),
            ("App", rows(self.BINDINGS)),
        ]))

    def action_close(self) -> None:
        self.dismiss()
