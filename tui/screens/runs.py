"""`agent-tui open DIR`: the runs of a folder in a table; open one, or mark two and compare them.

The folder is read by `agent.transcripts.runs`: result records give outcomes at once, the other
transcripts are summarised in a worker thread, so a folder of big files opens at once and fills in.
Opening a run (enter) pushes the transcript screen; comparing two (space marks A then B, c compares)
pushes the comparison; `q` there comes back to this table, as it was.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static

from agent.display.terminal import inert
from agent.display.wording import plural
from agent.outcome import reason_words, tests_said
from agent.transcripts.runs import RunsFound, RunSummary, discover_runs, summarize_file
from agent.transcripts.transcript import Transcript, TranscriptError
from tui.render.blocks import BOLD
from tui.widgets.key_bar import KeyBar
from tui.widgets.run_tree import run_label
from tui.widgets.runs_table import RunsTable

RESULTS_MIN_SIZE = (150, 28)
"""An ablation's results panel is shown from this terminal size (columns, lines) up."""

COLUMNS = [("mark", " "), ("run", "run"), ("task", "task"), ("reflection", "setting"), ("repeat", "rep"),
           ("outcome", "outcome"), ("model", "model"), ("iterations", "iter"), ("tokens", "tokens"),
           ("reflections", "refl"), ("created", "date"), ("size", "size")]
OPTIONAL = ("task", "reflection", "repeat", "reflections", "model", "created", "size")
"""Columns shown only when some run fills them (an ablation's), and the width leaves room."""
DROP_ORDER = ("size", "created", "model", "reflections", "task", "repeat", "reflection")
"""The optional columns dropped first when the width is short: the task before the setting and the repeat,
since a grid's run names hold the task, and a fork sits under its parent, while its arm is its setting."""
CELL_PAD = 2
"""DataTable's padding around each cell."""
WIDTHS = {"mark": 1, "task": 12, "reflection": 9, "repeat": 3, "outcome": 26, "iterations": 4, "tokens": 7,
          "reflections": 4, "model": 16, "created": 16, "size": 7}
"""Widths of the columns (the run's name takes what is left, at least 16, and is cut at its start); the task
column widens to the longest task name, up to TASK_MAX: in a grid the task is what tells runs apart."""
TASK_MAX = 18
RESULTS = "ResultsPanel"
RECORDED = ("record", "csv")
"""Where a run's outcome came from when it is one of the folder's grid jobs (`RunSummary.source`)."""


def _passed(entries: list[RunSummary]) -> int:
    """The runs whose tests passed (a failed job's tests say nothing)."""
    return sum(e.tests_passed is True and not e.failed for e in entries)
"""An ablation's results panel, by its type's name (its module, with its charts, is loaded only for one)."""


def display_folder(folder: Path) -> str:
    """The folder as typed, except `.` and `..`, shown by name (`abl1/`)."""
    if folder.name in ("", ".", ".."):
        return folder.resolve().name + "/"
    return str(folder)


