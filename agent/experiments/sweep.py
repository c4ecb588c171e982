"""The role of a note, its text held fixed: fork every note of some runs just before it, and go on live with
that exact note in each role (and without it), N times each.

    agent-tui sweep runs/abl/runs/*__system__*.jsonl --roles system,user,assistant,none --repeats 3 --out runs/sw

A unit is a fork point: one note of one parent run (`<parent>@<K>`, the note written after iteration K).
Each arm replays iterations 1..K without model calls (agent.run.fork), then puts the parent's note back
with its text and triggers, framed as the loop frames it, in the arm's role (an `assistant` note keeps its
`user` follower), or leaves it out (`none`), and goes on live with reflection off: later iterations write
no note in any arm, so the arms differ in where this one note sits and in nothing else.

The forks are the jobs of an ablation folder (`runs/`, `jobs/`, `results.csv`, `summary.json`; job
`<unit>__<role>__r<N>`), so `agent-tui open DIR` shows it and calling again resumes it; the parents are
copied into `parents/`. They run fork point by fork point: a local server's prompt cache then keeps the
replayed history from one arm to the next, and only a fork point's first arm evaluates it (`--plan` counts
it so). The statistics are over fork points (agent.experiments.summary, baseline `none`): per role,
the success of the continuations against `none` from the same fork points, and each role against each other;
per trigger, the same for the notes of that trigger. The parent's own outcome is shown beside its note, but
it is not a control: it ran once, with later notes of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence, TextIO

from agent.display.terminal import complain, inert
from agent.display.wording import plural, text_table
from agent.events import ReflectionNote
from agent.models.presets import LOCAL_PROVIDER, UsageError
from agent.experiments.ablate import GridRun, Progress, plan, run_grid, shared_local_server, write_results, write_tally
from agent.experiments.backends import LocalBackend
from agent.run.fork import ForkSpec, Recording, build_fork, fork_options, fork_overrides, read_recording
from agent.experiments.jobs import Job, ResultRow, check_compatible, job_config
from agent.experiments.planner import check_flags
from agent.experiments.prices import price_for
from agent.run.runner import Run, RunOptions
from agent.experiments.summary import compare, counted, format_report, grid_statistics, signed_diff
from agent.transcripts.compare import summarize_run

ROLES = ("system", "user", "assistant", "none")
NONE = "none"
UNIT = "fork point"
PARENTS_DIR = "parents"


@dataclass
class ForkPoint:
    """One note of one parent: where the arms fork, and the note they carry."""

    unit: str
    parent: Path
    recording: Recording
    note: ReflectionNote

    @property
    def at(self) -> int:
        return self.note.iteration

    @property
    def triggers(self) -> list[str]:
        return [t.kind for t in self.note.triggers] or ["manual"]


def unit_name(parent: Path, at: int) -> str:
    """`humanevalfix-12.system.r1@5`: the parent's name (its `__` made `.`, so the job's file name still
    splits into unit, role and repeat) and the iteration the note followed."""
    return f"{parent.stem.replace('__', '.')}@{at}"


def parent_files(paths: Sequence[Path]) -> list[Path]:
    """The transcripts named, a folder standing for every agent-tui transcript in it (forks left out:
    their notes before the fork point are their parent's)."""
    from agent.transcripts.runs import discover_runs

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += [e.path for e in discover_runs(path).entries
                      if e.path is not None and e.path.suffix == ".jsonl" and e.fork_parent is None]
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def fork_points(parents: Sequence[Path], report: TextIO) -> list[ForkPoint]:
    """Every note of the parents that can be forked at, in order; a run or a note that cannot is reported
    on one line and left out."""
    points: list[ForkPoint] = []
    seen: dict[str, Path] = {}
    for parent in parents:
        try:
            recording = read_recording(parent, None)
        except UsageError as exc:
            report.write(inert(f"skipped {parent}: {exc}\n"))
            continue
        for at, note in sorted(recording.notes.items()):
            unit = unit_name(parent, at)
            if unit in seen:
                raise UsageError(f"{parent} and {seen[unit]} have the same name: their fork points would "
                                 "share job files; sweep them into separate folders")
            try:
                read_recording(parent, at)  # the note must be forkable: iterations 1..K complete
            except UsageError as exc:
                report.write(inert(f"skipped the note after iteration {at} of {parent}: {exc}\n"))
                continue
            seen[unit] = parent
            points.append(ForkPoint(unit, parent, recording, note))
    return points


def arm_spec(point: ForkPoint, role: str, overrides: dict[str, Any], transcript: Path,
             from_header: bool = False) -> ForkSpec:
    """The fork of one arm: the note's text in `role`, or no note (`none`); reflection off after it."""
    given = {**overrides, "out": transcript, "reflection": "off" if role == NONE else role}
    if role == NONE:
        return ForkSpec(point.parent, point.at, drop_note=True, overrides=given, from_header=from_header,
                        reflection_after="off")
    return ForkSpec(point.parent, point.at, edit_note=point.note.content, overrides=given, from_header=from_header,
                    reflection_after="off")


def base_options(points: Sequence[ForkPoint], overrides: dict[str, Any], from_header: bool = False) -> RunOptions:
    """The run options every fork shares (one grid, one config): the parents must agree on them."""
    configs = {}
    for point in points:
        opts, _ = fork_options(point.recording, ForkSpec(point.parent, point.at, overrides=overrides,
                                                         from_header=from_header))
        configs[point.parent] = (job_config(opts), opts)
    (first, (config, opts)), *rest = configs.items()
    for other, (theirs, _) in rest:
        differ = next((k for k in config if config[k] != theirs[k]), None)
        if differ is not None:
            raise UsageError(f"{first} and {other} ran with different {differ} ({config[differ]!r}, "
                             f"{theirs[differ]!r}): sweep them separately, or give the flag that sets it")
    return opts


def note_table(points: Sequence[ForkPoint], roles: Sequence[str], rows: Sequence[ResultRow]) -> list[dict[str, Any]]:
    """A row per fork point: where it is, why the note was written, what it says, how the parent went, and
    each arm's passes out of its finished runs."""
    by_cell: dict[tuple[str, str], list[ResultRow]] = {}
    for row in rows:
        if counted(row):
            by_cell.setdefault((row.task, row.setting), []).append(row)
    out = []
    for point in points:
        summary = summarize_run(point.recording.transcript)
        out.append({
            "unit": point.unit, "parent": point.parent.name, "iteration": point.at, "triggers": point.triggers,
            "role": point.note.role, "note": point.note.content,
            "parent_outcome": {"reason": summary.reason, "tests_passed": summary.tests_passed,
                               "iterations": summary.iterations},
            "arms": {role: {"runs": len(by_cell.get((point.unit, role), [])),
                            "successes": sum(r.success for r in by_cell.get((point.unit, role), []))}
                     for role in roles}})
    return out


def trigger_effects(points: Sequence[ForkPoint], rows: Sequence[ResultRow]) -> list[dict[str, Any]]:
    """Per trigger and role: the notes of that trigger, and the role against `none` on their fork points."""
    done = [r for r in rows if counted(r)]
    by_trigger: dict[str, set[str]] = {}
    for point in points:
        for trigger in point.triggers:
            by_trigger.setdefault(trigger, set()).add(point.unit)
    out = []
    for trigger, units in sorted(by_trigger.items()):
        none = [r for r in done if r.task in units and r.setting == NONE]
        roles = list(dict.fromkeys(r.setting for r in done if r.task in units and r.setting != NONE))
        for role in roles:
            mine = [r for r in done if r.task in units and r.setting == role]
            out.append({"trigger": trigger, "notes": len(units), "role": role,
                        **(compare(mine, none, NONE) if none else {})})
    return out


def format_notes(table: list[dict[str, Any]], roles: Sequence[str]) -> str:
    """One line per fork point: the note and its parent's outcome, then each arm's passes."""
    head = ("fork point", "trigger", "note", "parent (not a control)", *roles)
    lines = []
    for row in table:
        note = " ".join(row["note"].split())
        note = note if len(note) <= 36 else note[:35] + "…"
        outcome = row["parent_outcome"]
        tests = {True: "pass", False: "fail", None: "no tests"}[outcome["tests_passed"]]
        arms = [f"{a['successes']}/{a['runs']}" if a["runs"] else "-" for a in (row["arms"][r] for r in roles)]
        lines.append((row["unit"], ",".join(row["triggers"]), note, f"{tests}, {outcome['iterations']} it.", *arms))
    return text_table(head, lines)


def format_triggers(effects: list[dict[str, Any]]) -> str:
    head = ("trigger", "notes", "role", "vs none: W/L/T", "sign p", "Δ success [95% CI]")
    return text_table(head, [(e["trigger"], str(e["notes"]), e["role"],
                       f"{e['wins']}/{e['losses']}/{e['ties']}" if "wins" in e else "-",
                       f"{e['p_value']:.3g}" if "p_value" in e else "-",
                                   signed_diff(e.get("success_rate"), 0, 100, "pt")) for e in effects])


def parse_roles(text: str) -> list[str]:
    roles = list(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise UsageError(f"--roles: unknown role {', '.join(bad) or '(none)'}; choose from {', '.join(ROLES)}")
    return roles


@dataclass
class SweepPlan:
    """What a call will do: the fork points, the arms, the jobs, and the run options they share."""

    points: list[ForkPoint]
    roles: list[str]
    jobs: list[Job]
    base: RunOptions
    out_dir: Path
    overrides: dict[str, Any]
    grid: GridRun


def prepare(args: argparse.Namespace, report: TextIO) -> SweepPlan:
    """Check the flags, find the fork points and plan the jobs (UsageError with one line)."""
    if getattr(args, "reflection", None) is not None:
        raise UsageError("sweep sets each arm's role itself: give --roles, not --reflection")
    roles = parse_roles(args.roles)
    if args.repeats < 1:
        raise UsageError("--repeats must be at least 1")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    points = fork_points(parent_files(args.files), report)
    if not points:
        raise UsageError("no reflection note to sweep in " + ", ".join(map(str, args.files)))
    overrides = fork_overrides(args)
    overrides.pop("out", None)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: is a file; give a folder")
    base = base_options(points, overrides, args.from_header)
    check_compatible(out_dir, job_config(base))
    jobs = [Job(p.unit, role, r) for p in points for r in range(1, args.repeats + 1) for role in roles]
    grid = plan(run_order(jobs, len(roles)), out_dir, retry_failed=not args.keep_failed)
    return SweepPlan(points, roles, jobs, base, out_dir, overrides, grid)


def run_order(jobs: Sequence[Job], arms: int) -> list[Job]:
    """The order the forks run in: fork point by fork point (not repeat by repeat), since the server's prompt
    cache keeps the replayed history from one of its forks to the next and only the first evaluates it; and
    within each (fork point, repeat) the arms rotated, so that each arm is the first, which pays for that
    evaluation, equally often (in a fixed order the first role's wall time carried all of it)."""
    ordered: list[Job] = []
    for k in range(0, len(jobs), arms):
        block = list(jobs[k:k + arms])
        turn = (k // arms) % arms
        ordered += block[turn:] + block[:turn]
    return ordered


def plan_text(sweep: SweepPlan, args: argparse.Namespace) -> str:
    """`sweep --plan`: the forks, their cost (each arm costs what its parent's iterations after the fork
    point cost), and what the sweep can detect over fork points."""
    from agent.experiments.planner import continuation, cost_lines, first_prompt, load_speed, power_lines

    points, roles = sweep.points, sweep.roles
    by_unit = {p.unit: p for p in points}
    estimate = {p.unit: continuation(p.recording.transcript, p.at) for p in points}
    shared = min(first_prompt(p.recording.transcript) for p in points)  # the system prompt and tools
    todo, previous = [], None
    for job in sweep.grid.todo:  # fork point by fork point: after the first, its replayed history is cached
        e = estimate[job.task]
        note = len(by_unit[job.task].note.content) / 3 if job.setting != NONE else 0
        if previous is None:  # a server just started holds nothing
            cached = 0.0
        else:
            cached = max(0.0, e.first_prompt - note) if job.task == previous else min(shared, e.first_prompt)
        todo.append((job.setting, replace(e, first_cached=cached)))
        previous = job.task
    parents = {p.parent: e for p in points for e in [estimate[p.unit]]}
    rate = sum(e.successes for e in parents.values()) / len(parents)
    base, whence = ((args.base_rate, "--base-rate") if args.base_rate is not None
                    else (rate, "the parents' rate, notes and all: give --base-rate for none's"))
    lines = [f"plan: {plural(len(points), 'fork point')} x {len(roles)} arms x {plural(args.repeats, 'repeat')} = "
             f"{plural(len(sweep.jobs), 'fork')}, {len(sweep.grid.skipped)} finished already in {sweep.out_dir}, "
             f"{len(sweep.grid.todo)} to run",
             *cost_lines(todo, load_speed(sweep.base.model_path), args.concurrency,
                         sweep.base.provider == LOCAL_PROVIDER, "each parent's iterations after its fork point"),
             *power_lines(len(points), args.repeats, UNIT, base, whence, args.target_effect)]
    return "\n".join(lines)


def cmd_sweep(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`agent-tui sweep`. Exit status as `ablate`: 0 when every fork finished, 1 when some failed, 2 on a
    usage error, 130 when interrupted (finished forks are kept; call again to go on)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        check_flags(args.target_effect, args.base_rate)
        sweep = prepare(args, err)
        price = price_for(sweep.base.provider or "", sweep.base.model, args.price)
    except UsageError as exc:
        complain(str(exc), err)
        return 2
    if args.plan or args.target_effect is not None:
        out.write(plan_text(sweep, args) + "\n")
        return 0
    points, roles, out_dir = sweep.points, sweep.roles, sweep.out_dir
    parents = list(dict.fromkeys(p.parent for p in points))
    out.write(f"agent-tui sweep: {plural(len(points), 'note')} of {plural(len(parents), 'run')} x "
              f"{len(roles)} arms ({', '.join(roles)}) x {plural(args.repeats, 'repeat')} = "
              f"{plural(len(sweep.jobs), 'fork')} ({sweep.base.provider} / {sweep.base.model or 'its default model'}, "
              f"concurrency {args.concurrency}) in {out_dir}\n")
    if sweep.grid.skipped:
        out.write(f"skipped {plural(len(sweep.grid.skipped), 'fork')} already finished; "
                  f"{len(sweep.grid.todo)} to run\n")
    out.flush()
    (out_dir / PARENTS_DIR).mkdir(parents=True, exist_ok=True)
    for parent in parents:  # beside their forks, for `agent-tui open DIR`
        copy = out_dir / PARENTS_DIR / parent.name
        if not (copy.exists() and copy.samefile(parent)):
            shutil.copyfile(parent, copy)
    by_unit = {p.unit: p for p in points}
    interrupted = False
    try:
        with shared_local_server(sweep.base, bool(sweep.grid.todo), notes=False) as served:  # no live notes
            overrides = {**sweep.overrides, "shared_server": served.shared_server}

            def build(job: Job, transcript: Path) -> Run:
                return build_fork(arm_spec(by_unit[job.task], job.setting, overrides, transcript, args.from_header))

            asyncio.run(run_grid(sweep.jobs, served, out_dir,
                                 concurrency=args.concurrency, progress=Progress(err), planned=sweep.grid,
                                 backend=LocalBackend(build=build)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
    except UsageError as exc:
        complain(str(exc), err)
        return 2
    mine = set(sweep.jobs)
    rows = [r for r in write_results(out_dir, sweep.jobs) if r.job in mine]
    table, effects = note_table(points, roles, rows), trigger_effects(points, rows)
    info = {"sweep": {"parents": [str(p.resolve()) for p in parents], "roles": roles, "notes": table,
                      "triggers": effects},
            "tasks": [p.unit for p in points], "settings": roles, "repeats": args.repeats,
            "concurrency": args.concurrency, "config": job_config(sweep.base), "price": price}
    write_results(out_dir, sweep.jobs, info, unit=UNIT)
    out.write("\n" + inert(format_notes(table, roles)) + "\n")  # the notes are a model's text
    out.write("\n" + format_report(grid_statistics(rows, out_dir, unit=UNIT, price=price)) + "\n")
    if effects:
        out.write("\nper trigger (the notes of that trigger; each role against none on their fork points):\n"
                  + format_triggers(effects) + "\n")
    failed = write_tally(out, sweep.grid, rows, out_dir, f"; see them with: agent-tui open {out_dir}")
    if interrupted:
        out.write(f"interrupted: {len(rows)} of {len(sweep.jobs)} forks kept; run the same command again to finish\n")
        return 130
    return 1 if failed else 0
