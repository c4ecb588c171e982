"""Where an ablation's jobs run, and how a backend reports them to the grid's driver.

A backend gets the jobs still to run and tells the driver (a `JobSink`) when each one starts on a worker and
when it ends, with its row and, when the worker could not write into the grid folder itself, its
transcript's bytes; the driver writes the folder and draws the progress line. `LocalBackend` runs the jobs as
asyncio tasks in this process; `agent.experiments.ray_backend.RayBackend` runs each as a Ray task.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from agent.experiments.jobs import Job, JobBuilder, ResultRow, run_job, worker_name
from agent.run.runner import RunOptions


class JobSink(Protocol):
    """What the driver hears from a backend. `started` comes before `finished` for every job."""

    def started(self, job: Job, worker: str) -> None: ...

    def finished(self, job: Job, row: ResultRow, transcript: bytes | None) -> None:
        """`transcript`: the run's file, for the driver to store; None when it is in the grid folder already."""

    def stopped(self, job: Job) -> None:
        """The job left without a row (cancelled): it has no record and runs again next time."""


class Backend(Protocol):
    async def run(self, jobs: Sequence[Job], base: RunOptions, out_dir: Path, sink: JobSink, *,
                  concurrency: int, keep_workspaces: bool) -> None:
        """Run every job, reporting each to `sink`; cancelling stops the running jobs and re-raises."""


@dataclass
class LocalBackend:
    """The jobs as asyncio tasks in this process, at most `concurrency` at once: a job sends one request at
    a time (its agent turns and reflection calls are sequential), so K jobs are at most K requests in
    flight. Each job writes its transcript straight into the grid folder."""

    build: JobBuilder | None = None
    """Makes each job's run (default: `run_job`'s, the job's task and reflection setting)."""

    async def run(self, jobs: Sequence[Job], base: RunOptions, out_dir: Path, sink: JobSink, *,
                  concurrency: int, keep_workspaces: bool) -> None:
        gate = asyncio.Semaphore(concurrency)
        worker = worker_name()

        async def one(job: Job) -> None:
            async with gate:
                sink.started(job, worker)
                try:
                    row = await run_job(job, base, out_dir, keep_workspace=keep_workspaces, build=self.build)
                except BaseException:
                    sink.stopped(job)
                    raise
                sink.finished(job, row, None)

        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(one(job))
