"""The runs of a folder: which transcripts it holds, and how each run ended, read cheaply.

Any folder of JSONL transcripts works (`runs/`, an ablation's `--out`): its `*.jsonl` files and those of
its `runs/` subfolder are listed. An ablation folder's result records (`jobs/*.json`, else `results.csv`)
give each run's outcome at once; a transcript without a record is summarised by `summarize_file` from its
header line, its last `run_finished` line and a count of its reflection notes, without parsing it all.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.events import Usage

RUN_NAME = re.compile(r"^(?P<task>.+?)__(?P<setting>[^_].*?)__r(?P<repeat>\d+)\.jsonl$")
"""An ablation's transcript name: <task>__<setting>__r<repeat>.jsonl."""
TAIL_BYTES = 256 * 1024
_REFLECTION = re.compile(rb'"type":\s?"reflection_note"')
_ITERATION = re.compile(rb'"type":\s?"iteration_started"')
_FINISHED = re.compile(rb'"type":\s?"run_finished"')

FAILED_REASONS = ("provider_error", "error", "crashed")


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
    reason: str | None = None
    """The run's exit reason (RunFinished.reason, or a record's exit_reason); None: no ending recorded."""
    tests_passed: bool | None = None
    reflections: int | None = None
    """Reflection notes written (one reflection call each)."""
    imported_from: str | None = None
    """The tool whose transcript format this run was read from (None: ours)."""
    status: str = ""
    """From a record: done or failed."""
    error: str = ""
    source: str = ""
    """Where the outcome came from: record, csv, transcript, or "" (not read yet)."""

    @property
    def loaded(self) -> bool:
        return bool(self.source)

    @property
    def failed(self) -> bool:
        """The run broke (a provider error, a crash), as opposed to ending with failing tests."""
        return self.status == "failed" or (self.reason in FAILED_REASONS)

    @property
    def success(self) -> bool | None:
        """The run ended and the task's tests pass (None: no ending recorded)."""
        return None if self.reason is None else (self.tests_passed is True)

    @property
    def outcome(self) -> str:
        """`finished · tests pass`, `max steps · tests fail`, `no ending recorded`..."""
        if self.reason is None:
            return "no ending recorded"
        tests = {True: "tests pass", False: "tests fail", None: "no tests"}[self.tests_passed]
        return f"{self.reason.replace('_', ' ')} · {tests}"

    @property
    def tokens(self) -> int | None:
        return None if self.usage is None else self.usage.total_tokens


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
    entry.tests_passed = bool(success) if entry.reason not in FAILED_REASONS else None
    entry.iterations = _int(rec.get("iterations"))
    entry.usage = _usage(rec.get("prompt_tokens"), rec.get("completion_tokens"))
    entry.reflections = _int(rec.get("reflection_calls"))
    entry.status = str(rec.get("status") or ("failed" if entry.reason in FAILED_REASONS else "done"))
    entry.error = str(rec.get("error") or "")
    entry.source = rec["_source"]


def discover_runs(folder: Path | str) -> list[RunSummary]:
    """Every transcript of the folder, with its outcome when a result record has it (else loaded later)."""
    folder = Path(folder)
    records = _records(folder)
    entries = []
    for path in find_transcripts(folder):
        rel = path.relative_to(folder).as_posix()
        entry = RunSummary(label=rel, path=path)
        m = RUN_NAME.match(path.name)
        if m:
            entry.task, entry.reflection, entry.repeat = m["task"], m["setting"], int(m["repeat"])
        rec = records.get(rel)
        if rec is not None and (path.stat().st_size > 0):
            _apply_record(entry, rec)
        entries.append(entry)
    return entries


def summarize_file(entry: RunSummary) -> RunSummary:
    """Fill an entry from its transcript without parsing it all: the header line, the last run_finished
    line (read from the file's tail), and counts of reflection notes and iterations (a byte scan)."""
    path = entry.path
    assert path is not None, "a run found in a folder has its path"
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
            entry.reflection = entry.reflection or settings.get("reflection")
            entry.provider, entry.model = str(header.get("provider") or ""), str(header.get("model") or "")
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
        usage = finished.get("usage")
        if isinstance(usage, dict):  # null: the run recorded no token counts
            entry.usage = _usage(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0)
    else:
        entry.iterations = iterations
    entry.source = "transcript"
    return entry
