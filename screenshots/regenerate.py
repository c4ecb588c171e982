"""Regenerate the README's screenshots: Textual's SVG export, rendered to PNG by headless Chromium.

    python screenshots/regenerate.py            # needs Debian's chromium and fonts-firacode
    python screenshots/regenerate.py raw-reply  # only the pictures named

This makes every picture in this folder (it ends by running regenerate_compare.py and regenerate_export.py).

Each picture drives the real app headless (`App.run_test`), the way a person would with the keys, then
saves `screenshots/NAME.svg` and `screenshots/NAME.png`. Chromium draws terminal SVGs faithfully
(cairosvg and rsvg-convert do not). Runs go offline, in a temporary folder, so no key and no local path
shows up in a picture.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HERE = ROOT / "screenshots"

from agent.transcripts.importers import open_transcript  # noqa: E402
from agent.run.fork import ForkSpec, build_fork  # noqa: E402
from agent.run.runner import RunOptions, build_run, demo_run  # noqa: E402
from tui.app import AgentTuiApp  # noqa: E402
from tui.screens.compare import CompareScreen  # noqa: E402
from tui.screens.runs import RunsScreen  # noqa: E402
from tui.screens.transcript import TranscriptScreen  # noqa: E402

SIZE = (130, 42)
SMALL = (80, 24)

WRONG_ORDER = '''"""Quicksort, written for clarity rather than speed."""


def quicksort(items):
    """Return a new list with the items of `items` in ascending order."""
    if len(items) <= 1:
        return list(items)
    pivot = items[len(items) // 2]
    smaller = [x for x in items if x < pivot]
    equal = [x for x in items if x == pivot]
    larger = [x for x in items if x > pivot]
    return quicksort(larger) + equal + quicksort(smaller)
'''


def _call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


REWRITE = [  # a model that rewrites the file with write_file, sorts it the wrong way round, and fixes it
    {"role": "assistant", "content": "Let me read the sort.", "tool_calls": [_call("call_w1", "read_file", path="quicksort.py")]},
    {"role": "assistant", "content": "Duplicates of the pivot are dropped. I'll rewrite the function to keep them.",
     "tool_calls": [_call("call_w2", "write_file", path="quicksort.py", content=WRONG_ORDER)]},
    {"role": "assistant", "content": "Now the tests.", "tool_calls": [_call("call_w3", "run_tests")]},
    {"role": "assistant", "content": "The result is in descending order: the two halves are swapped.",
     "tool_calls": [_call("call_w4", "edit_file", path="quicksort.py",
                          old="    return quicksort(larger) + equal + quicksort(smaller)",
                          new="    return quicksort(smaller) + equal + quicksort(larger)")]},
    {"role": "assistant", "content": "The tests again.", "tool_calls": [_call("call_w5", "run_tests")]},
    {"role": "assistant", "content": "All tests pass.", "tool_calls": [_call("call_w6", "finish",
                                                                            summary="keeps duplicates, ascending")]},
]


async def rewrite_run() -> Path:
    """The REWRITE script run for real (offline, the real tools and tests); its transcript, in the cwd."""
    script, out = Path("rewrite-script.json"), Path("rewrite.jsonl")
    script.write_text(json.dumps(REWRITE), encoding="utf-8")
    run = build_run(RunOptions(task="quicksort", provider="scripted", script=script, out=out, reflection="off"))
    async for _ in run.events():
        pass
    return out


def _open_at(screen: Any, number: int, kind: str) -> None:
    """Open iteration `number` alone, the cursor on its first item of `kind`, scrolled to the top."""
    view = screen.view
    view.action_collapse_all()
    b = next(k for k, block in enumerate(screen.model.blocks) if block.number == number)
    view.set_expanded(b, True)
    i = next(k for k, item in enumerate(screen.model.blocks[b].get_items()) if item.kind == kind)
    view.goto(b, i)
    view.scroll_to(y=view.block_top(b), animate=False)


async def write_file_diff(screen: Any, pilot: Any) -> None:
    _open_at(screen, 2, "call")  # write_file: its content as code, then what it changed, as a diff


async def failing_result(screen: Any, pilot: Any) -> None:
    _open_at(screen, 3, "result")  # the failing run, folded around its assertion errors


async def small_terminal(screen: Any, pilot: Any) -> None:
    await steps(screen, pilot, 2)
    await pilot.press("x")  # the failing test run of iteration 2


async def wait_for(pilot: Any, cond: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state")
        await pilot.pause(0.05)


async def shoot(name: str, screen: Any, drive: Callable[[Any, Any], Awaitable[None]], size=SIZE) -> Path:
    app = AgentTuiApp(screen)
    async with app.run_test(size=size) as pilot:
        await drive(screen, pilot)
        await pilot.pause(0.3)
        svg = app.export_screenshot(title=name)
    out = HERE / f"{name}.svg"
    out.write_text(svg, encoding="utf-8")
    return out


async def steps(screen: Any, pilot: Any, count: int) -> None:
    """Press n `count` times and wait until the loop is parked again after the last one."""
    await wait_for(pilot, lambda: screen.control.waiting)
    for _ in range(count):
        await pilot.press("n")
    await wait_for(pilot, lambda: screen.model.iterations == count and screen.control.waiting
                   and screen.view.running_block is None)


async def demo_step(screen: Any, pilot: Any) -> None:
    await steps(screen, pilot, 3)
    await pilot.press("g", "j", "enter")  # open iteration 1
    await pilot.press("tab", "tab")  # the second call: its result lights up


async def reflection(screen: Any, pilot: Any) -> None:
    await steps(screen, pilot, 3)
    # iteration 2: the failing test run, and the note written about it
    b = next(k for k, block in enumerate(screen.model.blocks) if block.number == 2)
    i = next(k for k, item in enumerate(screen.model.blocks[b].get_items()) if item.kind == "reflection")
    screen.view.set_expanded(b, True)
    screen.view.goto(b, i)


async def request_view(screen: Any, pilot: Any) -> None:
    await steps(screen, pilot, 3)
    await pilot.press("v")


async def violation(screen: Any, pilot: Any) -> None:
    await pilot.press("e")


LOCAL_RUN = "docs/results/runs/humanevalfix-71__system__r1.jsonl"
"""A real run: Qwen2.5-Coder-1.5B through llama-cpp-python's server, in text tool-call mode."""


