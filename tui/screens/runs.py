"""`agent-tui open DIR`: the runs of a folder in a table; open one, or mark two and compare them.

Any folder of JSONL transcripts works (`runs/`, an ablation's `--out`): its `*.jsonl` files and those of
its `runs/` subfolder are listed. An ablation folder's result records (`jobs/*.json`, else `results.csv`)
give each run's outcome at once; a transcript without a record is summarised lazily, in a worker thread,
from its header line, its last `run_finished` line and a count of its reflection notes, so a folder of big
files opens at once and fills in.

Opening a run (enter) or comparing two (space marks A then B, c compares) leaves this app with a `Choice`;
`browse_folder` then runs the transcript app or the comparison, and comes back to the table when it quits.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from agent.transcripts.transcript import Transcript, TranscriptError

RUN_NAME = re.compile(r"^(?P<task>.+?)__(?P<setting>[^_].*?)__r(?P<repeat>\d+)\.jsonl$")
"""An ablation's transcript name: <task>__<setting>__r<repeat>.jsonl."""
TAIL_BYTES = 256 * 1024
_REFLECTION = re.compile(rb'"type":\s?"reflection_note"')
_ITERATION = re.compile(rb'"type":\s?"iteration_started"')
_FINISHED = re.compile(rb'"type":\s?"run_finished"')

GOOD = "#98c379"
BAD = "#e06c75"
WARN = "#e5c07b"
MUTED = Style(color="#8b949e")
MARK_COLORS = {"A": "#61afef", "B": "#d7a65f"}
FAILED_REASONS = ("provider_error", "error", "crashed")


@dataclass
class RunEntry:
    """One row of the table."""

    path: Path
    name: str
    """The path shown, relative to the folder."""
    task: str | None = None
    setting: str | None = None
    repeat: int | None = None
    reason: str | None = None
    """The run's exit reason (RunFinished.reason, or a record's exit_reason); None: no ending recorded."""
    tests_passed: bool | None = None
    iterations: int | None = None
    tokens: int | None = None
    reflections: int | None = None
    status: str = ""
    """From a record: done or failed."""
    error: str = ""
    source: str = ""
    """Where the outcome came from: record, csv, transcript (read lazily), or "" (not read yet)."""

    @property
    def loaded(self) -> bool:
        return bool(self.source)

    @property
    def failed(self) -> bool:
        return self.status == "failed" or (self.reason in FAILED_REASONS)

    def outcome(self) -> Text:
        if not self.loaded:
            return Text("…", style=MUTED)
        if self.error and self.source == "transcript":
            return Text(f"✗ {self.error}", style=Style(color=BAD))
        if self.failed:
            return Text(f"✗ failed: {self.reason or 'error'}", style=Style(color=BAD, bold=True))
        if self.reason is None:
            return Text("… no ending (running or killed)", style=Style(color=WARN))
        reason = self.reason.replace("_", " ")
        if self.tests_passed is True:
            return Text(f"✓ {reason} · tests pass", style=Style(color=GOOD))
        if self.tests_passed is False:
            return Text(f"✗ {reason} · tests fail", style=Style(color=BAD))
        return Text(f"· {reason}", style=Style(color="#c8ccd4"))


# ---------------------------------------------------------------------------------------------------------
# Reading a folder


def display_folder(folder: Path) -> str:
    """The folder as typed, except `.` and `..`, shown by name (`abl1/`)."""
    if folder.name in ("", ".", ".."):
        return folder.resolve().name + "/"
    return str(folder)


def find_transcripts(folder: Path) -> list[Path]:
    """The folder's `*.jsonl` files, then those of its `runs/` subfolder (an ablation's layout)."""
    found = sorted(p for p in folder.glob("*.jsonl") if p.is_file())
    sub = folder / "runs"
    if sub.is_dir():
        found += sorted(p for p in sub.glob("*.jsonl") if p.is_file())
    return found


