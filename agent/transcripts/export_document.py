"""What an export shows, read once from the app's display model into plain sections and entries.

The page and the Markdown show what the app shows, built from the same model
(`agent.transcripts.store.TranscriptModel`): the header, each iteration with the assistant's text, each
call with its arguments and `tool_call_id`, each result under the id it answers, reflection notes with
their role and triggers, the ordering check's findings on the message that breaks a rule, and what the
model saw at each iteration. The HTML and Markdown writers only lay a `Document` out.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from agent.display.errors import marks_label
from agent.display.wording import plural, tokens
from agent.events import (
    AssistantMessage,
    DriverMessage,
    Notice,
    ReflectionFallback,
    ReflectionNote,
    RunFinished,
    RunStarted,
    ToolResult,
    Usage,
    content_text,
)
from agent.transcripts.store import ID_PALETTE, Block, TranscriptModel, pretty_json, role_of, tool_calls_of
from agent.transcripts.transcript import Transcript


@dataclass
class Entry:
    """One thing shown in a section: a message, a call, a result, a note, a notice."""

    kind: str
    """message, assistant, call, result, reflection, fallback, driver, notice, finish"""
    label: str
    name: str = ""
    call_id: str = ""
    link: int | None = None
    """The id's number: the call is `call-N`, its result `result-N`."""
    color: int | None = None
    """The id's colour: its index in ID_PALETTE, as the app gives it."""
    partner: bool = False
    """The call has a result (or the result a call) to link to."""
    meta: list[str] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)
    """Labelled lines under the head (a trigger and its evidence, a note's follower)."""
    body: str = ""
    lang: str = "text"
    error: bool = False
    violations: list[str] = field(default_factory=list)
    anchor: str = ""


@dataclass
class Request:
    """What the model saw at one iteration: the messages new since the previous request, in full."""

    size: int
    previous: int
    previous_iteration: int | None
    new: list[tuple[int, dict[str, Any]]]


@dataclass
class Section:
    """The start of the run, one iteration, or the end."""

    kind: str
    number: int | None
    title: str
    badges: list[tuple[str, str]] = field(default_factory=list)
    """(text, class): error, reflect, warn."""
    meta: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    request: Request | None = None

    @property
    def anchor(self) -> str:
        return f"iteration-{self.number}" if self.kind == "iteration" else self.kind


@dataclass
class Document:
    title: str
    goal: str
    facts: list[tuple[str, str]]
    sections: list[Section]
    redaction: str
    """What redaction did ('3 secrets redacted (...)'), or that it was off."""
    warnings: list[str]
    violation_count: int
    colors: dict[str, int]
    """tool_call_id -> its colour's index in ID_PALETTE."""


