"""The SDK's retries, shown: every HTTP attempt of a request seen through httpx's public event hooks.

The openai SDK retries a request by itself (408/409/429/5xx answers, timeouts, failed connections, up to
`max_retries` times); all that shows of it is the same request sent again. `RETRY_HOOKS` go on the SDK's HTTP
client (agent.models.presets.make_client), as Inspect AI watches its providers: the response hook keeps what
a failed attempt answered, httpcore's `trace` request extension what broke an attempt that got no answer
(a timeout, a refused connection), and the request hook of the next attempt (the SDK numbers them in the
`x-stainless-retry-count` header it sends) hands a warning Notice, saying why and how long the SDK waited,
to the request waiting on it (`Retried`, found by context: hooks run in the SDK call's task).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from contextvars import ContextVar
from typing import Any, AsyncIterator, Callable, Coroutine, Generic, TypeVar

from agent.events import Event, Notice

T = TypeVar("T")

RETRY_COUNT_HEADER = "x-stainless-retry-count"
"""The header the SDK sends with each attempt: 0 for the first, then the retry's number."""


class RetryWatch:
    """The attempts of one request: why the last one failed and when, and a Notice for each retry."""

    def __init__(self, emit: Callable[[Event], None], total: int) -> None:
        self.emit = emit
        self.total = total
        self.cause = "the request failed"
        self.failed_at: float | None = None

    def failed(self, cause: str) -> None:
        self.cause, self.failed_at = cause, time.monotonic()

    def attempt(self, number: int) -> None:
        """Attempt `number` (0: the first) is being sent: a retry says why, after how long."""
        if number > 0:
            waited = time.monotonic() - self.failed_at if self.failed_at is not None else 0.0
            self.emit(Notice(level="warning", text=f"{self.cause}: retrying after {waited:.1f} s "
                                                   f"(SDK retry {number} of {self.total})"))
        self.cause, self.failed_at = "the request failed", None

    async def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace events of the attempt: a step that failed is why it got no answer."""
        exc = info.get("exception")
        if name.endswith(".failed") and exc is not None and self.failed_at is None:
            kind = type(exc).__name__
            self.failed("timed out" if "Timeout" in kind else f"connection failed ({kind})")


_watch: ContextVar[RetryWatch | None] = ContextVar("agent_tui_retry_watch", default=None)


async def _on_request(request: Any) -> None:
    watch = _watch.get()
    if watch is None:
        return
    try:
        number = int(request.headers.get(RETRY_COUNT_HEADER) or 0)
    except ValueError:
        number = 0
    watch.attempt(number)
    request.extensions.setdefault("trace", watch.trace)


async def _on_response(response: Any) -> None:
    watch = _watch.get()
    if watch is not None and response.status_code >= 400:
        watch.failed(f"HTTP {response.status_code}")


RETRY_HOOKS: dict[str, list[Callable[[Any], Any]]] = {"request": [_on_request], "response": [_on_response]}
"""The `event_hooks` of the SDK's HTTP client; they do nothing outside a `Retried` call."""


class Retried(Generic[T]):
    """One SDK call, watched: it runs in a task of its own, whose hooks find this call's `RetryWatch` by
    context, while `notices()` yields a warning Notice for each retry the SDK makes, as it makes it. Then
    `result()` is what the call returned, or raises what it raised. The client must have been made with
    `RETRY_HOOKS`.

    The SDK reports its retries only to hooks, in the middle of the call: a task of its own is what lets
    the caller, an async generator, hand them on while the call goes on."""

    def __init__(self, call: Coroutine[Any, Any, T], total: int,
                 abandon: Callable[[T], Coroutine[Any, Any, None]] | None = None) -> None:
        self._said: list[Event] = []
        self._news = asyncio.Event()
        self._abandon = abandon
        context = contextvars.copy_context()
        context.run(_watch.set, RetryWatch(self._hand, total))
        self._task = asyncio.get_running_loop().create_task(call, context=context)
        self._task.add_done_callback(lambda _: self._news.set())

    def _hand(self, event: Event) -> None:
        self._said.append(event)
        self._news.set()

    async def notices(self) -> AsyncIterator[Event]:
        """The retries' notices until the call is over. Stopped before (cancelled, closed), it cancels the
        call, or hands what the call just returned to `abandon` (a stream opened for nobody is closed)."""
        try:
            while True:
                await self._news.wait()
                self._news.clear()
                while self._said:
                    yield self._said.pop(0)
                if self._task.done():
                    return
        except BaseException:
            if not self._task.done():
                self._task.cancel()
            elif not self._task.cancelled() and self._task.exception() is None and self._abandon is not None:
                await self._abandon(self._task.result())
            raise

    def result(self) -> T:
        return self._task.result()
