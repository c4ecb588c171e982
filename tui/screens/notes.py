"""The notes lens: every reflection note of a folder's runs in one table (`N` on `agent-tui open DIR`).

One row per note: its run, iteration, trigger, role, text, what the next iteration did (edited a file, ran
the tests, repeated a call of the iteration the note was about, or the run ended) and how the run ended;
the note at the cursor is shown whole below, with its evidence. `t` and `o` filter by trigger and by role,
`s` (or a click on a column's head) sorts, `enter` opens the run at that note, `x` writes the table as CSV
(agent.export.notes: secrets redacted, no cell a spreadsheet would run). Whether notes are heeded is
one screen away, not in summary.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static

from agent.display.terminal import inert
from agent.display.wording import natural_key, plural
from agent.export.notes import notes_csv
from agent.transcripts.notes import NoteRow
from tui.widgets.key_bar import KeyBar
from tui.widgets.runs_table import RunsTable

COLUMNS = (("run", "run"), ("iteration", "it."), ("trigger", "trigger"), ("role", "role"), ("note", "note"),
           ("next", "next iteration"), ("outcome", "run"))
FOLLOWUP_WORDS = {"edited_file": "edited", "ran_tests": "ran tests", "repeated_call": "repeated the call",
                  "run_ended": "run ended"}
CSV_NAME = "notes.csv"
RUN_WIDTH = 34


def sort_key(column: str) -> Callable[[NoteRow], Any]:
    """How rows sort by a column (the run's order, then the iteration, breaks ties)."""
    keys: dict[str, Callable[[NoteRow], Any]] = {
        "run": lambda r: natural_key(r.run), "iteration": lambda r: r.note.iteration,
        "trigger": lambda r: r.note.triggers,
        "role": lambda r: r.note.role, "note": lambda r: r.note.content.lower(),
        "next": lambda r: r.note.followed_by, "outcome": lambda r: r.outcome}
    return keys[column]


def run_cell(run: str) -> str:
    """The run's path without `.jsonl`, cut at its start (its end tells runs apart)."""
    name = inert(run.removesuffix(".jsonl"))
    return name if len(name) <= RUN_WIDTH else "…" + name[len(name) - RUN_WIDTH + 1:]


def next_words(row: NoteRow) -> str:
    return ", ".join(FOLLOWUP_WORDS.get(f, f) for f in row.note.followed_by) or "something else"


class NotesScreen(Screen[None]):
    """Every note of a folder; filter, sort, open the run at one, export."""

    DEFAULT_CSS = """
    NotesScreen #notes-head { height: 2; background: $panel; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    NotesScreen RunsTable { height: 1fr; }
    NotesScreen #notes-detail { height: auto; max-height: 12; border-top: solid $panel-lighten-2; padding: 0 1; }
    """

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="open the run at this note"),
        Binding("t", "trigger", "Trigger", tooltip="show the notes of the next trigger (then all again)"),
        Binding("o", "role", "Role", tooltip="show the notes of the next role (then all again)"),
        Binding("s", "sort", "Sort", tooltip="sort by the next column (a click on a column's head sorts by it)"),
        Binding("S", "reverse", "Reverse", show=False, tooltip="reverse the order"),
        Binding("x", "export", "CSV", tooltip=f"write the table as it is shown to {CSV_NAME} in the folder"),
        Binding("question_mark", "help", "Keys", tooltip="this list of keys"),
        Binding("q", "close", "Back", tooltip="back to the runs"),
    ]

    def __init__(self, folder: Path | str, rows: list[NoteRow]) -> None:
        """`rows`: the folder's notes (`folder_notes`), read by the caller."""
        super().__init__()
        self.folder = Path(folder)
        self.rows = rows
        self.triggers = sorted({t for r in self.rows for t in r.note.triggers})
        self.roles = sorted({r.note.role for r in self.rows})
        self.trigger: str | None = None
        self.role: str | None = None
        self.sort_column = "run"
        self.descending = False
        self.shown: list[NoteRow] = []
        self.title = f"agent-tui · notes of {self.folder}"

    def compose(self) -> ComposeResult:
        yield Static(id="notes-head")
        yield RunsTable(id="notes", cursor_type="row", zebra_stripes=True)
        yield Static(id="notes-detail")
        yield KeyBar()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.table.add_column(label, key=key, width={"run": RUN_WIDTH, "iteration": 3, "trigger": 18,
                                                         "role": 9, "note": 48, "next": 20, "outcome": 9}[key])
        self.refill()
        self.table.focus()

    # -- the table ---------------------------------------------------------------------------------------

    def refill(self) -> None:
        """The rows that pass the filters, in the chosen order."""
        shown = [r for r in self.rows if (self.trigger is None or self.trigger in r.note.triggers)
                 and (self.role is None or r.note.role == self.role)]
        shown.sort(key=lambda r: (r.run, r.note.iteration))
        shown.sort(key=sort_key(self.sort_column), reverse=self.descending)
        self.shown = shown
        table = self.table
        table.clear()
        style = table.cell_style
        for k, row in enumerate(shown):
            note = " ".join(row.note.content.split())
            table.add_row(
                Text(run_cell(row.run)), Text(str(row.note.iteration), justify="right"),
                Text(inert(",".join(row.note.triggers)), style=style("reflection")), Text(inert(row.note.role)),
                Text(inert(note), overflow="ellipsis", no_wrap=True), Text(next_words(row)),
                Text(inert(row.outcome), style=style({"pass": "good", "fail": "bad"}.get(row.outcome, "muted"))),
                key=str(k))
        self.query_one("#notes-head", Static).update(self._head())
        self._show_detail()

    def _head(self) -> Content:
        muted = "$text-muted"
        runs = len({r.run for r in self.rows})
        followed = sum(bool({"edited_file", "ran_tests"} & set(r.note.followed_by)) for r in self.shown)
        parts: list[str | tuple[str, str]] = [
            (" NOTES ", "bold $background on $primary"), "  ", (str(self.folder), "bold"),
            (f" · {plural(len(self.rows), 'note')} in {plural(runs, 'run')}", muted)]
        if self.trigger or self.role:
            which = [x for x in (self.trigger and f"trigger {self.trigger}", self.role and f"role {self.role}") if x]
            parts.append((f" · shown {len(self.shown)}: " + ", ".join(which), "bold"))
        parts.append((f" · {followed} of {len(self.shown)} followed by an edit or a test run", muted))
        parts.append(("\n" + f"sorted by {self.sort_column}{' (reversed)' if self.descending else ''} · t trigger · "
                      "o role · s sort · enter opens the run at the note · x writes " + CSV_NAME, muted))
        return Content.assemble(*parts)

    def _show_detail(self) -> None:
        detail = self.query_one("#notes-detail", Static)
        row = self.current
        if row is None:
            detail.update(Text("no note here" if not self.rows else "no note matches the filters", style="italic"))
            return
        text = Text()
        text.append(f"{row.run} · after iteration {row.note.iteration} · {row.note.role} · ", style="bold")
        text.append(f"next: {next_words(row)} · run: {row.outcome}\n")
        text.append(inert(row.note.content.strip()) + "\n")
        if row.note.evidence:
            text.append(inert(row.note.evidence.strip()), style="dim")
        detail.update(text)

    @property
    def current(self) -> NoteRow | None:
        k = self.table.cursor_row
        return self.shown[k] if 0 <= k < len(self.shown) else None

    def on_data_table_row_highlighted(self, _message: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.action_open()

    def on_data_table_header_selected(self, message: DataTable.HeaderSelected) -> None:
        column = str(message.column_key.value)
        self.descending = not self.descending if column == self.sort_column else False
        self.sort_column = column
        self.refill()

    # -- actions -----------------------------------------------------------------------------------------

    @staticmethod
    def _next(values: list[str], current: str | None) -> str | None:
        """The value after `current` in `values`, then None (all), then the first again."""
        if not values:
            return None
        if current is None:
            return values[0]
        k = values.index(current) + 1
        return values[k] if k < len(values) else None

    def action_trigger(self) -> None:
        self.trigger = self._next(self.triggers, self.trigger)
        self.refill()

    def action_role(self) -> None:
        self.role = self._next(self.roles, self.role)
        self.refill()

    def action_sort(self) -> None:
        keys = [key for key, _ in COLUMNS]
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.descending = False
        self.refill()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.refill()

    def action_export(self) -> None:
        path = self.folder / CSV_NAME
        try:
            path.write_text(notes_csv(self.shown), encoding="utf-8")
        except OSError as exc:
            self.notify(inert(f"cannot write {path}: {exc.strerror or exc}"), severity="error", timeout=8, markup=False)
            return
        self.notify(inert(f"{plural(len(self.shown), 'note')} written to {path}"), timeout=5, markup=False)

    def action_open(self) -> None:
        row = self.current
        if row is None:
            return
        from agent.transcripts.importers import open_transcript
        from agent.transcripts.transcript import TranscriptError
        from tui.screens.transcript import TranscriptScreen

        try:
            transcript = open_transcript(row.path)
        except TranscriptError as exc:
            self.notify(inert(str(exc)), title="cannot open", severity="error", timeout=8, markup=False)
            return
        screen = TranscriptScreen(transcript=transcript, title=str(self.folder / row.run), follow=row.path)
        self.app.push_screen(screen)
        screen.call_after_refresh(goto_note, screen, row.note.iteration)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, binding_rows

        self.app.push_screen(HelpScreen([
            ("Notes", binding_rows(self.BINDINGS) + [("j / k / ↑ / ↓", "move")]),
            ("Columns", [("it.", "the iteration the note was written after"),
                         ("next iteration", "what the iteration after the note did: edited a file, ran the tests, "
                                            "repeated a call of the note's iteration; or the run ended"),
                         ("run", "how the run ended: pass or fail (its task's tests), or why it stopped")]),
        ]))

    def action_close(self) -> None:
        self.dismiss()


def goto_note(screen: Any, iteration: int) -> None:
    """Put a transcript screen's cursor on the note written after `iteration` (its iteration's block)."""
    view = screen.view
    for b, block in enumerate(view.model.blocks):
        if block.kind == "iteration" and block.number == iteration:
            items = block.get_items()
            item = next((i for i, it in enumerate(items) if it.kind == "reflection"), 0)
            view.goto(b, item)
            return
