"""Replaying a recorded run: its replies served back in order by the offline model, and whether the new run
asked what the recorded one asked (the first request that differs, described)."""

from __future__ import annotations

from typing import Any

from agent.events import AssistantMessage, IterationStarted, ReflectionNote
from agent.models.offline import OfflineServer, ScriptError
from agent.reflection.scripted import default_reflection_answer
from agent.transcripts.compare import describe_difference, normalise_messages
from agent.transcripts.transcript import Transcript


def replay_server(recorded: Transcript) -> OfflineServer:
    """Serve a saved run's assistant messages and reflection notes back in order."""
    replies = [e.message for e in recorded.events if isinstance(e, AssistantMessage)]
    notes = [e.content for e in recorded.events if isinstance(e, ReflectionNote)]
    if not replies:
        raise ScriptError("the transcript to replay has no assistant messages")
    return OfflineServer(replies, model=recorded.header.model or "replay", reflection_replies=notes,
                         reflection_answer=default_reflection_answer)


def first_divergence(recorded: Transcript, sent: list[dict[str, Any]]) -> str | None:
    """Compare the requests of a new run with those recorded; describe the first difference, if any."""
    # one request per iteration: a request retried after a role refusal counts once (the answered one)
    numbers = list(dict.fromkeys(e.iteration for e in recorded.events if isinstance(e, IterationStarted)))
    for k, body in enumerate(sent):
        if k >= len(numbers):
            return f"request {k + 1}: the recorded run sent only {len(numbers)} requests"
        old, _ = recorded.request_at(numbers[k])
        recorded_norm, new_norm = normalise_messages(old), normalise_messages(body.get("messages", []))
        for i in range(max(len(recorded_norm), len(new_norm))):
            a = recorded_norm[i] if i < len(recorded_norm) else None
            b = new_norm[i] if i < len(new_norm) else None
            if a != b:
                diff = describe_difference(i, a, b)
                detail = f", {diff.detail}" if diff.detail and diff.kind == "content" else ""
                return f"iteration {numbers[k]}: message {i} differs ({diff.what}{detail}; A: recorded, B: this run)"
    if len(sent) < len(numbers):
        return f"the new run sent {len(sent)} requests, the recorded one {len(numbers)}"
    return None
