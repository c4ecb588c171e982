"""Codex CLI rollouts: `~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`, one `{timestamp, type, payload}` per
line: `session_meta`, `turn_context` (the model), `response_item` (Responses API items), `event_msg` (what
the CLI showed), `compacted`.

Responses items become Chat Completions messages: a turn's `message`, `function_call`, `custom_tool_call`
and `local_shell_call` items one assistant message with its `tool_calls`, each `*_output` item (joined by
`call_id`) a `tool` message. `reasoning` items are shown after the reply (their summary; encrypted content
cannot be read), as are `compacted` histories and calls without an output (`web_search_call`). Of the
`event_msg` lines, which repeat the items, only token counts are used."""

from __future__ import annotations

import json
from typing import Any, Iterator

from agent.events import content_text
from agent.transcripts.formats.history import (
    Entry,
    HistoryReader,
    ORIGINAL,
    chat_call,
    dumps,
    foreign,
    iso_time,
    mapping,
    new_transcript,
    read_all,
    usage_of,
)
from agent.transcripts.formats.peek import Peek, jsonl_lines, parse_line
from agent.transcripts.transcript import Transcript, TranscriptError

NAME = "codex"
LABEL = "Codex CLI rollout (~/.codex/sessions)"
_TYPES = {"session_meta", "response_item", "turn_context", "event_msg", "compacted"}


def detect(peek: Peek) -> bool:
    lines = [line for line in peek.first_lines(8) if line is not None]
    return bool(lines) and all(isinstance(line, dict) and line.get("type") in _TYPES and "payload" in line
                               for line in lines)


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    head = [line for line in peek.first_lines(200) if isinstance(line, dict)]
    meta: dict[str, Any] = next((r["payload"] for r in head
                                 if r.get("type") == "session_meta" and isinstance(r.get("payload"), dict)), {})
    model = next((r["payload"].get("model") for r in head if r.get("type") == "turn_context"
                  and isinstance(r.get("payload"), dict) and isinstance(r["payload"].get("model"), str)), None)
    goal = next((t for t in (_user_text(r) for r in head) if t and not t.lstrip().startswith("<")), "")
    transcript = new_transcript(
        NAME, created=iso_time(meta.get("timestamp")) or peek.mtime, model=model, goal=goal,
        provider=meta.get("model_provider") if isinstance(meta.get("model_provider"), str) else None,
        workspace=meta.get("cwd") if isinstance(meta.get("cwd"), str) else None,
        settings={k: meta.get(k) for k in ("id", "originator", "cli_version", "source") if k in meta})
    f = peek.open()

    def records() -> Iterator[tuple[Any, int]]:
        with f:
            for number, line, position in jsonl_lines(f, peek.label):
                yield parse_line(line, f"{peek.label}:{number}"), position

    reader = HistoryReader(transcript, convert(records()), total=peek.size, size=peek.size, source=peek.label,
                           what="message")
    return read_all(transcript, reader, in_steps)


def _user_text(record: dict[str, Any]) -> str:
    payload = record.get("payload")
    if record.get("type") != "response_item" or not isinstance(payload, dict) or payload.get("role") != "user":
        return ""
    return content_text(_texts(payload.get("content")))


def _texts(content: Any) -> Any:
    """Responses content parts (`input_text`, `output_text`) as text; other parts as they are."""
    if not isinstance(content, list):
        return content
    parts: list[Any] = [p.get("text") if isinstance(p, dict) and isinstance(p.get("text"), str) else p for p in content]
    return "\n".join(parts) if all(isinstance(p, str) for p in parts) else parts


class _Turn:
    """An assistant turn being gathered: its text, its calls, its reasoning, its tokens."""

    def __init__(self, ts: float | None) -> None:
        self.entry = Entry({"role": "assistant", "content": "", ORIGINAL: []}, ts=ts)
        self.after: list[Entry] = []

    def add(self, record: dict[str, Any]) -> None:
        self.entry.message[ORIGINAL].append(record)

    def entries(self) -> list[Entry]:
        m = self.entry.message
        return ([self.entry] if m["content"] or m.get("tool_calls") else []) + self.after


