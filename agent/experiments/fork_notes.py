"""What each reflection note changed: fork a run just before every note, N times with the note kept and N
times with it dropped, and set the two against each other (the original, one run, is shown beside them).

    agent-tui fork runs/a.jsonl --each-note --repeats 3 --out runs/a-notes

The forks are the jobs of an ablation folder, in the layout `agent-tui ablate` writes (`runs/`, `jobs/`,
`results.csv`, `summary.json`), so `agent-tui open DIR` reads it and a second call resumes it: job
`<task>__no-note-<K>__r<N>` is the parent forked at K with the note after K dropped, `<task>__note-<K>__r<N>`
the same fork with the note kept as recorded (like is compared with like: the same replayed prefix, the
same number of live continuations). A copy of the parent
goes in `runs/` beside its forks, and `summary.json` carries the table under `grid.notes`. A fork's figures
(iterations, tokens) are those of the whole run it would have been, the replayed iterations included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from agent.display.terminal import complain, inert
from agent.display.wording import plural, text_table
from agent.events import ReflectionNote
from agent.models.presets import UsageError
from agent.experiments.ablate import Progress, plan, run_grid, shared_local_server, summarize, write_results, write_tally
from agent.experiments.backends import LocalBackend
from agent.run.fork import ForkSpec, Recording, build_fork, fork_options, read_recording
from agent.experiments.jobs import RUNS_DIR, GridError, Job, ResultRow, check_compatible, job_config, make_grid
from agent.run.runner import Run, RunOptions
from agent.transcripts.compare import summarize_run

SETTING = "no-note-{at}"
"""The grid setting of the forks made just before the note after iteration `at`, without it."""
KEPT = "note-{at}"
"""The grid setting of the same forks with the note kept."""


@dataclass
class NoteAblation:
    """One note of the parent, and the grid settings of the forks that drop it and that keep it."""

    note: ReflectionNote
    setting: str
    kept: str

    @property
    def at(self) -> int:
        return self.note.iteration


def parent_notes(recording: Recording) -> list[NoteAblation]:
    """The notes the parent's model read (a note every role refused never reached it), in order."""
    return [NoteAblation(note, SETTING.format(at=i), KEPT.format(at=i)) for i, note in sorted(recording.notes.items())]


def _outcome(passed: bool | None, reason: str | None, iterations: int) -> str:
    tests = {True: "pass", False: "fail", None: "no tests"}[passed]
    return f"{tests}, {iterations} it." if reason in ("finished", "max_steps") else f"{reason}, {iterations} it."


