"""agent-tui's own JSONL: a header line, then one event per line (`agent.transcripts.transcript`)."""

from __future__ import annotations

import json
import re

from agent.transcripts.formats.peek import Peek
from agent.transcripts.transcript import JsonlReader, Transcript, read_jsonl

NAME = "agent-tui"
LABEL = "agent-tui JSONL"
_HEADER_START = re.compile(rb'^\s*\{\s*"type"\s*:\s*"header"')


def detect(peek: Peek) -> bool:
    first, newline, _ = peek.head.partition(b"\n")
    if not newline:  # a header line longer than the head, or a file of one line: as the writer starts it
        return bool(_HEADER_START.match(first))
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(header, dict) and header.get("type") == "header"


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001 - every format module has an `open`
    """Read line by line, never the whole text at once (big files stay on disk); in steps, only the header
    now and the events behind the first screen (`JsonlReader`)."""
    not_text = f"{peek.label}: not a transcript: not UTF-8 text"
    if in_steps:
        reader = JsonlReader(peek.open(), str(peek.path), not_text=not_text, close_at_end=True)
        reader.transcript.rest = reader
        return reader.transcript
    with peek.open() as f:
        return read_jsonl(f, str(peek.path), not_text=not_text)
