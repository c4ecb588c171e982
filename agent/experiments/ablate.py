"""Reflection ablations: every (task, reflection setting, repeat) as an independent job, then a table.

    agent-tui ablate --tasks quicksort,wordcount --reflection off,system,user,assistant --repeats 3 \\
        --provider openai --concurrency 8 --out runs/abl1 [--backend ray [--address auto]]

Each job runs the same function wherever it runs (agent.experiments.jobs.run_job); a backend decides where: in
this process as asyncio tasks (the default, agent.experiments.backends), or as Ray tasks on the machines of a Ray
cluster (agent.experiments.ray_backend). Either way this process, the driver, is the only one that writes the grid
folder: each transcript under `runs/`, each job's record under `jobs/` once the job is over. A call skips
the jobs whose records say they finished and runs the others again (failed ones too, unless
`--keep-failed`), so calling again resumes a grid.

`results.csv` and `summary.json` are derived data, rebuilt from every record in the folder at the end of
each call (also after Ctrl-C, which keeps every finished job).

`--concurrency K` bounds the requests in flight against the endpoint, for both backends: locally as at
most K jobs at once (a job sends one request at a time), on Ray as K tokens shared by every worker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TextIO, get_args

from agent.display.terminal import complain, inert
from agent.display.wording import plural, text_table
from agent.events import ReflectionMode, RunFinished
from agent.models.presets import LOCAL_PROVIDER, UsageError, default_provider, resolve_endpoint
from agent.experiments.backends import Backend, LocalBackend
from agent.experiments.jobs import (
    CSV_COLUMNS,
    JOBS_DIR,
    RUNS_DIR,
    Job,
    ResultRow,
    all_records,
    atomic_write,
    check_compatible,
    finished_record,
    job_config,
    job_paths,
    make_grid,
    write_record,
)
from agent.reflection.reflector import ROLES
from agent.experiments.planner import check_flags
from agent.experiments.prices import price_for
from agent.run.runner import RunOptions, build_run, pass_env_flag
from agent.experiments.summary import format_report, grid_statistics
from agent.tools.scratch import scratch_folder
from agent.tools.trees import remove_tree

HALT_AFTER = 3
"""A grid whose first this-many jobs all end in a harness error stops: the rest would fail the same way."""

SETTINGS: tuple[str, ...] = get_args(ReflectionMode)
"""The reflection settings a grid can compare: off, or the role the note is injected with."""


# -- many jobs ----------------------------------------------------------------------------------------


class Progress:
    """Jobs done, running and failed: one line redrawn in place on a terminal, plain lines otherwise."""

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = tty if tty is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = self.done = self.failed = 0
        self.running: set[str] = set()
        self.t0 = time.monotonic()
        self._drawn = False

    def begin(self, total: int) -> None:
        self.total, self.t0 = total, time.monotonic()
        if self.tty and total:
            self._draw()

    def job_started(self, job: Job) -> None:
        self.running.add(job.job_id)
        if self.tty:
            self._draw()

    def job_finished(self, job: Job, row: ResultRow) -> None:
        self.running.discard(job.job_id)
        self.done += 1
        self.failed += row.failed
        if row.failed:
            what = inert(f"FAILED {job.job_id}: {row.error}")
        else:
            tests = "tests pass" if row.success else "tests fail"
            what = (f"{job.job_id}: {row.exit_reason}, {tests}, {plural(row.iterations, 'iteration')}, "
                    f"{plural(row.total_tokens, 'token')}, {row.wall_time_s:.1f}s")
        if not self.tty:  # a log: one line per finished job, with the counts
            self._line(f"{self.status(bar=False)}  {what}")
            return
        if row.failed:  # on a terminal only failures scroll up above the bar
            self._line(what)
        self._draw()

    def job_stopped(self, job: Job) -> None:
        """A job left without finishing (cancelled)."""
        self.running.discard(job.job_id)

    def tick(self) -> None:
        """Redraw (on a terminal), so the clock moves while long jobs run."""
        if self.tty and self.total:
            self._draw()

    def end(self) -> None:
        if self.tty and self._drawn:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def status(self, bar: bool = True) -> str:
        counts = (f"{self.done}/{self.total} done, {len(self.running)} running, {self.failed} failed, "
                  f"{time.monotonic() - self.t0:.0f}s")
        if not bar:
            return f"[{counts}]"
        filled = round(self.WIDTH * self.done / self.total) if self.total else self.WIDTH
        return f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {counts}"

    def _draw(self) -> None:
        self.stream.write("\r" + self.status() + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def _line(self, text: str) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = False


class QuietProgress(Progress):
    def __init__(self) -> None:
        super().__init__(io.StringIO(), tty=False)


@dataclass
class GridRun:
    """What one call did: the jobs it ran and those it found already finished."""

    ran: list[ResultRow] = field(default_factory=list)
    skipped: list[ResultRow] = field(default_factory=list)
    todo: list[Job] = field(default_factory=list)
    halted: str | None = None
    """Why the grid stopped before its jobs were done (its first jobs all hit the same harness error)."""


def plan(jobs: Sequence[Job], out_dir: Path, *, retry_failed: bool = True) -> GridRun:
    """Which jobs still have to run (finished ones are skipped; failed ones run again if `retry_failed`)."""
    out = GridRun()
    for job in jobs:
        row = finished_record(out_dir, job)
        if row is not None and (not row.failed or not retry_failed):
            out.skipped.append(row)
        else:
            out.todo.append(job)
    return out


async def run_grid(jobs: Sequence[Job], base: RunOptions, out_dir: Path | str, *, concurrency: int = 4,
                   progress: Progress | None = None, retry_failed: bool = True, keep_workspaces: bool = False,
                   planned: GridRun | None = None, backend: Backend | None = None) -> GridRun:
    """Run every job of `jobs` not yet finished in `out_dir` on `backend` (default: this process), with at
    most `concurrency` requests in flight.

    Cancelling cancels the running jobs and re-raises; every job that finished keeps its record.
    `planned` (from `plan`) is filled in place, so a caller still sees what ran after a cancel."""
    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    out_dir = Path(out_dir)
    check_compatible(out_dir, job_config(base))
    (out_dir / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    (out_dir / JOBS_DIR).mkdir(parents=True, exist_ok=True)
    grid = planned if planned is not None else plan(jobs, out_dir, retry_failed=retry_failed)
    progress = progress or Progress()

    async def ticker() -> None:
        while True:
            await asyncio.sleep(1.0)
            progress.tick()

    progress.begin(len(grid.todo))
    clock = asyncio.create_task(ticker()) if progress.tty else None
    recorder = _Recorder(out_dir, grid, progress, early=min(HALT_AFTER, len(grid.todo)))
    jobs_run = asyncio.ensure_future((backend or LocalBackend()).run(
        grid.todo, base, out_dir, recorder, concurrency=concurrency, keep_workspaces=keep_workspaces))
    recorder.halt = jobs_run.cancel
    try:
        await jobs_run
    except asyncio.CancelledError:
        if grid.halted is None or not jobs_run.cancelled():
            raise
    finally:
        if clock is not None:
            clock.cancel()
        progress.end()
    return grid


async def preflight(jobs: Sequence[Job], base: RunOptions) -> str | None:
    """Before a grid starts: the first task's reference fix, replayed offline through the grid's sandbox and
    test command, must pass its tests. None when it does; else why no job should start (a broken harness
    would fail every job, and the statistics would blame the agent)."""
    from agent.tasks.suites import find_task

    task = find_task(jobs[0].task) if jobs else None
    if task is None or not task.script:
        return None
    folder = scratch_folder("preflight")
    try:
        run = build_run(replace(base, task=task.name, provider="scripted", script=None, model=None, base_url=None,
                                model_path=None, shared_server=None, shared_reflection_server=None,
                                request_gate=None, reflection="off",
                                max_steps=len(task.script) + 1, out=folder / "preflight.jsonl"))
        done = None
        async for event in run.events():
            done = event if isinstance(event, RunFinished) else done
        run.release_workspace()
    finally:
        remove_tree(folder)
    if done is not None and done.reason == "harness_error":
        return f"pre-flight: {task.name}'s reference fix could not run its tests: {done.detail}"
    if done is None or done.tests_passed is not True:
        said = (done.test_output.strip().splitlines() or [""])[0] if done else "no result"
        return f"pre-flight: {task.name}'s reference fix does not pass its tests here ({said})"
    return None


@dataclass
class _Recorder:
    """The driver's side of a backend (a `JobSink`): the only writer of the grid folder."""

    out_dir: Path
    grid: GridRun
    progress: Progress
    early: int = HALT_AFTER
    """When this many first jobs all end in a harness error, the grid stops (`halt`)."""
    halt: Callable[[], Any] = lambda: None

    def started(self, job: Job, worker: str) -> None:
        for path in job_paths(self.out_dir, job):  # a record exists only beside the transcript it describes
            path.unlink(missing_ok=True)
        self.progress.job_started(job)

    def finished(self, job: Job, row: ResultRow, transcript: bytes | None) -> None:
        path, record = job_paths(self.out_dir, job)
        if transcript is not None:
            atomic_write(path, transcript)
        write_record(record, row)
        self.grid.ran.append(row)
        self.progress.job_finished(job, row)
        first = self.grid.ran[:self.early]
        if (self.grid.halted is None and self.early and len(first) == self.early
                and all(r.exit_reason == "harness_error" for r in first)):
            self.grid.halted = (f"stopped: the first {plural(self.early, 'job')} could not run the tasks' tests "
                                f"({first[-1].error}); fix the set-up and run the same command again")
            self.halt()

    def stopped(self, job: Job) -> None:
        self.progress.job_stopped(job)


