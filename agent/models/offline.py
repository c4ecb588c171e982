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

from agent.reflection.reflector import PURPOSE_HEADER
from agent.transcripts.compare import mask_durations
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
    import re

    from agent.reflection.reflector import parse_triggers

    prompt = next((m.get("content") or "" for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    triggers = parse_triggers(str(prompt))
    if not triggers:
        return _legacy_reflection_answer(str(prompt))
    parts: list[str] = []
    for t in triggers:
        lines = [line.strip() for line in t.evidence.splitlines() if line.strip()]
        first = lines[0] if lines else ""
        if t.kind == "tests_failed":
            failing = next((l for l in lines if l.startswith(("FAILED ", "ERROR "))), "")
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


def _legacy_reflection_answer(prompt: str) -> str:
    """For a reflection prompt without trigger blocks: keyword rules."""
    evidence = [line.strip() for line in prompt.splitlines() if line.strip()]
    lowered = prompt.lower()
    if "tests_failed" in lowered or "tests failed" in lowered:
        failing = next((l for l in evidence if "FAILED" in l or "assert" in l.lower()), "")
        hint = f" The first failure: {failing[:160]}" if failing else ""
        return ("The test run failed." + hint + " Read the failing test to see the expected output, fix the "
                "function it exercises with a minimal edit, then run the tests again.")
    if "tool_error" in lowered:
        return ("The last tool call returned an error. Check the tool's arguments against its schema and the "
                "path against list_files, then retry with corrected input instead of repeating the same call.")
    if "repeated" in lowered:
        return "The same call was repeated without progress. Try a different action: read another file or edit."
    if "no_change" in lowered or "no file changed" in lowered:
        return "No file has changed for several iterations. Stop exploring and make the edit the goal needs."
    if "budget" in lowered:
        return "Most of the step budget is used. Make the smallest fix that passes the tests and call finish."
    return "Reconsider the last result and pick the next action that moves toward passing the tests."


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
    payload = {
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
        new = body.get("messages", [])
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else None
            b = new[i] if i < len(new) else None
            if _norm(a) != _norm(b):
                what = _describe_difference(a, b)
                return f"iteration {numbers[k]}: message {i} differs ({what})"
    if len(sent) < len(numbers):
        return f"the new run sent {len(sent)} requests, the recorded one {len(numbers)}"
    return None


def _norm(message: dict[str, Any] | None) -> Any:
    """A message as compared across runs: durations in tool output (pytest's "in 0.02s") differ every run."""
    if message is None:
        return None
    out = {k: v for k, v in message.items() if v is not None}
    if isinstance(out.get("content"), str):
        out["content"] = mask_durations(out["content"])
    return out


def _describe_difference(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    if a is None:
        return f"new run added a {b.get('role')} message"  # type: ignore[union-attr]
    if b is None:
        return f"new run lacks the recorded {a.get('role')} message"
    if a.get("role") != b.get("role"):
        return f"role {a.get('role')} became {b.get('role')}"
    ca, cb = str(a.get("content") or ""), str(b.get("content") or "")
    if ca != cb:
        at = next((i for i, (x, y) in enumerate(zip(ca, cb)) if x != y), min(len(ca), len(cb)))
        return f"{a.get('role')} content, at character {at}: {ca[at:at + 40]!r} became {cb[at:at + 40]!r}"
    return f"{a.get('role')} message fields differ"