def local_run() -> TranscriptScreen:
    return TranscriptScreen(transcript=open_transcript(ROOT / LOCAL_RUN), title=LOCAL_RUN, source=LOCAL_RUN)


async def request_as_sent(screen: Any, pilot: Any) -> None:
    _open_at(screen, 2, "assistant")
    await pilot.press("v")  # iteration 2's request as it went on the wire: the parameters, the calling rules at the
    # end of the system prompt, the reply sent back as <tool_call> text (the tools follow, below)


async def raw_reply(screen: Any, pilot: Any) -> None:
    _open_at(screen, 1, "assistant")  # what the model wrote (five calls, finish among them); the one taken, under it


async def record_forks() -> None:
    """forks/: the demo, forks of it at iteration 2 (the note dropped; asked again as a user message), a fork
    of the first fork at 4 with a note written by hand, and a run without reflection, as `agent-tui fork`
    makes them."""
    runs = [lambda: build_run(RunOptions(task="quicksort", out=Path("forks/demo.jsonl"))),
            lambda: build_run(RunOptions(task="quicksort", reflection="off", out=Path("forks/no-reflection.jsonl"))),
            lambda: build_fork(ForkSpec(Path("forks/demo.jsonl"), 2, drop_note=True)),
            lambda: build_fork(ForkSpec(Path("forks/demo.jsonl"), 2, overrides={"reflection": "user"})),
            lambda: build_fork(ForkSpec(Path("forks/demo.fork2.jsonl"), 4, edit_note="Run the tests now.",
                                        overrides={"max_steps": 8}))]
    for make in runs:
        run = make()
        async for _ in run.events():
            pass
        shutil.rmtree(run.workspace, ignore_errors=True)


async def fork_form(screen: Any, pilot: Any) -> None:
    b = next(k for k, block in enumerate(screen.model.blocks) if block.number == 2)
    screen.view.goto(b, 0)
    await pilot.press("F")
    await wait_for(pilot, lambda: pilot.app.screen is not screen)
    pilot.app.screen.query_one("#note-drop").value = True


