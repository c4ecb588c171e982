"""Plain Chat Completions histories: a JSON array of messages, an object with a "messages" array (its other
keys kept as the header's settings), or JSONL with one message per line.

The last format of the table: any JSON document the others do not claim is read here, and fails here with
the line that says what is wrong."""

from __future__ import annotations

from typing import Iterator

from agent.transcripts.formats.document import JsonList
from agent.transcripts.formats.history import Entry, HistoryReader, goal_of, new_transcript, read_all
from agent.transcripts.formats.mini_swe_agent import from_document
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
    document = JsonList(peek, "JSON document", extra=EXPECTED)  # its messages parsed as they are read
    if document.head is None:
        return _from_messages(document, peek, in_steps)
    if not document.found:
        raise TranscriptError(f'{peek.label}: not a transcript: a JSON object without a "messages" list; {EXPECTED}')
    return from_document(document, peek, in_steps)


def _from_messages(document: JsonList, peek: Peek, in_steps: bool) -> Transcript:
    transcript = new_transcript("json-array", created=peek.mtime,
                                goal=goal_of(m for m in document.first(50) if isinstance(m, dict)))
    reader = HistoryReader(transcript, ((Entry(m), position) for m, position in document.items()),
                           total=document.length, size=peek.size, source=peek.label, what="item")
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