# -- results ------------------------------------------------------------------------------------------


def _order_key(order: dict[Job, int]) -> Any:
    def key(row: ResultRow) -> tuple[Any, ...]:
        job = row.job
        setting = SETTINGS.index(job.setting) if job.setting in SETTINGS else len(SETTINGS)
        return (job not in order, order.get(job, 0), job.task, setting, job.setting, job.repeat)
    return key


def write_results(out_dir: Path | str, jobs: Sequence[Job] = (), grid: dict[str, Any] | None = None,
                  unit: str = "task") -> list[ResultRow]:
    """Rebuild results.csv and summary.json from every record in the folder (the grid's jobs first, in
    grid order), the statistics over `unit`s at the grid's price (`grid["price"]`). Returns the rows."""
    out_dir = Path(out_dir)
    order = {job: k for k, job in enumerate(jobs)}
    rows = sorted(all_records(out_dir), key=_order_key(order))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.csv_row())
    atomic_write(out_dir / "results.csv", buf.getvalue())
    missing = [job.job_id for job in jobs if not any(r.job == job for r in rows)]
    summary = {
        "generated": time.time(),
        "grid": grid or {},
        "counts": {"records": len(rows), "done": sum(not r.failed for r in rows),
                   "failed": sum(r.failed for r in rows), "missing": len(missing)},
        "groups": summarize(rows),
        "by_setting": summarize(rows, by_task=False) if len({r.task for r in rows}) > 1 else [],
        **grid_statistics(rows, out_dir, unit=unit, price=(grid or {}).get("price")),
        "failures": [{"job": r.job.job_id, "exit_reason": r.exit_reason, "error": r.error} for r in rows if r.failed],
        "missing": missing,
        "runs": [{k: v for k, v in asdict(r).items() if k not in ("config", "traceback")} for r in rows],
    }
    atomic_write(out_dir / "summary.json", json.dumps(summary, indent=1) + "\n")
    return rows


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "sd": 0.0, "min": 0.0, "max": 0.0}
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": round(statistics.fmean(values), 3), "sd": round(sd, 3),
            "min": min(values), "max": max(values)}


