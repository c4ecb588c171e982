"""What the driver and the workers of one Ray grid share: the request tokens, and which worker started which
job (agent.experiments.ray_backend runs it as an actor).

A module of its own that imports nothing of agent-tui: the actor's process starts once per grid, before
any job can take a token, and should not wait for the engine's imports.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

POLL_SECONDS = 1.0
"""How long the driver's question "which jobs started?" waits for an answer."""


class JobEnded(RuntimeError):
    """A request from a job the driver has already given up on (its worker was thought lost)."""


class Coordinator:
    """What the driver and the workers of one grid share (a Ray actor): the request tokens, and which
    worker started which job."""

    def __init__(self, tokens: int) -> None:
        self._tokens = asyncio.Semaphore(tokens)
        self._held: Counter[str] = Counter()
        self._ended: set[str] = set()
        self._started: list[str] = []  # job ids, in the order they started
        self._workers: dict[str, tuple[str, float]] = {}  # job id: (worker, when it started)
        self._news = asyncio.Event()

    async def acquire(self, job_id: str) -> None:
        if job_id in self._ended:
            raise JobEnded(f"{job_id} has ended: it may send no more requests")
        await self._tokens.acquire()
        if job_id in self._ended:  # it ended while it waited
            self._tokens.release()
            raise JobEnded(f"{job_id} has ended: it may send no more requests")
        self._held[job_id] += 1

    async def release(self, job_id: str) -> None:
        if self._held[job_id] > 0:  # a job's late release after `job_ended` gave its tokens back is a no-op
            self._held[job_id] -= 1
            self._tokens.release()

    async def job_started(self, job_id: str, worker: str) -> None:
        self._started.append(job_id)
        self._workers[job_id] = (worker, time.time())
        self._news.set()

    async def worker_of(self, job_id: str) -> tuple[str, float]:
        """The worker that started the job and when ("" and 0 if none did): a job started before it took a
        token, so a worker lost in the middle of a job is known here."""
        return self._workers.get(job_id, ("", 0.0))

    async def job_ended(self, job_id: str) -> None:
        """Give back every token the job still holds; it may take no more."""
        self._ended.add(job_id)
        for _ in range(self._held.pop(job_id, 0)):
            self._tokens.release()

    async def started_since(self, cursor: int) -> tuple[list[tuple[str, str]], int]:
        """The (job id, worker) starts after the first `cursor`, and the new cursor; waits a little for news."""
        if cursor >= len(self._started):
            self._news.clear()
            try:
                await asyncio.wait_for(self._news.wait(), POLL_SECONDS)
            except TimeoutError:
                pass
        return [(job_id, self._workers[job_id][0]) for job_id in self._started[cursor:]], len(self._started)
