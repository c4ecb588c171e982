"""Render the app headless to an SVG: `agent-tui open FILE --snapshot OUT.svg --size 140x45`."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import App

from agent.display.terminal import inert
from tui.screens.drawn import first_drawn


async def render_svg(app: App, out: Path | str, size: tuple[int, int] = (140, 45)) -> Path:
    """Run `app` headless at `size` (columns, rows), wait for its first screen, save it to `out` as SVG.

    The file is written as soon as the screen is exported, before the app shuts down, and appears whole
    (written beside, then renamed): whoever waits for it never reads half a file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    async with app.run_test(size=size):
        await first_drawn(app.screen)
        partial.write_text(app.export_screenshot(title=inert(app.title)), encoding="utf-8")  # a file name is data too
        os.replace(partial, out)
    return out
