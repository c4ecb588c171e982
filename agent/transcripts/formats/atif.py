"""ATIF, Harbor's Agent Trajectory Interchange Format: `{"schema_version": "ATIF-v1.x", "session_id", "agent":
{name, model_name, tool_definitions}, "steps": [{step_id, timestamp, source: system|user|agent, message,
reasoning_content, tool_calls: [{tool_call_id, function_name, arguments}], observation: {results:
[{source_call_id, content}]}, metrics: {prompt_tokens, completion_tokens}}], "final_metrics"}`.

An agent step is an assistant message with its calls, followed by a `tool` message per result that names
its call; a result that names none (a terminal agent's screen) is what the model read next, a user message.
Reasoning and sub-agent trajectories are shown beside the step."""

from __future__ import annotations

import re
from typing import Any, Iterator

from agent.events import content_text
from agent.transcripts.formats.history import (
    Entry,
    HistoryReader,
    ORIGINAL,
    chat_call,
    dumps,
    foreign,
    goal_of,
    iso_time,
    mapping,
    new_transcript,
    read_all,
    usage_of,
)
from agent.transcripts.formats.peek import Peek
from agent.transcripts.transcript import Transcript, TranscriptError

NAME = "atif"
LABEL = "ATIF trajectory (Harbor)"
_MARK = re.compile(rb'"schema_version"\s*:\s*"ATIF-')
_ROLES = {"system": "system", "user": "user", "agent": "assistant"}


def detect(peek: Peek) -> bool:
    return peek.stripped()[:1] == b"{" and bool(_MARK.search(peek.head))


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    data = peek.json("ATIF trajectory")
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise TranscriptError(f'{peek.label}: not an ATIF trajectory (no "steps" list)')
    steps: list[Any] = data["steps"]
    agent = mapping(data.get("agent"))
    tools = agent.get("tool_definitions")
    first_ts = next((iso_time(s.get("timestamp")) for s in steps if isinstance(s, dict) and s.get("timestamp")), None)
    transcript = new_transcript(
        NAME, created=first_ts or peek.mtime, model=agent.get("model_name") if isinstance(agent.get("model_name"), str)
        else None, goal=goal_of({"role": "user", "content": s.get("message")} for s in steps[:20]
                                if isinstance(s, dict) and s.get("source") == "user"),
        tools=[t for t in tools if isinstance(t, dict)] if isinstance(tools, list) else None,
        settings={k: data.get(k) for k in ("schema_version", "session_id", "final_metrics", "continued_trajectory_ref")
                  if k in data} | {"agent": {k: v for k, v in agent.items() if k != "tool_definitions"}})

    def entries() -> Iterator[tuple[Entry, int]]:
        for i, step in enumerate(steps):
            for entry in _step(step):
                yield entry, i + 1

    reader = HistoryReader(transcript, entries(), total=len(steps), size=peek.size, source=peek.label, what="message")
    return read_all(transcript, reader, in_steps)


def _step(step: Any) -> list[Entry]:
    if not isinstance(step, dict):
        raise TranscriptError(f"a step that is {type(step).__name__}, not an object")
    ts = iso_time(step.get("timestamp"))
    role = _ROLES.get(str(step.get("source")), "user")
    message: dict[str, Any] = {"role": role, "content": content_text(step.get("message")), ORIGINAL: step}
    calls = step.get("tool_calls")
    called: set[str] = set()
    if role == "assistant" and isinstance(calls, list) and calls:
        message["tool_calls"] = [chat_call(c.get("tool_call_id"), c.get("function_name"), c.get("arguments", {}))
                                 if isinstance(c, dict) else c for c in calls]
        called = {c["id"] for c in message["tool_calls"] if isinstance(c, dict)}
    metrics = mapping(step.get("metrics"))
    out = [Entry(message, ts=ts, usage=usage_of(metrics.get("prompt_tokens"), metrics.get("completion_tokens")),
                 model=step.get("model_name") if isinstance(step.get("model_name"), str) else None)]
    if step.get("reasoning_content"):
        out.append(foreign("reasoning", content_text(step["reasoning_content"]), ts=ts))
    observation = mapping(step.get("observation"))
    results = observation["results"] if isinstance(observation.get("results"), list) else []
    for result in results:
        if not isinstance(result, dict):
            continue
        cid = result.get("source_call_id")
        text = content_text(result.get("content"))
        if cid is not None and str(cid) in called:
            out.append(Entry({"role": "tool", "tool_call_id": str(cid), "content": text}, ts=ts))
        else:
            out.append(Entry({"role": "user", "content": text}, ts=ts, kind="observation"))
        if result.get("subagent_trajectory_ref"):
            out.append(foreign("sub-agent", dumps(result["subagent_trajectory_ref"]), ts=ts))
    return out
