"""One job of an ablation grid, and the files that say how it went.

A job is a pure function of its settings: `run_job(job, base, folder)` runs one fresh workspace through the
ordinary runner, leaves its transcript at `folder/runs/<id>.jsonl` (written as it happens) and returns its
row, which the grid's driver writes as the record `jobs/<id>.json` once the job is over. Every backend runs
this same function: the local one with `folder` the grid folder itself, Ray in a temporary folder of the
worker, whose transcript the driver then stores (agent.experiments.ray_backend).

The record is what makes a grid resumable: a job whose record says it finished is skipped next time, and a
job that was interrupted has no record and runs again from scratch; a failed one (crashed, lost with its
worker, or the provider failed) runs again unless `--keep-failed`.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from agent.models.presets import UsageError, mask_url
from agent.outcome import RunOutcome
from agent.run.runner import Run, RunOptions, build_run

CSV_COLUMNS = ("task", "setting", "repeat", "success", "iterations", "reflection_calls", "prompt_tokens",
               "completion_tokens", "reflection_prompt_tokens", "reflection_completion_tokens", "wall_time_s",
               "exit_reason", "worker")
"""The columns of results.csv, one row per run."""

RUNS_DIR, JOBS_DIR = "runs", "jobs"


class GridError(UsageError):
    """The output folder cannot take this grid (it holds runs made with other settings)."""


@dataclass(frozen=True, order=True)
class Job:
    """One cell of the grid. Its id names its files, so it must stay stable across calls and machines."""

    task: str
    setting: str
    repeat: int

    @property
    def job_id(self) -> str:
        return f"{self.task.replace('/', '-')}__{self.setting}__r{self.repeat}"  # humanevalfix/N: one file name

    @property
    def transcript_name(self) -> str:
        return f"{self.job_id}.jsonl"


@dataclass
class ResultRow:
    """A finished job: the results.csv columns, then what the record keeps besides."""

    task: str
    setting: str
    repeat: int
    success: bool
    iterations: int
    reflection_calls: int
    prompt_tokens: int
    completion_tokens: int
    wall_time_s: float
    exit_reason: str
    reflection_prompt_tokens: int = 0
    reflection_completion_tokens: int = 0
    """Of the run's tokens, those of its reflection calls, or under `resample` of the turns it took back
    (the actor's are the rest)."""
    worker: str = ""
    """The process that ran the job, `host:pid` (the driver's for the local backend, a Ray worker's)."""
    status: str = "done"
    """`done` (the run ended, whatever the outcome) or `failed` (crashed, or the provider or driver failed)."""
    error: str = ""
    """For a failed job: one line saying what went wrong."""
    detail: str = ""
    transcript: str = ""
    """The transcript's path relative to the grid folder."""
    started: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)
    traceback: str = ""

    @property
    def job(self) -> Job:
        return Job(self.task, self.setting, self.repeat)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def csv_row(self) -> dict[str, Any]:
        row = {name: getattr(self, name) for name in CSV_COLUMNS}
        row["success"] = "true" if self.success else "false"
        row["wall_time_s"] = f"{self.wall_time_s:.3f}"
        return row

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ResultRow":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


def make_grid(tasks: Sequence[str], settings: Sequence[str], repeats: int) -> list[Job]:
    """Every (task, setting, repeat), repeat-major: an interrupted grid has whole repeats of every cell."""
    return [Job(t, s, r) for r in range(1, repeats + 1) for t in tasks for s in settings]


def job_config(base: RunOptions) -> dict[str, Any]:
    """The settings shared by every job of a grid; a folder's records must all agree on them."""
    return {"provider": base.provider, "model": base.model,
            "base_url": mask_url(base.base_url) if base.base_url else base.base_url,
            "script": str(base.script) if base.script else None, "max_steps": base.max_steps,
            "model_path": str(base.model_path) if base.model_path else None,
            "reflection_model": base.reflection_model, "test_timeout": base.test_timeout}


def job_paths(out_dir: Path, job: Job) -> tuple[Path, Path]:
    """(transcript, record) of a job."""
    return out_dir / RUNS_DIR / job.transcript_name, out_dir / JOBS_DIR / f"{job.job_id}.json"


