"""The notes lens as CSV: a model's words in a spreadsheet, so secrets redacted and no cell it would run."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from agent.export.redact import Redactor
from agent.transcripts.notes import NoteRow


CSV_FIELDS = ("run", "setting", "iteration", "triggers", "evidence", "role", "note", "followed_by", "outcome",
              "reflection_prompt_tokens", "reflection_completion_tokens")


def notes_csv(rows: Iterable[NoteRow]) -> str:
    """The notes as CSV, secrets redacted, and no cell a spreadsheet would run as a formula (a model wrote them)."""
    redactor = Redactor()

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = redactor.text(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        n = row.note
        writer.writerow([cell(v) for v in (row.run, row.setting or "", n.iteration, ",".join(n.triggers), n.evidence,
                                           n.role, n.content, ",".join(n.followed_by), row.outcome,
                                           n.prompt_tokens, n.completion_tokens)])
    return buf.getvalue()
