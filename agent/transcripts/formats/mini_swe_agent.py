"""mini-swe-agent trajectories: `{"info": {exit_status, submission, model_stats, config...}, "messages":
[...], "trajectory_format": "mini-swe-agent-1"}`, the run ending in a message whose role is `exit`.

The messages are Chat Completions messages already; `info` says how the run ended."""

from __future__ import annotations

import re
from typing import Any

from agent.events import RunFinished
from agent.transcripts.formats.history import Entry, HistoryReader, dumps, goal_of, mapping, new_transcript, read_all
from agent.transcripts.formats.peek import Peek
from agent.transcripts.transcript import Transcript, TranscriptError, message_problem

NAME = "mini-swe-agent"
LABEL = "mini-swe-agent trajectory"
_MARK = re.compile(rb'"trajectory_format"\s*:\s*"mini-swe-agent|"mini_version"\s*:')
_REASONS = {"Submitted": "finished", "LimitsExceeded": "max_steps"}


def detect(peek: Peek) -> bool:
    return peek.stripped()[:1] == b"{" and bool(_MARK.search(peek.head))


def is_trajectory(data: dict[str, Any]) -> bool:
    """Whether a `{"messages": [...]}` document is mini-swe-agent's (its format tag, its info keys, or an
    `exit` message last)."""
    fmt, info, messages = data.get("trajectory_format"), data.get("info"), data.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    return (isinstance(fmt, str) and fmt.startswith("mini-swe-agent")) or (
        isinstance(info, dict) and ("mini_version" in info or "exit_status" in info)
    ) or (isinstance(last, dict) and last.get("role") == "exit")


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    data = peek.json("JSON document")
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise TranscriptError(f'{peek.label}: not a transcript: a mini-swe-agent trajectory without a "messages" list')
    return from_document(data, peek, in_steps, NAME if is_trajectory(data) else "messages-object")


def from_document(data: dict[str, Any], peek: Peek, in_steps: bool, source: str) -> Transcript:
    """A parsed `{"messages": [...], ...}` document, converted in steps: its other keys are the header's
    settings, and a mini-swe-agent's `info.exit_status` is how the run ended."""
    messages: list[Any] = data["messages"]
    rest = {k: v for k, v in data.items() if k != "messages"}
    info = mapping(rest.get("info"))
    first = next((m for m in messages[:50] if message_problem(m) is None and m.get("role") == "user"), None)
    transcript = new_transcript(source, created=peek.mtime, settings=rest, model=model_name(rest),
                                goal=goal_of([first]) if first else "")
    ending = _ending(info, peek.mtime) if source == NAME else None
    reader = HistoryReader(transcript, ((Entry(m), i + 1) for i, m in enumerate(messages)), total=len(messages),
                           size=peek.size, source=peek.label, what="messages item",
                           ending=None if ending is None else (lambda: ending))
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