def summarize(rows: Iterable[ResultRow], *, by_task: bool = True) -> list[dict[str, Any]]:
    """Per (task, setting), or per setting over all tasks: success rate and the spread across repeats.
    Failed jobs are counted apart and left out of the rates and means (they measure the endpoint)."""
    groups: dict[tuple[str, str], list[ResultRow]] = {}
    for row in rows:
        groups.setdefault((row.task if by_task else "all", row.setting), []).append(row)
    out = []
    for (task, setting), members in groups.items():
        done = [r for r in members if not r.failed]
        successes = sum(r.success for r in done)
        out.append({
            "task": task, "setting": setting, "runs": len(done), "failed": len(members) - len(done),
            "successes": successes, "success_rate": round(successes / len(done), 4) if done else None,
            "iterations": _stats([r.iterations for r in done]),
            "total_tokens": _stats([r.total_tokens for r in done]),
            "prompt_tokens": _stats([r.prompt_tokens for r in done]),
            "completion_tokens": _stats([r.completion_tokens for r in done]),
            "reflection_calls": _stats([r.reflection_calls for r in done]),
            "wall_time_s": _stats([r.wall_time_s for r in done]),
        })
    return out


def format_summary(groups: list[dict[str, Any]]) -> str:
    """The per-setting table printed at the end."""
    head = ("task", "setting", "runs", "failed", "success", "iterations", "tokens", "reflections", "wall s")
    lines = []
    for g in groups:
        rate = f"{g['successes']}/{g['runs']} {g['success_rate']:.0%}" if g["runs"] else "-"
        lines.append((g["task"], g["setting"], str(g["runs"]), str(g["failed"]), rate,
                      _pm(g["iterations"], 1), _pm(g["total_tokens"], 0), f"{g['reflection_calls']['mean']:.1f}",
                      f"{g['wall_time_s']['mean']:.1f}"))
    return text_table(head, lines)