async def runs_loaded(screen: Any, pilot: Any) -> None:
    await wait_for(pilot, lambda: screen.loading_done)


async def fork_point(screen: Any, pilot: Any) -> None:
    await pilot.pause()
    await pilot.press("enter")  # close iteration 2: the line where the fork went live, the divergence under it


async def fork_shots() -> None:
    """The fork form over the demo, the runs of a folder as a tree of forks, a fork beside its parent."""
    await record_forks()
    demo, fork = "forks/demo.jsonl", "forks/demo.fork2.jsonl"
    for name, screen, drive, size in [
        ("fork-form", TranscriptScreen(transcript=open_transcript(demo), title=demo), fork_form, SIZE),
        ("fork-tree", RunsScreen(Path("forks")), runs_loaded, (130, 14)),
        ("fork-compare", CompareScreen(open_transcript(demo), open_transcript(fork), label_a=demo, label_b=fork),
         fork_point, (160, 16)),
    ]:
        svg = await shoot(name, screen, drive, size)
        print(f"{to_png(svg, size).relative_to(ROOT)}")


def to_png(svg: Path, size: tuple[int, int] = SIZE, window: tuple[int, int] | None = None) -> Path:
    """Chromium's picture of `svg` (or of any page: `window` is then its size in pixels), beside it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt-get install chromium fonts-firacode")
    png = svg.with_suffix(".png")
    width, height = window or (size[0] * 11 + 40, size[1] * 22 + 80)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        f"--user-data-dir={profile}", f"--window-size={width},{height}", f"--screenshot={png}",
                        svg.as_uri()], check=True, capture_output=True, timeout=120)
    return png


def big_file() -> None:
    """`agent-tui open` on a 10,000-iteration run (bench_tui's synthetic one), saved as the command saves
    it: the first screen, drawn from the file's first 128 kB and its last line, the rest still being read."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_tui import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(10_000, Path(tmp) / "synthetic-10000.jsonl")
        svg = HERE / "big-file-first-screen.svg"
        subprocess.run([sys.executable, "-m", "tui.main", "open", "synthetic-10000.jsonl", "--snapshot", str(svg),
                        "--size", f"{SIZE[0]}x{SIZE[1]}"], check=True, cwd=tmp, capture_output=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
        print(f"{to_png(svg, SIZE).relative_to(ROOT)}")


async def main() -> None:
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the tasks' own test runs, faster
    home = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # relative run paths in the status bar
        rewrite = await rewrite_run()

        def rewritten() -> TranscriptScreen:
            return TranscriptScreen(transcript=open_transcript(rewrite), title=rewrite.name)

        def demo() -> TranscriptScreen:
            return TranscriptScreen(run=demo_run(step_mode=True))

        def bad_order() -> TranscriptScreen:
            return TranscriptScreen(transcript=open_transcript(ROOT / "tests/data/bad_order.json"),
                                    title="bad_order.json")

        shots = [  # each screen made when its picture is (a live demo run is a workspace of its own)
            ("demo-step", demo, demo_step, SIZE),
            ("reflection-note", demo, reflection, SIZE),
            ("what-the-model-saw", demo, request_view, SIZE),
            ("ordering-violation", bad_order, violation, SIZE),
            ("write-file-diff", rewritten, write_file_diff, SIZE),
            ("failing-result-folded", rewritten, failing_result, SIZE),
            ("layout-80x24", demo, small_terminal, SMALL),
            ("request-as-sent", local_run, request_as_sent, SIZE),
            ("raw-reply", local_run, raw_reply, SIZE),
        ]
        only = sys.argv[1:]
        for name, make, drive, size in shots:
            if only and name not in only:
                continue
            svg = await shoot(name, make(), drive, size)
            print(f"{to_png(svg, size).relative_to(ROOT)}")
        if not only:
            await fork_shots()
        os.chdir(home)


if __name__ == "__main__":
    asyncio.run(main())
    if sys.argv[1:]:
        raise SystemExit(0)
    big_file()
    import regenerate_compare  # the compare view and the runs picker
    import regenerate_export  # the exported page

    regenerate_compare.main()
    regenerate_export.main()
