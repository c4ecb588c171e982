"""The runs of a folder: which transcripts it holds, and how each run ended, read cheaply.

Any folder works (`runs/`, an ablation's `--out`, a folder of other tools' trajectories): every file it
can open, in its subfolders too, is listed: our `.jsonl`, message lists and mini-swe-agent trajectories
(`.json`, `.traj.json`). What is left out is counted, with the reason (a `.jsonl` without a transcript
header, a JSON file that is not a transcript); an ablation's result records and summary are read, not
left out, so they are not counted. An ablation folder's result
records (`jobs/*.json`, else `results.csv`) give each run's outcome at once; a transcript without a record
is summarised by `summarize_file` from its header line, its last `run_finished` line and a count of its
reflection notes, without parsing it all (another tool's file is read whole: it has no such lines).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.display.wording import natural_key, plural
from agent.events import EVENT_ADAPTER, RunFinished, Usage
from agent.outcome import BROKEN_REASONS, RunOutcome, reason_words, tests_said

RUN_NAME = re.compile(r"^(?P<task>.+?)__(?P<setting>[^_].*?)__r(?P<repeat>\d+)\.jsonl$")
"""An ablation's transcript name: <task>__<setting>__r<repeat>.jsonl."""
TAIL_BYTES = 256 * 1024
_REFLECTION = re.compile(rb'"type":\s?"reflection_note"')
_ITERATION = re.compile(rb'"type":\s?"iteration_started"')
_FINISHED = re.compile(rb'"type":\s?"run_finished"')


@dataclass
class RunSummary:
    """How one run went, as the runs table and the comparison's header show it: what it was (task,
    provider/model, reflection setting) and how it ended. From an ablation's result record, from a cheap
    look at its transcript (`summarize_file`), or from a full pass over it (the comparison)."""

    label: str
    """The name shown: the path relative to the folder, or as given."""
    path: Path | None = None
    task: str | None = None
    reflection: str | None = None
    """The reflection setting: off, system, user or assistant (None: not recorded)."""
    repeat: int | None = None
    provider: str = ""
    model: str = ""
    iterations: int | None = None
    usage: Usage | None = None
    """Tokens of every completion and reflection call (None: not recorded)."""
    unreported: int = 0
    """Calls whose tokens the endpoint did not report (not in `usage`)."""
    reason: str | None = None
    """The run's exit reason (RunFinished.reason, or a record's exit_reason); None: no ending recorded."""
    tests_passed: bool | None = None
    reflections: int | None = None
    """Reflection notes written (one reflection call each)."""
    imported_from: str | None = None
    """Another tool's file: the format it was read from (it records no ending of ours); None: ours."""
    status: str = ""
    """From a record: done or failed."""
    error: str = ""
    source: str = ""
    """Where the outcome came from: record, csv, transcript, or "" (not read yet)."""
    fork_parent: str | None = None
    """For a fork (`agent-tui fork`): its parent's file, as its header names it."""
    fork_at: int | None = None
    """For a fork: the last iteration it replayed from its parent."""
    fork_note: str = ""
    """For a fork: what became of the parent's note after `fork_at` (kept, dropped, edited...)."""
    tree: tuple[bool, ...] = ()
    """Its place in the folder's tree of forks (`fork_tree`): for itself and each ancestor below the top,
    whether it is the last fork of its parent; empty at the top level."""
    created: float | None = None
    """When the run started (another tool's file: as it says, else the file's time)."""
    size: int | None = None
    """The file's bytes (None: a run inside a file that holds many)."""
    detail: str = ""
    """What the outcome adds, from another tool's file (an Inspect sample's scores)."""

    @property
    def loaded(self) -> bool:
        return bool(self.source)

    def take(self, outcome: RunOutcome) -> None:
        """How the run went, from its transcript: the one summary (`agent.outcome`) every front end reads."""
        self.reason = outcome.reason
        self.tests_passed = outcome.tests_passed
        self.iterations = outcome.iterations
        self.usage = outcome.reported
        self.unreported = outcome.unreported
        self.reflections = outcome.notes
        self.source = "transcript"

    @property
    def failed(self) -> bool:
        """The run broke (the endpoint, the driver or the harness failed, the job crashed), as opposed to
        ending with failing tests."""
        return self.status == "failed" or (self.reason in BROKEN_REASONS)

    @property
    def success(self) -> bool | None:
        """The run ended and the task's tests pass (None: no ending recorded)."""
        return None if self.reason is None else (self.tests_passed is True)

    @property
    def outcome(self) -> str:
        """`finished · tests pass`, `max steps · tests fail`, `no ending recorded`..."""
        if self.reason is None:
            return "no ending recorded"
        return f"{reason_words(self.reason)} · {tests_said(self.tests_passed) or 'no tests'}"

    @property
    def tokens(self) -> int | None:
        return None if self.usage is None else self.usage.total_tokens


SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})
"""Folders never searched (hidden ones neither)."""
PEEK_BYTES = 256 * 1024
"""How much of a `.json` file is read to tell a transcript from other JSON."""
SKIP_REASONS = {
    "no-header": (".jsonl file without a transcript header", ".jsonl files without a transcript header"),
    "not-transcript": ("JSON file that is not a transcript", "JSON files that are not transcripts"),
    "unreadable": ("unreadable file", "unreadable files"),
    "too-many": (f"file past the first {20_000:,}", f"files past the first {20_000:,}"),
}


@dataclass
class RunsFound:
    """The runs of a folder, and how many files were left out, by reason (see SKIP_REASONS)."""

    entries: list[RunSummary]
    skipped: Counter[str] = field(default_factory=Counter)

    def skipped_text(self) -> str:
        """`skipped 3 files: 2 .jsonl files without a transcript header, 1 JSON file that is not a transcript`
        ('' if none)."""
        total = sum(self.skipped.values())
        if not total:
            return ""
        parts = [plural(n, *SKIP_REASONS[reason]) for reason, n in sorted(self.skipped.items())]
        return f"skipped {plural(total, 'file')}: {', '.join(parts)}"


def _kind(path: Path) -> str:
    """transcript, container (a file of many runs: an Inspect log), record (an ablation's job record or
    summary), or why the file is not one (a key of SKIP_REASONS). From the file's first bytes only."""
    from agent.transcripts.formats import chat, inspect_ai
    from agent.transcripts.formats.peek import peek
    from agent.transcripts.importers import file_format
    from agent.transcripts.transcript import TranscriptError

    try:
        p = peek(path)  # a FIFO or a device named *.jsonl would never end: refused
    except (OSError, TranscriptError):
        return "unreadable"
    fmt = file_format(p)
    if fmt is inspect_ai:
        return "container" if path.suffix == ".eval" or p.size > len(p.head) or _many_samples(p) else "transcript"
    if fmt is not chat:
        return "transcript"
    head = p.stripped()
    if path.suffix == ".jsonl":
        return "transcript" if chat._chat_lines(p) else "no-header"
    if path.name.endswith(".traj.json"):
        return "transcript"
    if head[:1] == b"[":
        return "transcript" if re.match(rb'\[\s*\{[^{}]{0,4000}?"role"\s*:', head) else "not-transcript"
    if head[:1] == b"{":
        if re.search(rb'"messages"\s*:\s*\[', head):
            return "transcript"
        if b'"task"' in head and b'"setting"' in head and b'"exit_reason"' in head:
            return "record"
        if path.name == "summary.json" and re.match(rb'\{\s*"generated"\s*:', head):
            return "record"  # a grid's summary whose runs lie beyond the first bytes (a sweep's notes first)
    return "not-transcript"


def _many_samples(p: Any) -> bool:
    return len(re.findall(rb'"epoch"\s*:', p.head)) > 1


MAX_DEPTH = 32
"""Folders deeper than this below the one opened are not searched (a folder nested thousands deep)."""
MAX_FILES = 20_000
"""Files looked at in one folder listing, at most."""
MAX_RECORD_BYTES = 1 << 20
"""A result record (`jobs/*.json`) larger than this is not a record."""
SUFFIXES = (".jsonl", ".json", ".eval", ".traj")


def _walk(folder: Path) -> Any:
    """(folder, file names) of `folder` and its subfolders, breadth first, without recursion, at most
    MAX_DEPTH deep; hidden folders and SKIP_DIRS are left out, and unreadable ones skipped."""
    queue = [(folder, 0)]
    while queue:
        here, depth = queue.pop(0)
        try:
            with os.scandir(here) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        files = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH and not entry.name.startswith(".") and entry.name not in SKIP_DIRS:
                        queue.append((Path(entry.path), depth + 1))
                elif entry.name.endswith(SUFFIXES):
                    files.append(entry.name)
            except OSError:
                continue
        yield here, files


