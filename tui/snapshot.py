"""Render the app headless to an SVG: `agent-tui open FILE --snapshot OUT.svg --size 140x45`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual.app import App

from agent.display.terminal import inert

SETTLE_ROUNDS = 5
"""At most this many rounds of widgets mounting widgets before the screen counts as drawn."""


async def first_screen(app: App) -> None:
    """Until the first screen is drawn: every widget on it has handled what it was sent and the screen has
    been refreshed since, again as long as that mounted new widgets (the footer comes in `on_mount`).

    Not "until the process is idle": a big file is read behind the first screen, and that screen is the
    one to show, not the one after the file is read."""
    for _ in range(SETTLE_ROUNDS):
        nodes = [app, *app.screen.walk_children(with_self=True)]
        handled = []
        for node in nodes:
            event = asyncio.Event()
            if node.call_later(event.set):
                handled.append(event.wait())
        await asyncio.gather(*handled)
        await app.screen.wait_for_refresh()
        if len(nodes) == 1 + len(app.screen.walk_children(with_self=True)):
            return


async def render_svg(app: App, out: Path | str, size: tuple[int, int] = (140, 45)) -> Path:
    """Run `app` headless at `size` (columns, rows), wait for its first screen, save it to `out` as SVG.

    The file is written as soon as the screen is exported, before the app shuts down, and appears whole
    (written beside, then renamed): whoever waits for it never reads half a file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    async with app.run_test(size=size):
        await first_screen(app)
        partial.write_text(app.export_screenshot(title=inert(app.title)), encoding="utf-8")  # a file name is data too
        os.replace(partial, out)
    return out
