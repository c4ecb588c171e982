"""Render the app headless to an SVG: `agent-tui open FILE --snapshot OUT.svg --size 140x45`."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from agent.display.terminal import inert


async def render_svg(app: App, out: Path | str, size: tuple[int, int] = (140, 45)) -> Path:
    """Run `app` headless at `size` (columns, rows), wait for its first screen, save it to `out` as SVG."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        svg = app.export_screenshot(title=inert(app.title))  # a file name is data too
    out.write_text(svg, encoding="utf-8")
    return out
