"""Claude Code sessions: `~/.claude/projects/<folder>/<session>.jsonl`, one record per line (`type` user,
assistant, system, summary...; `uuid`, `parentUuid`, `sessionId`, `timestamp`, `cwd`, `isSidechain`,
`message` with Anthropic content blocks and `usage`).

Anthropic's content becomes Chat Completions': an assistant's `tool_use` blocks its `tool_calls` (records of
one API message, which Claude Code writes block by block, are joined by `message.id`), a user record's
`tool_result` blocks `tool` messages. What the API has no message for is shown in its place, not dropped:
`thinking` blocks, a sub-agent's records (`isSidechain`), summaries and system records. File-history
snapshots and queue operations are bookkeeping and are not shown. Records are read in file order (a
rewound branch shows where it was written)."""

from __future__ import annotations

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

NAME = "claude-code"
LABEL = "Claude Code session (~/.claude/projects)"
_TYPES = {"user", "assistant", "system", "summary"}
_BOOKKEEPING = {"file-history-snapshot", "queue-operation", "progress"}


def _is_record(line: Any) -> bool:
    return isinstance(line, dict) and line.get("type") in _TYPES | _BOOKKEEPING and (
        "sessionId" in line or "parentUuid" in line or "leafUuid" in line or "messageId" in line)


def detect(peek: Peek) -> bool:
    lines = [line for line in peek.first_lines(20) if line is not None]
    return bool(lines) and all(isinstance(line, dict) for line in lines) and any(
        _is_record(line) and line.get("type") in ("user", "assistant") for line in lines) and all(
        _is_record(line) or "type" in line for line in lines)


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    head = [line for line in peek.first_lines(200) if isinstance(line, dict)]
    first = next((r for r in head if r.get("type") in ("user", "assistant")), {})
    model = next((r["message"].get("model") for r in head if r.get("type") == "assistant"
                  and isinstance(r.get("message"), dict) and isinstance(r["message"].get("model"), str)), None)
    goal = next((_user_text(r) for r in head if r.get("type") == "user" and not r.get("isMeta") and _user_text(r)), "")
    transcript = new_transcript(
        NAME, created=iso_time(first.get("timestamp")) or peek.mtime, model=model, goal=goal,
        workspace=first.get("cwd") if isinstance(first.get("cwd"), str) else None,
        settings={k: first.get(k) for k in ("sessionId", "version", "gitBranch") if k in first})
    f = peek.open()

    def records() -> Iterator[tuple[Any, int]]:
        with f:
            for number, line, position in jsonl_lines(f, peek.label):
                yield parse_line(line, f"{peek.label}:{number}"), position

    sub_agent = first.get("isSidechain") is True  # a sub-agent's own file: its sidechain is the conversation
    reader = HistoryReader(transcript, convert(records(), sub_agent), total=peek.size, size=peek.size, source=peek.label,
                           what="message")
    return read_all(transcript, reader, in_steps)


