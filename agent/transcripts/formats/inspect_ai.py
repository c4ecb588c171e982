"""Inspect AI logs: `.eval` (a zip: `header.json`, `summaries.json`, one `samples/<id>_epoch_<n>.json` per
sample) and `.json` (one `EvalLog` document with every sample). A log of many samples lists them; each
opens as `FILE#<id>_epoch_<n>`, and of a `.eval` only that sample's file is read.

A sample's `messages` are Chat Completions messages but for their tool calls (`function` is the name,
`arguments` an object), results (`function`, an `error` object) and content parts (`reasoning`); they are
converted, each keeping its original. Attachments (`attachment://<hash>`) are put back. The sample's scores
are shown after its last message and decide its outcome."""

from __future__ import annotations

import re
import zipfile
from typing import Any, Iterator

from agent.display.wording import natural_key
from agent.events import RunFinished, content_text
from agent.transcripts.formats.history import (
    ORIGINAL,
    Entry,
    HistoryReader,
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
from agent.transcripts.formats.peek import MAX_DOCUMENT_BYTES, Peek, parse_json
from agent.transcripts.formats.session import Session
from agent.transcripts.transcript import Transcript, TranscriptError

NAME = "inspect-ai"
LABEL = "Inspect AI log (.eval, .json)"
_JSON_LOG = re.compile(rb'^\s*\{\s*"version"\s*:\s*\d+\s*,\s*"status"\s*:')
_ATTACHMENT = "attachment://"
_PASS = {"C", "correct", "pass", "passed", "yes", "true"}
_FAIL = {"I", "incorrect", "fail", "failed", "no", "false"}


def detect(peek: Peek) -> bool:
    if peek.head[:4] == b"PK\x03\x04":
        return b"header.json" in peek.head or b"_journal/start.json" in peek.head or b"samples/" in peek.head
    return bool(_JSON_LOG.match(peek.head)) and b'"eval"' in peek.head


class _Log:
    """An opened log: its eval spec, and its samples by name (read one at a time from a `.eval`)."""

    def __init__(self, peek: Peek) -> None:
        self.peek = peek
        self.zip: zipfile.ZipFile | None = None
        self.document: dict[str, Any] | None = None
        if peek.head[:4] == b"PK\x03\x04":
            try:
                self.zip = zipfile.ZipFile(peek.open())
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise TranscriptError(f"{peek.label}: not a readable Inspect .eval log: {exc}") from None
            header = self._member("header.json", required=False) or self._member("_journal/start.json", required=False)
            self.eval = mapping(header.get("eval")) if isinstance(header, dict) else {}
            self.header = mapping(header)
        else:
            data = peek.json("Inspect log")
            if not isinstance(data, dict):
                raise TranscriptError(f"{peek.label}: not an Inspect log (not a JSON object)")
            self.document = data
            self.header = data
            self.eval = mapping(data.get("eval"))

    def _member(self, name: str, *, required: bool = True) -> Any:
        assert self.zip is not None
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            if required:
                raise TranscriptError(f"{self.peek.label}: the log has no {name}") from None
            return None
        if info.file_size > MAX_DOCUMENT_BYTES:
            raise TranscriptError(f"{self.peek.label}: {name} is {info.file_size:,} bytes, too large to read")
        try:
            raw = self.zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise TranscriptError(f"{self.peek.label}: cannot read {name}: {exc}") from None
        return parse_json(raw, f"{self.peek.label}:{name}")

    def names(self) -> list[str]:
        """`<id>_epoch_<n>` of every sample, in the log's order."""
        if self.zip is not None:
            return sorted((n[len("samples/"):-len(".json")] for n in self.zip.namelist()
                           if n.startswith("samples/") and n.endswith(".json")), key=natural_key)
        samples = self.document.get("samples") if self.document else None
        return [_name(s) for s in samples if isinstance(s, dict)] if isinstance(samples, list) else []

    def sample(self, member: str | None) -> dict[str, Any]:
        names = self.names()
        if member is None:
            if len(names) != 1:
                raise TranscriptError(f"{self.peek.label}: an Inspect log of {len(names)} samples: name one as "
                                      f"{self.peek.path}#SAMPLE (e.g. #{names[0] if names else '1_epoch_1'}), or open "
                                      "the log to list them")
            member = names[0]
        wanted = member if "_epoch_" in member else f"{member}_epoch_1"
        if wanted not in names:
            raise TranscriptError(f"{self.peek.label}: no sample {member} in this log ({len(names)} samples)")
        if self.zip is not None:
            data = self._member(f"samples/{wanted}.json")
        else:
            assert self.document is not None
            data = next(s for s in self.document["samples"] if isinstance(s, dict) and _name(s) == wanted)
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise TranscriptError(f'{self.peek.label}#{wanted}: not an Inspect sample (no "messages" list)')
        return data

    def summaries(self) -> list[dict[str, Any]]:
        if self.zip is None:
            samples = self.document.get("samples") if self.document else None
            return [s for s in samples if isinstance(s, dict)] if isinstance(samples, list) else []
        found = self._member("summaries.json", required=False)
        if not isinstance(found, list):
            found = []
            for name in sorted(n for n in self.zip.namelist() if n.startswith("_journal/summaries/")):
                part = self._member(name, required=False)
                found += part if isinstance(part, list) else []
        return [s for s in found if isinstance(s, dict)]


def _name(sample: dict[str, Any]) -> str:
    return f"{sample.get('id')}_epoch_{sample.get('epoch', 1)}"


def sessions(peek: Peek) -> list[Session]:
    """The log's samples with their scores (from its summaries: no sample file is read)."""
    log = _Log(peek)
    model = str(log.eval.get("model") or "")
    created = iso_time(log.eval.get("created"))
    by_name = {_name(s): s for s in log.summaries()}
    out = []
    for name in log.names():
        summary = by_name.get(name, {})
        passed, detail = _verdict(summary.get("scores"))
        error = summary.get("error")
        out.append(Session(member=name, label=name, model=model, created=created,
                           reason=("error" if error else "finished") if summary else None,
                           tests_passed=passed, detail=detail, tokens=_tokens(summary.get("model_usage")),
                           error=content_text(error)[:200] if error else ""))
    return out


def open(peek: Peek, in_steps: bool) -> Transcript:  # noqa: A001
    log = _Log(peek)
    sample = log.sample(peek.member)
    messages: list[Any] = sample["messages"]
    attachments = mapping(sample.get("attachments"))
    goal = sample.get("input")
    spec = log.eval
    transcript = new_transcript(
        NAME, created=iso_time(spec.get("created")) or peek.mtime, model=str(spec.get("model") or ""),
        task=str(spec.get("task") or "") or None,
        goal=_resolve(goal, attachments) if isinstance(goal, str) else goal_of(
            m for m in (goal if isinstance(goal, list) else messages[:20]) if isinstance(m, dict)),
        settings={"inspect": {"sample": _name(sample), "eval_id": spec.get("eval_id"), "task_args": spec.get("task_args"),
                              "target": sample.get("target")}})

    def entries() -> Iterator[tuple[Entry, int]]:
        for i, m in enumerate(messages):
            for entry in _convert(m, attachments):
                yield entry, i + 1
        for entry in _scores(sample):
            yield entry, len(messages)

    passed, detail = _verdict(sample.get("scores"))
    error = sample.get("error")
    ending = RunFinished(reason="error" if error else "finished", detail=detail, tests_passed=passed,
                         ts=transcript.header.created, usage=_usage(sample.get("model_usage")),
                         summary=content_text(error.get("message") if isinstance(error, dict) else error) or None)
    reader = HistoryReader(transcript, entries(), total=max(len(messages), 1), size=peek.size, source=peek.label,
                           what="messages item", ending=lambda: ending)
    return read_all(transcript, reader, in_steps)


def _resolve(text: str, attachments: dict[str, Any]) -> str:
    if text.startswith(_ATTACHMENT):
        found = attachments.get(text[len(_ATTACHMENT):])
        return found if isinstance(found, str) else text
    return text


def _content(content: Any, attachments: dict[str, Any]) -> tuple[Any, list[str]]:
    """A message's content as Chat Completions takes it, and the reasoning parts taken out of it."""
    if isinstance(content, str):
        return _resolve(content, attachments), []
    if not isinstance(content, list):
        return content, []
    parts: list[Any] = []
    reasoning: list[str] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": _resolve(part["text"], attachments)})
        elif kind == "reasoning":
            text = part.get("reasoning") if isinstance(part.get("reasoning"), str) else ""
            summary = part.get("summary") if isinstance(part.get("summary"), str) else ""
            reasoning.append(_resolve(text or summary, attachments) if not part.get("redacted") else
                             (summary or "(reasoning redacted by the provider)"))
        else:
            parts.append(part)
    if all(isinstance(p, dict) and p.get("type") == "text" for p in parts):
        return "\n".join(p["text"] for p in parts), reasoning
    return parts, reasoning


def _convert(m: Any, attachments: dict[str, Any]) -> list[Entry]:
    if not isinstance(m, dict):
        return [Entry(m)]  # the reader says what is wrong with it
    role = m.get("role")
    content, reasoning = _content(m.get("content"), attachments)
    out: list[Entry] = []
    if role == "assistant":
        message: dict[str, Any] = {"role": "assistant", "content": content}
        calls = m.get("tool_calls")
        if isinstance(calls, list) and calls:
            message["tool_calls"] = [
                chat_call(c.get("id"), c.get("function"), c.get("arguments")) if isinstance(c, dict) else c
                for c in calls]
        message[ORIGINAL] = m
        out.append(Entry(message, model=m.get("model") if isinstance(m.get("model"), str) else None))
        out += [foreign("reasoning", text, kind="reasoning") for text in reasoning if text]
        return out
    if role == "tool":
        error = m.get("error")
        text = content_text(content)
        if isinstance(error, dict):
            said = f"error ({error.get('type', '?')}): {content_text(error.get('message'))}"
            text = f"{text}\n{said}" if text and said not in text else (text or said)
        message = {"role": "tool", "tool_call_id": m.get("tool_call_id"), "content": text, ORIGINAL: m}
        if isinstance(m.get("function"), str):
            message["name"] = m["function"]
        return [Entry(message, is_error=error is not None)]
    message = {"role": role, "content": content, ORIGINAL: m}
    return [Entry(message)] + [foreign("reasoning", text) for text in reasoning if text]


def _scores(sample: dict[str, Any]) -> list[Entry]:
    scores = sample.get("scores")
    if not isinstance(scores, dict) or not scores:
        return []
    lines = []
    for scorer, score in scores.items():
        if not isinstance(score, dict):
            lines.append(f"{scorer}: {dumps(score)}")
            continue
        line = f"{scorer}: {dumps(score.get('value'))}"
        if score.get("answer") not in (None, ""):
            line += f" (answer: {content_text(score.get('answer'))})"
        if score.get("explanation"):
            line += f"\n  {content_text(score.get('explanation')).strip()}"
        lines.append(line)
    target = sample.get("target")
    if target not in (None, "", []):
        lines.append(f"target: {content_text(target) if not isinstance(target, list) else ', '.join(map(str, target))}")
    return [foreign("score", "\n".join(lines), scores)]


def _verdict(scores: Any) -> tuple[bool | None, str]:
    """Whether the first score says the sample passed (C/I, 1/0, true/false; None: neither), and the
    scores in a line."""
    if not isinstance(scores, dict) or not scores:
        return None, ""
    parts, passed = [], None
    for k, (scorer, score) in enumerate(scores.items()):
        value = score.get("value") if isinstance(score, dict) else score
        parts.append(f"{scorer} {dumps(value)}")
        if k == 0:
            if isinstance(value, bool):
                passed = value
            elif isinstance(value, (int, float)) and value in (0, 1):
                passed = value == 1
            elif isinstance(value, str) and value.strip().lower() in {s.lower() for s in _PASS | _FAIL}:
                passed = value.strip().lower() in {s.lower() for s in _PASS}
    return passed, "score: " + ", ".join(parts)


def _usage(model_usage: Any) -> Any:
    tokens = _tokens(model_usage)
    return None if tokens is None else usage_of(*tokens)


def _tokens(model_usage: Any) -> tuple[int, int] | None:
    if not isinstance(model_usage, dict) or not model_usage:
        return None
    prompt = completion = 0
    for usage in model_usage.values():
        if isinstance(usage, dict):
            for key in ("input_tokens", "input_tokens_cache_read", "input_tokens_cache_write"):
                prompt += usage[key] if isinstance(usage.get(key), int) else 0
            completion += usage["output_tokens"] if isinstance(usage.get("output_tokens"), int) else 0
    return prompt, completion
