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


@dataclass(frozen=True)
class HowSent:
    """How one request went out, besides its history: the profile and mode of its time, the parameters."""

    profile: Profile
    text_mode: bool
    stream: bool
    tool_choice: str | None
    parallel_tool_calls: bool | None
    model: str
    recorded: dict[str, Any] | None
    """The parameters the request recorded (`Completion.request_params`), None in an older file."""

    def build(self, history: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
        """The request for `history`, as `ChatModel` built it (`agent.models.wire.build_request`)."""
        return build_request(history, tools, self.profile, text_mode=self.text_mode, stream=self.stream,
                             tool_choice=self.tool_choice, parallel_tool_calls=self.parallel_tool_calls)

    def params(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        """The parameters sent besides `messages`, `tools` among them when they were sent."""
        built = self.build([], tools).params
        params = {"model": self.model, **(self.recorded if self.recorded is not None else built)}
        params.pop("tools", None)
        if "tools" in built:
            params["tools"] = built["tools"]
        return params


def how_sent(transcript: Transcript, reply: AssistantMessage | None) -> HowSent | None:
    """How the request `reply` answered went out (`reply` None: as the run began); None for a file that
    does not say (another tool's, or one without a profile in its header)."""
    header = transcript.header
    settings = header.settings if isinstance(header.settings, dict) else {}
    profile = profile_of(settings) if header.source is None else None
    if profile is None:
        return None
    if reply is not None and reply.profile_changes:
        try:
            profile = profile.with_overrides(**reply.profile_changes)
        except (ValueError, TypeError):
            pass
    text_mode = reply.tool_call_mode == "text" if reply is not None else profile.tool_calls == "text"
    recorded = reply.request_params if reply is not None else None
    stream = bool(recorded.get("stream")) if recorded is not None else bool(settings.get("stream"))
    model = str(recorded.get("model") or header.model) if recorded is not None else header.model
    recorded = {k: v for k, v in recorded.items() if k != "model"} if recorded is not None else None
    return HowSent(profile, text_mode, stream, settings.get("tool_choice"), settings.get("parallel_tool_calls"),
                   model, recorded)


def sent_request(transcript: Transcript, iteration: int) -> SentRequest:
    """The request of `iteration` as sent (KeyError: no request recorded for it)."""
    canonical, previous = transcript.request_at(iteration)
    header = transcript.header
    how = how_sent(transcript, _reply_of(transcript, iteration))
    if how is None:
        why = ("another tool's file: its history, as the file holds it; how it was sent is not recorded"
               if header.source else "the history; this file does not record how requests were sent (no profile)")
        return SentRequest(iteration, canonical, previous, None, None, previous, why, "")
    if how.recorded is not None:
        said = "as sent: rebuilt from the history with the header's profile and tools and the parameters " \
               "this request recorded"
    else:
        said = "as sent, rebuilt from the history with the header's profile and tools (this file records no " \
               "parameters per request: a change made during the run would not show)"
    wire = how.build(canonical, header.tools)
    params = how.params(header.tools)
    raw = request_body(params.pop("model"), wire.messages, params)
    before = how.build(canonical[:previous], header.tools).messages if previous else []
    same = 0
    while same < min(len(before), len(wire.messages)) and before[same] == wire.messages[same]:
        same += 1
    return SentRequest(iteration, canonical, previous, json.loads(raw), raw, same, said,
                       describe_wire(how.profile, how.text_mode))


_SHAPING = ("system_role", "assistant_content", "id_style")
"""The profile's fields that change the messages on the wire in either mode."""
_TEXT_SHAPING = ("text_tools", "text_results", "text_one_call")
"""Those that change them in text mode only."""


def sent_differences(a: HowSent, b: HowSent, tools_a: list[dict[str, Any]],
                     tools_b: list[dict[str, Any]]) -> list[str]:
    """How two requests were sent differently, besides their histories: `temperature 0.2 vs 0.7`,
    `tool calls as text in A, native in B`, ... (empty: the same way)."""
    out = []
    if a.text_mode != b.text_mode:
        out.append(f"tool calls {'as text' if a.text_mode else 'native'} in A, {'as text' if b.text_mode else 'native'} in B")
    pa, pb = a.params(tools_a), b.params(tools_b)
    if pa.pop("tools", None) != pb.pop("tools", None) or (a.text_mode and b.text_mode and tools_a != tools_b):
        out.append("tools differ")
    for key in [*pa, *(k for k in pb if k not in pa)]:
        if pa.get(key) != pb.get(key):
            out.append(f"{key} {_short(pa.get(key))} vs {_short(pb.get(key))}")
    for name in _SHAPING + (_TEXT_SHAPING if a.text_mode or b.text_mode else ()):
        va, vb = getattr(a.profile, name), getattr(b.profile, name)
        if va != vb:
            out.append(f"{name} {_short(va)} vs {_short(vb)}")
    return out


def _short(value: Any) -> str:
    """A parameter's value in a few characters (`not sent` when it is absent)."""
    if value is None:
        return "not sent"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"
