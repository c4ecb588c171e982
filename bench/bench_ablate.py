"""What bounded concurrency buys an ablation grid against a slow endpoint, and what going through Ray costs.

Starts the loopback endpoint (tests/loopback.py) with a fixed delay before every answer and runs the same
grid (quicksort x off,system x 4 repeats = 8 jobs), each time into a fresh temporary folder: with the local
backend at concurrency 1 and then 8, then with the Ray backend on a local Ray of this machine at the
highest concurrency, twice (the first run starts Ray's worker processes, the second finds them warm). It
prints wall time, jobs per minute and the most requests the endpoint saw at once for each, Ray's start-up
(once per `ablate` call), and Ray's overhead per job.

    .venv/bin/python bench/bench_ablate.py [--latency 0.5] [--repeats 4] [--concurrency 1,8] [--no-ray]

Ray's overhead is given in two parts, both against the local backend at the same concurrency and with as
many Ray slots as local jobs at once (--cpus-per-job = CPUs / concurrency): the wait before the first job
starts (the grid's coordinator actor, and on a cold run the workers' start), paid once per call; and per
job, (Ray wall - that wait) - (local wall - its wait), times slots / jobs: the time each job occupies a
slot beyond what the same job takes in-process (dispatch, the result's way back, the request tokens' actor
calls). Each job also runs the task's tests three times (two run_tests calls and the final check), CPU that
concurrency cannot hide on a small machine; to keep it down the bench sets PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
for the task's test runs (the bundled tasks need no plugin); `--with-plugins` leaves it unset.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.experiments.ablate import GridRun, QuietProgress, run_grid  # noqa: E402
from agent.experiments.backends import Backend  # noqa: E402
from agent.experiments.jobs import Job, make_grid  # noqa: E402
from agent.run.runner import RunOptions  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402


class FirstStart(QuietProgress):
    """Notes when the first job started on a worker."""

    first: float | None = None

    def job_started(self, job: Job) -> None:
        super().job_started(job)
        if self.first is None:
            self.first = time.perf_counter()


def run_once(label: str, jobs: list[Job], base: RunOptions, server: LoopbackServer, concurrency: int,
             backend: Backend | None = None) -> tuple[float, float]:
    """Run the grid into a fresh folder; print one line; return the wall time and the time to the first
    job's start."""
    server.max_in_flight = 0
    before = server.count
    progress = FirstStart()
    with tempfile.TemporaryDirectory(prefix="bench-ablate-") as out:
        t0 = time.perf_counter()
        grid: GridRun = asyncio.run(run_grid(jobs, base, Path(out), concurrency=concurrency, backend=backend,
                                             progress=progress))
        wall = time.perf_counter() - t0
    ok = sum(r.success for r in grid.ran)
    failed = sum(r.failed for r in grid.ran)
    first = (progress.first or t0) - t0
    print(f"{label:<34} {wall:6.2f}s wall, {60 * len(grid.ran) / wall:5.1f} jobs/min, {len(grid.ran)} jobs "
          f"({ok} passed, {failed} failed), {server.count - before} requests, "
          f"at most {server.max_in_flight} in flight, first job started after {first:.2f}s")
    return wall, first


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency", type=float, default=0.5, help="seconds before every answer (default 0.5)")
    p.add_argument("--repeats", type=int, default=4, help="repeats of each setting (default 4: 8 jobs)")
    p.add_argument("--settings", default="off,system", help="reflection settings (default off,system)")
    p.add_argument("--concurrency", default="1,8", help="local concurrency levels; Ray runs at the last (default 1,8)")
    p.add_argument("--no-ray", action="store_true", help="the local backend only")
    p.add_argument("--with-plugins", action="store_true", help="let the task's pytest load every installed plugin")
    args = p.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    if not args.with_plugins:
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # before Ray starts: its workers inherit it
    settings = args.settings.split(",")
    jobs = make_grid(["quicksort"], settings, args.repeats)
    levels = [int(x) for x in args.concurrency.split(",")]
    cpus = os.cpu_count() or 1
    print(f"grid: quicksort x {','.join(settings)} x {args.repeats} repeats = {len(jobs)} jobs; "
          f"endpoint latency {args.latency:.2f}s per answer; {cpus} CPUs")
    walls: dict[int, tuple[float, float]] = {}
    with LoopbackServer.for_tasks(["quicksort"], latency=args.latency) as server:
        base = RunOptions(task=None, provider="vllm", model="loopback", base_url=server.base_url,
                          step_mode="continuous")
        for k in levels:
            walls[k] = run_once(f"local, concurrency {k}:", jobs, base, server, k)
        if len(levels) >= 2:
            lo, hi = levels[0], levels[-1]
            print(f"speed-up c={hi} over c={lo}: {walls[lo][0] / walls[hi][0]:.1f}x")
        if not args.no_ray:
            bench_ray(jobs, base, server, levels[-1], walls[levels[-1]], cpus)
    return 0


def bench_ray(jobs: list[Job], base: RunOptions, server: LoopbackServer, k: int, local: tuple[float, float],
              cpus: int) -> None:
    t0 = time.perf_counter()
    import ray

    imported = time.perf_counter()
    ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1",
             logging_level=logging.ERROR, log_to_driver=False)
    started = time.perf_counter()
    print(f"Ray: import {imported - t0:.2f}s, local Ray started in {started - imported:.2f}s (once per call)")
    from agent.experiments.ray_backend import RayBackend

    try:
        backend = RayBackend(cpus_per_job=cpus / k)
        for label in ("cold workers", "warm workers"):
            wall, first = run_once(f"ray, concurrency {k}, {label}:", jobs, base, server, k, backend)
            per_job = ((wall - first) - (local[0] - local[1])) * k / len(jobs)
            print(f"  Ray's overhead: {first - local[1]:.2f}s before the first job starts (once per call), "
                  f"then {per_job:+.2f}s per job ({k} slots of {cpus / k:g} CPU)")
    finally:
        t1 = time.perf_counter()
        ray.shutdown()
        print(f"Ray shut down in {time.perf_counter() - t1:.2f}s")


if __name__ == "__main__":
    sys.exit(main())
