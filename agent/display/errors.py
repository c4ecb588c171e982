"""What went wrong in a result, as a short mark for a block's title: a tool error, failing tests, a non-zero
exit, a timeout, or (mini-swe-agent) a reply the agent could not parse.

Our own results say it plainly (`is_error`, run_tests' `tests failed (exit 1)` status line). Imported files
say it in their own words: mini-swe-agent's `<returncode>1</returncode>` and `extra.returncode`, a JSON
result's `"returncode": 1`, `exit code 1` at the start or end of a command's output, pytest's closing
summary. Only the first and last lines are read for those words, so a file that merely mentions an exit
code (a read_file result) is not marked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from agent.display.wording import plural
from agent.events import DriverMessage, ToolResult, content_text

MarkKind = Literal["tool_error", "tests_failed", "exit", "timeout", "format_error"]


@dataclass(frozen=True)
class ErrorMark:
    """One thing that went wrong, worded for a title: `error`, `tests failed`, `exit 2`, `timed out`,
    `format error`."""

    kind: MarkKind
    label: str


TOOL_ERROR = ErrorMark("tool_error", "error")
TESTS_FAILED = ErrorMark("tests_failed", "tests failed")
TIMED_OUT = ErrorMark("timeout", "timed out")
FORMAT_ERROR = ErrorMark("format_error", "format error")

EDGE_LINES = 3
"""How many lines at each end of a result are read for exit codes and test summaries."""

_OUR_STATUS = re.compile(r"^tests (failed|timed out)\b")
_PYTEST_FAILED = re.compile(r"^=+ (?=.*=$).*?\b\d+ (failed|errors?)\b|^\d+ failed\b|^(FAILED|ERROR) \S")
_RETURNCODE_TAG = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")
_EXIT_WORDS = re.compile(r"\b(?:exit(?:ed with)?(?:\s+(?:code|status))|returncode)\s*+(?:[:=]\s*+)?(-?\d+)",
                         re.IGNORECASE)  # possessive: `\s*[:=]?\s*` split a run of spaces every way (quadratic)
_JSON_CODE_KEYS = ("returncode", "exit_code", "exitCode", "exit_status", "status_code")
_TIMEOUT = re.compile(r"\btimed out\b", re.IGNORECASE)
_FORMAT_ERROR = re.compile(r"Please always provide EXACTLY ONE action|found \d+ actions\b|format(?:ting)? error",
                           re.IGNORECASE)


def _exit(code: int) -> ErrorMark:
    return ErrorMark("exit", f"exit {code}")


def _edges(text: str) -> list[str]:
    """The first and last EDGE_LINES lines, without splitting a long text whole (this runs on every result
    of a file as it opens)."""
    text = text.strip()
    head = text.split("\n", EDGE_LINES)  # the first lines, then the rest in one piece
    if len(head) <= EDGE_LINES or head[-1].count("\n") < EDGE_LINES:
        return text.split("\n")  # short: every line
    return head[:EDGE_LINES] + head[-1].rsplit("\n", EDGE_LINES)[1:]


def _json_code(text: str) -> int | None:
    """A non-zero exit code kept in a JSON result object (`{"returncode": 1, "output": ...}`)."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    for key in _JSON_CODE_KEYS:
        code = value.get(key)
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            return code
    return None


def text_mark(text: str) -> ErrorMark | None:
    """What a command's output or an observation says went wrong, from its own words (None: nothing)."""
    edges = _edges(text)
    if any(_OUR_STATUS.match(line) for line in edges[:1]):
        return TIMED_OUT if "timed out" in edges[0] else TESTS_FAILED
    if any(_PYTEST_FAILED.search(line.strip()) for line in edges):
        return TESTS_FAILED
    code = _json_code(text)
    if code is not None:
        return _exit(code)
    head = "\n".join(edges)
    for pattern in (_RETURNCODE_TAG, _EXIT_WORDS):
        for match in pattern.finditer(head):
            if int(match.group(1)) != 0:
                return _exit(int(match.group(1)))
    if _FORMAT_ERROR.search(edges[0] if edges else ""):
        return FORMAT_ERROR
    if any(_TIMEOUT.search(line) for line in edges[:1]):
        return TIMED_OUT
    return None


def message_mark(message: Any) -> ErrorMark | None:
    """What an imported observation message says went wrong: mini-swe-agent keeps the exit code in
    `extra.returncode` as well as in the text, and names a format error in `extra.interrupt_type`."""
    if not isinstance(message, dict):
        return None
    extra = message.get("extra")
    if isinstance(extra, dict) and extra.get("interrupt_type") == "FormatError":
        return FORMAT_ERROR
    code = extra.get("returncode") if isinstance(extra, dict) else None
    mark = text_mark(content_text(message.get("content")))
    if mark is not None:
        return mark
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        return _exit(code)
    return None


def event_mark(event: Any) -> ErrorMark | None:
    """The error mark of a tool result, or of an observation in an imported transcript (None: all well)."""
    if isinstance(event, ToolResult):
        if event.is_error:
            return TOOL_ERROR
        return text_mark(event.content)
    if isinstance(event, DriverMessage) and event.kind != "exit":
        return message_mark(event.message)
    return None


def marks_label(marks: tuple[str, ...]) -> str:
    """A block's error marks for its title: `✗ 2 errors · tests failed · exit 1`."""
    counts = Counter(marks)
    parts = []
    for label, n in counts.items():
        if label == "error":
            parts.append(plural(n, "error"))
        else:
            parts.append(label if n == 1 else f"{label} ×{n}")
    return "✗ " + " · ".join(parts)
