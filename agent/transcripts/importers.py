"""Open any transcript a user is likely to have into our one `Transcript` model, and check it.

Files are told apart by what they hold, not by their name: the first format of `formats.FORMATS` whose
`detect` claims the file opens it. Imported histories become the same events the loop publishes, so the
viewer, the ordering check, the request view, compare and export work on them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from agent.ordering import CHAT_ROLES, Unanswered, Violation, check_messages, unanswered_calls
from agent.transcripts.formats import FORMATS
from agent.transcripts.formats.history import transcript_from_messages
from agent.transcripts.formats.peek import Peek, peek
from agent.transcripts.formats.session import Session
from agent.transcripts.transcript import Transcript, TranscriptError

__all__ = ["CheckReport", "check_file", "file_format", "open_transcript", "sessions_of", "transcript_from_messages"]


def file_format(p: Peek) -> ModuleType:
    """The format module that claims the file (the catch-all `chat` at worst)."""
    return next(fmt for fmt in FORMATS if fmt.detect(p))


def open_transcript(path: Path | str, *, in_steps: bool = False) -> Transcript:
    """Read any supported file (`FILE#MEMBER` for one run of a file that holds many). Only regular files;
    anything malformed is a TranscriptError with one line saying what is wrong.

    `in_steps`: read only what the first screen needs now and leave the rest to `transcript.rest` (the app
    shows the first screen of a big file while it reads or converts the rest)."""
    p = peek(path)
    fmt = file_format(p)
    try:
        return fmt.open(p, in_steps)
    except RecursionError:
        raise TranscriptError(f"{p.label}: not a transcript: nested too deeply to read") from None


def sessions_of(path: Path | str) -> list[Session] | None:
    """The runs a file holds when it holds more than one it can name (an Inspect log's samples); None for a
    file that is one run."""
    p = peek(path)
    fmt = file_format(p)
    lister = getattr(fmt, "sessions", None)
    return None if lister is None or p.member else lister(p)


@dataclass
class CheckReport:
    """What `check_file` found: the broken rules, and the calls the run never answered."""

    transcript: Transcript
    violations: list[Violation]
    unanswered: Unanswered | None
    """Calls at the end of the history without a result: the run stopped (or is still running) between
    the calls and their results. No request carried them, so they break no rule."""

    def unanswered_text(self) -> str:
        """Why the last calls have no result, in a sentence ('' when every call was answered)."""
        if self.unanswered is None:
            return ""
        names = _call_names(self.transcript.messages()[self.unanswered.index])
        calls = ", ".join(f"{cid} ({names[cid]})" if cid in names else cid for cid in self.unanswered.ids)
        finished = self.transcript.finished
        if self.transcript.header.source is not None:
            why = "the history ends before their results"
        elif finished is None:
            why = "the run stopped before their results (the transcript has no end: the run was killed, or is " \
                  "still running)"
        else:
            why = f"the run stopped ({finished.reason.replace('_', ' ')}) before their results"
        return (f"the last calls were never answered: {why}: {calls}. No request carried them, so no rule "
                "was broken")


def check_file(path: Path | str) -> CheckReport:
    """Open a transcript and check its history; roles the API does not know (`exit`, `thinking`) are
    neutral. The history of a file is not a request: calls left unanswered at its very end are reported
    apart."""
    transcript = open_transcript(path)
    messages = transcript.messages()
    foreign = {str(m.get("role")) for m in messages} - CHAT_ROLES
    return CheckReport(transcript, check_messages(messages, skip_roles=foreign, open_end=True),
                       unanswered_calls(messages))


def _call_names(message: dict[str, Any]) -> dict[str, str]:
    out = {}
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict) and call.get("id"):
            fn = call.get("function")
            out[str(call["id"])] = str(fn.get("name") if isinstance(fn, dict) else "?")
    return out
