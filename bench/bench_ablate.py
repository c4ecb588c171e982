"""How much bounded concurrency buys an ablation grid against a slow endpoint.

Starts the loopback endpoint (tests/loopback.py) with a fixed delay before every answer, runs the same grid
(quicksort x off,system x 4 repeats = 8 jobs) with concurrency 1 and then 8, each into a fresh temporary
folder, and prints the wall times and the speed-up, with the most requests the endpoint saw at once.

    /work/venv/bin/python bench/bench_ablate.py [--latency 0.5] [--repeats 4] [--concurrency 1,8]

Each job also runs the task's tests three times (two run_tests calls and the final check), which costs CPU
that concurrency cannot hide on a small machine: the larger the latency, the closer the speed-up gets to
the concurrency. To keep that cost down, the bench sets PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 for the task's test
runs (the bundled tasks need no plugin; this venv's plugins double pytest's start-up); `--with-plugins`
leaves it unset.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.run.ablate import QuietProgress, make_grid, run_grid  # noqa: E402
from agent.run.runner import RunOptions  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency", type=float, default=0.5, help="seconds before every answer (default 0.5)")
    p.add_argument("--repeats", type=int, default=4, help="repeats of each setting (default 4: 8 jobs)")
    p.add_argument("--settings", default="off,system", help="reflection settings (default off,system)")
    p.add_argument("--concurrency", default="1,8", help="concurrency levels to compare (default 1,8)")
    p.add_argument("--with-plugins", action="store_true", help="let the task's pytest load every installed plugin")
    args = p.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    if not args.with_plugins:
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    settings = args.settings.split(",")
    jobs = make_grid(["quicksort"], settings, args.repeats)
    levels = [int(x) for x in args.concurrency.split(",")]
    print(f"grid: quicksort x {','.join(settings)} x {args.repeats} repeats = {len(jobs)} jobs; "
          f"endpoint latency {args.latency:.2f}s per answer; {os.cpu_count()} CPUs")
    times: dict[int, float] = {}
    with LoopbackServer.for_tasks(["quicksort"], latency=args.latency) as server:
        base = RunOptions(task=None, provider="vllm", model="loopback", base_url=server.base_url,
                          step_mode="continuous")
        for k in levels:
            server.max_in_flight = 0
            before = server.count
            with tempfile.TemporaryDirectory(prefix=f"bench-ablate-c{k}-") as out:
                t0 = time.perf_counter()
                grid = asyncio.run(run_grid(jobs, base, Path(out), concurrency=k, progress=QuietProgress()))
                times[k] = time.perf_counter() - t0
            ok = sum(r.success for r in grid.ran)
            failed = sum(r.failed for r in grid.ran)
            print(f"concurrency {k:>2}: {times[k]:6.2f}s wall, {len(grid.ran)} jobs ({ok} passed, {failed} failed), "
                  f"{server.count - before} requests, at most {server.max_in_flight} in flight")
    if len(levels) >= 2:
        lo, hi = levels[0], levels[-1]
        print(f"speed-up c={hi} over c={lo}: {times[lo] / times[hi]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
