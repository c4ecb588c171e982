"""A first look at a file, for telling formats apart by what they hold, and the guarded ways to read it.

Files come from strangers: only regular files are opened (`open_regular`), a whole document is read only
up to a size cap, its JSON may nest without end, hold a 5,000-digit number or a lone surrogate, and every
such case is one line naming the file, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

from agent.transcripts.transcript import MAX_DEPTH, TranscriptError, _deeper_than, open_regular

HEAD_BYTES = 64 * 1024
"""How much of a file is read to tell its format."""
MAX_DOCUMENT_BYTES = 512_000_000
"""The largest JSON document read at once (a JSONL file is read line by line)."""
MAX_LINE_BYTES = 64_000_000
"""The longest line of a JSONL file read (longer: not a transcript line)."""
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@dataclass
class Peek:
    """A file's first bytes, size and time, and, for a file holding many runs (an Inspect log), which one."""

    path: Path
    head: bytes
    size: int
    mtime: float
    member: str | None = None
    """What follows `#` in `log.eval#3_epoch_1`: one sample of many (None: the file as a whole)."""
    _lines: list[Any] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """The file as named in messages: its path, and `#member` when one is chosen."""
        return f"{self.path}#{self.member}" if self.member else str(self.path)

    def stripped(self) -> bytes:
        return self.head.lstrip()

    def first_lines(self, n: int = 8) -> list[Any]:
        """The first `n` complete lines of the head, each parsed as JSON (None where a line is not JSON)."""
        if self._lines is None or len(self._lines) < n:
            out: list[Any] = []
            for line in self.head.split(b"\n")[:-1][:max(n, 200)]:
                try:
                    out.append(json.loads(line) if line.strip() else None)
                except (ValueError, RecursionError):
                    out.append(None)
            self._lines = out
        return self._lines[:n]

    def open(self) -> IO[bytes]:
        return open_regular(self.path)

    def read_bytes(self, what: str) -> bytes:
        """The whole file, up to MAX_DOCUMENT_BYTES (`what` names the format in the error)."""
        if self.size > MAX_DOCUMENT_BYTES:
            raise TranscriptError(f"{self.label}: {self.size:,} bytes is too large for one {what} "
                                  f"(at most {MAX_DOCUMENT_BYTES:,})")
        with self.open() as f:
            return f.read(MAX_DOCUMENT_BYTES + 1)

    def json(self, what: str = "JSON document") -> Any:
        """The whole file parsed as one JSON document, with every failure one line."""
        return parse_json(self.read_bytes(what), self.label)


def peek(path: Path | str) -> Peek:
    """A first look at `path` (`FILE#MEMBER` names one run of a file that holds many, if FILE exists and
    `FILE#MEMBER` does not). TranscriptError when it cannot be read."""
    p = Path(path)
    member = None
    if "#" in p.name and not os.path.lexists(p):
        name, _, member = p.name.rpartition("#")
        p = p.with_name(name)
    with open_regular(p) as f:
        head = f.read(HEAD_BYTES)
        st = os.fstat(f.fileno())
    return Peek(p, head, st.st_size, st.st_mtime, member or None)


def parse_json(raw: bytes | str, label: str) -> Any:
    """JSON text parsed with the failures a stranger's file can cause turned into one line each: not UTF-8,
    nested without end, a number of thousands of digits, invalid JSON. Lone surrogates (`\\ud800`) become
    U+FFFD: they cannot be written to a terminal or a file."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise TranscriptError(f"{label}: not a transcript: not UTF-8 text") from None
    if not text.strip():
        raise TranscriptError(f"{label}: empty file, not a transcript")
    try:
        data = json.loads(text)
    except (RecursionError, ValueError) as exc:
        raise json_error(exc, label) from None
    if _SURROGATE_ESCAPE.search(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")):
        data = without_surrogates(data)
    return data


def json_error(exc: RecursionError | ValueError, label: str) -> TranscriptError:
    """The one line that says why the JSON parser failed on `label`."""
    if isinstance(exc, RecursionError):
        return TranscriptError(f"{label}: not a transcript: JSON nested too deeply")
    if isinstance(exc, json.JSONDecodeError):
        return TranscriptError(f"{label}: not a transcript: invalid JSON at line {exc.lineno} column {exc.colno}: "
                               f"{exc.msg}")
    # "Exceeds the limit (4300 digits) for integer string conversion"
    return TranscriptError(f"{label}: not a transcript: {str(exc).split(';')[0]}")


def parse_line(line: bytes, label: str) -> Any:
    """One JSONL line parsed (see `parse_json`); nesting beyond MAX_DEPTH is refused too."""
    value = parse_json(line, label)
    if isinstance(value, (dict, list)) and _deeper_than(value, MAX_DEPTH):
        raise TranscriptError(f"{label}: not a transcript: a line nests more than {MAX_DEPTH} levels deep")
    return value


def without_surrogates(value: Any) -> Any:
    """`value` with every lone surrogate of its strings (keys too) replaced by U+FFFD (no recursion)."""
    def fix(s: str) -> str:
        return s.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if _has_surrogate(s) else s

    root = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        node = parent[key]
        if isinstance(node, str):
            parent[key] = fix(node)
        elif isinstance(node, list):
            stack.extend((node, i) for i in range(len(node)))
        elif isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for k, v in items:
                node[fix(k) if isinstance(k, str) else k] = v
            stack.extend((node, k) for k in node)
    return root[0]


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def jsonl_lines(f: IO[bytes], label: str, start: int = 0) -> Iterator[tuple[int, bytes, int]]:
    """(line number, line, bytes read so far) for each non-blank line of a JSONL file, from `start`; a line
    longer than MAX_LINE_BYTES is an error, not a read of everything."""
    position, number = start, 0
    while True:
        line = f.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        position += len(line)
        if len(line) > MAX_LINE_BYTES:
            raise TranscriptError(f"{label}:{number}: a line of more than {MAX_LINE_BYTES:,} bytes")
        if line.strip():
            yield number, line, position
