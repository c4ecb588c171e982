"""A JSON document whose list of messages is parsed an item at a time.

A chat history saved as one JSON document (a bare array of messages, or `{"messages": [...], ...}`) can be
tens of megabytes. Parsed whole, it is all parsed before the first screen, which needs only its first
items. Here the text is decoded once and `json.JSONDecoder.raw_decode` parses one item of the list at a
time, when the reader asks for it: the first screen costs the same at any size, and the rest is parsed
behind it. An object's other keys are parsed as they come: those before the list when it is opened, those
after it once the list is read.

Every failure is the line `peek.parse_json` gives for the whole document (on an error, the document is
parsed whole once more to say it in the same words), found when the item that holds it is read.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, NoReturn

from agent.transcripts.formats.peek import Peek, json_error, parse_json, without_surrogates
from agent.transcripts.transcript import TranscriptError

_SPACE = re.compile(r"[ \t\n\r]*")
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_scan = json.JSONDecoder().scan_once
_string = json.decoder.scanstring


class JsonList:
    """The list of a JSON document (the document itself, or the value of `key` in a top-level object),
    parsed an item at a time. `head` is the object's other keys read so far (None when the document is
    the list); `found` says whether the object has a list under `key` (when it does not, `head` is the
    whole object)."""

    def __init__(self, peek: Peek, what: str, key: str = "messages", extra: str | None = None) -> None:
        """`extra`: what to say of text after the document (default: the parser's "Extra data")."""
        self.label = peek.label
        raw = peek.read_bytes(what)
        try:
            self.text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TranscriptError(f"{self.label}: not a transcript: not UTF-8 text") from None
        del raw
        self.length = len(self.text) or 1
        """The document's length in characters: `items()` counts its progress in them."""
        self.key = key
        self.extra = extra
        self.head: dict[str, Any] | None = None
        self.found = False
        self.done = False
        self._buffer: list[tuple[Any, int]] = []
        """Items parsed ahead of `items()` (by `first`), with the offset after each."""
        self._items = self._parse_items()
        pos = self._space(0)
        start = self.text[pos:pos + 1]
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

    # -- the parser --------------------------------------------------------------------------------------

    def _space(self, pos: int) -> int:
        return _SPACE.match(self.text, pos).end()  # type: ignore[union-attr]

    def _value(self, pos: int) -> tuple[Any, int]:
        """The JSON value at `pos` and the offset after it; lone surrogates replaced, as `parse_json` does."""
        try:
            value, end = _scan(self.text, pos)
        except StopIteration:
            self._fail(None)
        except (ValueError, RecursionError) as exc:
            self._fail(exc)
        if _SURROGATE.search(self.text, pos, end):
            value = without_surrogates(value)
        return value, end

    def _members(self, pos: int) -> int:
        """Read the object's members into `head` up to the list under `key` (then return the offset of its
        first item) or to the object's end (then the document is read)."""
        assert self.head is not None
        text = self.text
        pos = self._space(pos)
        if text[pos:pos + 1] == "}":
            return self._end(pos + 1)
        while True:
            if text[pos:pos + 1] != '"':
                self._fail(None)
            start = pos
            try:
                name, pos = _string(text, pos + 1)
            except ValueError as exc:
                self._fail(exc)
            if _SURROGATE.search(text, start, pos):
                name = without_surrogates(name)
            pos = self._space(pos)
            if text[pos:pos + 1] != ":":
                self._fail(None)
            pos = self._space(pos + 1)
            if name == self.key and text[pos:pos + 1] == "[" and not self.found:
                self.found = True
                self.head.pop(name, None)  # an earlier value under the same key: the parser keeps the last
                return pos + 1
            if name == self.key and self.found:
                raise TranscriptError(f'{self.label}: not a transcript: a JSON object with two "{self.key}" keys')
            self.head[name], pos = self._value(pos)
            pos = self._space(pos)
            c = text[pos:pos + 1]
            if c == "}":
                return self._end(pos + 1)
            if c != ",":
                self._fail(None)
            pos = self._space(pos + 1)

    def _end(self, pos: int) -> int:
        """The document ends at `pos`: only white space may follow."""
        pos = self._space(pos)
        if pos < len(self.text):
            if self.extra is not None:
                raise TranscriptError(f"{self.label}: not a transcript: {self.extra}")
            self._fail(None)
        self.done = True
        self.text = ""  # parsed: nothing refers to it any more
        return pos

    def _parse_items(self) -> Iterator[tuple[Any, int]]:
        if self.done or (self.head is not None and not self.found):
            return
        text = self.text
        pos = self._space(self._pos)
        if text[pos:pos + 1] == "]":
            self._after(pos + 1)
            return
        while True:
            item, pos = self._value(pos)
            pos = self._space(pos)
            c = text[pos:pos + 1]
            if c == ",":
                yield item, pos
                pos = self._space(pos + 1)
            elif c == "]":
                self._after(pos + 1)
                yield item, pos + 1
                return
            else:
                self._fail(None)

    def _after(self, pos: int) -> None:
        """The list ends at `pos`: the rest of the object (or of the document) is read."""
        if self.head is None:
            self._end(pos)
            return
        pos = self._space(pos)
        c = self.text[pos:pos + 1]
        if c == "}":
            self._end(pos + 1)
        elif c == ",":
            self._members(pos + 1)
        else:
            self._fail(None)

    def _fail(self, exc: BaseException | None) -> NoReturn:
        """The document is broken here: say so as `parse_json` says it of the whole document."""
        parse_json(self.text, self.label)  # raises the one-line error for the whole document
        raise json_error(exc, self.label) if exc is not None else TranscriptError(  # parsed whole, it was fine
            f"{self.label}: not a transcript: invalid JSON")
