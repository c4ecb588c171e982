"""Text from a model, a tool or a provider is data: it must never reach a terminal as a control sequence.

An escape sequence in a tool result can retitle the window, clear the screen or write the clipboard (OSC 52)
when it is printed raw, and a raw ESC makes an SVG snapshot ill-formed XML. `inert` shows every control
character in caret notation (ESC as `^[`), keeping only newlines and tabs, so the text stays readable and
nothing in it acts.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F: U+009B is a one-byte CSI)."""


def _caret(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def inert(text: str) -> str:
    """`text` with every control character shown instead of acting: ESC as `^[`, BEL as `^G`, U+009B as
    `<U+009B>`. A CRLF line end becomes a plain newline (not `^M`); a lone carriage return is shown."""
    if not CONTROL.search(text):
        return text
    return CONTROL.sub(_caret, text.replace("\r\n", "\n"))


def complain(message: str, stream: TextIO | None = None) -> None:
    """One `agent-tui: ...` line on stderr, inert: the message may quote a provider, a file name or a tool."""
    print(f"agent-tui: {inert(message)}", file=stream or sys.stderr)
