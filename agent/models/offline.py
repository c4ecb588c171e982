"""Offline models that speak the real wire format.

The scripted and replay models are HTTP handlers mounted as an in-process transport under the real
`openai` SDK: every request is serialised by the SDK exactly as for a real endpoint, and every answer is a
Chat Completions JSON body the SDK parses. Tests read `requests` to see what the SDK really sent.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

try:  # the openai SDK 3.x is built on httpx2; older releases on httpx
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

from agent.protocols import PURPOSE_HEADER

OFFLINE_BASE_URL = "http://offline.agent-tui.invalid/v1"
GENERIC_NOTE = "Reconsider the last result and pick the next action that moves toward passing the tests."


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


class OfflineServer:
    """Answers Chat Completions requests from a list of assistant messages, in order."""

    def __init__(self, replies: list[dict[str, Any]], model: str = "scripted",
                 reflection_answer: Callable[[dict[str, Any]], str] | None = None,
                 reflection_replies: list[str] | None = None) -> None:
        self.replies = replies
        self.model = model
        self.reflection_answer = reflection_answer or (lambda body: GENERIC_NOTE)
        """The note a reflection request gets (agent.reflection.scripted writes one from its triggers)."""
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
