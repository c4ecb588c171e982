"""Open any transcript a user is likely to have into our one `Transcript` model.

Files are told apart by what they hold, not by their name: a `.json` may be a bare message list, an
object with "messages", or mini-swe-agent's trajectory. Imported histories are turned into the same
events the loop publishes, with every original message dict kept as is, so `messages()` gives back the
input exactly and the viewer, the ordering check and the request rebuild work on them unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.events import (
    AssistantMessage,
    DriverMessage,
    Event,
    IterationStarted,
    RunFinished,
    RunStarted,
    ToolResult,
    content_text,
)
from agent.loop.ordering import CHAT_ROLES, Unanswered, Violation, check_messages, unanswered_calls
from agent.transcripts.transcript import (
    Transcript,
    JsonlReader,
    TranscriptError,
    TranscriptHeader,
    message_problem,
    open_regular,
    parse_jsonl,
    read_jsonl,
)

EXPECTED = ('expected agent-tui JSONL, a JSON array of chat messages, {"messages": [...]}, or JSONL of one chat '
            'message per line')
_KINDS = {"user": "observation", "system": "note", "developer": "note", "exit": "exit"}


HEADER_PEEK = 1 << 20
"""How much of line 1 is read to tell our JSONL (a header line) from a JSON document."""
MAX_DOCUMENT_BYTES = 512_000_000
"""The largest JSON document (message array, trajectory) read at once; our JSONL is read line by line."""


def open_transcript(path: Path | str, *, in_steps: bool = False) -> Transcript:
    """Read our JSONL, a JSON message array, a {"messages": [...]} object or a mini-swe-agent trajectory.
    Only regular files; anything malformed is a TranscriptError with one line saying what is wrong.

    `in_steps`: of our JSONL, read only the header now, and leave the events to `transcript.rest` (the app
    shows the first screen of a big file while it reads the rest); other formats are read whole."""
    p = Path(path)
    with open_regular(p) as f:
        first = f.readline(HEADER_PEEK)
        if first.endswith(b"\n") and _is_header(first):
            # Our JSONL: read line by line, never the whole text at once (big files stay on disk).
            f.seek(0)
            not_text = f"{p}: not a transcript: not UTF-8 text; {EXPECTED}"
            if in_steps:
                reader = JsonlReader(open_regular(p), str(p), not_text=not_text, close_at_end=True)
                reader.transcript.rest = reader
                return reader.transcript
            return read_jsonl(f, str(p), not_text=not_text)
        size = os.fstat(f.fileno()).st_size
        if size > MAX_DOCUMENT_BYTES:
            raise TranscriptError(f"{p}: not a transcript: {size} bytes is too large for one JSON document "
                                  f"(at most {MAX_DOCUMENT_BYTES}); {EXPECTED}")
        f.seek(0)
        raw = f.read(MAX_DOCUMENT_BYTES + 1)
        created = os.fstat(f.fileno()).st_mtime
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TranscriptError(f"{p}: not a transcript: not UTF-8 text; {EXPECTED}") from None
    if not text.strip():
        raise TranscriptError(f"{p}: empty file, not a transcript")
    try:
        data = json.loads(text)
    except RecursionError:
        raise TranscriptError(f"{p}: not a transcript: JSON nested too deeply; {EXPECTED}") from None
    except json.JSONDecodeError as exc:
        # Our JSONL fails as one JSON document ("Extra data" after the header line): look at line 1 only.
        if _is_header(text.split("\n", 1)[0]):
            return parse_jsonl(text, str(p))
        lines = _message_lines(text)  # a log of one chat message per line
        if lines is not None:
            return transcript_from_messages(_chat_list(lines, p, "line"), "jsonl-messages", {"created": created})
        if text.lstrip()[:1] in ("[", "{") and exc.msg != "Extra data":
            raise TranscriptError(f"{p}: not a transcript: invalid JSON at line {exc.lineno} column "
                                  f"{exc.colno}: {exc.msg}") from None
        raise TranscriptError(f"{p}: not a transcript: {EXPECTED}") from None
    if isinstance(data, list):
        return transcript_from_messages(_chat_list(data, p, "item"), "json-array", {"created": created})
    if not isinstance(data, dict):
        raise TranscriptError(f"{p}: not a transcript: {EXPECTED}")
    if data.get("type") == "header":  # a JSONL transcript with no event yet
        return parse_jsonl(text, str(p))
    if not isinstance(data.get("messages"), list):
        raise TranscriptError(f'{p}: not a transcript: a JSON object without a "messages" list; {EXPECTED}')
    messages = _chat_list(data["messages"], p, "messages item")
    rest = {k: v for k, v in data.items() if k != "messages"}
    info = rest.get("info") if isinstance(rest.get("info"), dict) else {}
    extra: dict[str, Any] = {"created": created, "settings": rest, "model": _model_name(rest)}
    if not _is_mini_swe_agent(rest, messages):
        return transcript_from_messages(messages, "messages-object", extra)
    transcript = transcript_from_messages(messages, "mini-swe-agent", extra)
    status = info.get("exit_status")
    if status:
        reason = {"Submitted": "finished", "LimitsExceeded": "max_steps"}.get(status, "error")
        submission = info.get("submission")
        transcript.add(RunFinished(reason=reason, detail=str(status), ts=created,
                                   summary=submission if isinstance(submission, str) else None,
                                   iterations=len(transcript.iterations)))
    return transcript


def transcript_from_messages(messages: list[dict[str, Any]], source: str,
                             header_extra: dict[str, Any] | None = None) -> Transcript:
    """Synthesize the loop's events for a bare history: one iteration per assistant message.

    Everything before the first assistant message seeds the run; `tool` messages become results of the
    call they answer; any other message is a DriverMessage of the current iteration. A format error that
    stands for a reply not kept in the history (mini-swe-agent 2's) is an iteration of its own. Original
    dicts are kept, so `messages()` round-trips exactly, even for roles the API does not know (`exit`).
    """
    fields: dict[str, Any] = {"source": source, "goal": _goal(messages)}
    fields.update({k: v for k, v in (header_extra or {}).items() if v is not None})
    transcript = Transcript(header=TranscriptHeader(**fields))
    ts = transcript.header.created
    first = next((i for i, m in enumerate(messages) if m.get("role") == "assistant" or _rejected(messages, i)),
                 len(messages))
    events: list[Event] = [RunStarted(messages=messages[:first], ts=ts)]
    calls: dict[str, dict[str, Any]] = {}
    iteration = 0
    for i in range(first, len(messages)):
        m = messages[i]
        role = m.get("role")
        if role == "assistant":
            iteration += 1
            events.append(IterationStarted(iteration=iteration, request_size=i, ts=ts))
            events.append(AssistantMessage(iteration=iteration, message=m, ts=ts))
            for call in m.get("tool_calls") or ():
                if isinstance(call, dict) and call.get("id"):
                    calls[call["id"]] = call.get("function") or {}
        elif role == "tool":
            cid = str(m.get("tool_call_id") or "")
            fn = calls.get(cid, {})
            args = fn.get("arguments", "")
            events.append(ToolResult(iteration=iteration, tool_call_id=cid, name=fn.get("name") or m.get("name") or "?",
                                     arguments=args if isinstance(args, str) else json.dumps(args),
                                     content=content_text(m.get("content")), message=m, ts=ts))
        elif _rejected(messages, i):  # the model was asked, its reply refused and not kept
            iteration += 1
            events.append(IterationStarted(iteration=iteration, request_size=i, ts=ts))
            events.append(DriverMessage(iteration=iteration, kind="format_error", message=m, ts=ts))
        else:
            events.append(DriverMessage(iteration=iteration, kind=_KINDS.get(str(role), str(role)), message=m, ts=ts))
    transcript.events = events
    return transcript


def _rejected(messages: list[dict[str, Any]], i: int) -> bool:
    """Whether message `i` is mini-swe-agent 2's format error for a reply it did not keep (its model refuses
    a reply before the agent appends it: the error follows another message than an assistant one)."""
    extra = messages[i].get("extra")
    return (isinstance(extra, dict) and extra.get("interrupt_type") == "FormatError" and i > 0
            and messages[i - 1].get("role") != "assistant")


@dataclass
class CheckReport:
    """What `check_file` found: the broken rules, and the calls the run never answered."""

    transcript: Transcript
    violations: list[Violation]
    unanswered: Unanswered | None
    """Calls at the end of the history without a result: the run stopped (or is still running) between
    the calls and their results. No request carried them, so they break no rule."""

    def unanswered_text(self) -> str:
        """Why the last calls have no result, in a sentence ('' when every call was answered)."""
        if self.unanswered is None:
            return ""
        names = _call_names(self.transcript.messages()[self.unanswered.index])
        calls = ", ".join(f"{cid} ({names[cid]})" if cid in names else cid for cid in self.unanswered.ids)
        finished = self.transcript.finished
        if self.transcript.header.source is not None:
            why = "the history ends before their results"
        elif finished is None:
            why = "the run stopped before their results (the transcript has no end: the run was killed, or is " \
                  "still running)"
        else:
            why = f"the run stopped ({finished.reason.replace('_', ' ')}) before their results"
        return (f"the last calls were never answered: {why}: {calls}. No request carried them, so no rule "
                "was broken")


def check_file(path: Path | str) -> CheckReport:
    """Open a transcript and check its history; roles the API does not know (`exit`) are neutral. The
    history of a file is not a request: calls left unanswered at its very end are reported apart."""
    transcript = open_transcript(path)
    messages = transcript.messages()
    foreign = {m.get("role") for m in messages} - CHAT_ROLES
    return CheckReport(transcript, check_messages(messages, skip_roles=foreign, open_end=True),
                       unanswered_calls(messages))


def _call_names(message: dict[str, Any]) -> dict[str, str]:
    out = {}
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict) and call.get("id"):
            fn = call.get("function")
            out[str(call["id"])] = str(fn.get("name") if isinstance(fn, dict) else "?")
    return out


def _message_lines(text: str) -> list[Any] | None:
    """The messages of a JSONL file that holds one chat message (an object with a `role`) per line; None
    when it is not one (then the file is not a transcript, and says why as the other formats do)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(value, dict) or not isinstance(value.get("role"), str):
            return None
        out.append(value)
    return out or None