def _size(size: int) -> str:
    """A file's size in a few characters: 812 B, 14 kB, 3.2 MB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"


def outcome(entry: RunSummary) -> tuple[str, str]:
    """The outcome cell: why the run stopped and whether the task's tests pass, and what its colour means
    (a `RunsTable.cell_style` meaning; "" for none)."""
    if not entry.loaded:
        return "…", "muted"
    if entry.error and entry.source == "transcript":
        return f"✗ {entry.error}", "bad"
    if entry.failed:
        return f"✗ failed: {entry.reason or 'error'}", "bad"
    if entry.reason is None and entry.imported_from:
        return f"· {entry.imported_from}, no ending recorded", "muted"
    if entry.imported_from and entry.detail:  # another tool's ending, in its words (an Inspect score)
        mark, meaning = {True: ("✓", "good"), False: ("✗", "bad"), None: ("·", "")}[entry.tests_passed]
        return f"{mark} {reason_words(entry.reason or '')} · {entry.detail}", meaning
    if entry.reason is None:
        return "… no ending (running or killed)", "warning"
    reason = reason_words(entry.reason)
    if entry.tests_passed is None:
        return f"· {reason}", ""
    return f"{'✓' if entry.tests_passed else '✗'} {reason} · {tests_said(entry.tests_passed)}", (
        "good" if entry.tests_passed else "bad")


class RunsScreen(Screen[None]):
    """The runs of a folder: enter opens one, space marks two (A, B), c compares them."""

    DEFAULT_CSS = """
    RunsScreen #runs-head {
        height: 2;
        background: $panel;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    RunsScreen RunsTable {
        height: 1fr;
    }
    RunsScreen #runs-body {
        height: 1fr;
    }
    RunsScreen #runs-body > RunsTable {
        width: 3fr;
    }
    RunsScreen #runs-body > ResultsPanel {
        width: 2fr;
    }
    """

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="open the run at the cursor"),
        Binding("space", "mark", "Mark", tooltip="mark / unmark the run at the cursor for a comparison (A, then "
                "B); the cursor stays where it is"),
        Binding("c", "compare", "Compare", tooltip="compare the two marked runs, A and B"),
        Binding("N", "notes", "Notes", tooltip="every reflection note of the folder's runs in one table"),
        Binding("r", "rescan", "Rescan", tooltip="read the folder again (new runs, new outcomes)"),
        Binding("question_mark", "help", "Keys", tooltip="this list of keys"),
        Binding("q", "close", "Quit", tooltip="quit (back to the screen under this one, if any)"),
    ]

    def __init__(self, folder: Path | str, runs: RunsFound | None = None, *, eager: bool = False,
                 opener: Callable[[Path], Transcript] | None = None) -> None:
        """`runs`: the folder's, as `discover_runs` found them (read when the screen is composed if not
        given)."""
        super().__init__()
        self.folder = Path(folder)
        self._found = runs
        self.entries: list[RunSummary] = runs.entries if runs is not None else []
        self.columns: list[str] = [key for key, _ in COLUMNS]
        self.name_width = 0
        """The run column's width when names are cut (0: not cut)."""
        self.widths: dict[str, int] = dict(WIDTHS)
        """The columns' widths in the current layout (WIDTHS, the task column fitted to the task names)."""
        self.marked: list[int] = []
        """Rows marked for a comparison: A first, then B."""
        self.eager = eager
        """Summarise every transcript before the first screen (for --snapshot), not in a worker."""
        self.opener = opener
        self.loading_done = False
        self.title = f"agent-tui · {display_folder(self.folder)}"

    # -- layout ------------------------------------------------------------------------------------------

    @property
    def runs(self) -> RunsFound:
        assert self._found is not None, "the screen is not composed yet"
        return self._found

    def compose(self) -> ComposeResult:
        if self._found is None:
            self._found = discover_runs(self.folder)
            self.entries = self._found.entries
        yield Static(self._head_text(), id="runs-head")
        results = None
        if (self.folder / "summary.json").is_file():  # an ablation's summary: its results beside the runs
            from tui.screens.results import ResultsPanel, load_results  # textual-plotext: only for them

            results = load_results(self.folder)
        if results:
            with Horizontal(id="runs-body"):
                yield RunsTable(id="runs", cursor_type="row", zebra_stripes=True)
                yield ResultsPanel(results, id="results")
        else:
            yield RunsTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def on_mount(self) -> None:
        if self.eager:
            for entry in self.entries:
                if not entry.loaded:
                    summarize_file(entry)
        self._build_table()
        self.table.focus()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        if any(not e.loaded for e in self.entries):
            self.run_worker(self._load_lazily, thread=True, exclusive=True, name="summaries")
        else:
            self.loading_done = True

    def _build_table(self) -> None:
        """The columns that fit the width (the name cut with `…` at its start when needed), and the rows."""
        width = self.app.size.width or 200  # the terminal: this screen fills it
        if any(panel.display for panel in self.query(RESULTS)):
            width = width * 3 // 5  # the runs' share beside an ablation's results (the CSS's 3fr to 2fr)
        filled = {key for key in OPTIONAL if any(getattr(e, key) not in (None, "") for e in self.entries)}
        keys = [key for key, _ in COLUMNS if key not in OPTIONAL or key in filled]
        longest = max((run_label(e).cell_len for e in self.entries), default=3)
        widths = self.widths = dict(WIDTHS)
        widths["task"] = max(WIDTHS["task"], min(TASK_MAX, max((len(e.task or "") for e in self.entries), default=0)))

        def room(ks: list[str]) -> int:
            return width - 2 - sum(widths[k] + CELL_PAD for k in ks if k != "run") - CELL_PAD

        for key in ("size", "created", "model"):  # the least needed: dropped before any name is cut
            if room(keys) >= longest:
                break
            if key in keys:
                keys.remove(key)
        for key in DROP_ORDER:  # drop optional columns until the names get at least 16 cells
            if room(keys) >= min(longest, 16):
                break
            if key in keys:
                keys.remove(key)
        name_width = room(keys) if room(keys) < longest else 0
        if self.table.columns and (keys, name_width) == (self.columns, self.name_width):
            return  # the same layout: nothing to rebuild
        self.columns, self.name_width = keys, name_width
        table = self.table
        table.clear(columns=True)
        labels = dict(COLUMNS)
        for key in keys:  # fixed widths: a row summarised later cannot push the table past the terminal
            table.add_column(labels[key], key=key, width=name_width or longest if key == "run" else widths[key])
        for k, entry in enumerate(self.entries):
            table.add_row(*self._cells(k, entry), key=str(k))

    def on_resize(self, event: events.Resize) -> None:
        for panel in self.query(RESULTS):  # the results need room: below it the runs get the whole width
            panel.display = event.size.width >= RESULTS_MIN_SIZE[0] and event.size.height >= RESULTS_MIN_SIZE[1]
            self._refresh_head()
        if self.is_mounted and self.entries:
            row = self.table.cursor_row
            self._build_table()
            self.table.move_cursor(row=row)

    def _theme_changed(self, _theme: Any) -> None:
        for k in range(len(self.entries)):
            self._refresh_row(k)

    def _cells(self, k: int, entry: RunSummary) -> list[Any]:
        cells = dict(zip((key for key, _ in COLUMNS), self._all_cells(k, entry)))
        for key in self.columns:  # fixed widths: what is cut ends with …
            cell = cells[key]
            if key != "run" and isinstance(cell, Text) and cell.cell_len > self.widths[key]:
                cell.truncate(self.widths[key], overflow="ellipsis")
        return [cells[key] for key in self.columns]

    def _all_cells(self, k: int, entry: RunSummary) -> list[Any]:
        style = self.table.cell_style

        def dash() -> Text:
            return Text("—", style=style("muted"))

        def number(value: int | None, text: str, meaning: str = "") -> Text:
            return dash() if value is None else Text(text, justify="right", style=style(meaning) if meaning else "")

        mark = self._mark_of(k)
        name = inert(entry.label)
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.created)) if entry.created else None
        room = self.name_width - run_label(entry, "").cell_len  # less the tree guides and the fork mark
        if self.name_width and len(name) > room:  # its end (the file's name) is what tells runs apart
            name = "…" + name[len(name) - max(room, 2) + 1:]
        label, meaning = outcome(entry)
        return [
            Text(mark, style=style(f"mark-{mark.lower()}")) if mark else Text(" "),
            run_label(entry, name, style),
            Text(inert(entry.task)) if entry.task else dash(),
            Text(entry.reflection or "—", style=style("reflection") if entry.reflection not in (None, "off") else ""),
            number(entry.repeat, str(entry.repeat)),
            Text(inert(label), style=style(meaning) + (BOLD if entry.failed else Style()) if meaning else ""),
            Text(inert(entry.model)) if entry.model else dash(),
            number(entry.iterations, str(entry.iterations)),
            number(entry.tokens, f"{'≥' if entry.unreported else ''}{entry.tokens or 0:,}"),
            number(entry.reflections, str(entry.reflections), "reflection" if entry.reflections else ""),
            Text(created) if created else dash(),
            number(entry.size, _size(entry.size or 0)),
        ]

    def _mark_of(self, k: int) -> str:
        return "AB"[self.marked.index(k)] if k in self.marked else ""

    def _refresh_row(self, k: int) -> None:
        table = self.table
        for key, value in zip(self.columns, self._cells(k, self.entries[k])):
            table.update_cell(str(k), key, value)

    def _head_text(self) -> Content:
        muted = "$text-muted"
        parts: list[str | tuple[str, str]] = [
            (" RUNS ", "bold $background on $primary"), "  ", (display_folder(self.folder), "bold"),
            (f" · {plural(len(self.entries), 'run')}", muted)]
        loaded = [e for e in self.entries if e.loaded]
        if loaded:
            ok = _passed(loaded)
            failed = sum(e.failed for e in loaded)
            unknown = sum(e.reason is None and not e.failed for e in loaded)  # no ending recorded: not a fail
            fail = len(loaded) - ok - failed - unknown
            parts += [" · ", (f"{ok} pass", "$text-success"), " · ", (f"{fail} fail", "$text-error" if fail else muted)]
            if failed:
                parts.append((f" · {failed} failed", "bold $text-error"))
            if unknown:
                parts.append((f" · {unknown} unknown", "$text-warning"))
            # A grid's settings count its jobs (the runs with a record), as its results do; the other runs
            # (a sweep's parents, a run dropped in) apart, not folded into the setting they ran with.
            jobs = [e for e in loaded if e.source in RECORDED]
            others = [e for e in loaded if e.source not in RECORDED] if jobs else []
            by_setting: dict[str, list[RunSummary]] = {}
            for e in jobs or loaded:
                if e.reflection:
                    by_setting.setdefault(e.reflection, []).append(e)
            if len(by_setting) > 1:
                parts.append(("   by setting: ", muted))
                parts.append("  ".join(f"{s} {_passed(es)}/{len(es)}" for s, es in by_setting.items()))
                if others:
                    parts.append((f"  not in the grid {_passed(others)}/{len(others)}", muted))
        parts.append("\n")
        if self.runs.skipped:  # what is not listed, and why, before the key hints the footer repeats
            parts.append((self.runs.skipped_text(), "$text-warning"))
        elif self.is_mounted and any(not panel.display for panel in self.query(RESULTS)):
            width, height = RESULTS_MIN_SIZE  # said, not hidden without a word
            parts.append((f"this folder's results show beside the runs from {width}x{height}: the terminal is "
                          f"{self.app.size.width}x{self.app.size.height}", "$text-warning"))
        else:
            parts.append(("enter opens a run · space marks A and B · c compares them · q in a run comes back here",
                          muted))
        return Content.assemble(*parts)  # Content makes control characters of a folder's name inert

    def _refresh_head(self) -> None:
        self.query_one("#runs-head", Static).update(self._head_text())

    # -- lazy summaries ----------------------------------------------------------------------------------

    def _load_lazily(self) -> None:
        for k, entry in enumerate(self.entries):
            if entry.loaded:
                continue
            try:
                summarize_file(entry)
            except Exception as exc:  # noqa: BLE001 - a stranger's file must not end the listing
                entry.error, entry.source = f"cannot read: {type(exc).__name__}", "transcript"
            self.app.call_from_thread(self._refresh_row, k)
        self.app.call_from_thread(self._loaded)

    def _loaded(self) -> None:
        self.loading_done = True
        self._refresh_head()
        row = self.table.cursor_row
        self._build_table()  # the columns the summaries filled (model, date, size)
        self.table.move_cursor(row=row)

    # -- actions -----------------------------------------------------------------------------------------

    @property
    def cursor(self) -> int:
        return self.table.cursor_row

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.action_open()

    def _open(self, k: int) -> Transcript | None:
        entry = self.entries[k]
        assert entry.path is not None, "a folder's runs are files"
        try:
            if self.opener is not None:
                return self.opener(entry.path)
            from agent.transcripts.importers import open_transcript

            return open_transcript(entry.path)
        except TranscriptError as exc:
            self.notify(inert(str(exc)), title="cannot open", severity="error", timeout=8, markup=False)
            return None

    def action_open(self) -> None:
        if not self.entries:
            return
        k = self.cursor
        transcript = self._open(k)
        if transcript is not None:
            from tui.screens.transcript import TranscriptScreen

            self.app.push_screen(TranscriptScreen(transcript=transcript, title=str(self.folder / self.entries[k].label),
                                                  follow=self.entries[k].path))

    def action_mark(self) -> None:
        if not self.entries:
            return
        k = self.cursor
        marked = self.marked
        if k in marked:
            marked.remove(k)
        elif len(marked) >= 2:
            self.notify("two runs are marked already: space on one of them unmarks it", timeout=3)
            return
        else:
            marked.append(k)
        for j in set(marked) | {k}:
            self._refresh_row(j)
        if k in marked:  # the cursor stays on the run marked: c compares what the marks say, nothing else
            self.notify(f"marked {'AB'[marked.index(k)]}: {inert(self.entries[k].label)}"
                        + (" · c compares A and B" if len(marked) == 2 else " · now mark B, then c"), timeout=3,
                        markup=False)

    def action_compare(self) -> None:
        marked = list(self.marked)
        if len(marked) != 2:
            self.notify("mark two runs with space (A, then B), then press c", timeout=3)
            return
        first, second = (self._open(k) for k in marked)
        if first is None or second is None:
            return
        from tui.screens.compare import CompareScreen

        a, b = (self.entries[k].label for k in marked)
        self.app.push_screen(CompareScreen(first, second, label_a=a, label_b=b,
                                           title=f"{self.folder / a} ⟷ {self.folder / b}"))

    def action_notes(self) -> None:
        from agent.transcripts.notes import folder_notes
        from tui.screens.notes import NotesScreen

        self.app.push_screen(NotesScreen(self.folder, folder_notes(self.folder)))

    def action_rescan(self) -> None:
        self._found = discover_runs(self.folder)
        self.entries = self._found.entries
        self.marked = [k for k in self.marked if k < len(self.entries)]
        self._build_table()
        self.loading_done = False
        self._refresh_head()
        self.run_worker(self._load_lazily, thread=True, exclusive=True, name="summaries")

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, binding_rows

        self.app.push_screen(HelpScreen([
            ("Runs", binding_rows(self.BINDINGS) + [("j / k / ↑ / ↓", "move")]),
            ("Columns", [("run", "its file; a fork (⎇K: forked at iteration K) sits under its parent"),
                         ("outcome", "why the run stopped, and whether the task's tests pass at the end"),
                         ("iter", "iterations"), ("tokens", "prompt + completion tokens, reflection calls included "
                                                             "(≥: some calls' tokens were not reported)"),
                         ("refl", "reflection notes written (one reflection call each)")]),
        ]))

    def action_close(self) -> None:
        self.dismiss()