def dump_message(message: Any) -> str:
    try:
        return json.dumps(message, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(message)


def color_class(color: int | None) -> str:
    """The CSS class of an id's colour: `id0`..`id7`, the app's palette."""
    return "" if color is None else f"id{color}"


# ---------------------------------------------------------------------------------------------------------


def build_document(transcript: Transcript, redaction: str) -> Document:
    """Read the transcript through the app's display model into sections of entries."""
    model = TranscriptModel()
    model.imported = transcript.header.source is not None
    model.extend(transcript.events)
    model.check_order()
    links: dict[str, int] = {}
    anchors: set[str] = set()
    sections: list[Section] = []
    last_request: int | None = None
    for block in model.blocks:
        section = _section(block, model)
        for item in block.get_items():
            if item.kind in ("title", "request") or not 0 <= item.pos < len(block.events):
                continue
            entry = _entry(item.kind, block.events[item.pos], item.sub, model)
            if entry is None:
                continue
            if entry.call_id:
                entry.link = links.setdefault(entry.call_id, len(links))
                entry.color = model.link(entry.call_id) % len(ID_PALETTE)
                sites = model.result_sites if entry.kind == "call" else model.call_sites
                entry.partner = entry.call_id in sites
                if f"{entry.kind}-{entry.link}" not in anchors:  # a reused id: only its first call and result
                    entry.anchor = f"{entry.kind}-{entry.link}"
                    anchors.add(entry.anchor)
            if item.kind != "call":  # a call's findings are its assistant message's, shown there
                entry.violations = [f"{v.message} [{v.rule}]" for v in block.violations.get((item.pos, item.sub), ())]
            section.entries.append(entry)
        if block.kind == "iteration" and block.request_size is not None:
            previous = min(block.previous_request_size, block.request_size)
            new = [(i, model.messages[i]) for i in range(previous, min(block.request_size, len(model.messages)))]
            section.request = Request(block.request_size, previous, last_request if previous else None, new)
            last_request = block.number
        sections.append(section)
    header = transcript.header
    goal = subtitle(header.goal)
    title = "agent-tui run" + (f": {header.task}" if header.task else "")
    colors = {cid: model.link(cid) % len(ID_PALETTE) for cid in links}
    return Document(title, goal, _facts(transcript, model), sections, redaction, list(transcript.warnings),
                    model.violation_count, colors)


SUBTITLE_LINES = 3
"""At most this many lines of the goal under the title: another tool's goal is its whole first user message
(mini-swe-agent's holds the task, then some eighty lines of instructions)."""


def subtitle(goal: str) -> str:
    """The goal's first paragraph, at most SUBTITLE_LINES lines, and how many lines it leaves out."""
    lines = goal.strip().split("\n")
    first = next((k for k, line in enumerate(lines) if not line.strip()), len(lines))
    keep = min(first, SUBTITLE_LINES)
    if keep >= len(lines):
        return goal.strip()
    return "\n".join(lines[:keep]) + f" … ({len(lines) - keep} more lines, in the first user message below)"


def _facts(transcript: Transcript, model: TranscriptModel) -> list[tuple[str, str]]:
    h = transcript.header
    facts: list[tuple[str, str]] = []
    if h.source:
        facts.append(("imported from", h.source))
    if h.provider or h.model:
        facts.append(("model", " / ".join(x for x in (h.provider, h.model) if x)))
    if h.base_url:
        facts.append(("base URL", h.base_url))
    reflection = h.settings.get("reflection")
    if isinstance(reflection, str):
        facts.append(("reflection", reflection))
    if h.created:  # another tool's file records no start: what is known is when the file was written
        facts.append(("file written" if h.source else "started",
                      time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(h.created))))
    facts.append(("iterations", f"{model.iterations:,}"))
    facts.append(("tokens", tokens(model.usage, unreported=model.unreported)))
    done = model.finished
    if done is not None:
        tests = {True: "tests pass", False: "tests fail", None: ""}[done.tests_passed]
        facts.append(("outcome", ", ".join(x for x in (done.reason.replace("_", " "), tests) if x)))
    count = model.violation_count
    facts.append(("ordering check", "clean" if not count else f"{count} violation{'s' if count > 1 else ''}"))
    return facts


def _section(block: Block, model: TranscriptModel) -> Section:
    if block.kind == "start":
        return Section("start", None, "Start")
    if block.kind == "finish":
        fin = model.finished
        title = "Finished" if fin is None else f"Run {fin.reason.replace('_', ' ')}"
        return Section("finish", None, title)
    section = Section("iteration", block.number, f"Iteration {block.number}")
    section.meta.append(", ".join(block.tool_names) if block.tool_names else "no tool call")
    if block.marks:
        section.badges.append((marks_label(block.marks), "error"))
    if block.reflection:
        section.badges.append((f"✦ reflection ({block.reflection})", "reflect"))
    if block.fallbacks:
        section.badges.append(("↺ note role refused", "reflect"))
    if block.violation_count:
        n = block.violation_count
        section.badges.append((f"⚠ {n} ordering violation{'s' if n > 1 else ''}", "error"))
    if block.total_tokens is not None:
        section.meta.append(f"{block.total_tokens:,} tokens")
    if block.latency_s:
        section.meta.append(f"{block.latency_s:.2f}s")
    return section


def _tokens(usage: Usage | None) -> list[str]:
    return [] if usage is None else [f"{usage.prompt_tokens:,} in / {usage.completion_tokens:,} out"]