def _user_text(record: dict[str, Any]) -> str:
    message = record.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        content = [b for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return content_text(content) if content else ""


def convert(records: Iterator[tuple[Any, int]], sub_agent: bool = False) -> Iterator[tuple[Entry, int]]:
    """Records to entries; an assistant's records of one API message are joined before they are given.
    `sub_agent`: the file is a sub-agent's (`subagents/agent-*.jsonl`), whose records are all sidechain."""
    pending: tuple[str, Entry, list[Entry]] | None = None
    """The assistant message being joined: its API id, its entry, the thinking entries that follow it."""
    position = 0
    for record, position in records:
        if not isinstance(record, dict):
            raise TranscriptError(f"a line that is {type(record).__name__}, not a Claude Code record")
        kind = record.get("type")
        message = mapping(record.get("message"))
        ts = iso_time(record.get("timestamp"))
        aside = bool(record.get("isSidechain")) != sub_agent
        if kind == "assistant" and not aside:
            api_id = str(message.get("id") or record.get("requestId") or record.get("uuid") or "")
            if pending is not None and pending[0] == api_id and api_id:
                _join(pending[1], pending[2], message, record)
                continue
            if pending is not None:
                yield from ((e, position) for e in (pending[1], *pending[2]))
            entry = Entry({"role": "assistant", "content": "", ORIGINAL: []}, ts=ts,
                          model=message.get("model") if isinstance(message.get("model"), str) else None)
            thinking: list[Entry] = []
            _join(entry, thinking, message, record)
            pending = (api_id, entry, thinking)
            continue
        if pending is not None:
            yield from ((e, position) for e in (pending[1], *pending[2]))
            pending = None
        for entry in _other(kind, record, message, ts, aside):
            yield entry, position
    if pending is not None:
        yield from ((e, position) for e in (pending[1], *pending[2]))


def _join(entry: Entry, thinking: list[Entry], message: dict[str, Any], record: dict[str, Any]) -> None:
    """Add one assistant record's blocks to the message being joined."""
    m = entry.message
    m[ORIGINAL].append(record)
    content = message.get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content_text(content)}]
    texts = [m["content"]] if m["content"] else []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(content_text(block.get("text")))
        elif kind == "tool_use":
            m.setdefault("tool_calls", []).append(chat_call(block.get("id"), block.get("name"), block.get("input", {})))
        elif kind in ("thinking", "redacted_thinking"):
            text = block.get("thinking") if kind == "thinking" else "(thinking redacted by the provider)"
            thinking.append(foreign("thinking", content_text(text), block, ts=entry.ts))
        else:
            texts.append(content_text([block]))
    m["content"] = "\n\n".join(t for t in texts if t)
    usage = message.get("usage")
    if isinstance(usage, dict):  # every record of a message repeats it: the last one holds
        prompt = sum(usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
                     if isinstance(usage.get(k), int))
        entry.usage = usage_of(prompt, usage.get("output_tokens"))


def _other(kind: Any, record: dict[str, Any], message: dict[str, Any], ts: float | None, aside: bool) -> list[Entry]:
    if aside:
        return [foreign("sidechain", _sidechain_text(kind, message), record, kind="sub-agent", ts=ts)]
    if kind == "user":
        content = message.get("content")
        if not isinstance(content, list):
            return [Entry({"role": "user", "content": content_text(content), ORIGINAL: record}, ts=ts)]
        out: list[Entry] = []
        rest: list[Any] = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                out.append(Entry({"role": "tool", "tool_call_id": str(block.get("tool_use_id") or ""),
                                  "content": content_text(block.get("content")), ORIGINAL: record},
                                 ts=ts, is_error=block.get("is_error") is True))
            else:
                rest.append(block)
        if rest:
            out.append(Entry({"role": "user", "content": content_text(rest), ORIGINAL: record}, ts=ts))
        return out
    if kind == "summary":
        return [foreign("summary", content_text(record.get("summary")), record, ts=ts)]
    if kind == "system":
        text = content_text(record.get("content")) or dumps({k: v for k, v in record.items() if k != "type"})
        return [foreign("event", text, record, kind=str(record.get("subtype") or "system"), ts=ts)]
    return []  # bookkeeping (file-history snapshots, queue operations)


def _sidechain_text(kind: Any, message: dict[str, Any]) -> str:
    content = message.get("content")
    if not isinstance(content, list):
        return f"{kind}: {content_text(content)}"
    parts = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_use":
            parts.append(f"→ {block.get('name')} {dumps(block.get('input'))}")
        elif block.get("type") == "tool_result":
            parts.append(f"← {content_text(block.get('content'))}")
        elif block.get("type") == "thinking":
            parts.append(f"(thinking) {content_text(block.get('thinking'))}")
        else:
            parts.append(content_text([block]))
    return f"{kind}: " + "\n".join(parts)
