"""Export a transcript to share it: one HTML page, Markdown for an issue, or a plain message list.

Redaction (`agent.transcripts.redact`) runs on the transcript before anything is read from it, so no
string of any format escapes it; then `export_document` reads what to show, and `export_html` or
`export_markdown` lays it out. The JSON format is the history alone, as the Chat Completions API takes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agent.loop.ordering import CHAT_ROLES
from agent.transcripts.export_document import build_document
from agent.transcripts.export_html import render_html
from agent.transcripts.export_markdown import render_markdown
from agent.transcripts.formats.history import ORIGINAL
from agent.transcripts.redact import Redactor
from agent.transcripts.transcript import Transcript

Format = Literal["html", "md", "json"]
FORMATS: tuple[Format, ...] = ("html", "md", "json")
SUFFIXES: dict[Format, str] = {"html": ".html", "md": ".md", "json": ".messages.json"}


@dataclass
class Export:
    """The exported text, and what redaction did to it."""

    text: str
    redaction: str
    redacted: int


def export_transcript(transcript: Transcript, fmt: Format, *, redact: bool = True,
                      redactor: Redactor | None = None) -> Export:
    """Render `transcript` as `fmt`, with secrets redacted unless `redact` is False."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    redactor = (redactor or Redactor()) if redact else None
    if redactor is not None:
        transcript = redactor.transcript(transcript)
    redaction = redactor.summary() if redactor is not None else "redaction off (--no-redact)"
    if fmt == "json":
        text = json.dumps(chat_messages(transcript), indent=2, ensure_ascii=False) + "\n"
    else:
        document = build_document(transcript, redaction)
        text = render_html(document) if fmt == "html" else render_markdown(document)
    return Export(text, redaction, redactor.count if redactor is not None else 0)


def default_output(source: Path, fmt: Format) -> Path:
    """Where `agent-tui export FILE` writes by default: beside FILE (run.jsonl -> run.html)."""
    name = source.name
    for suffix in (".jsonl", ".traj.json", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return source.with_name(name + SUFFIXES[fmt])


def chat_messages(transcript: Transcript) -> list[dict[str, Any]]:
    """The history as a plain Chat Completions message list (roles the API does not know are left out, and
    so is the record an imported message was converted from)."""
    return [{k: v for k, v in m.items() if k != ORIGINAL} if ORIGINAL in m else m
            for m in transcript.messages() if m.get("role") in CHAT_ROLES]
