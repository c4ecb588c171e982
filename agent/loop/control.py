"""How a front end steers a running loop: step gating and the live reflection switch.

Steps are tokens in a counter, not a flag: every press of "next" adds one, and the loop takes one before
each iteration, so presses that arrive faster than iterations finish are queued, never merged (an
`asyncio.Event` would merge them).

A front end that shows the state (parked or not, steps queued, the reflection switch) subscribes to it
instead of polling it: listeners are called on every change, on the loop's own event loop.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Literal

from agent.events import ReflectionMode

StepMode = Literal["step", "continuous"]


class RunControl:
    """Shared between the loop (which waits on it) and a front end (which releases it)."""

    def __init__(self, mode: StepMode = "continuous", reflection: ReflectionMode = "off",
                 reflection_role: ReflectionMode = "system") -> None:
        self.mode: StepMode = mode
        self.reflection: ReflectionMode = reflection
        self.reflection_role: ReflectionMode = reflection if reflection != "off" else reflection_role
        self._tokens = 0
        self._wake = asyncio.Event()
        self.waiting = False
        """True while the loop is parked at an iteration boundary, waiting for a step."""
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every change of the mode, the queued steps, `waiting` or reflection."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    @property
    def pending_steps(self) -> int:
        return self._tokens

    def _notify(self) -> None:
        # The Event only wakes the waiter; the count lives in _tokens, so nothing is merged.
        self._wake.set()
        self._changed()

    def step(self, count: int = 1) -> None:
        """Let `count` more iterations run (queued in step mode)."""
        self._tokens += count
        self._notify()

    def run_continuous(self) -> None:
        self.mode = "continuous"
        self._notify()

    def pause(self) -> None:
        """Stop at the next iteration boundary; queued steps are dropped."""
        self.mode = "step"
        self._tokens = 0
        self._changed()

    def toggle_reflection(self) -> ReflectionMode:
        """Flip reflection on (with the last role used) or off, for the iterations that follow."""
        if self.reflection == "off":
            self.reflection = self.reflection_role
        else:
            self.reflection_role = self.reflection
            self.reflection = "off"
        self._changed()
        return self.reflection

    def set_reflection(self, mode: ReflectionMode) -> None:
        """Set the switch to `mode` for the iterations that follow (a fork starts in its parent's setting)."""
        if mode != "off":
            self.reflection_role = mode
        self.reflection = mode
        self._changed()

    async def wait_turn(self) -> None:
        """Called by the loop before each iteration: returns when that iteration may run."""
        self.waiting = True
        self._changed()
        try:
            while not (self.mode == "continuous" or self._tokens > 0):
                self._wake.clear()
                await self._wake.wait()
        finally:
            self.waiting = False
        if self.mode == "step":
            self._tokens -= 1
        self._changed()