def _pm(stats: dict[str, float], digits: int) -> str:
    return f"{stats['mean']:.{digits}f}±{stats['sd']:.{digits}f}"


def compare_hint(rows: Sequence[ResultRow], out_dir: Path) -> str | None:
    """`agent-tui compare A B` for two finished runs of the same task and repeat in different settings
    (or, with one setting, two repeats)."""
    done = [r for r in rows if not r.failed and (out_dir / r.transcript).is_file()]
    pairs: dict[tuple[str, int], list[ResultRow]] = {}
    for row in done:
        pairs.setdefault((row.task, row.repeat), []).append(row)
    for members in pairs.values():
        settings: dict[str, Any] = {}
        for r in members:
            settings.setdefault(r.setting, r)
        if len(settings) >= 2:
            a, b = list(settings.values())[:2]
            return f"agent-tui compare {out_dir / a.transcript} {out_dir / b.transcript}"
    by_cell: dict[tuple[str, str], list[ResultRow]] = {}
    for row in done:
        by_cell.setdefault((row.task, row.setting), []).append(row)
    for members in by_cell.values():
        if len(members) >= 2:
            return f"agent-tui compare {out_dir / members[0].transcript} {out_dir / members[1].transcript}"
    return None


# -- command line -------------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    seen: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if part and part not in seen:
            seen.append(part)
    return seen