def find_transcripts(folder: Path) -> RunsFound:
    """Every file of `folder` and its subfolders that opens as a transcript (`.jsonl`, `.json`, `.eval`,
    `.traj`: ours and every other format agent-tui reads), sorted by path, each run of a file that holds
    many (an Inspect log's samples) on its own; the other files are counted by reason. A file that cannot
    be read is counted, never fatal."""
    found: list[Path] = []
    containers: list[Path] = []
    skipped: Counter[str] = Counter()
    seen = 0
    for here, names in _walk(folder):
        for name in names:
            seen += 1
            if seen > MAX_FILES:
                skipped["too-many"] += 1
                continue
            path = here / name
            try:
                kind = _kind(path)
            except Exception:  # noqa: BLE001 - one stranger's file must not end the listing
                kind = "unreadable"
            if kind == "transcript":
                found.append(path)
            elif kind == "container":
                containers.append(path)
            elif kind != "record":
                skipped[kind] += 1
    entries = [RunSummary(label=p.relative_to(folder).as_posix(), path=p) for p in found]
    for entry in entries:
        try:
            st = entry.path.stat()  # type: ignore[union-attr]
            entry.size, entry.created = st.st_size, st.st_mtime  # the file's time, until its header says
        except OSError:
            pass
    for path in containers:
        listed = container_runs(path, path.relative_to(folder).as_posix())
        if listed is None:
            skipped["unreadable"] += 1
        entries += listed or []
    entries.sort(key=lambda e: natural_key(e.label))
    return RunsFound(entries, skipped)


def container_runs(path: Path, label: str) -> list[RunSummary] | None:
    """The runs of a file that holds many (an Inspect log's samples, from its summaries: no sample is read),
    each named `label#member`; None when the file cannot be read."""
    from agent.transcripts.importers import sessions_of
    from agent.transcripts.transcript import TranscriptError

    try:
        sessions = sessions_of(path)
    except (TranscriptError, OSError, RecursionError, MemoryError):
        return None
    if sessions is None:
        return [RunSummary(label=label, path=path)]
    out = []
    for session in sessions:
        entry = RunSummary(label=f"{label}#{session.member}", path=path.with_name(f"{path.name}#{session.member}"),
                           model=session.model, created=session.created, reason=session.reason,
                           tests_passed=session.tests_passed, detail=session.detail, error=session.error,
                           iterations=session.iterations, imported_from="inspect-ai", source="record")
        if session.tokens is not None:
            entry.usage = _usage(*session.tokens)
        if session.reason == "error":
            entry.status = "failed"
        out.append(entry)
    return out


def _records(folder: Path) -> dict[str, dict[str, Any]]:
    """Result records by transcript path relative to the folder: jobs/*.json, else results.csv."""
    out: dict[str, dict[str, Any]] = {}
    from agent.transcripts.transcript import TranscriptError, open_regular

    jobs = folder / "jobs"
    if jobs.is_dir():
        for path in sorted(p for p in jobs.glob("*.json") if p.is_file())[:MAX_FILES]:
            try:
                with open_regular(path) as f:  # a FIFO would hang the read
                    raw = f.read(MAX_RECORD_BYTES + 1)  # a 1 GB sparse "record" is not read whole
                if len(raw) > MAX_RECORD_BYTES:
                    continue
                data = json.loads(raw)
            except (OSError, ValueError, RecursionError, TranscriptError):
                continue
            if isinstance(data, dict) and data.get("task") and data.get("setting"):
                rel = data.get("transcript") or f"runs/{data['task']}__{data['setting']}__r{data.get('repeat', 1)}.jsonl"
                out[str(rel)] = dict(data, _source="record")
    results = folder / "results.csv"
    if results.is_file() and results.stat().st_size <= 64 * MAX_RECORD_BYTES:
        try:
            with results.open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    if not row.get("task") or not row.get("setting"):
                        continue
                    task = row["task"].replace("/", "-")  # as the grid names its files (agent.experiments.jobs)
                    rel = f"runs/{task}__{row['setting']}__r{row.get('repeat', '1')}.jsonl"
                    if rel not in out:
                        out[rel] = dict(row, _source="csv")
        except (OSError, csv.Error, UnicodeDecodeError):
            pass
    return out


