"""SWE-agent trajectories (`.traj`): `{"trajectory": [{action, observation, response, thought, state,
query}], "history": [messages], "info": {exit_status, submission, model_stats}, "environment",
"replay_config"}`.

`history` is the agent's chat history (results answer `tool_call_ids`), read as it is; a trajectory
without one is read from its steps (each a reply, then its observation). `info.exit_status` is how the run
ended, its `model_stats` the tokens. The steps (with `query`, the model's exact input) stay in the header's
settings."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from agent.events import RunFinished, content_text
from agent.transcripts.formats.history import (
    Entry,
    HistoryReader,
    ORIGINAL,
    dumps,
    goal_of,
    mapping,
    new_transcript,
    read_all,
    usage_of,
)
from agent.transcripts.formats.peek import Peek
from agent.transcripts.transcript import Transcript, TranscriptError

NAME = "swe-agent"
LABEL = "SWE-agent trajectory (.traj)"
_MARK = re.compile(rb'"trajectory"\s*:\s*\[')
_STEP = re.compile(rb'"(action|observation|thought)"\s*:')


def detect(peek: Peek) -> bool:
    return peek.stripped()[:1] == b"{" and bool(_MARK.search(peek.head)) and bool(_STEP.search(peek.head))


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    data = peek.json("SWE-agent trajectory")
    if not isinstance(data, dict) or not isinstance(data.get("trajectory"), list):
        raise TranscriptError(f'{peek.label}: not a SWE-agent trajectory (no "trajectory" list)')
    history = data.get("history")
    info = mapping(data.get("info"))
    stats = mapping(info.get("model_stats"))
    if isinstance(history, list) and history:
        items: list[Any] = history
        convert: Callable[[Any], list[Entry]] = _message
    else:
        items = data["trajectory"]
        convert = _step
    transcript = new_transcript(
        NAME, created=peek.mtime, goal=goal_of(m for m in items[:10] if isinstance(m, dict)),
        settings={k: v for k, v in data.items() if k not in ("history",)})
    status = info.get("exit_status")
    ending = None if not status else RunFinished(
        reason="finished" if isinstance(status, str) and status.startswith("submitted") else "error",
        detail=status if isinstance(status, str) else dumps(status), ts=peek.mtime,
        summary=info.get("submission") if isinstance(info.get("submission"), str) else None,
        usage=usage_of(stats.get("tokens_sent"), stats.get("tokens_received")))

    def entries() -> Iterator[tuple[Entry, int]]:
        for i, item in enumerate(items):
            for entry in convert(item):
                yield entry, i + 1

    reader = HistoryReader(transcript, entries(), total=len(items), size=peek.size, source=peek.label,
                           what="history item", ending=None if ending is None else (lambda: ending))
    return read_all(transcript, reader, in_steps)


def _message(m: Any) -> list[Entry]:
    """A history message: results name their call in `tool_call_ids` (a list)."""
    if not isinstance(m, dict) or m.get("role") != "tool" or "tool_call_id" in m:
        return [Entry(m)]
    ids = m.get("tool_call_ids")
    cid = ids[0] if isinstance(ids, list) and ids else None
    return [Entry({**{k: v for k, v in m.items() if k != "tool_call_ids"}, "tool_call_id": None if cid is None else str(cid),
                   ORIGINAL: m})]


def _step(step: Any) -> list[Entry]:
    """A trajectory step without a history: the reply, then what the environment answered."""
    if not isinstance(step, dict):
        raise TranscriptError(f"a step that is {type(step).__name__}, not an object")
    reply = content_text(step.get("response")) or content_text(step.get("thought"))
    return [Entry({"role": "assistant", "content": reply, ORIGINAL: step}),
            Entry({"role": "user", "content": content_text(step.get("observation"))})]