def _records(folder: Path) -> dict[str, dict[str, Any]]:
    """Result records by transcript path relative to the folder: jobs/*.json, else results.csv."""
    out: dict[str, dict[str, Any]] = {}
    jobs = folder / "jobs"
    if jobs.is_dir():
        for path in sorted(jobs.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("task") and data.get("setting"):
                rel = data.get("transcript") or f"runs/{data['task']}__{data['setting']}__r{data.get('repeat', 1)}.jsonl"
                out[str(rel)] = dict(data, _source="record")
    results = folder / "results.csv"
    if results.is_file():
        try:
            with results.open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    if not row.get("task") or not row.get("setting"):
                        continue
                    rel = f"runs/{row['task']}__{row['setting']}__r{row.get('repeat', '1')}.jsonl"
                    if rel not in out:
                        out[rel] = dict(row, _source="csv")
        except (OSError, csv.Error):
            pass
    return out


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _apply_record(entry: RunEntry, rec: dict[str, Any]) -> None:
    entry.task = rec.get("task") or entry.task
    entry.setting = rec.get("setting") or entry.setting
    entry.repeat = _int(rec.get("repeat")) or entry.repeat
    success = rec.get("success")
    if isinstance(success, str):
        success = success.strip().lower() == "true"
    entry.reason = rec.get("exit_reason") or None
    entry.tests_passed = bool(success) if entry.reason not in FAILED_REASONS else None
    entry.iterations = _int(rec.get("iterations"))
    pt, ct = _int(rec.get("prompt_tokens")), _int(rec.get("completion_tokens"))
    entry.tokens = (pt or 0) + (ct or 0) if pt is not None or ct is not None else None
    entry.reflections = _int(rec.get("reflection_calls"))
    entry.status = str(rec.get("status") or ("failed" if entry.reason in FAILED_REASONS else "done"))
    entry.error = str(rec.get("error") or "")
    entry.source = rec["_source"]


def discover_runs(folder: Path | str) -> list[RunEntry]:
    """Every transcript of the folder, with its outcome when a result record has it (else loaded later)."""
    folder = Path(folder)
    records = _records(folder)
    entries = []
    for path in find_transcripts(folder):
        rel = path.relative_to(folder).as_posix()
        entry = RunEntry(path=path, name=rel)
        m = RUN_NAME.match(path.name)
        if m:
            entry.task, entry.setting, entry.repeat = m["task"], m["setting"], int(m["repeat"])
        rec = records.get(rel)
        if rec is not None and (path.stat().st_size > 0):
            _apply_record(entry, rec)
        entries.append(entry)
    return entries


def summarize_file(entry: RunEntry) -> RunEntry:
    """Fill an entry from its transcript without parsing it all: the header line, the last run_finished
    line (read from the file's tail), and counts of reflection notes and iterations (a byte scan)."""
    path = entry.path
    try:
        with path.open("rb") as f:
            first = f.readline()
            try:
                header = json.loads(first)
            except ValueError:
                header = None
            if not isinstance(header, dict) or header.get("type") != "header":
                entry.error, entry.source = "not an agent-tui transcript", "transcript"
                return entry
            settings = header.get("settings") if isinstance(header.get("settings"), dict) else {}
            entry.task = entry.task or header.get("task")
            entry.setting = entry.setting or settings.get("reflection")
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - TAIL_BYTES))
            tail = f.read()
            f.seek(0)
            reflections = iterations = 0
            carry = b""
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                data = carry + chunk
                cut = data.rfind(b"\n") + 1
                body, carry = data[:cut], data[cut:]
                reflections += len(_REFLECTION.findall(body))
                iterations += len(_ITERATION.findall(body))
            reflections += len(_REFLECTION.findall(carry))
            iterations += len(_ITERATION.findall(carry))
    except OSError as exc:
        entry.error, entry.source = f"cannot read: {exc.strerror or exc}", "transcript"
        return entry
    finished = None
    for line in reversed(tail.split(b"\n")):
        if _FINISHED.search(line):
            try:
                finished = json.loads(line)
                break
            except ValueError:
                continue
    entry.reflections = reflections
    if isinstance(finished, dict):
        entry.reason = finished.get("reason")
        entry.tests_passed = finished.get("tests_passed")
        entry.iterations = _int(finished.get("iterations"))
        usage = finished.get("usage") if isinstance(finished.get("usage"), dict) else {}
        entry.tokens = (_int(usage.get("prompt_tokens")) or 0) + (_int(usage.get("completion_tokens")) or 0)
    else:
        entry.iterations = iterations
    entry.source = "transcript"
    return entry


# ---------------------------------------------------------------------------------------------------------
# The app


@dataclass
class PickerState:
    """What the table looked like, so that coming back from a run shows it the same way."""

    cursor: int = 0
    marked: list[int] = field(default_factory=list)
    message: str = ""


@dataclass
class Choice:
    """What the user picked: one run to open, or two to compare (A first)."""

    action: str
    """open or compare"""
    entries: list[RunEntry]
    transcripts: list[Transcript]
    state: PickerState