def _entry(kind: str, event: Any, sub: int, model: TranscriptModel) -> Entry | None:
    if kind == "message" and isinstance(event, RunStarted):
        msg = event.messages[sub] if sub < len(event.messages) else {}
        return Entry("message", role_of(msg), body=content_text(msg.get("content") if isinstance(msg, dict) else msg))
    if kind == "assistant" and isinstance(event, AssistantMessage):
        meta = ([event.model] if event.model else []) + _tokens(event.usage)
        meta += [f"{event.latency_s:.2f}s"] if event.latency_s else []
        meta += [f"first token {event.ttft_s:.2f}s"] if event.ttft_s else []
        meta += [f"finish {event.finish_reason}"] if event.finish_reason else []
        meta += ["calls parsed from text"] if event.parsed_from_text else []
        text = content_text(event.message.get("content"))
        if not text.strip() and not tool_calls_of(event.message):
            text = "(empty reply)"
        return Entry("assistant", role_of(event.message) if role_of(event.message) != "?" else "assistant",
                     meta=meta, body=text)
    if kind == "call" and isinstance(event, AssistantMessage):
        call = tool_calls_of(event.message)[sub]
        args, ok = pretty_json(call.arguments)
        meta = [] if ok else ["arguments are not valid JSON"]
        if call.id and call.id not in model.result_sites:
            meta.append("no result")
        return Entry("call", "→ call", call.name, call.id, meta=meta, body=args, lang="json" if ok else "text")
    if kind == "result" and isinstance(event, ToolResult):
        meta = [f"{event.duration_s:.2f}s"] if event.duration_s else []
        return Entry("result", "← result", event.name or "?", event.tool_call_id, meta=meta,
                     body=event.content if event.content else "(empty)", error=event.is_error)
    if kind == "reflection" and isinstance(event, ReflectionNote):
        meta = [f"as {event.role}"] + ([f"{event.fallback_from} refused, fell back"] if event.fallback_from else [])
        meta += ([event.model] if event.model else []) + _tokens(event.usage)
        lines = [(f"trigger {t.kind}", t.evidence) for t in event.triggers]
        lines += [(f"followed by a {role_of(m)} message", content_text(m.get("content")))
                  for m in event.messages[1:] if isinstance(m, dict)]
        return Entry("reflection", "✦ reflection", meta=meta, lines=lines, body=event.content)
    if kind == "fallback" and isinstance(event, ReflectionFallback):
        outcome = f"re-sent as {event.to_role}" if event.to_role else "every role refused: notes off for the rest of the run"
        status = f" (HTTP {event.status})" if event.status else ""
        lines = [(role_of(m), content_text(m.get("content"))) for m in event.messages if isinstance(m, dict)]
        return Entry("fallback", "↺ reflection note refused", meta=[f"as {event.from_role}{status} → {outcome}"],
                     lines=lines, body=event.error, error=True)
    if kind == "driver" and isinstance(event, DriverMessage):
        msg = event.message
        text = content_text(msg.get("content") if isinstance(msg, dict) else msg)
        if isinstance(msg, dict) and msg.get("tool_calls"):
            text = (text + "\n" if text else "") + "tool_calls: " + json.dumps(msg.get("tool_calls"), ensure_ascii=False)
        return Entry("driver", f"» {role_of(msg)}", meta=[event.kind], body=text)
    if kind == "notice" and isinstance(event, Notice):
        icon = {"warning": "⚠", "error": "✗"}.get(event.level, "ℹ")
        return Entry("notice", f"{icon} {event.level}", body=event.text, error=event.level == "error")
    if kind == "finish" and isinstance(event, RunFinished):
        tests = {True: "tests passed", False: "tests failed", None: "no test command"}[event.tests_passed]
        usage, unreported = (model.usage, model.unreported) if model.finished is event else (event.usage, 0)
        meta = [f"after {plural(event.iterations, 'iteration')}", tests, tokens(usage, unreported=unreported)]
        lines = [("detail", event.detail)] if event.detail else []
        lines += [("summary", event.summary)] if event.summary else []
        return Entry("finish", f"run {event.reason.replace('_', ' ')}", meta=meta, lines=lines,
                     body=event.test_output, error=event.reason in ("provider_error", "error", "context_length"))
    return None
