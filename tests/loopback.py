"""A real OpenAI-compatible HTTP endpoint on 127.0.0.1, for tests and benchmarks.

Unlike the in-process offline model, this is a socket the SDK reaches over TCP, so it exercises the real
network path and can add latency, fail on purpose and count how many requests were in flight at once.

It is stateless by design: the reply to an agent turn is chosen from the request alone, by matching the
assistant messages already in its `messages` list against the script in order (so it works for many
concurrent runs, and a reflection note with the `assistant` role is not mistaken for a script step). The
script is picked by the conversation's first user message (the goal), so one server serves many tasks.

    with LoopbackServer.for_tasks(["quicksort"], latency=0.2) as server:
        ... --provider vllm --base-url {server.base_url} --model loopback ...
        server.max_in_flight  # the most requests it was answering at once

It binds a free port, serves from a daemon thread, and stops on leaving the `with` block, after
`max_lifetime` seconds, or after `max_requests` requests, whichever comes first.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Iterator

from agent.models.offline import estimate_tokens
from agent.reflection.reflector import PURPOSE_HEADER

REFLECTION_NOTE = "Loopback reflection: re-read the last result and take the next step toward passing the tests."

Failure = tuple[int, str]
"""An error answer: HTTP status and the message put in the OpenAI-style error body."""

Raw = tuple[str, bytes]
"""A 200 answer sent as is: content type and body (a body that is not JSON, an empty one)."""

Produced = tuple[str, Iterable[bytes]]
"""A 200 answer sent piece by piece as it is produced: content type and the pieces (the iterable may sleep
between them), the end of the body marked by closing the connection."""


class LoopbackServer:
    """Answers POST /v1/chat/completions from scripts, with optional latency and scripted errors."""

    def __init__(self, scripts: dict[str, list[dict[str, Any]]] | list[dict[str, Any]], *,
                 latency: float = 0.0, reflection_note: str = REFLECTION_NOTE,
                 fail: Callable[[int, dict[str, Any]], Failure | None] | None = None,
                 model: str = "loopback", max_lifetime: float = 300.0, max_requests: int = 10_000,
                 stream_index: bool = True, stream_ids: bool = True, step_by: str = "match",
                 headers: Callable[[int, int], dict[str, str]] | None = None,
                 raw: Callable[[int, dict[str, Any]], Raw | None] | None = None,
                 cut_stream: Callable[[int], int | None] | None = None, ignore_stream: bool = False,
                 produce: Callable[[int, dict[str, Any]], Produced | None] | None = None) -> None:
        """`scripts`: one list of assistant messages, or a mapping from goal (first user message) to one.
        `fail(n, body)` is asked before each answer (n counts every request from 1) and may return an error.
        A request with `stream: true` is answered with server-sent chunks; `stream_index=False` /
        `stream_ids=False` stream tool calls as Ollama does (whole, without index, without ids).
        `headers(n, status)` adds response headers (say `retry-after-ms: 10` to an error).
        `step_by="count"`: the reply is chosen by how many assistant messages the request holds, for
        scripts whose replies come back in another form (calls parsed from text, ids generated);
        `step_by="request"`: by how many agent requests came before (for a client that drops a reply it
        refuses, as mini-swe-agent does with a format error).
        Faults: `raw(n, body)` may answer with a 200 that is not a completion (HTML, an empty body);
        `cut_stream(n)` may give a byte count after which a streamed answer is cut by a connection reset;
        `ignore_stream=True` answers `stream: true` with a plain JSON completion, as some servers do;
        `produce(n, body)` may answer with a body sent as it is produced (a byte at a time, keep-alives only,
        a stream too large to hold: see `dripping`, `keepalives`, `endless_text`, `endless_calls`), sending
        stopped when the client hangs up (`produced` counts the bytes it took).
        A script message may carry `finish_reason` (`length`, `content_filter`), sent instead of the usual."""
        self.scripts = scripts if isinstance(scripts, dict) else {"": list(scripts)}
        self.latency = latency
        self.reflection_note = reflection_note
        self.fail = fail
        self.model = model
        self.max_lifetime = max_lifetime
        self.max_requests = max_requests
        self.stream_index = stream_index
        self.stream_ids = stream_ids
        self.step_by = step_by
        self.headers = headers
        self.raw = raw
        self.cut_stream = cut_stream
        self.ignore_stream = ignore_stream
        self.produce = produce
        self.produced = 0
        """Bytes of produced answers the client took before the body ended or it hung up."""
        self.requests: list[dict[str, Any]] = []
        """Every agent-turn request body, in arrival order."""
        self.raw_requests: list[bytes] = []
        """The same bodies as received, byte for byte."""
        self.seen: list[tuple[str, str | None]] = []
        """(path with its query, Authorization header) of every request, in arrival order."""
        self.reflection_requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.count = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    @classmethod
    def for_tasks(cls, names: Iterable[str], **kwargs: Any) -> "LoopbackServer":
        """Serve each task's reference fix (a bundled task's script.json, or a built suite's)."""
        from agent.tools.suites import find_task

        scripts = {}
        for name in names:
            task = find_task(name)
            scripts[task.goal] = task.script
        return cls(scripts, **kwargs)

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LoopbackServer":
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"loopback:{self.port}", daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers ---------------------------------------------------------------------------------------

    def answer(self, body: dict[str, Any], headers: Any,
               raw: bytes = b"") -> tuple[int, dict[str, Any] | Raw | Produced]:
        """The status and JSON body (or raw answer) for one request (called on a handler thread, latency
        already added); `raw`: the body as received."""
        with self._lock:
            self.count += 1
            n = self.count
            reflection = headers.get(PURPOSE_HEADER) == "reflection"
            (self.reflection_requests if reflection else self.requests).append(body)
            if not reflection:
                self.raw_requests.append(raw)
        if n > self.max_requests:
            return _error(503, f"loopback server: request limit of {self.max_requests} reached")
        failure = self.fail(n, body) if self.fail else None
        if failure is not None:
            return _error(*failure)
        raw = self.raw(n, body) if self.raw else None
        if raw is not None:
            return 200, raw
        produced = self.produce(n, body) if self.produce else None
        if produced is not None:
            return 200, produced
        if reflection:
            return 200, self._completion(body, {"role": "assistant", "content": self.reflection_note})
        messages = body.get("messages") or []
        script = self._script_for(messages)
        if script is None:
            return _error(400, "loopback server: no script for this conversation's goal")
        if self.step_by == "request":
            step = len(self.requests) - 1
        elif self.step_by == "count":
            step = sum(1 for m in messages if m.get("role") == "assistant")
        else:
            step = _steps_taken(script, messages)
        if step >= len(script):
            return _error(400, f"loopback server: the script has no reply left (it had {len(script)})")
        return 200, self._completion(body, script[step])

    def _script_for(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        if "" in self.scripts and len(self.scripts) == 1:
            return self.scripts[""]
        goal = next((m.get("content") for m in messages if m.get("role") == "user"), None)
        return self.scripts.get(goal) if isinstance(goal, str) else None

    def _completion(self, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        message = dict(message)
        finish = message.pop("finish_reason", None) or ("tool_calls" if message.get("tool_calls") else "stop")
        prompt, completion = estimate_tokens(body.get("messages", [])), estimate_tokens(message)
        return {
            "id": f"chatcmpl-loopback-{self.count}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        }

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _same_step(sent: dict[str, Any], scripted: dict[str, Any]) -> bool:
    ids = [c.get("id") for c in sent.get("tool_calls") or []]
    want = [c.get("id") for c in scripted.get("tool_calls") or []]
    if ids != want:
        return False
    return want != [] or (sent.get("content") or "") == (scripted.get("content") or "")


def _steps_taken(script: list[dict[str, Any]], messages: list[dict[str, Any]]) -> int:
    """How many script replies the conversation already holds, in order (other assistant messages, such
    as a reflection note injected with the assistant role, are skipped)."""
    k = 0
    for m in messages:
        if m.get("role") == "assistant" and k < len(script) and _same_step(m, script[k]):
            k += 1
    return k


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


class _Handler(BaseHTTPRequestHandler):
    owner: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        server = self.owner
        server._enter()
        try:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            with server._lock:
                server.seen.append((self.path, self.headers.get("authorization")))
            if not self.path.split("?", 1)[0].rstrip("/").endswith("/chat/completions"):
                status, payload = _error(404, f"loopback server serves /v1/chat/completions only, not {self.path}")
            else:
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError as exc:
                    status, payload = _error(400, f"loopback server: body is not JSON ({exc.msg})")
                else:
                    if server.latency > 0:
                        time.sleep(server.latency)
                    status, payload = server.answer(body, self.headers, raw)
                    if isinstance(payload, tuple) and isinstance(payload[1], bytes):
                        self._send(status, *payload)
                        return
                    if isinstance(payload, tuple):
                        self._send_produced(*payload)
                        return
                    if status == 200 and body.get("stream") and payload.get("choices") and not server.ignore_stream:
                        self._send_stream(body, payload)
                        return
        finally:
            server._leave()
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (server.headers(server.count, status) if server.headers else {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_produced(self, content_type: str, pieces: Iterable[bytes]) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.end_headers()
        self.close_connection = True  # no content-length: the body ends when the connection does
        try:
            for piece in pieces:
                self.wfile.write(piece)
                self.wfile.flush()
                with self.owner._lock:
                    self.owner.produced += len(piece)
        except (BrokenPipeError, ConnectionResetError):  # the client hung up: what it wanted to see
            pass

    def _send_stream(self, body: dict[str, Any], payload: dict[str, Any]) -> None:
        from agent.models.streaming import sse_body, sse_chunks

        server = self.owner
        usage = payload["usage"] if (body.get("stream_options") or {}).get("include_usage") else None
        choice = payload["choices"][0]
        data = sse_body(sse_chunks(choice["message"], model=payload["model"], usage=usage,
                                   finish=choice["finish_reason"], with_index=server.stream_index,
                                   with_ids=server.stream_ids))
        cut = server.cut_stream(server.count) if server.cut_stream else None
        if cut is None:
            self._send(200, "text/event-stream", data)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:cut])
        self.wfile.flush()
        # a reset, not a clean close: SO_LINGER 0 makes close() send RST, as a crashing proxy does
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


# --- answers produced as they are sent ----------------------------------------------------------------------


def chunk_of(delta: dict[str, Any], finish: str | None = None, model: str = "loopback") -> dict[str, Any]:
    """One chat.completion.chunk carrying `delta`."""
    return {"id": "chatcmpl-produced", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}


def sse(chunk: dict[str, Any]) -> bytes:
    """One server-sent event of a chunk."""
    return f"data: {json.dumps(chunk)}\n\n".encode("utf-8")


def dripping(body: bytes, every: float, for_s: float) -> Iterator[bytes]:
    """`body` a byte every `every` seconds for `for_s` seconds, then the rest at once: a server that is
    never silent long enough for a read timeout, yet takes as long as it likes."""
    started = time.monotonic()
    for k in range(len(body)):
        if time.monotonic() - started >= for_s:
            yield body[k:]
            return
        yield body[k:k + 1]
        time.sleep(every)


def keepalives(every: float, for_s: float) -> Iterator[bytes]:
    """A stream of nothing but `: ping` SSE comments (which the SDK skips), for `for_s` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < for_s:
        yield b": ping\n\n"
        time.sleep(every)


def endless_text(total: int, piece: int = 4096) -> Iterator[bytes]:
    """A streamed reply of `total` characters of content in chunks of `piece`, made as it is sent (never
    held whole), then its finish."""
    yield sse(chunk_of({"role": "assistant", "content": ""}))
    text = ("All work and no play makes Jack a dull boy. " * (piece // 44 + 1))[:piece]
    for _ in range(total // piece):
        yield sse(chunk_of({"content": text}))
    yield sse(chunk_of({}, "stop")) + b"data: [DONE]\n\n"


def endless_calls(count: int, name: str = "list_files") -> Iterator[bytes]:
    """A streamed reply of `count` tool calls, each a chunk of its own, then its finish."""
    yield sse(chunk_of({"role": "assistant", "content": None}))
    for i in range(count):
        yield sse(chunk_of({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                            "function": {"name": name, "arguments": "{}"}}]}))
    yield sse(chunk_of({}, "tool_calls")) + b"data: [DONE]\n\n"