def parse_grid(args: argparse.Namespace) -> tuple[list[Job], RunOptions, Path]:
    """Check the flags and turn them into the jobs, the shared run options and the folder."""
    from agent.tasks.suites import select_tasks

    try:
        tasks = select_tasks(args.tasks, report=lambda text: print(text, file=sys.stderr))
    except KeyError as exc:
        raise UsageError(str(exc)) from None
    settings = list(SETTINGS) if args.reflection.strip() == "all" else _split(args.reflection)
    bad = [s for s in settings if s not in SETTINGS]
    if bad or not settings:
        raise UsageError(f"--reflection: unknown setting {', '.join(bad) or '(none)'}; "
                         f"choose from {', '.join(SETTINGS)}")
    if args.repeats < 1:
        raise UsageError("--repeats must be at least 1")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.max_steps < 1:
        raise UsageError("--max-steps must be at least 1")
    provider = args.provider or (None if args.script else default_provider()) or "scripted"
    if args.script is not None and provider != "scripted":
        raise UsageError("--script goes with --provider scripted")
    if args.script is not None and len(tasks) > 1:
        raise UsageError("--script replaces one task's script: give a single --tasks entry with it")
    if (provider == LOCAL_PROVIDER) != (args.model_path is not None):
        raise UsageError("--provider local goes with --model-path FILE.gguf (and --model-path with it)")
    if provider == LOCAL_PROVIDER and getattr(args, "backend", "local") != "local":
        raise UsageError("--provider local serves the model from this process: use --backend local")
    if provider not in ("scripted", LOCAL_PROVIDER):
        resolve_endpoint(provider, args.model, args.base_url)  # a missing key is one line, not N failed jobs
    jobs = make_grid(tasks, settings, args.repeats)
    base = RunOptions(task=None, provider=provider, model=args.model, base_url=args.base_url, script=args.script,
                      max_steps=args.max_steps, reflection_model=args.reflection_model,
                      test_timeout=args.test_timeout, step_mode="continuous", model_path=args.model_path,
                      sandbox=args.sandbox, pass_env=pass_env_flag(args),
                      stream=False)  # nobody watches a job's reply stream in; a whole reply carries its usage
    out_dir = args.out or Path("runs") / f"ablate-{time.strftime('%Y%m%d-%H%M%S')}"
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: is a file; give a folder")
    return jobs, base, out_dir


def parse_backend(args: argparse.Namespace) -> Backend:
    """The backend the flags ask for; Ray is looked for, not imported, until the grid runs."""
    if args.backend == "local":
        if args.address is not None or args.cpus_per_job is not None:
            raise UsageError("--address and --cpus-per-job go with --backend ray")
        return LocalBackend()
    from agent.experiments.ray_backend import RayBackend

    cpus = 1.0 if args.cpus_per_job is None else args.cpus_per_job
    if cpus <= 0:
        raise UsageError("--cpus-per-job must be more than 0")
    return RayBackend(address=args.address, cpus_per_job=cpus)


@contextlib.contextmanager
def shared_local_server(base: RunOptions, needed: bool, notes: bool = True) -> Iterator[RunOptions]:
    """--provider local: `base` with one llama-cpp-python server for every job of the grid (loading the model
    once), and, when jobs write notes, a second one for their reflection calls (on the actor's, each call
    would evict the actor's prompt from the cache, and its next request would be processed whole again)."""
    if base.provider != LOCAL_PROVIDER or not needed:
        yield base
        return
    from agent.models.local import LocalModelError, LocalServer

    with contextlib.ExitStack() as stack:
        servers = []
        for _ in range(2 if notes else 1):
            server = LocalServer(base.model_path)  # type: ignore[arg-type]
            try:
                servers.append(stack.enter_context(server))
            except LocalModelError as exc:
                raise UsageError(str(exc)) from None
        yield replace(base, shared_server=servers[0], shared_reflection_server=servers[1] if notes else None)


def plan_text(args: argparse.Namespace, jobs: Sequence[Job], grid: GridRun, base: RunOptions, out_dir: Path) -> str:
    """`ablate --plan`: the grid, its cost, and what it can detect, before anything runs."""
    from agent.experiments.planner import earlier, format_plan, load_speed

    settings = list(dict.fromkeys(j.setting for j in jobs))
    tasks = list(dict.fromkeys(j.task for j in jobs))
    rows, source = earlier(out_dir, args.plan_from, job_config(base))
    head = (f"plan: {plural(len(jobs), 'job')} ({plural(len(tasks), 'task')} x {plural(len(settings), 'setting')} x "
            f"{plural(args.repeats, 'repeat')}), {len(grid.skipped)} finished already in {out_dir}, "
            f"{len(grid.todo)} to run")
    return format_plan(head=head, todo_settings=[j.setting for j in grid.todo], settings=settings, rows=rows,
                       source=source, speed=load_speed(base.model_path), concurrency=args.concurrency,
                       local=base.provider == LOCAL_PROVIDER, units=len(tasks), repeats=args.repeats, unit="task",
                       base_given=args.base_rate, target=args.target_effect)