def convert(records: Iterator[tuple[Any, int]]) -> Iterator[tuple[Entry, int]]:
    turn: _Turn | None = None
    position = 0
    for record, position in records:
        if not isinstance(record, dict):
            raise TranscriptError(f"a line that is {type(record).__name__}, not a Codex rollout line")
        kind, payload = record.get("type"), record.get("payload")
        if not isinstance(payload, dict):
            continue
        ts = iso_time(record.get("timestamp"))
        item = payload.get("type")
        if kind == "event_msg":
            info = payload.get("info") if item == "token_count" else None
            last = info.get("last_token_usage") if isinstance(info, dict) else None
            if turn is not None and isinstance(last, dict):
                turn.entry.usage = usage_of(last.get("input_tokens"), last.get("output_tokens"))
            continue
        if kind == "compacted":
            out = ([] if turn is None else turn.entries()) + [
                foreign("compacted", content_text(payload.get("message")) or dumps(payload), record, ts=ts)]
            turn = None
            yield from ((e, position) for e in out)
            continue
        if kind != "response_item":
            continue
        role = payload.get("role")
        if (item == "message" and role == "assistant") or item == "reasoning" or (
                isinstance(item, str) and item.endswith("_call") and "call_id" in payload):
            turn = turn or _Turn(ts)
            _assist(turn, payload, record, ts)
            continue
        if turn is not None:
            yield from ((e, position) for e in turn.entries())
            turn = None
        for entry in _item(item, role, payload, record, ts):
            yield entry, position
    if turn is not None:
        yield from ((e, position) for e in turn.entries())


def _assist(turn: _Turn, payload: dict[str, Any], record: dict[str, Any], ts: float | None) -> None:
    item, m = payload.get("type"), turn.entry.message
    if item == "reasoning":
        summary = _texts([p for p in payload.get("summary") or [] if isinstance(p, dict)])
        content = _texts(payload.get("content")) if payload.get("content") else ""
        text = content_text(content) or content_text(summary) or (
            "(encrypted reasoning, not readable)" if payload.get("encrypted_content") else "")
        turn.after.append(foreign("reasoning", text, record, ts=ts))
        return
    turn.add(record)
    if item == "message":
        text = content_text(_texts(payload.get("content")))
        m["content"] = f"{m['content']}\n\n{text}" if m["content"] and text else (m["content"] or text)
        return
    arguments = payload.get("arguments")
    if arguments is None:
        arguments = payload.get("input") if "input" in payload else payload.get("action", {})
    m.setdefault("tool_calls", []).append(chat_call(payload.get("call_id"), payload.get("name") or item, arguments))


def _item(item: Any, role: Any, payload: dict[str, Any], record: dict[str, Any], ts: float | None) -> list[Entry]:
    if item == "message":
        return [Entry({"role": role if isinstance(role, str) else "user",
                       "content": _texts(payload.get("content")), ORIGINAL: record}, ts=ts)]
    if isinstance(item, str) and item.endswith("_call_output"):
        output = payload.get("output")
        text, failed = _output(output)
        return [Entry({"role": "tool", "tool_call_id": str(payload.get("call_id") or ""), "content": text,
                       ORIGINAL: record}, ts=ts, is_error=failed)]
    text = content_text(payload.get("action")) if "action" in payload else dumps(payload)
    return [foreign("event", text, record, kind=str(item), ts=ts)]


def _output(output: Any) -> tuple[str, bool]:
    """A call's output as text, and whether it says it failed (`success: false`, a non-zero exit code)."""
    if isinstance(output, dict):
        return content_text(output.get("content", output)), output.get("success") is False
    text = content_text(output)
    if text.startswith("{") and '"metadata"' in text[:200] or text.startswith('{"output"'):
        try:
            data = json.loads(text)
        except ValueError:
            return text, False
        if isinstance(data, dict) and isinstance(data.get("output"), str):
            meta = mapping(data.get("metadata"))
            code = meta.get("exit_code")
            failed = isinstance(code, int) and code != 0
            return (data["output"] + (f"\nexit code {code}" if failed else "")), failed
    return text, False
