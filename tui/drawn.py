"""Waiting for a screen to be drawn, for those who act on it once it is: the snapshot of a first screen,
and a big file read behind the first screen."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.screen import Screen

ROUNDS = 5
"""At most this many rounds of widgets mounting widgets before a screen counts as drawn."""


async def drawn(screen: Screen[Any]) -> None:
    """Until `screen` is drawn: every widget on it has handled what it was sent and the screen has been
    refreshed since, again as long as that mounted new widgets (the footer's keys come a refresh after the
    footer). Not "until the process is idle": a big file is still being read behind a drawn screen.

    To be awaited from another task than the screen's own (a worker, a test, the snapshot)."""
    for _ in range(ROUNDS):
        nodes = [screen.app, *screen.walk_children(with_self=True)]
        handled = []
        for node in nodes:
            event = asyncio.Event()
            if node.call_later(event.set):
                handled.append(event.wait())
        await asyncio.gather(*handled)
        await screen.wait_for_refresh()
        if len(nodes) == 1 + len(screen.walk_children(with_self=True)):
            return