class RunsTable(DataTable):
    BINDINGS = [
        Binding("enter", "select_cursor", "Open", tooltip="open the run at the cursor"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]


COLUMNS = [("mark", " "), ("run", "run"), ("task", "task"), ("setting", "setting"), ("repeat", "rep"),
           ("outcome", "outcome"), ("iterations", "iter"), ("tokens", "tokens"), ("reflections", "refl")]


class RunsApp(App[Choice | None]):
    """The runs of a folder: enter opens one, space marks two (A, B), c compares them."""

    TITLE = "agent-tui runs"
    CSS = """
    #runs-head {
        height: 2;
        background: $panel;
        padding: 0 1;
    }
    RunsTable {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="open the run at the cursor"),
        Binding("space", "mark", "Mark", tooltip="mark / unmark the run for a comparison (A, then B)"),
        Binding("c", "compare", "Compare", tooltip="compare the two marked runs (or the marked one and the cursor's)"),
        Binding("r", "rescan", "Rescan", tooltip="read the folder again (new runs, new outcomes)"),
        Binding("question_mark", "help", "Keys", tooltip="this list of keys"),
        Binding("q", "quit", "Quit", tooltip="quit"),
    ]

    def __init__(self, folder: Path | str, entries: list[RunEntry] | None = None, *,
                 state: PickerState | None = None, eager: bool = False,
                 opener: Callable[[Path], Transcript] | None = None) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.entries = entries if entries is not None else discover_runs(self.folder)
        self.state = state or PickerState()
        self.eager = eager
        """Summarise every transcript before the first screen (for --snapshot), not in a worker."""
        self.opener = opener
        self.loading_done = False
        self.title = f"agent-tui · {display_folder(self.folder)}"

    # -- layout ------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._head_text(), id="runs-head")
        yield RunsTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def on_mount(self) -> None:
        if self.eager:
            for entry in self.entries:
                if not entry.loaded:
                    summarize_file(entry)
        table = self.table
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        for k, entry in enumerate(self.entries):
            table.add_row(*self._cells(k, entry), key=str(k))
        if self.entries:
            table.move_cursor(row=min(self.state.cursor, len(self.entries) - 1))
        table.focus()
        if self.state.message:
            self.notify(self.state.message, severity="error", timeout=8)
            self.state.message = ""
        if any(not e.loaded for e in self.entries):
            self.run_worker(self._load_lazily, thread=True, exclusive=True, name="summaries")
        else:
            self.loading_done = True

    def _cells(self, k: int, entry: RunEntry) -> list[Any]:
        mark = self._mark_of(k)
        return [
            Text(mark, style=Style(color="#1e1e1e", bgcolor=MARK_COLORS[mark], bold=True)) if mark else Text(" "),
            Text(entry.name, style=Style(bold=True)),
            entry.task or Text("—", style=MUTED),
            Text(entry.setting or "—", style=Style(color="#ff79c6") if entry.setting not in (None, "off") else ""),
            Text(str(entry.repeat), justify="right") if entry.repeat is not None else Text("—", style=MUTED),
            entry.outcome(),
            Text(str(entry.iterations), justify="right") if entry.iterations is not None else Text("—", style=MUTED),
            Text(f"{entry.tokens:,}", justify="right") if entry.tokens is not None else Text("—", style=MUTED),
            Text(str(entry.reflections), justify="right", style=Style(color="#ff79c6") if entry.reflections else "")
            if entry.reflections is not None else Text("—", style=MUTED),
        ]

    def _mark_of(self, k: int) -> str:
        return "AB"[self.state.marked.index(k)] if k in self.state.marked else ""

    def _refresh_row(self, k: int) -> None:
        table = self.table
        for (key, _), value in zip(COLUMNS, self._cells(k, self.entries[k])):
            table.update_cell(str(k), key, value, update_width=True)

    def _head_text(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" RUNS ", Style(color="#1e1e1e", bgcolor="#61afef", bold=True))
        t.append("  ")
        t.append(display_folder(self.folder), Style(bold=True))
        n = len(self.entries)
        t.append(f" · {n} run{'s' if n != 1 else ''}", MUTED)
        loaded = [e for e in self.entries if e.loaded]
        if loaded:
            ok = sum(e.tests_passed is True and not e.failed for e in loaded)
            failed = sum(e.failed for e in loaded)
            t.append(" · ")
            t.append(f"{ok} pass", Style(color=GOOD))
            t.append(" · ")
            t.append(f"{len(loaded) - ok - failed} fail", Style(color=BAD) if len(loaded) - ok - failed else MUTED)
            if failed:
                t.append(f" · {failed} failed", Style(color=BAD, bold=True))
            by_setting: dict[str, list[RunEntry]] = {}
            for e in loaded:
                if e.setting:
                    by_setting.setdefault(e.setting, []).append(e)
            if len(by_setting) > 1:
                t.append("   by setting: ", MUTED)
                t.append("  ".join(f"{s} {sum(e.tests_passed is True and not e.failed for e in es)}/{len(es)}"
                                   for s, es in by_setting.items()))
        t.append("\n")
        t.append("enter opens a run · space marks A and B · c compares them · q in a run comes back here", MUTED)
        return t

    def _refresh_head(self) -> None:
        self.query_one("#runs-head", Static).update(self._head_text())

    # -- lazy summaries ----------------------------------------------------------------------------------

    def _load_lazily(self) -> None:
        for k, entry in enumerate(self.entries):
            if entry.loaded:
                continue
            summarize_file(entry)
            self.call_from_thread(self._refresh_row, k)
        self.call_from_thread(self._loaded)

    def _loaded(self) -> None:
        self.loading_done = True
        self._refresh_head()

    # -- actions -----------------------------------------------------------------------------------------

    @property
    def cursor(self) -> int:
        return self.table.cursor_row

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.action_open()

    def _open(self, k: int) -> Transcript | None:
        entry = self.entries[k]
        try:
            if self.opener is not None:
                return self.opener(entry.path)
            from agent.transcripts.importers import open_transcript

            return open_transcript(entry.path)
        except TranscriptError as exc:
            self.notify(str(exc), title="cannot open", severity="error", timeout=8)
            return None

    def _state(self) -> PickerState:
        return PickerState(cursor=self.cursor, marked=list(self.state.marked))

    def action_open(self) -> None:
        if not self.entries:
            return
        k = self.cursor
        transcript = self._open(k)
        if transcript is not None:
            self.exit(Choice("open", [self.entries[k]], [transcript], self._state()))

    def action_mark(self) -> None:
        if not self.entries:
            return
        k = self.cursor
        marked = self.state.marked
        if k in marked:
            marked.remove(k)
        elif len(marked) >= 2:
            self.notify("two runs are marked already: space on one of them unmarks it", timeout=3)
            return
        else:
            marked.append(k)
        for j in set(marked) | {k}:
            self._refresh_row(j)
        if k + 1 < len(self.entries) and k in marked:
            self.table.move_cursor(row=k + 1)

    def action_compare(self) -> None:
        marked = list(self.state.marked)
        if len(marked) == 1 and self.cursor not in marked:
            marked.append(self.cursor)
        if len(marked) != 2:
            self.notify("mark two runs with space (A, then B), then press c", timeout=3)
            return
        transcripts = [self._open(k) for k in marked]
        if any(t is None for t in transcripts):
            return
        self.exit(Choice("compare", [self.entries[k] for k in marked], transcripts,  # type: ignore[arg-type]
                         self._state()))

    def action_rescan(self) -> None:
        self.entries = discover_runs(self.folder)
        self.state.marked = [k for k in self.state.marked if k < len(self.entries)]
        table = self.table
        table.clear()
        for k, entry in enumerate(self.entries):
            table.add_row(*self._cells(k, entry), key=str(k))
        self.loading_done = False
        self._refresh_head()
        self.run_worker(self._load_lazily, thread=True, exclusive=True, name="summaries")

    def action_help(self) -> None:
        from tui.widgets.compare_view import CompareHelpScreen
        from tui.screens.help import binding_rows

        self.push_screen(CompareHelpScreen([
            ("Runs", binding_rows(self.BINDINGS) + [("j / k / ↑ / ↓", "move")]),
            ("Columns", [("outcome", "why the run stopped, and whether the task's tests pass at the end"),
                         ("iter", "iterations"), ("tokens", "prompt + completion tokens, reflection calls included"),
                         ("refl", "reflection notes written (one reflection call each)")]),
        ]))


# ---------------------------------------------------------------------------------------------------------
# The loop: the table, a run or a comparison, the table again


def app_for_choice(choice: Choice, folder: Path) -> App[Any]:
    """The app a choice opens: the transcript view of one run, or the comparison of two."""
    if choice.action == "compare":
        from tui.widgets.compare_view import CompareApp

        a, b = choice.entries
        return CompareApp(choice.transcripts[0], choice.transcripts[1], label_a=a.name, label_b=b.name,
                          title=f"{folder / a.name} ⟷ {folder / b.name}")
    from tui.screens.transcript import AgentTuiApp

    entry = choice.entries[0]
    return AgentTuiApp(transcript=choice.transcripts[0], title=str(folder / entry.name))


def browse_folder(folder: Path, run_app: Callable[[App[Any]], Any] | None = None) -> int:
    """Show the table until q; each choice runs its app, then the table comes back as it was."""
    run = run_app or (lambda app: app.run())
    entries = discover_runs(folder)
    if not entries:
        print(f"agent-tui: {folder}: no *.jsonl transcripts in this folder (nor in {folder / 'runs'})",
              file=sys.stderr)
        return 2
    state = PickerState()
    while True:
        picker = RunsApp(folder, entries, state=state)
        choice = run(picker)
        entries = picker.entries
        if choice is None:
            return 0
        state = choice.state
        run(app_for_choice(choice, folder))