def _is_header(line: str | bytes) -> bool:
    try:
        first = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, (bytes) not text, or nested without end
        return False
    return isinstance(first, dict) and first.get("type") == "header"


def _chat_list(items: list[Any], p: Path, what: str) -> list[dict[str, Any]]:
    for i, m in enumerate(items):
        problem = message_problem(m)
        if problem:
            raise TranscriptError(f"{p}: not a transcript: {what} {i} {problem}")
    return items


def _goal(messages: list[dict[str, Any]]) -> str:
    user = next((m for m in messages if m.get("role") == "user"), None)
    return content_text(user.get("content")) if user else ""


def _is_mini_swe_agent(rest: dict[str, Any], messages: list[dict[str, Any]]) -> bool:
    fmt = rest.get("trajectory_format")
    info = rest.get("info")
    return (isinstance(fmt, str) and fmt.startswith("mini-swe-agent")) or (
        isinstance(info, dict) and ("mini_version" in info or "exit_status" in info)
    ) or any(m.get("role") == "exit" for m in messages[-1:])


def _model_name(rest: dict[str, Any]) -> str | None:
    """The model, wherever the file keeps it (mini-swe-agent: info.config.model.model_name)."""
    info = rest.get("info") if isinstance(rest.get("info"), dict) else {}
    config = info.get("config") if isinstance(info.get("config"), dict) else {}
    model = config.get("model")
    candidates = [rest.get("model"), info.get("model"), model]
    if isinstance(model, dict):
        candidates += [model.get("model_name"), model.get("name"), model.get("model")]
    return next((c for c in candidates if isinstance(c, str) and c), None)
