"""Fold a long text so that what matters stays on screen: its head, the lines that carry a failure, and its
tail, with each hidden run counted.

A failing test run puts its cause anywhere: pytest's `E ` lines and `FAILED` summary, a `Traceback`, a
`SyntaxError` in the middle of a collection error, a non-zero exit code. Showing only the first lines
hides it behind imports; showing everything drowns it. `fold_plan` keeps the head and the tail, every cause
line with the line before it (pytest's `>` source line, a traceback's `File ...` line), and hides the rest in
runs a reader can count. A JSON result's strings are read by their text, not by how they are drawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.display.wording import plural

HEAD = 8
"""Lines always shown at the start (what ran, the status line)."""
TAIL = 4
"""Lines always shown at the end (the summary)."""
FOLD_FROM = 20
"""A text of at most this many lines is shown whole."""
MAX_CAUSES = 40
"""At most this many cause lines are kept visible (the first and the last halves of them)."""
LINE_CHARS = 2000
"""A shown line is cut at this many characters (a minified file is one huge line)."""

CAUSE = re.compile(
    r"^E\s"                                   # pytest: the assertion and exception lines
    r"|\b(FAILED|ERROR)\b"                    # pytest -v lines, its short summary, collection errors
    r"|^_{3,} .* _{3,}$"                      # pytest: the header of each failing test
    r"|^=+ (?=.* =+$).*?\b(failed|errors?)\b"  # pytest's closing summary when something failed
    r"|Traceback \(most recent call last\)"
    r"|[\w.](Error|Exception)\b"              # SyntaxError, ValueError, requests.HTTPError, ...
    r"|^error\b|^fatal\b"                     # compilers, git, our own tools' error results
    r"|\b(exit(\s+(code|status))?|returncode)\W{0,3}[1-9]\d*"  # a non-zero exit, however it is written
    r"|<returncode>\s*[1-9]\d*"               # mini-swe-agent
    r"|\btimed out\b"
)
r"""Linear: no part scans a stretch that another part, or the same part from the next position, scans again
(`\b[A-Za-z_][\w.]*Error` rescanned the rest of the line from every word of `a.a.a...`: a 200 kB line took
minutes; the pytest summary's two `.*` split the line every way)."""


STRING_RULE = "│ "
"""What starts each line of a multi-line string shown inside a JSON value (`tui.content`), after its indent."""


def _text_of(line: str) -> str:
    """The text a line carries: a JSON string's line without its indent and rule (a mini-swe-agent result
    `{"output": "...E   assert..."}` shows its output as `    │ E   assert...`), else the line."""
    head, rule, rest = line.partition(STRING_RULE)
    return rest if rule and not head.strip() else line


@dataclass(frozen=True)
class Hidden:
    """Lines `start` to `end` (exclusive) are folded away."""

    start: int
    end: int

    @property
    def count(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Shown:
    """Lines `start` to `end` (exclusive) are shown."""

    start: int
    end: int


def fold_plan(lines: list[str], *, head: int = HEAD, tail: int = TAIL, fold_from: int = FOLD_FROM,
              max_causes: int = MAX_CAUSES) -> list[Shown | Hidden]:
    """Which lines of `lines` to show and which to fold, in order, covering every line once. A text of at
    most `fold_from` lines is one Shown; otherwise the head, the tail and each cause line (with the line
    before it) are shown. A hidden run of a single line is shown instead: its fold line would take as much
    room."""
    n = len(lines)
    if n <= fold_from:
        return [Shown(0, n)] if n else []
    keep = bytearray(n)
    for i in range(min(head, n)):
        keep[i] = 1
    for i in range(max(0, n - tail), n):
        keep[i] = 1
    causes = [i for i in range(head, n - tail) if CAUSE.search(_text_of(lines[i]))]
    if len(causes) > max_causes:
        half = max_causes // 2
        causes = causes[:half] + causes[-(max_causes - half):]
    for i in causes:
        keep[i] = 1
        if i:
            keep[i - 1] = 1
    plan: list[Shown | Hidden] = []
    i = 0
    while i < n:
        j = i
        while j < n and keep[j] == keep[i]:
            j += 1
        if not keep[i] and j - i == 1:
            keep[i] = 1  # one hidden line: show it, and merge it with its neighbours
        i = j
    i = 0
    while i < n:
        j = i
        while j < n and keep[j] == keep[i]:
            j += 1
        plan.append(Shown(i, j) if keep[i] else Hidden(i, j))
        i = j
    return plan


def clip_line(line: str, limit: int = LINE_CHARS) -> tuple[str, int]:
    """`line` cut at `limit` characters, and how many were cut."""
    if len(line) <= limit:
        return line, 0
    return line[:limit], len(line) - limit


def fold_text(text: str, **plan_options: int) -> str:
    """`text` folded as `fold_plan` says, each hidden run as one `… N lines hidden …` line: for printing
    a long result where no key can unfold it (the headless printer)."""
    lines = text.split("\n")
    out: list[str] = []
    for part in fold_plan(lines, **plan_options):
        if isinstance(part, Hidden):
            out.append(f"… {plural(part.count, 'line')} hidden …")
            continue
        for line in lines[part.start:part.end]:
            shown, cut = clip_line(line)
            out.append(shown + (f" … ({plural(cut, 'more character')})" if cut else ""))
    return "\n".join(out)
