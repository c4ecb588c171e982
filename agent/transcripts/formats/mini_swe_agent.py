"""mini-swe-agent trajectories: `{"info": {exit_status, submission, model_stats, config...}, "messages":
[...], "trajectory_format": "mini-swe-agent-1"}`, the run ending in a message whose role is `exit`.

The messages are Chat Completions messages already; `info` says how the run ended."""

from __future__ import annotations

import re
from typing import Any, Iterator

from agent.events import RunFinished
from agent.transcripts.formats.document import JsonList
from agent.transcripts.formats.history import Entry, HistoryReader, dumps, goal_of, mapping, new_transcript, read_all
from agent.transcripts.formats.peek import Peek
from agent.transcripts.transcript import Transcript, TranscriptError, message_problem

NAME = "mini-swe-agent"
LABEL = "mini-swe-agent trajectory"
_MARK = re.compile(rb'"trajectory_format"\s*:\s*"mini-swe-agent|"mini_version"\s*:')
_REASONS = {"Submitted": "finished", "LimitsExceeded": "max_steps"}


def detect(peek: Peek) -> bool:
    return peek.stripped()[:1] == b"{" and bool(_MARK.search(peek.head))


def is_trajectory(rest: dict[str, Any], last: Any) -> bool:
    """Whether a `{"messages": [...]}` document is mini-swe-agent's: its format tag, its info keys (`rest`:
    the document's other keys), or an `exit` message `last`."""
    fmt, info = rest.get("trajectory_format"), rest.get("info")
    return (isinstance(fmt, str) and fmt.startswith("mini-swe-agent")) or (
        isinstance(info, dict) and ("mini_version" in info or "exit_status" in info)
    ) or (isinstance(last, dict) and last.get("role") == "exit")


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    document = JsonList(peek, "JSON document")  # its messages parsed as they are read
    if document.head is None or not document.found:
        raise TranscriptError(f'{peek.label}: not a transcript: a mini-swe-agent trajectory without a "messages" list')
    return from_document(document, peek, in_steps)


def from_document(document: JsonList, peek: Peek, in_steps: bool) -> Transcript:
    """A `{"messages": [...], ...}` document, its messages converted in steps: its other keys are the
    header's settings, and a mini-swe-agent's `info.exit_status` is how the run ended. The header is made
    from the keys before the list; once the list is read, from them all (and from its last message)."""
    rest = document.head
    assert rest is not None
    head = document.first(50)
    first = next((m for m in head if message_problem(m) is None and m.get("role") == "user"), None)
    last = head[-1] if document.done and head else None  # a short document is read whole already
    transcript = new_transcript(NAME if is_trajectory(rest, last) else "messages-object", created=peek.mtime,
                                settings=dict(rest), model=model_name(rest), goal=goal_of([first]) if first else "")
    header = transcript.header

    def entries() -> Iterator[tuple[Entry, int]]:
        last = None
        for last, position in document.items():
            yield Entry(last), position
        header.settings = dict(rest)  # the keys after the list too, now that it is read
        header.model = header.model or model_name(rest) or ""
        if is_trajectory(rest, last):
            header.source = NAME

    def ending() -> RunFinished | None:
        return _ending(mapping(rest.get("info")), peek.mtime) if header.source == NAME else None

    reader = HistoryReader(transcript, entries(), total=document.length, size=peek.size, source=peek.label,
                           what="messages item", ending=ending)
    return read_all(transcript, reader, in_steps)


def _ending(info: dict[str, Any], ts: float) -> RunFinished | None:
    status = info.get("exit_status")
    if not status:
        return None
    detail = status if isinstance(status, str) else dumps(status)  # a stranger's file may hold anything here
    submission = info.get("submission")
    return RunFinished(reason=_REASONS.get(detail, "error"), detail=detail, ts=ts,  # type: ignore[arg-type]
                       summary=submission if isinstance(submission, str) else None)


def model_name(rest: dict[str, Any]) -> str | None:
    """The model, wherever the file keeps it (mini-swe-agent: info.config.model.model_name)."""
    info = mapping(rest.get("info"))
    config = mapping(info.get("config"))
    model = config.get("model")
    candidates = [rest.get("model"), info.get("model"), model]
    if isinstance(model, dict):
        candidates += [model.get("model_name"), model.get("name"), model.get("model")]
    return next((c for c in candidates if isinstance(c, str) and c), None)
