"""Waiting for a screen's first frame, for those who act on it once it is drawn: the snapshot of a first
screen, and a big file read behind the first screen."""

from __future__ import annotations

import asyncio
from typing import Any
from weakref import WeakKeyDictionary

from textual.screen import Screen

ROUNDS = 5
"""At most this many rounds of widgets mounting widgets before a screen counts as drawn."""

_drawings: WeakKeyDictionary[Screen[Any], asyncio.Task[None]] = WeakKeyDictionary()


def first_drawn(screen: Screen[Any]) -> asyncio.Task[None]:
    """Done when `screen` is first drawn: every widget on it has handled what it was sent and the screen
    has been refreshed since, again as long as that mounted new widgets. Not "until the process is idle": a
    big file is still being read behind a drawn screen.

    One wait per screen, shared: whoever asks later (the snapshot, after the screen began reading its file)
    goes on at the same moment as whoever asked first, not a frame later. To be awaited from another task
    than the screen's own (a worker, a test, the snapshot)."""
    drawing = _drawings.get(screen)
    if drawing is None:
        drawing = _drawings[screen] = asyncio.create_task(_draw(screen))
    return drawing


async def _draw(screen: Screen[Any]) -> None:
    for _ in range(ROUNDS):
        nodes = screen.walk_children(with_self=True)  # not the app's queue: the terminal's events wait there
        handled = []
        for node in nodes:
            event = asyncio.Event()
            if node.call_later(event.set):
                handled.append(event.wait())
        await asyncio.gather(*handled)
        await screen.wait_for_refresh()
        if len(nodes) == len(screen.walk_children(with_self=True)):
            return
