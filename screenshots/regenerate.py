"""Regenerate the README's screenshots: Textual's SVG export, rendered to PNG by headless Chromium.

    python screenshots/regenerate.py            # needs Debian's chromium and fonts-firacode

This makes every picture in this folder (it ends by running regenerate_compare.py and regenerate_export.py).

Each picture drives the real app headless (`App.run_test`), the way a person would with the keys, then
saves `screenshots/NAME.svg` and `screenshots/NAME.png`. Chromium draws terminal SVGs faithfully
(cairosvg and rsvg-convert do not). Runs go offline, in a temporary folder, so no key and no local path
shows up in a picture.
"""

from __future__ import annotations

import asyncio
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
from agent.run.runner import demo_run  # noqa: E402
from tui.app import AgentTuiApp  # noqa: E402
from tui.screens.transcript import TranscriptScreen  # noqa: E402

SIZE = (130, 42)


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


async def main() -> None:
    home = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # relative run paths in the status bar
        shots = [
            ("demo-step", TranscriptScreen(run=demo_run(step_mode=True)), demo_step),
            ("reflection-note", TranscriptScreen(run=demo_run(step_mode=True)), reflection),
            ("what-the-model-saw", TranscriptScreen(run=demo_run(step_mode=True)), request_view),
            ("ordering-violation", TranscriptScreen(transcript=open_transcript(ROOT / "tests/data/bad_order.json"),
                                                    title="bad_order.json"), violation),
        ]
        for name, screen, drive in shots:
            svg = await shoot(name, screen, drive)
            print(f"{to_png(svg).relative_to(ROOT)}")
        os.chdir(home)


if __name__ == "__main__":
    asyncio.run(main())
    import regenerate_compare  # the compare view and the runs picker
    import regenerate_export  # the exported page

    regenerate_compare.main()
    regenerate_export.main()
