"""How much the harness itself costs per iteration, and how the transcript grows.

Runs a long scripted session (default 1,000 iterations) through the real SDK with the in-process offline
model, and prints, per block of 100 iterations, the wall time per iteration and the bytes the transcript
gained. Time is split in two: the model call (the openai SDK building and parsing the request, plus the
in-process offline model) and the harness's own work (tools, ordering check, events, transcript). The
request must carry the whole history (that is the API), so the SDK's share grows with it; the harness's
share and the transcript's bytes per iteration should stay flat.

    python bench/bench_loop.py [--iterations 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.events import AssistantMessage, RunFinished  # noqa: E402
from agent.run.runner import RunOptions, build_run  # noqa: E402


def make_script(path: Path, iterations: int) -> None:
    replies = []
    for i in range(iterations - 1):
        name, args = (("read_file", {"path": "notes.txt"}) if i % 2 else ("list_files", {"path": "."}))
        replies.append({"role": "assistant", "content": f"step {i}",
                        "tool_calls": [{"id": f"call_{i:05d}", "type": "function",
                                        "function": {"name": name, "arguments": json.dumps(args)}}]})
    replies.append({"role": "assistant", "content": "done", "tool_calls": [
        {"id": "call_end", "type": "function", "function": {"name": "finish", "arguments": '{"summary": "ok"}'}}]})
    path.write_text(json.dumps(replies))


async def main(iterations: int, block: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ws").mkdir()
        (root / "ws" / "notes.txt").write_text("a short file\n" * 5)
        make_script(root / "script.json", iterations)
        out = root / "run.jsonl"
        run = build_run(RunOptions(workspace=root / "ws", goal="bench", test_cmd=None, script=root / "script.json",
                                   max_steps=iterations, reflection="off", out=out, task=None))
        model_s = 0.0
        stream = run.loop.model.stream

        async def timed(*args, **kwargs):
            """The model's stream, timed while it works (not while the loop handles what it handed over)."""
            nonlocal model_s
            items = stream(*args, **kwargs)
            while True:
                t0 = time.perf_counter()
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    return
                finally:
                    model_s += time.perf_counter() - t0
                yield item

        run.loop.model.stream = timed
        print(f"{'iterations':>12} {'ms/iter':>8} {'SDK+model':>10} {'harness':>8} {'bytes/iter':>11} {'history':>8}")
        started = last_t = time.perf_counter()
        last_size, count, last_model = 0, 0, 0.0
        async for event in run.events():
            if isinstance(event, AssistantMessage):
                count += 1
                if count % block == 0:
                    now, size = time.perf_counter(), out.stat().st_size
                    wall, model = (now - last_t) / block, (model_s - last_model) / block
                    print(f"{count - block + 1:>5}-{count:<6} {1000 * wall:>8.2f} {1000 * model:>10.2f} "
                          f"{1000 * (wall - model):>8.2f} {(size - last_size) / block:>11.0f} "
                          f"{len(run.loop.messages):>8}")
                    last_t, last_size, last_model = now, size, model_s
            if isinstance(event, RunFinished):
                total = time.perf_counter() - started
                own = (total - model_s) / max(count, 1)
                print(f"\n{count} iterations in {total:.2f} s; the harness's own time {1000 * own:.2f} ms per "
                      f"iteration, the SDK and model {1000 * model_s / max(count, 1):.2f} ms; transcript "
                      f"{out.stat().st_size / 1e6:.2f} MB; run ended: {event.reason}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--block", type=int, default=100)
    ns = parser.parse_args()
    asyncio.run(main(ns.iterations, ns.block))