MAX_SUMMARY_BYTES = 64_000_000
"""Another tool's file larger than this is not read whole to fill its row (opening it reads it in steps)."""


def _summarize_import(entry: RunSummary) -> RunSummary:
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    assert entry.path is not None
    try:
        size = entry.path.stat().st_size
    except OSError as exc:
        entry.error, entry.source = f"cannot read: {exc.strerror or exc}", "transcript"
        return entry
    entry.size = size
    if size > MAX_SUMMARY_BYTES:
        entry.error, entry.source = f"{size / 1e6:,.0f} MB: too large to summarise here; open it", "transcript"
        return entry
    try:
        transcript = open_transcript(entry.path)
    except TranscriptError as exc:
        entry.error, entry.source = str(exc).removeprefix(f"{entry.path}: "), "transcript"
        return entry
    except (RecursionError, MemoryError, ValueError, TypeError, KeyError, AttributeError) as exc:
        entry.error, entry.source = f"cannot read: {type(exc).__name__}", "transcript"  # a reader's bug, one row
        return entry
    outcome = transcript.outcome
    header = transcript.header
    entry.model = entry.model or header.model
    entry.created = header.created  # when the run started, as the file says (else the file's time)
    entry.detail = outcome.ending.detail if outcome.ending is not None and header.source is not None else ""
    entry.imported_from = header.source
    entry.task = entry.task or header.task
    entry.take(outcome)
    return entry


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _usage(prompt: Any, completion: Any) -> Usage | None:
    pt, ct = _int(prompt), _int(completion)
    return None if pt is None and ct is None else Usage(prompt_tokens=pt or 0, completion_tokens=ct or 0)


def _apply_record(entry: RunSummary, rec: dict[str, Any]) -> None:
    entry.task = rec.get("task") or entry.task
    entry.reflection = rec.get("setting") or entry.reflection
    entry.repeat = _int(rec.get("repeat")) or entry.repeat
    success = rec.get("success")
    if isinstance(success, str):
        success = success.strip().lower() == "true"
    entry.reason = rec.get("exit_reason") or None
    entry.tests_passed = bool(success) if entry.reason not in BROKEN_REASONS else None
    entry.iterations = _int(rec.get("iterations"))
    entry.usage = _usage(rec.get("prompt_tokens"), rec.get("completion_tokens"))
    entry.reflections = _int(rec.get("reflection_calls"))
    entry.status = str(rec.get("status") or ("failed" if entry.reason in BROKEN_REASONS else "done"))
    entry.error = str(rec.get("error") or "")
    entry.source = rec["_source"]


def _read_fork(entry: RunSummary) -> None:
    """Fill the entry's fork fields from its header line (one line read, of a regular file only)."""
    from agent.transcripts.transcript import TranscriptError, open_regular

    if entry.path is None or entry.path.suffix != ".jsonl":
        return
    try:
        with open_regular(entry.path) as f:
            header = json.loads(f.readline(1 << 20))
    except (OSError, ValueError, RecursionError, TranscriptError):
        return
    fork = header.get("fork") if isinstance(header, dict) else None
    if isinstance(fork, dict) and isinstance(fork.get("parent"), str):
        entry.fork_parent, entry.fork_at = fork["parent"], _int(fork.get("at"))
        entry.fork_note = str(fork.get("note") or "")


def fork_tree(entries: list[RunSummary]) -> list[RunSummary]:
    """The entries with every fork right under its parent (depth-first, forks in folder order), each with
    its `tree` place. A fork's parent is found by path, else by file name (a folder copied elsewhere, the
    copy of the original an `--each-note` folder keeps); a fork whose parent is not here stays on top."""
    by_path = {e.path.resolve(): e for e in entries if e.path is not None}
    by_name: dict[str, list[RunSummary]] = {}
    for e in entries:
        if e.path is not None:
            by_name.setdefault(e.path.name, []).append(e)
    children: dict[int, list[RunSummary]] = {}
    has_parent: set[int] = set()
    for e in entries:
        if e.fork_parent is None:
            continue
        parent = by_path.get(Path(e.fork_parent))
        if parent is None and len(by_name.get(Path(e.fork_parent).name, [])) == 1:
            parent = by_name[Path(e.fork_parent).name][0]
        if parent is not None and parent is not e:
            children.setdefault(id(parent), []).append(e)
            has_parent.add(id(e))
    out: list[RunSummary] = []
    seen: set[int] = set()

    def visit(entry: RunSummary, tree: tuple[bool, ...]) -> None:
        seen.add(id(entry))
        entry.tree = tree
        out.append(entry)
        kids = [k for k in children.get(id(entry), []) if id(k) not in seen]
        for n, kid in enumerate(kids):
            visit(kid, tree + (n == len(kids) - 1,))

    for e in entries:
        if id(e) not in has_parent:
            visit(e, ())
    for e in entries:  # forks of one another in a loop (hand-edited headers): shown on top
        if id(e) not in seen:
            visit(e, ())
    return out


