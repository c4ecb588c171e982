"""A bound on the requests in flight against an endpoint, shared by whoever holds the same gate.

A rate limit belongs to the endpoint, not to the process that sends: when an ablation's jobs run in many
worker processes (`ablate --backend ray`), each worker's SDK client passes every request through one gate
that all of them share, so `--concurrency K` still means at most K requests in flight, over all workers.

The gate is held per HTTP attempt, at the transport: from sending the request until its response is
closed (for a streamed reply, until the stream has been read or dropped). The SDK's retries are separate
attempts, so a retry waiting out its back-off holds nothing. Nor does the wait for a token count against
the request's deadline (agent.models.limits): the endpoint has not been asked anything yet.
"""

from __future__ import annotations

from typing import Any, Protocol

from openai import DefaultAsyncHttpxClient

from agent.models.limits import deadline_paused


class RequestGate(Protocol):
    """A counting semaphore: `acquire` waits for a token, `release` gives it back (without waiting)."""

    async def acquire(self) -> None: ...

    def release(self) -> None: ...


class GatedHttpClient(DefaultAsyncHttpxClient):
    """The SDK's own HTTP client (its timeouts, connection limits, proxies from the environment), with every
    request holding a token of `gate` until its response is closed."""

    def __init__(self, gate: RequestGate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gate = gate

    async def send(self, request: Any, **kwargs: Any) -> Any:
        with deadline_paused():  # waiting for a turn is not the endpoint being slow
            await self._gate.acquire()
        try:
            response = await super().send(request, **kwargs)
        except BaseException:
            self._gate.release()
            raise
        if response.is_closed:  # not streamed: the body is read and the connection given back already
            self._gate.release()
            return response
        close = response.aclose
        released = False

        async def aclose() -> None:  # the SDK closes every response it streams, also when it stops early
            nonlocal released
            try:
                await close()
            finally:
                if not released:
                    released = True
                    self._gate.release()

        response.aclose = aclose  # type: ignore[method-assign]  # the response reads `self.aclose` when its stream ends, so this catches both
        return response
