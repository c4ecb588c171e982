"""JSON laid out for reading, with its strings as text: the layout of a tool call's arguments (and of a JSON
result) wherever they are shown. A one-line string stays between quotes; a multi-line one (or any string
under a key that holds code) becomes its lines under its key, behind a rule, so an `edit_file`'s `old`, a
`write_file`'s `content` or a test log reads as text, not as one line of `\\n` escapes.

`json_rows` is the layout; the app styles its rows (`tui.render.content.json_lines`) and a plain-text
reader (the headless log, the Markdown export) prints them as they are (`plain_json_lines`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from agent.display.folding import STRING_RULE
from agent.display.terminal import inert
from agent.display.wording import plural

JSON_INDENT = 2
"""Spaces per level of nesting."""


@dataclass(frozen=True, slots=True)
class JsonRow:
    """One row of the layout: an object's or array's opening or closing bracket, a scalar, or a string
    shown as text (its lines follow under its head)."""

    indent: int
    key: str | None
    """The object key this value stands under (None: an array's item, the top, or a closing bracket)."""
    kind: Literal["open", "close", "scalar", "text"]
    value: Any
    """The bracket (open, close), the scalar, or the string (text)."""
    comma: bool


def json_rows(value: Any, text_keys: frozenset[str] = frozenset()) -> list[JsonRow]:
    """`value` as rows; a string is text when it has more than one line, or any string under `text_keys`."""
    rows: list[JsonRow] = []
    _rows(value, rows, 0, None, False, text_keys)
    return rows


def _rows(value: Any, rows: list[JsonRow], indent: int, key: str | None, comma: bool,
          text_keys: frozenset[str]) -> None:
    if isinstance(value, (dict, list)) and value:
        brackets = "{}" if isinstance(value, dict) else "[]"
        rows.append(JsonRow(indent, key, "open", brackets[0], False))
        items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
        for n, (k, v) in enumerate(items):
            _rows(v, rows, indent + JSON_INDENT, None if k is None else str(k), n < len(items) - 1, text_keys)
        rows.append(JsonRow(indent, None, "close", brackets[1], comma))
    elif isinstance(value, str) and ("\n" in value.rstrip("\n") or (key in text_keys and value)):
        rows.append(JsonRow(indent, key, "text", value, comma))
    else:
        rows.append(JsonRow(indent, key, "scalar", value, comma))


def text_rule(indent: int) -> str:
    """What stands before each line of a string shown as text, under its key at `indent`."""
    return " " * (indent + JSON_INDENT) + STRING_RULE


def scalar_text(value: Any) -> str:
    """A scalar as JSON writes it, but a string between quotes with nothing escaped (shown inert)."""
    if isinstance(value, str):
        return f'"{inert(value)}"'
    if isinstance(value, (dict, list)):  # empty: `{}`, `[]`
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, (bool, int, float)) or value is None:
        return json.dumps(value)
    return inert(repr(value))


def plain_json_lines(value: Any) -> list[str]:
    """The layout as plain lines, every piece of text inert."""
    return plain_lines(json_rows(value))


def plain_lines(rows: list[JsonRow]) -> list[str]:
    """Rows of `json_rows` as plain lines, every piece of text inert."""
    out: list[str] = []
    for row in rows:
        pad = " " * row.indent
        lead = f'"{inert(row.key)}": ' if row.key is not None else ""
        tail = "," if row.comma else ""
        if row.kind == "text":
            lines = row.value.split("\n")
            out.append(f"{pad}{lead}┐ {plural(len(lines), 'line')}{tail}")
            out += [text_rule(row.indent) + inert(line) for line in lines]
        elif row.kind == "scalar":
            out.append(pad + lead + scalar_text(row.value) + tail)
        else:
            out.append(pad + lead + row.value + tail)
    return out
