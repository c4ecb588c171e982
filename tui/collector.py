"""The garbage collector while the app starts: the one place in the app that touches it.

Start-up (Textual's modules, the transcript's first step, the first screen's widgets) makes many objects that
live as long as the app and frees almost none, so the collections it triggers are pure cost, and every full
collection afterwards walks them all again. So `starting` turns the collector off for a command's start, and
`started`, once the first screen is drawn, freezes what start-up made (out of every later collection's sight)
and turns the collector back on. Measured by `python bench/bench_collector.py` on a 10,000-iteration file: the
collections before the first screen take 10 ms instead of 37 (one full one less), and each full collection
between key presses (6 in 120 presses) 10 ms instead of 33.

Nothing else freezes. A screen freezing what it loads (the rest of a big file, read behind the first screen)
brought those full collections down to ~2 ms, but had to unfreeze everything (start-up's objects too) when it
went. Textual is not imported here: `starting` begins before Textual's modules are loaded.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def starting() -> Iterator[None]:
    """The collector off while the app starts (until `started`), on again once the command is over."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def started() -> None:
    """The first screen is drawn: what start-up made is frozen and the collector is on again, if `starting`
    turned it off (else nothing: an app run by a test or a script)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
