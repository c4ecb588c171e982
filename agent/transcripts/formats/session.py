"""A run inside a file that holds many: what a format with `sessions(peek)` lists (`agent.transcripts.formats`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Session:
    """One run inside a file that holds many (an Inspect log's sample), as a runs table lists it."""

    member: str
    """What names it after `#`: `FILE#member` opens it."""
    label: str
    model: str = ""
    created: float | None = None
    reason: str | None = None
    tests_passed: bool | None = None
    detail: str = ""
    iterations: int | None = None
    tokens: tuple[int, int] | None = None
    """(prompt, completion) tokens, when the file says."""
    error: str = ""
