"""How the TUI scales with the length of a transcript.

    python bench/bench_tui.py                      # 10 / 1,000 / 10,000 iterations
    python bench/bench_tui.py --sizes 10 100000    # any sizes
    python bench/bench_tui.py --keep DIR           # keep the generated transcripts in DIR

For each size it writes a synthetic transcript in our JSONL format (agent.transcript.TranscriptWriter and
the event classes: each iteration a short assistant text, one read_file call, a 20-line result; every
tenth iteration a failing run_tests and a reflection note), then, in a fresh subprocess per file, measures:

- first screen: from just before the subprocess is spawned to the app ready and painted (headless, via
  `App.run_test`), so it includes interpreter start-up, imports, reading and parsing the file;
- peak RSS of that process (`resource.getrusage(...).ru_maxrss`);
- j and enter: the mean over 50 presses of the key handler plus repainting the visible lines
  ("handler+paint"), and of the whole path from a key event posted to the app to the screen updated
  ("key→screen": Textual's dispatch, the binding, our handler, layout, compositor and paint).

Comparing with mini-swe-agent's inspector: if `mini-extra` is installed (`pip install mini-swe-agent`;
this script does not install it), convert a transcript to its trajectory format (`{"messages": [...]}`;
`agent.transcript.Transcript.messages()` gives the list) and time `mini-extra inspector FILE` to its first
screen by hand: it remounts every widget of a step on each key, so compare its j / l latency as well.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import asyncio, json, resource, sys, time
sys.path.insert(0, {root!r})
from agent.formats import open_transcript
from tui.app import AgentTuiApp

async def main(path, t_spawn):
    transcript = open_transcript(path)
    app = AgentTuiApp(transcript=transcript, title=path)
    out = {{}}
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        out["first_screen_s"] = time.time() - t_spawn
        view = app.view
        height = view.scrollable_content_region.height

        def paint():
            for y in range(height):
                view.render_line(y)

        def direct(action, n=50):
            total = 0.0
            for _ in range(n):
                t = time.perf_counter()
                action()
                paint()
                total += time.perf_counter() - t
            return total / n * 1000

        async def key_to_screen(key, n=50):
            # Post the key as the terminal driver would, let the app and widgets process it, then run the
            # screen update (layout + compositor + paint) that Textual's refresh timer would run.
            from textual import events
            total = 0.0
            for _ in range(n):
                t = time.perf_counter()
                event = events.Key(key, key if len(key) == 1 else None)
                event.set_sender(app)
                app._driver.send_message(event)
                await pilot._wait_for_screen()
                await pilot._wait_for_screen()
                app.screen._on_timer_update()
                total += time.perf_counter() - t
            return total / n * 1000

        await pilot.press("G")
        out["j_direct_ms"] = direct(view.action_cursor_down)
        out["enter_direct_ms"] = direct(view.action_toggle)
        await pilot.press("g")
        await pilot.pause()
        out["press_overhead_ms"] = await key_to_screen("f12")
        out["j_press_ms"] = await key_to_screen("j")
        out["enter_press_ms"] = await key_to_screen("enter")
        out["nodes"] = len(list(app.screen.walk_children()))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


def generate(n: int, path: Path) -> Path:
    """A synthetic run of `n` iterations, written the way the loop writes it."""
    from agent.events import (
        AssistantMessage,
        IterationStarted,
        ReflectionNote,
        RunFinished,
        RunStarted,
        ToolResult,
        Trigger,
        Usage,
    )
    from agent.transcript import TranscriptHeader, TranscriptWriter

    t0 = 1_700_000_000.0
    header = TranscriptHeader(created=t0, goal="bench", provider="bench", model="synthetic", task="bench")
    if path.exists():
        path.unlink()
    with TranscriptWriter(path, header) as w:
        w.write(RunStarted(ts=t0, messages=[{"role": "system", "content": "You are a coding agent."},
                                            {"role": "user", "content": "Make the tests pass."}]))
        size = 2
        for i in range(1, n + 1):
            w.write(IterationStarted(ts=t0 + i, iteration=i, request_size=size))
            failing = i % 10 == 0
            name = "run_tests" if failing else "read_file"
            cid = f"call_{i:06d}"
            args = "{}" if failing else json.dumps({"path": f"src/module_{i % 50}.py"})
            w.write(AssistantMessage(
                ts=t0 + i, iteration=i, latency_s=1.5, finish_reason="tool_calls", model="synthetic",
                usage=Usage(prompt_tokens=1000 + 10 * i, completion_tokens=60),
                message={"role": "assistant", "content": f"Iteration {i}: looking at the next module.",
                         "tool_calls": [{"id": cid, "type": "function",
                                         "function": {"name": name, "arguments": args}}]}))
            if failing:
                content = f"FAILED test_{i}.py::test_case - AssertionError\n1 failed, 9 passed"
            else:
                content = "\n".join(f"{k:4d}| value_{k} = compute({k}, {i})" for k in range(20))
            w.write(ToolResult(ts=t0 + i, iteration=i, tool_call_id=cid, name=name, arguments=args, content=content,
                               is_error=failing, duration_s=0.01,
                               message={"role": "tool", "tool_call_id": cid, "content": content}))
            size += 2
            if failing:
                note = "The test fails on an edge case; read it before editing."
                w.write(ReflectionNote(ts=t0 + i, iteration=i, role="system", content=note,
                                       triggers=[Trigger(kind="tool_error", evidence="1 failed")],
                                       messages=[{"role": "system", "content": note}]))
                size += 1
        w.write(RunFinished(ts=t0 + n + 1, reason="max_steps", iterations=n))
    return path


def measure(path: Path) -> dict[str, float]:
    code = CHILD.format(root=str(ROOT))
    t_spawn = time.time()
    proc = subprocess.run([sys.executable, "-c", code, str(path), repr(t_spawn)], capture_output=True, text=True,
                          timeout=600, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--keep", type=Path, default=None, help="write the transcripts here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-tui-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for n in args.sizes:
            path = generate(n, folder / f"synthetic-{n}.jsonl")
            result = measure(path)
            result["iterations"] = n
            result["file_mb"] = path.stat().st_size / 1e6
            rows.append(result)
            print(f"  {n:>7,} iterations measured", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    head = (f"{'iterations':>10}  {'file MB':>7}  {'first screen':>12}  {'peak RSS':>9}  {'j (handler+paint)':>17}  "
            f"{'enter (handler+paint)':>21}  {'j key→screen':>12}  {'enter key→screen':>16}  {'widgets':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['iterations']:>10,}  {r['file_mb']:>7.1f}  {r['first_screen_s']:>11.2f}s  {r['peak_rss_mb']:>6.0f} MB"
              f"  {r['j_direct_ms']:>14.2f} ms  {r['enter_direct_ms']:>18.2f} ms  {r['j_press_ms']:>6.2f} ms"
              f"  {r['enter_press_ms']:>10.2f} ms  {r['nodes']:>7}")
    for r in rows:
        print(f"(an unbound key, key→screen, at {r['iterations']:,} iterations: {r['press_overhead_ms']:.2f} ms)")
    if shutil.which("mini-extra"):
        print("mini-extra is installed: see this file's docstring to compare with its inspector.")


if __name__ == "__main__":
    main()
