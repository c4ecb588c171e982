"""Every transcript format agent-tui reads, in one table: `FORMATS`.

A format is one module of this package with `NAME` (what `header.source` says; a module may name variants),
`LABEL` (for people), `detect(peek) -> bool` (by content, never by file name) and `open(peek, in_steps) ->
Transcript` (the loop's events, converted in steps when `in_steps`: see `history.HistoryReader`). A module
whose files can hold many runs (an Inspect log's samples) also has
`sessions(peek) -> list[Session]` (`session.Session`).
Adding a format is one module and one line below; the first module whose `detect` says yes opens the file,
so the catch-all (`chat`, plain message lists) comes last.
"""

from __future__ import annotations

from types import ModuleType

from agent.transcripts.formats import (
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
