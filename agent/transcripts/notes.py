"""The reflection notes of a run, and what the iteration after each one did, read from its JSONL lines.

One pass over the lines as plain JSON (no event models: a folder of hundreds of runs is read for the notes
lens and for every summary). A fork's notes before its fork point are its parent's, replayed: they are left
out, so a note is counted in the run that wrote it only. A torn last line (a killed run) is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

EDIT_TOOLS = ("write_file", "edit_file")
FOLLOWUPS = ("edited_file", "ran_tests", "repeated_call", "run_ended")
"""What the iteration after a note did (a note can be followed by several), or that the run ended."""


@dataclass
class Note:
    """One note as the notes lens and the summaries show it."""

    iteration: int
    role: str
    content: str
    triggers: list[str]
    evidence: str
    """The triggers' evidence, one per line."""
    followed_by: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    """The reflection call's own tokens (0 when not recorded)."""


@dataclass
class RunNotes:
    """The notes of one run and how the run ended."""

    notes: list[Note]
    fork_at: int | None = None
    reason: str | None = None
    tests_passed: bool | None = None

    @property
    def outcome(self) -> str:
        """pass, fail, or the reason a run ended without a verdict (`no ending` when none is recorded)."""
        if self.reason is None:
            return "no ending"
        if self.tests_passed is None:
            return self.reason.replace("_", " ")
        return "pass" if self.tests_passed else "fail"


def _calls(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str((c.get("function") or {}).get("name", "")), str((c.get("function") or {}).get("arguments", "")))
            for c in message.get("tool_calls") or [] if isinstance(c, dict)]


def read_notes(lines: Iterable[str | bytes]) -> RunNotes:
    """The notes of one transcript (its JSONL lines), each with what the next iteration did."""
    calls: dict[int, list[tuple[str, str]]] = {}
    found: list[Note] = []
    out = RunNotes([])
    for line in lines:
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "header" and isinstance(event.get("fork"), dict):
            at = event["fork"].get("at")
            out.fork_at = at if isinstance(at, int) else None
        elif kind == "assistant_message":
            calls[_int(event.get("iteration"))] = _calls(event.get("message") or {})
        elif kind == "reflection_note":
            triggers = [t for t in event.get("triggers") or [] if isinstance(t, dict)]
            raw = event.get("usage")
            usage: dict[str, Any] = raw if isinstance(raw, dict) else {}
            found.append(Note(
                iteration=_int(event.get("iteration")), role=str(event.get("role") or ""),
                content=str(event.get("content") or ""),
                triggers=[str(t.get("kind", "")) for t in triggers] or ["manual"],
                evidence="\n".join(str(t.get("evidence", "")) for t in triggers if t.get("evidence")),
                prompt_tokens=_int(usage.get("prompt_tokens")), completion_tokens=_int(usage.get("completion_tokens"))))
        elif kind == "run_finished":
            out.reason = event.get("reason") if isinstance(event.get("reason"), str) else None
            passed = event.get("tests_passed")
            out.tests_passed = passed if isinstance(passed, bool) else None
    for note in found:
        if out.fork_at is not None and note.iteration < out.fork_at:
            continue  # the parent's note, replayed
        after = calls.get(note.iteration + 1)
        if after is None:
            note.followed_by = ["run_ended"]
        else:
            names = {name for name, _ in after}
            repeated = bool(set(after) & set(calls.get(note.iteration, [])))
            note.followed_by = [f for f, hit in (("edited_file", bool(names & set(EDIT_TOOLS))),
                                                 ("ran_tests", "run_tests" in names), ("repeated_call", repeated))
                                if hit]
        out.notes.append(note)
    return out


def read_notes_file(path: Path) -> RunNotes | None:
    """`read_notes` of a file; None when it cannot be read."""
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as f:
            return read_notes(f)
    except OSError:
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass
class NoteRow:
    """One note of a folder's run, as the notes lens lists it."""

    run: str
    """The run's path relative to the folder."""
    path: Path
    setting: str | None
    """The run's reflection setting, or a grid's arm (from its file name or header)."""
    note: Note
    outcome: str


def folder_notes(folder: Path) -> list[NoteRow]:
    """Every note of every agent-tui transcript of a folder (its subfolders too), run by run."""
    from agent.transcripts.runs import discover_runs

    rows: list[NoteRow] = []
    for entry in discover_runs(folder).entries:
        if entry.path is None or entry.path.suffix != ".jsonl":
            continue
        found = read_notes_file(entry.path)
        for note in found.notes if found else []:
            rows.append(NoteRow(entry.label, entry.path, entry.reflection, note, found.outcome))  # type: ignore[union-attr]
    return rows
