"""Every transcript format agent-tui reads, in one table: `FORMATS`.

A format is one module of this package with `NAME` (what `header.source` says; a module may name variants),
`LABEL` (for people), `detect(peek) -> bool` (by content, never by file name) and `open(peek, in_steps) ->
Transcript` (the loop's events, converted in steps when `in_steps`: see `history.HistoryReader`). A module
whose files can hold many runs (an Inspect log's samples) also has `sessions(peek) -> list[Session]`.
Adding a format is one module and one line below; the first module whose `detect` says yes opens the file,
so the catch-all (`chat`, plain message lists) comes last.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType




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


from agent.transcripts.formats import (  # noqa: E402 - they use Session
    atif, chat, claude_code, codex, inspect_ai, mini_swe_agent, openhands, ours, swe_agent)

FORMATS: tuple[ModuleType, ...] = (
    ours,
    inspect_ai,
    atif,
    swe_agent,
    openhands,
    claude_code,
    codex,
    mini_swe_agent,
    chat,
)
