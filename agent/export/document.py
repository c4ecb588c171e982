"""What an export shows, read once from the app's display model into plain sections and entries.

The page and the Markdown show what the app shows, built from the same model
(`agent.view.model.TranscriptModel`) and worded by the same descriptions (`agent.view.describe`): the header, each iteration with the assistant's text, each
call with its arguments and `tool_call_id`, each result under the id it answers, reflection notes with
their role and triggers, the ordering check's findings on the message that breaks a rule, and what the
model saw at each iteration. The HTML and Markdown writers only lay a `Document` out.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from agent.display.wording import tokens
from agent.outcome import reason_words, tests_said
from agent.transcripts.transcript import Transcript
from agent.view.describe import INVALID_ARGUMENTS, Body, describe_item, describe_title
from agent.view.model import ID_PALETTE, Block, Item, TranscriptModel, readable_arguments


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
            entry = _entry(block, item, model)
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
            section.entries.append(entry)
        if block.kind == "iteration" and block.request_size is not None:
            previous = min(block.previous_request_size, block.request_size)
            new = [(i, model.messages[i]) for i in range(previous, min(block.request_size, len(model.messages)))]
            section.request = Request(block.request_size, previous, last_request if previous else None, new)
            last_request = block.number
        sections.append(section)
    header = transcript.header
    goal = subtitle(header.goal)
    made_by = f"{header.source} run, read by agent-tui" if header.source else "agent-tui run"  # another tool's file
    title = made_by + (f": {header.task}" if header.task else "")
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
        facts.append(("outcome", ", ".join(x for x in (reason_words(done.reason), tests_said(done.tests_passed)) if x)))
    count = model.violation_count
    facts.append(("ordering check", "clean" if not count else f"{count} violation{'s' if count > 1 else ''}"))
    return facts


BADGE_CLASSES = {"error": "error", "reflection": "reflect", "warning": "warn"}
"""A badge's class on the page, by the meaning of its style."""


def _section(block: Block, model: TranscriptModel) -> Section:
    if block.kind == "start":
        return Section("start", None, "Start")
    if block.kind == "finish":
        fin = model.finished
        title = "Finished" if fin is None else f"Run {reason_words(fin.reason)}"
        return Section("finish", None, title)
    said = describe_title(block, model)
    section = Section("iteration", block.number, f"Iteration {block.number}")
    section.meta = [said.head.text] if said.head.text else []
    section.meta += said.right
    section.badges = [(badge.text, BADGE_CLASSES.get(badge.style.split()[0], "")) for badge in said.badges]
    return section


def _entry(block: Block, item: Item, model: TranscriptModel) -> Entry | None:
    """An item as the app describes it (`agent.view.describe`), laid out as an entry: its head, its labelled
    lines, and its own text as the body (arguments laid out as the app shows them)."""
    desc = describe_item(block, item, model)
    if desc.kind not in ENTRY_KINDS:
        return None
    entry = Entry(desc.kind, desc.label.text, desc.name, desc.call_id or "", meta=list(desc.meta),
                  error=desc.error, violations=[f"{v.message} [{v.rule}]" for v in desc.findings])
    if desc.kind == "notice":  # its text is its head in the app; here, its body under its level
        entry.label, entry.name, entry.body = f"{desc.label.text} {desc.name}", "", desc.text
    for row in desc.rows:
        if isinstance(row, Body):
            _take_body(entry, row)
        elif row.empty:
            entry.body = entry.body or row.label.text
        elif row.text is not None:
            entry.lines.append((row.label.text, row.text.text))
    entry.meta += [mark.text for mark in desc.marks]
    return entry


ENTRY_KINDS = frozenset({"message", "assistant", "call", "result", "reflection", "fallback", "driver", "notice",
                         "finish"})
"""The items an export shows (a request is shown as its section's request, a change not yet)."""


def _take_body(entry: Entry, body: Body) -> None:
    if body.name:  # a detail, a summary, the rejected reply: a labelled line
        entry.lines.append((body.name, body.text))
        return
    entry.body = body.text
    if body.heading is not None:
        entry.meta.append(body.heading.label.text)
    if body.kind == "arguments":
        entry.body, ok = readable_arguments(body.text)  # as the app shows them: not JSON any more
        entry.lang = "text"
        if not ok:
            entry.meta.insert(0, INVALID_ARGUMENTS)
