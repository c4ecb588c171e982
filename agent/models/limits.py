"""How long agent-tui waits for a reply, and how much of one it takes.

The SDK's `timeout` (`--timeout`) bounds each attempt's connect and each read, not the whole: a server that
sends a byte every few seconds, or a stream of nothing but `: ping` keep-alives, never trips it. So every
request also has a wall-clock deadline over all of it (the SDK's own retries, stream restarts and the whole
streamed reply included): `--timeout x (1 + --max-retries)` plus the SDK's waits between retries, as long
as the SDK's own retries could take on a server that answered nothing, plus a second of slack, so that
where the SDK's own timeout applies it is what the user hears. Passing it ends the request as a
timeout does, with no retry on top (the SDK has already retried inside it). Time a request spends waiting
for its turn at a gate shared with other runs (an ablation's `--concurrency`) is not counted.

A reply is taken up to `max_chars` characters (its content and its calls' names, ids and arguments) and
`max_tool_calls` calls. Past either, agent-tui stops reading, keeps what came up to the limit, and the loop
ends the turn as it does for a reply cut off at the provider's token limit: the model is told.
"""

from __future__ import annotations

import asyncio
import math
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator

DEFAULT_MAX_REPLY_CHARS = 1_000_000
"""Four times the longest output any model writes (about 128k tokens), and a bounded transcript line."""
DEFAULT_MAX_TOOL_CALLS = 100
"""Far more calls than any model makes in one reply; each is run and answered before the next request."""

DEADLINE_SLACK = 1.0
"""Seconds a request's deadline leaves past the SDK's worst case: connecting and reading take some time
too, and a deadline exactly at the SDK's last timeout raced it (the user heard one or the other)."""
SDK_RETRY_WAIT = (0.5, 8.0)
"""The SDK's wait before its retry n (from 0): 0.5 s doubling up to 8 s, less a random part. (A server's
`retry-after`, which the SDK honours instead, can outlast the deadline.)"""


@dataclass(frozen=True)
class ReplyLimits:
    """The most of one reply that is taken (`--max-reply-chars`, `--max-tool-calls`)."""

    max_chars: int = DEFAULT_MAX_REPLY_CHARS
    max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS

    @classmethod
    def of(cls, max_chars: int | None = None, max_tool_calls: int | None = None) -> ReplyLimits:
        """The limits asked for, the defaults where None."""
        return cls(DEFAULT_MAX_REPLY_CHARS if max_chars is None else max_chars,
                   DEFAULT_MAX_TOOL_CALLS if max_tool_calls is None else max_tool_calls)

    def chars_passed(self) -> str:
        return (f"the reply passed {self.max_chars:,} characters (--max-reply-chars {self.max_chars}): it was "
                "cut there and the rest not read")

    def calls_passed(self) -> str:
        return (f"the reply had more than {self.max_tool_calls} tool calls (--max-tool-calls "
                f"{self.max_tool_calls}): the first {self.max_tool_calls} were kept and the rest not read")


class DeadlinePassed(Exception):
    """A request that was not over (its reply whole) `seconds` after it was sent: the SDK's `timeout` per
    attempt times (1 + its `retries`), plus its waits between them."""

    def __init__(self, seconds: float, timeout: float, retries: int) -> None:
        self.seconds, self.timeout, self.retries = seconds, timeout, retries
        super().__init__(f"the request was not over after {seconds:g} s")


def request_deadline(client: Any) -> DeadlinePassed | None:
    """The deadline of one request on `client` (as the error it raises when passed), from the SDK's own
    `timeout` and `max_retries`; None when the client has no timeout (a test double)."""
    timeout = getattr(client, "timeout", None)
    seconds = getattr(timeout, "read", timeout)  # an httpx.Timeout, or a number
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
        return None
    retries = getattr(client, "max_retries", 0)
    retries = retries if isinstance(retries, int) and retries >= 0 else 0
    first, most = SDK_RETRY_WAIT
    doubling = min(retries, max(0, math.ceil(math.log2(most / first))))  # the waits before the cap is reached
    waits = first * (2 ** doubling - 1) + most * (retries - doubling)
    return DeadlinePassed(seconds * (1 + retries) + waits + DEADLINE_SLACK, float(seconds), retries)


class Deadline:
    """The deadline of one request, over all its steps (each SDK call, each stretch of a streamed reply read).

    A step runs under it (`step()`), never a `yield`: the model hands its events over between steps, and a
    timeout scope left open across a `yield` would cancel whatever the consumer was doing when it passed."""

    def __init__(self, client: Any) -> None:
        self.error = request_deadline(client)
        """What passing it raises (None: no deadline, a client without a timeout)."""
        self.when = None if self.error is None else asyncio.get_running_loop().time() + self.error.seconds
        """When it passes, in the event loop's clock; `paused()` moves it later."""
        self._scope: asyncio.Timeout | None = None

    @asynccontextmanager
    async def step(self) -> AsyncIterator[None]:
        """Run the block under the deadline: DeadlinePassed when it passes during the block."""
        scope = self._scope = asyncio.timeout_at(self.when)
        token = _running.set(self)
        try:
            async with scope:
                yield
        except TimeoutError:
            if self.error is not None and scope.expired():
                raise self.error from None
            raise
        finally:
            _running.reset(token)
            self._scope = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The block's time is not counted: the deadline moves later by as long as it took."""
        if self.when is None:
            yield
            return
        scope, started = self._scope, asyncio.get_running_loop().time()
        if scope is not None:
            scope.reschedule(None)
        try:
            yield
        finally:
            self.when += asyncio.get_running_loop().time() - started
            if scope is not None:
                scope.reschedule(self.when)


_running: ContextVar[Deadline | None] = ContextVar("agent_tui_request_deadline", default=None)
"""The deadline of the step this task is in, for `deadline_paused`."""


@contextmanager
def deadline_paused() -> Iterator[None]:
    """The block's time is not counted against the deadline of the request being made: a request waiting
    for its turn at a gate shared with other runs (agent.models.gate) has not been sent yet."""
    deadline = _running.get()
    if deadline is None:
        yield
        return
    with deadline.paused():
        yield