def discover_runs(folder: Path | str) -> RunsFound:
    """Every transcript of the folder, with its outcome when a result record has it (else loaded later),
    each fork under its parent (`fork_tree`), and what was skipped. A file that holds many runs (an Inspect
    log) lists its runs."""
    folder = Path(folder)
    if folder.is_file():
        return RunsFound(container_runs(folder, folder.name) or [])
    records = _records(folder)
    runs = find_transcripts(folder)
    for entry in runs.entries:
        path, rel = entry.path, entry.label
        assert path is not None
        m = RUN_NAME.match(path.name)
        if m:
            entry.task, entry.reflection, entry.repeat = m["task"], m["setting"], int(m["repeat"])
        if entry.loaded:  # a run of a file of many, summarised with it
            continue
        rec = records.get(rel)
        if rec is not None and (path.stat().st_size > 0):
            _apply_record(entry, rec)
        _read_fork(entry)
    runs.entries = fork_tree(runs.entries)
    return runs


def _is_ours(path: Path) -> bool:
    """Whether the file starts with our header line (else another tool's file, summarised by opening it)."""
    from agent.transcripts.formats import ours
    from agent.transcripts.formats.peek import peek
    from agent.transcripts.transcript import TranscriptError

    try:
        return ours.detect(peek(path))
    except (OSError, TranscriptError):
        return path.suffix == ".jsonl"  # says what is wrong with it below


def summarize_file(entry: RunSummary) -> RunSummary:
    """Fill an entry from its transcript without parsing it all: the header line, the last run_finished
    line (read from the file's tail), and counts of reflection notes and iterations (a byte scan). Another
    tool's file is opened whole."""
    from agent.transcripts.transcript import TranscriptError, open_regular

    path = entry.path
    assert path is not None, "a run found in a folder has its path"
    if not _is_ours(path):
        return _summarize_import(entry)
    try:
        with open_regular(path) as f:
            first = f.readline()
            try:
                header = json.loads(first)
            except (ValueError, RecursionError):  # not JSON, or nested without end
                header = None
            if not isinstance(header, dict) or header.get("type") != "header":
                entry.error, entry.source = "not an agent-tui transcript", "transcript"
                return entry
            settings: dict[str, Any] = header["settings"] if isinstance(header.get("settings"), dict) else {}
            entry.task = header.get("task") or entry.task  # humanevalfix/4, not the file name's humanevalfix-4
            entry.reflection = entry.reflection or settings.get("reflection")
            entry.provider, entry.model = str(header.get("provider") or ""), str(header.get("model") or "")
            created = header.get("created")
            entry.created = created if isinstance(created, (int, float)) and not isinstance(created, bool) else None
            f.seek(0, 2)
            size = entry.size = f.tell()
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
    except TranscriptError as exc:  # replaced by a FIFO or a device since it was found
        entry.error, entry.source = str(exc).removeprefix(f"{path}: "), "transcript"
        return entry
    outcome = RunOutcome.from_counts(notes=reflections, iterations=iterations)
    finished = _last_ending(tail)
    if finished is not None:
        outcome.add(finished)
    entry.take(outcome)
    return entry


def _last_ending(tail: bytes) -> RunFinished | None:
    """The last `run_finished` line of a file's tail, read as the event it is (None: none is whole)."""
    for line in reversed(tail.split(b"\n")):
        if _FINISHED.search(line):
            try:
                event = EVENT_ADAPTER.validate_json(line)
            except ValueError:  # pydantic's ValidationError is one: a torn or odd line
                continue
            if isinstance(event, RunFinished):
                return event
    return None
