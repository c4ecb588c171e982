"""What the app drives: a run it shows live (`agent.run.runner.Run`, or the tests' fake run)."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Protocol

from agent.events import Event, RunFinished
from agent.loop.control import RunControl
from agent.transcripts.transcript import TranscriptHeader


class RunHandle(Protocol):
    """A recorded run as a front end drives it (`agent.run.runner.Run`): the app, the tests' fake run."""

    header: TranscriptHeader
    control: RunControl
    finished: RunFinished | None

    @property
    def path(self) -> Path | None:
        """Where the transcript is written (None: nowhere, as in the tests' fake run)."""
        ...

    def events(self, transient: bool = False) -> AsyncIterator[Event]:
        """Drive the run and yield its events; `transient` adds those meant for live display only."""
        ...
