"""Plain Chat Completions histories: a JSON array of messages, an object with a "messages" array (its other
keys kept as the header's settings), or JSONL with one message per line.

The last format of the table: any JSON document the others do not claim is read here, and fails here with
the line that says what is wrong."""

from __future__ import annotations

from typing import Any, Iterator

from agent.transcripts.formats import mini_swe_agent
from agent.transcripts.formats.history import Entry, HistoryReader, goal_of, new_transcript, read_all
from agent.transcripts.formats.peek import Peek, jsonl_lines, parse_line
from agent.transcripts.transcript import Transcript, TranscriptError

NAME = "chat"
LABEL = "Chat Completions messages"
EXPECTED = ('expected agent-tui JSONL, a JSON array of chat messages, {"messages": [...]}, or a log of Inspect AI, '
            "Claude Code, Codex, ATIF, SWE-agent or OpenHands")


def detect(peek: Peek) -> bool:
    return True  # the catch-all: it says what is wrong with what no other format claimed


def _chat_lines(peek: Peek) -> bool:
    lines = peek.first_lines(2)
    return len(lines) >= 1 and all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in lines) and (
        len(lines) == 2 or peek.size == len(peek.head))


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    start = peek.stripped()[:1]
    if _chat_lines(peek) and b"\n" in peek.head.strip():
        return _open_lines(peek, in_steps)
    if start not in (b"[", b"{"):
        if not peek.head.strip():
            raise TranscriptError(f"{peek.label}: empty file, not a transcript")
        try:
            peek.head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(peek.head) - 4:  # not a character cut by the end of the head
                raise TranscriptError(f"{peek.label}: not a transcript: not UTF-8 text; {EXPECTED}") from None
        raise TranscriptError(f"{peek.label}: not a transcript: {EXPECTED}")
    try:
        data = peek.json()
    except TranscriptError as exc:
        if "Extra data" in str(exc):  # JSONL of something else
            raise TranscriptError(f"{peek.label}: not a transcript: {EXPECTED}") from None
        raise
    if isinstance(data, list):
        return _from_messages(data, peek, in_steps, "json-array", "item")
    if not isinstance(data, dict):
        raise TranscriptError(f"{peek.label}: not a transcript: {EXPECTED}")
    if not isinstance(data.get("messages"), list):
        raise TranscriptError(f'{peek.label}: not a transcript: a JSON object without a "messages" list; {EXPECTED}')
    source = mini_swe_agent.NAME if mini_swe_agent.is_trajectory(data) else "messages-object"
    return mini_swe_agent.from_document(data, peek, in_steps, source)


def _from_messages(messages: list[Any], peek: Peek, in_steps: bool, source: str, what: str) -> Transcript:
    transcript = new_transcript(source, created=peek.mtime,
                                goal=goal_of(m for m in messages[:50] if isinstance(m, dict)))
    reader = HistoryReader(transcript, ((Entry(m), i + 1) for i, m in enumerate(messages)), total=len(messages),
                           size=peek.size, source=peek.label, what=what)
    return read_all(transcript, reader, in_steps)


def _open_lines(peek: Peek, in_steps: bool) -> Transcript:
    f = peek.open()

    def entries() -> Iterator[tuple[Entry, int]]:
        with f:
            for number, line, position in jsonl_lines(f, peek.label):
                yield Entry(parse_line(line, f"{peek.label}:{number}")), position

    first = peek.first_lines(50)
    transcript = new_transcript("chat-lines", created=peek.mtime, goal=goal_of(m for m in first if isinstance(m, dict)))
    reader = HistoryReader(transcript, entries(), total=peek.size, size=peek.size, source=peek.label, what="line")
    return read_all(transcript, reader, in_steps)