def note_table(notes: list[NoteAblation], original: dict[str, Any], groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A row per note: where it was, why, what it said; the original's outcome; the forks' outcomes with
    the note kept and without it."""
    by_setting = {g["setting"]: g for g in groups}

    def arm(setting: str) -> dict[str, Any] | None:
        group = by_setting.get(setting)
        return None if group is None else {
            "runs": group["runs"], "failed": group["failed"], "successes": group["successes"],
            "success_rate": group["success_rate"], "iterations": group["iterations"]["mean"],
            "iterations_sd": group["iterations"]["sd"], "total_tokens": group["total_tokens"]["mean"]}

    return [{"iteration": item.at, "triggers": [t.kind for t in item.note.triggers], "role": item.note.role,
             "note": item.note.content, "setting": item.setting, "kept_setting": item.kept, "original": original,
             "with": arm(item.kept), "without": arm(item.setting)} for item in notes]


def _arm(arm: dict[str, Any] | None) -> str:
    if arm is None or not arm["runs"]:
        return "no finished run" + (f" ({arm['failed']} failed)" if arm and arm["failed"] else "")
    return (f"{arm['successes']}/{arm['runs']} pass, {arm['iterations']:.1f}±{arm['iterations_sd']:.1f} it."
            + (f", {arm['failed']} failed" if arm["failed"] else ""))


def format_note_table(rows: list[dict[str, Any]]) -> str:
    """The table printed at the end: one line per note."""
    head = ("iteration", "trigger", "role", "note", "original (once)", "with it", "without it")
    lines = []
    for row in rows:
        note = " ".join(row["note"].split())
        note = note if len(note) <= 40 else note[:39] + "…"
        original = row["original"]
        once = _outcome(original["tests_passed"], original["reason"], original["iterations"])
        lines.append((str(row["iteration"]), ",".join(row["triggers"]) or "manual", row["role"], note, once,
                      _arm(row["with"]), _arm(row["without"])))
    return text_table(head, lines)


def check_parent(out_dir: Path, parent: Path) -> None:
    """Refuse a folder that holds forks of another run: resuming would mix two tables."""
    for path in sorted((out_dir / RUNS_DIR).glob("*.jsonl")):
        try:
            with path.open("rb") as f:
                fork = json.loads(f.readline()).get("fork")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(fork, dict) and fork.get("parent") not in (None, str(parent.resolve())):
            raise GridError(f"{out_dir} holds forks of {fork['parent']}, e.g. {path.name}: use another --out")


def cmd_each_note(spec: ForkSpec, args: argparse.Namespace, out: TextIO | None = None,
                  err: TextIO | None = None) -> int:
    """`agent-tui fork FILE --each-note`. Exit status as `ablate`: 0 when every fork finished, 1 when some
    failed, 2 on a usage error, 130 when interrupted (finished forks are kept; call again to go on)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        parent = Path(spec.parent)
        recording = read_recording(parent, None)
        notes = parent_notes(recording)
        if not notes:
            raise UsageError(f"{parent}: no reflection note in this run, nothing to drop")
        if args.repeats < 1:
            raise UsageError("--repeats must be at least 1")
        out_dir = Path(spec.overrides.get("out") or parent.with_name(f"{parent.stem}.notes"))
        if out_dir.exists() and not out_dir.is_dir():
            raise UsageError(f"--out {out_dir}: is a file; give a folder")
        base, _ = fork_options(recording, spec)
        check_compatible(out_dir, job_config(base))
        check_parent(out_dir, parent)
        jobs = make_grid([recording.transcript.header.task or "custom"],
                         [s for n in notes for s in (n.kept, n.setting)], args.repeats)
        grid = plan(jobs, out_dir)
    except UsageError as exc:
        complain(str(exc), err)
        return 2
    copy = out_dir / "runs" / parent.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    if not (copy.exists() and copy.samefile(parent)):
        shutil.copyfile(parent, copy)  # the original beside its forks, for `agent-tui open DIR`
    at = {s: n.at for n in notes for s in (n.kept, n.setting)}
    dropped = {n.setting for n in notes}

    def build(job: Job, transcript: Path, served: RunOptions) -> Run:
        overrides = {**spec.overrides, "out": transcript, "shared_server": served.shared_server,
                     "shared_reflection_server": served.shared_reflection_server}
        return build_fork(ForkSpec(parent, at[job.setting], drop_note=job.setting in dropped,
                                   workspace=spec.workspace, overrides=overrides, from_header=spec.from_header))

    out.write(f"agent-tui fork --each-note: {plural(len(notes), 'note')} x 2 arms (kept, dropped) x "
              f"{plural(args.repeats, 'repeat')} ({base.provider} / {base.model or 'its default model'}, "
              f"concurrency {args.concurrency}) in {out_dir}\n")
    if grid.skipped:
        out.write(f"skipped {plural(len(grid.skipped), 'fork')} already finished; {len(grid.todo)} to run\n")
    out.flush()
    interrupted = False
    try:
        with shared_local_server(base, bool(grid.todo)) as served:  # --provider local: one model for every fork
            asyncio.run(run_grid(jobs, served, out_dir, concurrency=args.concurrency, progress=Progress(err),
                                 planned=grid, backend=LocalBackend(build=lambda job, path: build(job, path, served))))
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
    except UsageError as exc:
        complain(str(exc), err)
        return 2
    summary = summarize_run(recording.transcript)
    original = {"file": copy.name, "reason": summary.reason, "tests_passed": summary.tests_passed,
                "iterations": summary.iterations, "total_tokens": summary.usage.total_tokens if summary.usage is not None else None}
    mine = set(jobs)
    rows: list[ResultRow] = [r for r in write_results(out_dir, jobs) if r.job in mine]
    table = note_table(notes, original, summarize(rows))
    info = {"fork": {"parent": str(parent.resolve()), "original": original}, "notes": table,
            "repeats": args.repeats, "concurrency": args.concurrency, "config": job_config(base),
            "settings": [s for n in notes for s in (n.kept, n.setting)], "tasks": sorted({j.task for j in jobs})}
    write_results(out_dir, jobs, info)
    out.write("\n" + inert(format_note_table(table)) + "\n")  # the notes are a model's text
    failed = write_tally(out, grid, rows, out_dir, f"; see them with: agent-tui open {out_dir}")
    if interrupted:
        out.write(f"interrupted: {len(rows)} of {len(jobs)} forks kept; run the same command again to finish\n")
        return 130
    return 1 if failed else 0
