"""Run in every Ray worker of the Ray tests (their `worker_process_setup_hook`): a way for a test to kill
the worker that runs a given job, from inside it, as the OOM killer or a lost machine would.

A job whose id has a marker file `<id>.die` in the folder named by AGENT_TUI_TEST_DEATHS SIGKILLs its own
worker right after it takes its first request token (so it dies holding one); the marker is renamed to
`<id>.died` first, so the job's next attempt runs normally.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def arm_deaths() -> None:
    from agent.experiments.ray_backend import CoordinatorGate

    folder = Path(os.environ["AGENT_TUI_TEST_DEATHS"])
    take = CoordinatorGate.acquire

    async def acquire(self: CoordinatorGate) -> None:
        await take(self)
        marker = folder / f"{self.job_id}.die"
        if marker.exists():
            marker.rename(marker.with_suffix(".died"))
            os.kill(os.getpid(), signal.SIGKILL)

    CoordinatorGate.acquire = acquire  # type: ignore[method-assign]
