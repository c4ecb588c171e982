"""Offline models that speak the real wire format.

The scripted and replay models are HTTP handlers mounted as an in-process transport under the real
`openai` SDK: every request is serialised by the SDK exactly as for a real endpoint, and every answer is a
Chat Completions JSON body the SDK parses. Tests read `requests` to see what the SDK really sent.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Callable

try:  # the openai SDK 3.x is built on httpx2; older releases on httpx
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

from agent.reflection.reflector import PURPOSE_HEADER, parse_triggers
from agent.transcripts.compare import describe_difference, normalise_messages
from agent.transcripts.transcript import Transcript

OFFLINE_BASE_URL = "http://offline.agent-tui.invalid/v1"


class ScriptError(Exception):
    """A script file that cannot be used; the message names the file and the problem."""


def load_script(path: Path | str) -> list[dict[str, Any]]:
    """Read a JSON list of assistant messages in Chat Completions format."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScriptError(f"{p}: no such script file") from None
    except json.JSONDecodeError as exc:
        raise ScriptError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, list) or not data:
        raise ScriptError(f"{p}: expected a non-empty JSON list of assistant messages")
    for i, item in enumerate(data):
        if not isinstance(item, dict) or item.get("role", "assistant") != "assistant":
            raise ScriptError(f"{p}: item {i} is not an assistant message")
        for call in item.get("tool_calls") or []:
            args = call.get("function", {}).get("arguments")
            if not isinstance(args, str):
                raise ScriptError(f"{p}: item {i}: tool call arguments must be a JSON string")
    return [{"role": "assistant", **{k: v for k, v in m.items() if k != "role"}} for m in data]


def estimate_tokens(payload: Any) -> int:
    """A rough count (4 characters a token) so offline runs show plausible usage figures."""
    return max(1, len(json.dumps(payload, ensure_ascii=False)) // 4)


def default_reflection_answer(body: dict[str, Any]) -> str:
    """A deterministic note built from the trigger evidence in the reflection request.

    The reflection prompt carries its triggers as `<trigger kind="...">evidence</trigger>` blocks
    (`agent.reflection.reflector.trigger_block`); the note answers each one, quoting its concrete evidence.
    """
    prompt = next((m.get("content") or "" for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    triggers = parse_triggers(str(prompt))
    if not triggers:
        return "Reconsider the last result and pick the next action that moves toward passing the tests."
    parts: list[str] = []
    for t in triggers:
        lines = [line.strip() for line in t.evidence.splitlines() if line.strip()]
        first = lines[0] if lines else ""
        if t.kind == "tests_failed":
            failing = next((line for line in lines if line.startswith(("FAILED ", "ERROR "))), "")
            m = re.match(r"(?:FAILED|ERROR) (\S+)(?: - (.*))?", failing)
            if m:
                test = m.group(1)
                why = f" ({m.group(2)})" if m.group(2) else ""
                parts.append(f"The tests fail, first {test}{why}. Read that test to see the expected result, "
                             "fix the code it exercises with a minimal edit, then run the tests again.")
            else:
                parts.append(f"The test run failed: {first[:160]}. Read the failing test to see the expected "
                             "result, fix the code with a minimal edit, then run the tests again.")
        elif t.kind == "tool_error":
            more = f" (and {len(lines) - 1} more failing call{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else ""
            parts.append(f"This call failed: {first[:200]}{more}. Correct its input (check paths with list_files "
                         "and arguments against the tool's schema) instead of repeating it.")
        elif t.kind == "repeated_call":
            call = first.split(" called ")[0]
            parts.append(f"You repeated {call} without progress. Do something different: read another file, "
                         "or make the edit the goal needs.")
        elif t.kind == "no_change":
            parts.append(f"{first[:1].upper()}{first[1:160]}. Stop exploring and make the edit the goal needs.")
        elif t.kind == "budget":
            parts.append(f"Step budget: {first[:160]}. Make the smallest fix that passes the tests and call finish.")
        else:
            parts.append(f"{t.kind}: {first[:160]}. Reconsider the last result and pick the next action that "
                         "moves toward passing the tests.")
    return " ".join(parts)


class OfflineServer:
    """Answers Chat Completions requests from a list of assistant messages, in order."""

    def __init__(self, replies: list[dict[str, Any]], model: str = "scripted",
                 reflection_answer: Callable[[dict[str, Any]], str] = default_reflection_answer,
                 reflection_replies: list[str] | None = None) -> None:
        self.replies = replies
        self.model = model
        self.reflection_answer = reflection_answer
        self.reflection_replies = list(reflection_replies or [])
        self.requests: list[dict[str, Any]] = []
        """Every agent-turn request body, as the SDK serialised it."""
        self.reflection_requests: list[dict[str, Any]] = []
        self._next = 0

    def skip(self, count: int) -> None:
        """Answer the next request with the reply `count` places further on (a fork answers its first
        requests from a recording, and the script goes on where the recorded run was)."""
        self._next += count

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/chat/completions"):
            return _error(404, f"offline model serves /chat/completions only, not {request.url.path}")
        body = json.loads(request.content or b"{}")
        if request.headers.get(PURPOSE_HEADER) == "reflection":
            self.reflection_requests.append(body)
            k = len(self.reflection_requests) - 1
            text = self.reflection_replies[k] if k < len(self.reflection_replies) else self.reflection_answer(body)
            return _completion(body, {"role": "assistant", "content": text}, self.model)
        self.requests.append(body)
        if self._next >= len(self.replies):
            return _error(400, f"offline model: the script has no reply left (it had {len(self.replies)})")
        reply = self.replies[self._next]
        self._next += 1
        if body.get("stream"):  # `--stream`: the same reply as server-sent chunks
            return _streamed(body, reply, self.model)
        return _completion(body, reply, self.model)


def _streamed(body: dict[str, Any], message: dict[str, Any], model: str) -> httpx.Response:
    from agent.models.streaming import sse_body, sse_chunks

    usage = None
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = json.loads(_completion(body, message, model).content)["usage"]
    return httpx.Response(200, headers={"content-type": "text/event-stream"},
                          content=sse_body(sse_chunks(message, model=model, usage=usage)))


def _completion(body: dict[str, Any], message: dict[str, Any], model: str) -> httpx.Response:
    has_calls = bool(message.get("tool_calls"))
    payload: dict[str, Any] = {
        "id": f"chatcmpl-offline-{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if has_calls else "stop"}],
        "usage": {"prompt_tokens": estimate_tokens(body.get("messages", [])),
                  "completion_tokens": estimate_tokens(message),
                  "total_tokens": 0},
    }
    payload["usage"]["total_tokens"] = payload["usage"]["prompt_tokens"] + payload["usage"]["completion_tokens"]
    return httpx.Response(200, json=payload)


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": "invalid_request_error",
                                                  "param": None, "code": None}})


def replay_server(recorded: Transcript) -> OfflineServer:
    """Serve a saved run's assistant messages and reflection notes back in order."""
    from agent.events import AssistantMessage, ReflectionNote

    replies = [e.message for e in recorded.events if isinstance(e, AssistantMessage)]
    notes = [e.content for e in recorded.events if isinstance(e, ReflectionNote)]
    if not replies:
        raise ScriptError("the transcript to replay has no assistant messages")
    return OfflineServer(replies, model=recorded.header.model or "replay", reflection_replies=notes)


def first_divergence(recorded: Transcript, sent: list[dict[str, Any]]) -> str | None:
    """Compare the requests of a new run with those recorded; describe the first difference, if any."""
    from agent.events import IterationStarted

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
