"""The request of an iteration as it went on the wire, rebuilt from a transcript by the code that built it.

The history is kept in canonical form; what an endpoint received differs from it as the run's profile says
(`agent.models.wire`): in text mode the calls are `<tool_call>` text and the calling rules end the system
prompt, `developer` stands for `system`, ids are rewritten, and the sampling parameters and `tools` travel
beside the messages. `sent_request` runs the same `build_request` on the same history, with the header's
profile and tools and what each reply recorded of its request (`request_params`, `profile_changes`,
`tool_call_mode`), and has the openai SDK serialise the result (`request_body`): the bytes the endpoint got.

Another tool's file records only its history: its "request" is that history, said to be so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from agent.events import AssistantMessage
from agent.models.profiles import Profile
from agent.models.wire import build_request, describe_wire, request_body
from agent.transcripts.transcript import Transcript


@dataclass
class SentRequest:
    """One iteration's request: as sent (when the file says how), and as the canonical history holds it."""

    iteration: int
    canonical: list[dict[str, Any]]
    """The history's messages the request was built from."""
    canonical_previous: int
    """How many of them the previous iteration's request had."""
    body: dict[str, Any] | None
    """The JSON body as sent, keys in the order sent (None: the file does not say how it was sent)."""
    raw: bytes | None
    """`body` as bytes, serialised by the openai SDK as it sends it."""
    new_from: int
    """The first message of `body` that the previous request did not hold as it is."""
    how: str
    """One line: what `body` is rebuilt from, or why there is none."""
    wire: str
    """How the messages on the wire differ from the history (`describe_wire`)."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages as sent, else those of the history."""
        return self.body["messages"] if self.body is not None else self.canonical


def profile_of(settings: dict[str, Any]) -> Profile | None:
    """The profile a header recorded (unknown fields of a newer file ignored); None when it has none."""
    recorded = settings.get("profile") if isinstance(settings, dict) else None
    if not isinstance(recorded, dict):
        return None
    known = {f.name for f in fields(Profile)}
    values = {k: v for k, v in recorded.items() if k in known}
    if isinstance(values.get("role_refusals"), list):
        values["role_refusals"] = tuple(values["role_refusals"])
    try:
        return Profile(**values)
    except TypeError:
        return None


def _reply_of(transcript: Transcript, iteration: int) -> AssistantMessage | None:
    """The reply that answered `iteration`'s request; else the last reply before it (a request left
    unanswered was sent as the one before it was)."""
    found = None
    for event in transcript.events:
        if isinstance(event, AssistantMessage):
            if event.iteration > iteration:
                break
            found = event
    return found


def sent_request(transcript: Transcript, iteration: int) -> SentRequest:
    """The request of `iteration` as sent (KeyError: no request recorded for it)."""
    canonical, previous = transcript.request_at(iteration)
    header = transcript.header
    settings = header.settings if isinstance(header.settings, dict) else {}
    profile = profile_of(settings) if header.source is None else None
    if profile is None:
        why = ("another tool's file: its history, as the file holds it; how it was sent is not recorded"
               if header.source else "the history; this file does not record how requests were sent (no profile)")
        return SentRequest(iteration, canonical, previous, None, None, previous, why, "")
    reply = _reply_of(transcript, iteration)
    changes = reply.profile_changes if reply is not None else {}
    try:
        profile = profile.with_overrides(**changes)
    except (ValueError, TypeError):
        pass
    text_mode = reply.tool_call_mode == "text" if reply is not None else profile.tool_calls == "text"
    recorded = reply.request_params if reply is not None else None
    stream = bool(recorded.get("stream")) if recorded is not None else bool(settings.get("stream"))

    def build(history: list[dict[str, Any]]) -> Any:
        return build_request(history, header.tools, profile, text_mode=text_mode, stream=stream,
                             tool_choice=settings.get("tool_choice"),
                             parallel_tool_calls=settings.get("parallel_tool_calls"))

    wire = build(canonical)
    if recorded is not None:
        params = {k: v for k, v in recorded.items() if k != "model"}
        model = str(recorded.get("model") or header.model)
        how = "as sent: rebuilt from the history with the header's profile and tools and the parameters " \
              "this request recorded"
    else:
        params = {k: v for k, v in wire.params.items() if k != "tools"}
        model = header.model
        how = "as sent, rebuilt from the history with the header's profile and tools (this file records no " \
              "parameters per request: a change made during the run would not show)"
    if "tools" in wire.params:
        params["tools"] = wire.params["tools"]
    raw = request_body(model, wire.messages, params)
    body = json.loads(raw)
    before = build(canonical[:previous]).messages if previous else []
    same = 0
    while same < min(len(before), len(wire.messages)) and before[same] == wire.messages[same]:
        same += 1
    return SentRequest(iteration, canonical, previous, body, raw, same, how, describe_wire(profile, text_mode))