def worker_name() -> str:
    """This process, as records name the worker that ran a job: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


JobBuilder = Callable[[Job, Path], Run]
"""Builds the run of a job, given the path of its transcript (`agent-tui fork --each-note`: a fork)."""


async def run_job(job: Job, base: RunOptions, folder: Path | str, *, keep_workspace: bool = False,
                  build: JobBuilder | None = None) -> ResultRow:
    """Run one job to its end, its transcript under `folder`, and return its row (the caller records it).
    Any exception becomes a failed row; cancelling returns nothing (the transcript then ends with a
    `cancelled` run_finished), so the job runs again. The run is the job's task with its reflection setting,
    from `base`, unless `build` makes it."""
    transcript, _ = job_paths(Path(folder), job)
    opts = replace(base, task=job.task, workspace=None, goal=None, test_cmd=None, replay=None,
                   reflection=job.setting, out=transcript, step_mode="continuous")  # type: ignore[arg-type]
    started, t0 = time.time(), time.perf_counter()
    outcome = RunOutcome()
    error = trace = ""
    run = None
    try:
        run = build(job, transcript) if build is not None else build_run(opts)
        async for event in run.events():
            outcome.add(event)
    except Exception as exc:  # a crash fails this job only; the grid goes on
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        trace = "".join(traceback.format_exception(exc))[-4000:]
    finally:
        await _dispose(run, keep_workspace)
    wall = time.perf_counter() - t0
    return _row(job, outcome, error, wall_time_s=round(wall, 3), transcript=f"{RUNS_DIR}/{job.transcript_name}",
                started=started, config=job_config(base), traceback=trace)


def _row(job: Job, outcome: RunOutcome, error: str, **rest: Any) -> ResultRow:
    """A job's row, from how its run went (`agent.outcome`) and what crashed it, if anything: failed when it
    crashed, ended without an ending, or ended on a failure that says nothing of the agent."""
    finished = outcome.ending
    if finished is None and not error:
        error = "the run ended without a run_finished event"
    reason = "crashed" if error or finished is None else finished.reason
    if not error and outcome.broken:
        error = finished.detail.splitlines()[0][:500] if finished and finished.detail else reason
    usage, notes = outcome.reported if finished else None, outcome.note_usage
    return ResultRow(
        task=job.task, setting=job.setting, repeat=job.repeat, success=not error and outcome.tests_passed is True,
        iterations=outcome.iterations if finished else 0, reflection_calls=outcome.reflection_calls,
        prompt_tokens=usage.prompt_tokens if usage else 0, completion_tokens=usage.completion_tokens if usage else 0,
        reflection_prompt_tokens=notes.prompt_tokens, reflection_completion_tokens=notes.completion_tokens,
        exit_reason=reason, worker=worker_name(), status="failed" if error else "done", error=error,
        detail=(finished.detail if finished else "")[:2000], **rest)


def lost_row(job: Job, base: RunOptions, exc: BaseException, *, worker: str = "", started: float = 0.0) -> ResultRow:
    """The failed row of a job whose worker went away (killed, out of memory, its machine gone) or that
    could not start there: it ran on, or was meant for, another process, which left no row of its own."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return ResultRow(
        task=job.task, setting=job.setting, repeat=job.repeat, success=False, iterations=0, reflection_calls=0,
        prompt_tokens=0, completion_tokens=0, wall_time_s=round(time.time() - started, 3) if started else 0.0,
        exit_reason="crashed", worker=worker, status="failed", error=f"{type(exc).__name__}: {first}"[:500],
        transcript=f"{RUNS_DIR}/{job.transcript_name}", started=started, config=job_config(base),
        traceback=str(exc)[-4000:])


async def _dispose(run: Any, keep_workspace: bool) -> None:
    """Close the job's client and remove its temporary workspace (a copy of the task's repo)."""
    if run is None:
        return
    client = getattr(getattr(getattr(run, "loop", None), "model", None), "client", None)
    try:
        if client is not None and hasattr(client, "close"):
            await client.close()
    except Exception:
        pass
    run.release_workspace(keep_workspace)


def write_record(path: Path, row: ResultRow) -> None:
    atomic_write(path, json.dumps(asdict(row), indent=1) + "\n")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write next to the target, then rename: a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def load_record(path: Path) -> ResultRow | None:
    try:
        return ResultRow.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def transcript_complete(path: Path) -> bool:
    """True when the transcript's last line is a run_finished that is not `cancelled`."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        last = json.loads(tail)
    except (OSError, ValueError):
        return False
    return isinstance(last, dict) and last.get("type") == "run_finished" and last.get("reason") != "cancelled"


def finished_record(out_dir: Path, job: Job) -> ResultRow | None:
    """The job's record, if the job is over: the record exists and its transcript ended (a failed job
    that crashed before writing a transcript counts too)."""
    transcript, record = job_paths(out_dir, job)
    row = load_record(record)
    if row is None:
        return None
    if row.failed and row.exit_reason == "crashed":
        return row
    return row if transcript_complete(transcript) else None


def all_records(out_dir: Path) -> list[ResultRow]:
    rows = []
    for path in sorted((out_dir / JOBS_DIR).glob("*.json")):
        row = load_record(path)
        if row is not None:
            rows.append(row)
    return rows


def check_compatible(out_dir: Path, config: dict[str, Any]) -> None:
    """Refuse a folder whose records were made with other settings: resuming would mix two grids."""
    for row in all_records(out_dir):
        for key, value in config.items():
            if key in row.config and row.config[key] != value:
                raise GridError(f"{out_dir} holds runs made with {key}={row.config[key]!r} (now {value!r}), "
                                f"e.g. {row.job.job_id}: use another --out, or the same settings to resume")
