"""What the app's handling of the garbage collector (`tui/collector.py`) saves, measured both ways.

    python bench/bench_collector.py                  # 10,000 iterations, 5 runs each way
    python bench/bench_collector.py --iterations 1000 --runs 9

A synthetic transcript (`bench_tui.generate`) is opened as `agent-tui open FILE` opens it (the collector off
while starting, the first step read before the app, the app headless at 140x45, the rest of the file read
behind the first screen), each run in a fresh process, taking turns with a process in which `tui.collector`'s
`starting` and `started` do nothing. Every collection is timed (`gc.callbacks`, installed first thing) and
counted by phase: from the process's start to the first screen drawn, while the rest of the file is read
behind it, and over 120 key presses once it is all read (30 `n`, 90 `j`). Medians of the runs; collections'
times are what the collector took, whatever the machine's load does to the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import gc, json, sys, time
phase = ["start"]
stats = {}
began = [0.0]
def timed(step, info):
    if step == "start":
        began[0] = time.perf_counter()
        return
    s = stats.setdefault(phase[0], {"full": 0, "full_ms": 0.0, "all_ms": 0.0})
    ms = (time.perf_counter() - began[0]) * 1000
    s["all_ms"] += ms
    if info["generation"] == 2:
        s["full"] += 1
        s["full_ms"] += ms
gc.callbacks.append(timed)
sys.path.insert(0, ROOT)
import tui.collector
if sys.argv[2] == "left-alone":
    from contextlib import nullcontext
    tui.collector.starting = nullcontext
    tui.collector.started = lambda: None
import asyncio
import tui.main  # as the command does, before it starts the app
from tui.collector import starting

async def main(path):
    from agent.transcripts.importers import open_transcript
    from tui.app import AgentTuiApp
    from tui.screens.drawn import first_drawn
    from tui.screens.transcript import TranscriptScreen

    screen = TranscriptScreen(transcript=open_transcript(path, in_steps=True), title=path)
    screen.load()
    app = AgentTuiApp(screen)
    async with app.run_test(size=(140, 45)) as pilot:
        await first_drawn(app.screen)
        await asyncio.sleep(0)  # the app's collector worker, waiting for the same first screen, runs started()
        phase[0] = "read"
        while screen.reading:
            await pilot.pause(0.01)
        await pilot.pause()
        phase[0] = "keys"
        for key in ["n"] * 30 + ["j"] * 90:
            await pilot.press(key)
        phase[0] = "end"
    print(json.dumps(stats))

with starting():
    asyncio.run(main(sys.argv[1]))
"""

PHASES = {"start": "start to first screen", "read": "reading the rest", "keys": "120 key presses"}
MODES = ("as the app does", "left-alone")


def run(code: str, path: Path, mode: str) -> dict[str, dict[str, float]]:
    proc = subprocess.run([sys.executable, "-c", code, str(path), mode], capture_output=True, text=True,
                          timeout=600, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from bench_tui import generate

    load = os.getloadavg()[0]
    code = f"ROOT = {str(ROOT)!r}\n" + CHILD
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as folder:
        path = generate(args.iterations, Path(folder) / f"synthetic-{args.iterations}.jsonl")
        for mode in MODES:
            run(code, path, mode)  # warm-up: bytecode, the file in the page cache
        results: dict[str, list[dict[str, dict[str, float]]]] = {mode: [] for mode in MODES}
        for _ in range(args.runs):
            for mode in MODES:
                results[mode].append(run(code, path, mode))
    print(f"the garbage collector's work opening {args.iterations:,} iterations as `agent-tui open` does, "
          f"medians of {args.runs} runs each way")
    print(f"{'collector':<18}" + "".join(f"{what:>34}" for what in PHASES.values()))
    for mode in MODES:
        row = f"{'off while starting' if mode == MODES[0] else 'left alone':<18}"
        for phase in PHASES:
            def median(key: str) -> float:
                return statistics.median(r.get(phase, {}).get(key, 0) for r in results[mode])

            row += f"{median('all_ms'):>10.1f} ms, {median('full'):g} full: {median('full_ms'):5.1f} ms"
        print(row)
    print(f"\n(all generations' collections in ms; then the full ones, their count and time; the machine's load "
          f"{load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