def write_tally(out: TextIO, grid: GridRun, rows: Sequence[ResultRow], out_dir: Path, after: str = "") -> list[ResultRow]:
    """The closing lines of a grid call: how many jobs ran, were skipped and failed, where the results are
    (`after` follows on that line), then each failure (its error is inert: it may quote a model). Returns
    the failed rows."""
    failed = [r for r in rows if r.failed]
    out.write(f"\n{len(grid.ran)} ran, {len(grid.skipped)} skipped, {len(failed)} failed; "
              f"results: {out_dir / 'results.csv'}, {out_dir / 'summary.json'}{after}\n")
    for r in failed:
        out.write(inert(f"  failed {r.job.job_id}: {r.error}\n"))
    return failed


def cmd_ablate(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The `ablate` command. Exit status: 0 when every job finished, 1 when some failed, 2 on a usage
    error, 130 when interrupted (every finished job is kept)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        jobs, base, out_dir = parse_grid(args)
        backend = parse_backend(args)
        check_compatible(out_dir, job_config(base))
        grid = plan(jobs, out_dir, retry_failed=not args.keep_failed)
        price = price_for(base.provider or "", base.model, args.price)
        check_flags(args.target_effect, args.base_rate)
        if args.plan or args.target_effect is not None:  # nothing runs, so nothing to check first
            out.write(plan_text(args, jobs, grid, base, out_dir) + "\n")
            return 0
        problem = asyncio.run(preflight(grid.todo, base)) if grid.todo else None
    except UsageError as exc:
        complain(str(exc), err)
        return 2
    if problem is not None:
        complain(f"{problem}; no job started", err)
        return 2
    where = "" if args.backend == "local" else f", on Ray ({args.address or 'a local Ray started for this call'})"
    out.write(f"agent-tui ablate: {plural(len(jobs), 'job')} ({base.provider}"
              f"{' / ' + base.model if base.model else ''}, concurrency {args.concurrency}) in {out_dir}{where}\n")
    if grid.skipped:
        out.write(f"skipped {plural(len(grid.skipped), 'job')} already finished in {out_dir}; "
                  f"{len(grid.todo)} to run\n")
    out.flush()
    info = {"tasks": sorted({j.task for j in jobs}), "settings": list(dict.fromkeys(j.setting for j in jobs)),
            "repeats": args.repeats, "concurrency": args.concurrency, "config": job_config(base), "price": price}
    interrupted = False
    try:
        notes = any(j.setting in ROLES for j in grid.todo)
        with shared_local_server(base, bool(grid.todo), notes) as served:
            asyncio.run(run_grid(jobs, served, out_dir, concurrency=args.concurrency,
                                 progress=Progress(err), keep_workspaces=args.keep_workspaces, planned=grid,
                                 backend=backend))
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
    except UsageError as exc:
        complain(str(exc), err)
        return 2
    rows = write_results(out_dir, jobs, info)
    mine = set(jobs)
    current = [r for r in rows if r.job in mine]
    out.write("\n" + format_summary(summarize(current)) + "\n")
    if len({r.task for r in current}) > 1:
        out.write("\nover all tasks:\n" + format_summary(summarize(current, by_task=False)) + "\n")
    if current:
        out.write("\n" + format_report(grid_statistics(current, out_dir, price=info["price"])) + "\n")
    failed = write_tally(out, grid, current, out_dir)
    if grid.halted:
        complain(grid.halted, err)
        return 2
    if interrupted:
        missing = len(jobs) - len(current)
        out.write(f"interrupted: {len(current)} of {len(jobs)} jobs kept, {missing} left; "
                  f"run the same command again to finish them\n")
    hint = compare_hint(current, out_dir)
    if hint:
        out.write(f"compare two runs: {hint}\n")
    out.flush()
    if interrupted:
        return 130
    return 1 if failed else 0
