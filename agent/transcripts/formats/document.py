"""A JSON document whose list of messages is read and parsed an item at a time.

A chat history saved as one JSON document (a bare array of messages, or `{"messages": [...], ...}`) can be
tens of megabytes. Parsed whole, it is all read and parsed before the first screen, which needs only its
first items. Here the file is read a chunk at a time into a window of text, and
`json.JSONDecoder.raw_decode` parses one item of the list at a time from it, when the reader asks for it:
the first screen costs the same at any size, and the rest is read behind it. An object's other keys are
parsed as they come: those before the list when it is opened, those after it once the list is read. What
is parsed leaves the window, so a stranger's file (a value of hundreds of megabytes, as much white space)
costs time in proportion to its size, never more.

Every failure is the line `peek.parse_json` gives for the whole document (on an error, the document is read
and parsed whole once more to say it in the same words), found when the item that holds it is read.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Iterator, NoReturn

from agent.transcripts.formats.peek import MAX_DOCUMENT_BYTES, Peek, json_error, parse_json, without_surrogates
from agent.transcripts.transcript import TranscriptError

CHUNK = 256 * 1024
"""Bytes read at a time: the first screen needs one or two chunks."""
LOOKAHEAD = 2
"""The most a number cut short can leave unparsed after it (`e-` of `1.5e-7`)."""
_SPACE = re.compile(r"[ \t\n\r]*")
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_json_value = json.JSONDecoder().raw_decode


class JsonList:
    """The list of a JSON document (the document itself, or the value of `key` in a top-level object),
    read and parsed an item at a time. `head` is the object's other keys read so far (None when the
    document is the list); `found` says whether the object has a list under `key` (when it does not, `head`
    is the whole object)."""

    def __init__(self, peek: Peek, what: str, key: str = "messages", extra: str | None = None) -> None:
        """`extra`: what to say of text after the document (default: the parser's "Extra data")."""
        if peek.size > MAX_DOCUMENT_BYTES:
            peek.read_bytes(what)  # says it is too large
        self.peek, self.what, self.label = peek, what, peek.label
        self.key = key
        self.extra = extra
        self.length = max(peek.size, 1)
        """The file's size: `items()` counts its progress in characters read, up to about that."""
        self.head: dict[str, Any] | None = None
        self.found = False
        self.done = False
        self.text = ""
        """The window: the document's text from `base` on, as far as it is read."""
        self.base = 0
        self._file = peek.open()
        self._utf8 = codecs.getincrementaldecoder("utf-8")().decode
        self._buffer: list[tuple[Any, int]] = []
        """Items parsed ahead of `items()` (by `first`), with the offset after each."""
        self._items = self._parse_items()
        pos = self._space(0)
        start = self._char(pos)
        if start == "[":
            self._pos = pos + 1
        elif start == "{":
            self.head = {}
            self._pos = self._members(pos + 1)
        else:
            self._fail(None)

    def first(self, n: int) -> list[Any]:
        """The first `n` items (fewer if the list is shorter), parsed once: `items()` gives them again."""
        while len(self._buffer) < n:
            item = next(self._items, None)
            if item is None:
                break
            self._buffer.append(item)
        return [item for item, _ in self._buffer[:n]]

    def items(self) -> Iterator[tuple[Any, int]]:
        """Every item of the list with the offset after it, in order; once the list is read, the object's
        keys after it are in `head`. A document found broken raises TranscriptError where it breaks."""
        while self._buffer:
            yield self._buffer.pop(0)
        yield from self._items

    # -- the window --------------------------------------------------------------------------------------

    def _more(self, at_least: int = 0) -> bool:
        """Read a chunk more into the window (`at_least` bytes, if that is more); False at the end of the
        file."""
        if self._file.closed:
            return False
        raw = self._file.read(max(CHUNK, at_least))
        try:
            self.text += self._utf8(raw, final=not raw)
        except UnicodeDecodeError:
            self._file.close()
            raise TranscriptError(f"{self.label}: not a transcript: not UTF-8 text") from None
        if not raw:
            self._file.close()
        return True

    def _slide(self, pos: int) -> int:
        """Drop what is parsed before `pos` once it is a chunk's worth; `pos` in the window that is left."""
        if pos < CHUNK:
            return pos
        self.text = self.text[pos:]
        self.base += pos
        return 0

    def _char(self, pos: int) -> str:
        """The character at `pos` ('' at the end of the document)."""
        while pos >= len(self.text) and self._more():
            pass
        return self.text[pos:pos + 1]

    def _space(self, pos: int) -> int:
        """The end of the white space at `pos` (where the window ends in white space, it is left behind)."""
        while True:
            pos = _SPACE.match(self.text, pos).end()  # type: ignore[union-attr]
            if pos < len(self.text):
                return pos
            self.base, self.text, pos = self.base + pos, "", 0
            if not self._more():
                return pos

    def _value(self, pos: int) -> tuple[Any, int]:
        """The JSON value at `pos` and the offset after it, read further while it may be cut by the end of
        the window (a window as large again each time, so that a value of any size is read in time linear in
        it); lone surrogates replaced, as `parse_json` does. A number cut by the window's end parses as a
        shorter one (`1.5e-7` cut after `1.5e` is 1.5, and `e` is left): one is taken only with LOOKAHEAD
        characters read after it."""
        while True:
            try:
                value, end = _json_value(self.text, pos)
            except RecursionError as exc:  # nested too deeply, however far it is read
                self._fail(exc)
            except ValueError as exc:
                if not self._more(len(self.text)):
                    self._fail(exc)
                continue
            if len(self.text) - end > LOOKAHEAD or not self._more():
                break
        if _SURROGATE.search(self.text, pos, end):
            value = without_surrogates(value)
        return value, end

    # -- the parser --------------------------------------------------------------------------------------

    def _members(self, pos: int) -> int:
        """Read the object's members into `head` up to the list under `key` (then return the offset of its
        first item) or to the object's end (then the document is read)."""
        assert self.head is not None
        pos = self._space(pos)
        if self._char(pos) == "}":
            return self._end(pos + 1)
        while True:
            if self._char(pos) != '"':
                self._fail(None)
            name, pos = self._value(pos)  # a string: its first character is a quote
            pos = self._space(pos)
            if self._char(pos) != ":":
                self._fail(None)
            pos = self._space(pos + 1)
            if name == self.key and self._char(pos) == "[" and not self.found:
                self.found = True
                self.head.pop(name, None)  # an earlier value under the same key: the parser keeps the last
                return pos + 1
            if name == self.key and self.found:
                raise TranscriptError(f'{self.label}: not a transcript: a JSON object with two "{self.key}" keys')
            self.head[name], pos = self._value(pos)
            pos = self._space(pos)
            c = self._char(pos)
            if c == "}":
                return self._end(pos + 1)
            if c != ",":
                self._fail(None)
            pos = self._space(self._slide(pos + 1))

    def _end(self, pos: int) -> int:
        """The document ends at `pos`: only white space may follow."""
        pos = self._space(pos)
        if self._char(pos):
            if self.extra is not None:
                raise TranscriptError(f"{self.label}: not a transcript: {self.extra}")
            self._fail(None)
        self.done = True
        self.text = ""  # parsed: nothing refers to it any more
        return pos

    def _parse_items(self) -> Iterator[tuple[Any, int]]:
        if self.done or (self.head is not None and not self.found):
            return
        pos = self._space(self._pos)
        if self._char(pos) == "]":
            self._after(pos + 1)
            return
        while True:
            item, pos = self._value(pos)
            pos = self._space(pos)
            c = self._char(pos)
            if c == ",":
                yield item, self.base + pos
                pos = self._space(self._slide(pos + 1))
            elif c == "]":
                self._after(pos + 1)
                yield item, self.length
                return
            else:
                self._fail(None)

    def _after(self, pos: int) -> None:
        """The list ends at `pos`: the rest of the object (or of the document) is read."""
        if self.head is None:
            self._end(pos)
            return
        pos = self._space(pos)
        c = self._char(pos)
        if c == "}":
            self._end(pos + 1)
        elif c == ",":
            self._members(pos + 1)
        else:
            self._fail(None)

    def _fail(self, exc: BaseException | None) -> NoReturn:
        """The document is broken here: say so as `parse_json` says it of the whole document."""
        self._file.close()
        parse_json(self.peek.read_bytes(self.what), self.label)  # raises the one-line error for the whole document
        raise json_error(exc, self.label) if isinstance(exc, (ValueError, RecursionError)) else TranscriptError(
            f"{self.label}: not a transcript: invalid JSON")  # parsed whole, it parses: the file changed meanwhile
