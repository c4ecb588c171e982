"""`ablate --backend ray`: each job of a grid is one Ray task, on whichever machine of the cluster has room.

The task runs the same job function as the local backend (agent.experiments.jobs.run_job) in a temporary folder of
its worker and returns the transcript's bytes with the job's row; the driver, the only writer of the grid
folder, stores both, so workers need no shared filesystem. A task that dies with its worker (killed, out of
memory, its machine gone) is not retried by Ray: the driver records the job as failed, and the next call
runs it again, as it does any failed job.

Without an address, the grid starts a local Ray for the call (on the loopback address, shut down at the
end); `--address auto` joins the cluster started with `ray start` on this machine, `ray://HOST:PORT` one
elsewhere through Ray Client. Every node needs agent-tui installed, and the provider's key variable set in
the shell that ran `ray start` there: keys are not sent through the cluster.

Concurrency: a job sends one request at a time, but a cluster runs many jobs at once, and `--concurrency`
is about the endpoint's limit, not the cluster's size. One coordinator actor per grid
(agent.experiments.coordinator) holds K tokens; every worker's SDK client takes one per HTTP attempt and gives it
back when the response is closed (agent.models.gate), so at most K requests are in flight over all
workers, however many jobs run. Tokens are counted per job, and when a job ends, lost or not, the driver
hands back whatever it still held: a worker killed in the middle of a request does not shrink the pool.
The same actor tells the driver which worker started which job, for the progress line and for the record
of a job whose worker is lost.

Ray is imported here only, and only once a grid runs on it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from agent.models.presets import UsageError
from agent.experiments.backends import JobSink
from agent.experiments.coordinator import Coordinator
from agent.experiments.jobs import Job, ResultRow, lost_row, run_job, worker_name
from agent.run.runner import RunOptions


class CoordinatorGate:
    """A job's side of the coordinator's tokens (agent.models.gate.RequestGate)."""

    def __init__(self, coordinator: Any, job_id: str) -> None:
        self.coordinator = coordinator
        self.job_id = job_id

    async def acquire(self) -> None:
        await self.coordinator.acquire.remote(self.job_id)

    def release(self) -> None:
        self.coordinator.release.remote(self.job_id)  # not awaited: calls from one worker arrive in order


def run_job_on_worker(job: Job, base: RunOptions, coordinator: Any,
                      keep_workspace: bool) -> tuple[bytes | None, ResultRow]:
    """The Ray task: the job in a temporary folder of this worker, its requests through the coordinator's
    tokens; the transcript goes back to the driver as bytes."""
    coordinator.job_started.remote(job.job_id, worker_name())
    opts = replace(base, request_gate=CoordinatorGate(coordinator, job.job_id))
    with tempfile.TemporaryDirectory(prefix="agent-tui-job-") as folder:
        row = asyncio.run(run_job(job, opts, folder, keep_workspace=keep_workspace))
        transcript = Path(folder) / row.transcript
        return (transcript.read_bytes() if transcript.is_file() else None), row


@dataclass
class RayBackend:
    """Each job one Ray task reserving `cpus_per_job` CPUs, on the cluster at `address` (None: a local Ray
    started for the call, unless this process is connected to one already)."""

    address: str | None = None
    cpus_per_job: float = 1.0

    def __post_init__(self) -> None:
        if importlib.util.find_spec("ray") is None:
            raise UsageError("--backend ray needs Ray: pip install 'agent-tui[ray]'")

    async def run(self, jobs: Sequence[Job], base: RunOptions, out_dir: Path, sink: JobSink, *,
                  concurrency: int, keep_workspaces: bool) -> None:
        import ray

        started_here = self._connect(ray)
        try:
            await self._run(ray, jobs, base, sink, concurrency, keep_workspaces)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Join the cluster (or start the local one); True when this call started Ray and must stop it."""
        if ray.is_initialized():
            return False
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False}  # the progress line stays one line
        try:
            if self.address is None:
                ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
            else:
                ray.init(address=self.address, **quiet)
        except Exception as exc:
            where = f"--address {self.address}" if self.address else "a local Ray"
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"--backend ray: cannot start or join {where}: {first}") from None
        return True

    async def _run(self, ray: Any, jobs: Sequence[Job], base: RunOptions, sink: JobSink, concurrency: int,
                   keep_workspaces: bool) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
        coordinator = ray.remote(Coordinator).options(  # beside the driver: the grid cannot go on without either
            num_cpus=0, max_concurrency=max(1000, 2 * len(jobs)), scheduling_strategy=here).remote(concurrency)
        task = ray.remote(run_job_on_worker).options(num_cpus=self.cpus_per_job, max_retries=0)
        by_id = {job.job_id: job for job in jobs}
        announced: set[str] = set()

        def announce(job: Job, worker: str) -> None:
            if job.job_id not in announced:
                announced.add(job.job_id)
                sink.started(job, worker)

        async def watch() -> None:
            cursor = 0
            while True:
                news, cursor = await coordinator.started_since.remote(cursor)
                for job_id, worker in news:
                    announce(by_id[job_id], worker)

        async def one(job: Job) -> None:
            ref = task.remote(job, base, coordinator, keep_workspaces)
            try:
                transcript, row = await ref
            except asyncio.CancelledError:
                ray.cancel(ref, force=True)
                sink.stopped(job)
                raise
            except ray.exceptions.RayError as exc:  # the worker died, or the task could not run there
                worker, since = await coordinator.worker_of.remote(job.job_id)
                transcript, row = None, lost_row(job, base, getattr(exc, "cause", None) or exc,
                                                 worker=worker, started=since)
            finally:
                coordinator.job_ended.remote(job.job_id)
            announce(job, row.worker)
            sink.finished(job, row, transcript)

        watcher = asyncio.create_task(watch())
        try:
            async with asyncio.TaskGroup() as group:
                for job in jobs:
                    group.create_task(one(job))
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            ray.kill(coordinator)
