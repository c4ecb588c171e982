"""How each event reads, said once for every front end: a block's title and each item in it, as plain data.

`describe_title` and `describe_item` turn a block of the view model (`agent.view.model`) into parts of text,
each with the name of its style, marks, labelled lines and bodies: what an iteration did (its tools, or
`no tool call: prose`, `format error`, a text-action agent's `$ command`), what went wrong in it (`tests
failed`, `exit 2`, `error`, `no reply`), what a note, a refusal of its role, a notice or the run's ending
says. The app draws them with Rich (`tui.render.blocks`), the export lays them out as HTML and Markdown
(`agent.export.document`); each keeps only its own layout. No UI toolkit here.

A style's name is words: `bold`, `italic`, and the meanings the app's palette colours (`muted`, `label`,
`error`, `warning`, `success`, `reflection`, `running`, and `link`: the colour of the item's tool_call_id).
A margin says what runs down the left of a row: '' (an indent), `note` (a note's dotted bar), or the style of
a solid bar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from agent.display.errors import FORMAT_ERROR, event_mark, marks_label
from agent.display.wording import plural, short_tokens, tokens
from agent.events import (
    AssistantMessage,
    DriverMessage,
    IterationStarted,
    Notice,
    ReflectionFallback,
    ReflectionNote,
    RunFinished,
    RunStarted,
    ToolResult,
    Usage,
    WorkspaceChanged,
    content_text,
)
from agent.outcome import ERROR_REASONS, reason_words
from agent.view.model import Block, Item, TranscriptModel, ViolationLike, rejected_reply, role_of, tool_calls_of

INVALID_ARGUMENTS = "arguments are not valid JSON"
"""Said above a call's arguments when they do not parse (they are shown as written)."""


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of text and the name of its style."""

    text: str
    style: str = ""


@dataclass(slots=True)
class Line:
    """A row of its own: a label, and after `: ` a text (None: the label alone), over `style`."""

    label: Part
    text: Part | None = None
    style: str = ""
    margin: str = ""
    brief: bool = False
    """The text is evidence: a front end short of room shows its first line, and nothing when it is empty."""
    empty: bool = False
    """The line says the item's text is empty (`(empty)`): a front end that shows a body shows this instead."""


@dataclass(slots=True)
class Body:
    """A text under an item's head, folded around what carries a failure when long, unless `whole`."""

    text: str
    kind: str = "text"
    """text, arguments (a call's, for `tool`), result (a tool's output) or diff."""
    name: str = ""
    """What it is beside the item's own text ('': the item's text): detail, summary, the rejected reply."""
    style: str = ""
    margin: str = ""
    whole: bool = False
    """Shown whole: a reply, a note, a summary are read, not skimmed."""
    heading: Line | None = None
    """A line shown above it (`summary`, `tests passed`, what the text is)."""
    tool: str = ""
    searchable: bool = True
    """Search matches are marked in it (not in an unknown event's dump)."""


@dataclass(slots=True)
class Description:
    """One item: its head (label, name, id, meta, marks), the ordering findings on it, and its rows."""

    kind: str
    label: Part
    name: str = ""
    """A call's or result's tool; the files a change touched (`2 files`); a notice's level."""
    call_id: str | None = None
    """A call's or result's tool_call_id ('' when it has none; None: not a call nor a result)."""
    meta: list[str] = field(default_factory=list)
    """Quiet facts after the head: a reply's model, tokens, latency; a note's role; a duration."""
    marks: list[Part] = field(default_factory=list)
    """What stands out after them: `✗ tests failed`, `never answered`, `(diff cut: ...)`."""
    text: str = ""
    """A notice's text (it is its head)."""
    rows: list[Line | Body] = field(default_factory=list)
    findings: list[ViolationLike] = field(default_factory=list)
    """The ordering check's findings on what this item added to the history."""
    error: bool = False
    """The item reports a failure (an error result, a refused note, an error notice, a failed run)."""


@dataclass(slots=True)
class Title:
    """A block's title: its head, what follows it, its badges, and the figures on its right."""

    kind: str
    """start, iteration or finish"""
    head: Part
    """An iteration's tools, or what it did instead; `start`; how the run ended (`■ finished`)."""
    details: list[Part] = field(default_factory=list)
    """The start's roles and goal; a failed ending's first line."""
    badges: list[Part] = field(default_factory=list)
    """Error marks, a note, a refused role, ordering violations, `no reply`; the ending's verdict."""
    right: list[str] = field(default_factory=list)
    """Tokens and latency; the ending's iterations and tokens."""


# ---------------------------------------------------------------------------------------------------------
# Titles


COMMAND_FENCES = ("", "bash", "sh", "shell", "console", "mswea_bash_command")
"""The fences a text-action agent (mini-swe-agent) runs: a ```python block in a reply is code, not a command."""


def _reply(block: Block) -> AssistantMessage | None:
    return next((e for e in block.events if isinstance(e, AssistantMessage)), None)


def text_action(block: Block) -> str:
    """For a reply without tool calls in another tool's file: the first line of its first fenced shell block
    (mini-swe-agent and other text-action agents put their command there), else ''."""
    event = _reply(block)
    if event is None:
        return ""
    text = content_text(event.message.get("content"))
    start = text.find("```")
    if start < 0:
        return ""
    body = text[start + 3:].split("\n", 1)
    if len(body) < 2 or body[0].strip().lower() not in COMMAND_FENCES:
        return ""
    for line in body[1].split("\n"):
        if line.startswith("```"):
            break
        if line.strip():
            return "$ " + line.strip()
    return ""


def no_call_title(block: Block, model: TranscriptModel) -> str:
    """What an iteration without a tool call did, for its title: `format error`, a text-action agent's
    command (`$ ls -la`), `no tool call: prose`, `no tool call: empty reply`; '' when there was no reply."""
    if FORMAT_ERROR.label in block.marks:
        return "format error"
    if not block.assistant_seen:
        return ""
    action = text_action(block) if model.imported else ""
    if action:
        return action
    event = _reply(block)
    wrote = event is not None and (content_text(event.message.get("content")).strip() or event.raw_content)
    return "no tool call: prose" if wrote else "no tool call: empty reply"


def describe_title(block: Block, model: TranscriptModel, *, live: bool = False) -> Title:
    """A block's title (`live`: the run is going on, so an iteration without a reply yet is not `no reply`)."""
    if block.kind == "iteration":
        return _iteration_title(block, model, live)
    if block.kind == "start":
        return _start_title(block)
    return _finish_title(block, model)


def _iteration_title(block: Block, model: TranscriptModel, live: bool) -> Title:
    marks = block.marks
    if block.tool_names:
        head = Part(", ".join(block.tool_names))
    else:
        what = no_call_title(block, model)
        if what == "format error":  # the title says it, as the mark a badge would carry
            head = Part(f"✗ {what}", "error bold")
            marks = tuple(m for m in marks if m != FORMAT_ERROR.label)
        else:
            head = Part(what, "" if what.startswith("$ ") else "muted")
    badges = []
    if marks:
        badges.append(Part(marks_label(marks), "error"))
    if block.reflection:
        badges.append(Part(f"✦ reflection ({block.reflection})", "reflection"))
    if block.fallbacks:
        badges.append(Part("↺ note role refused", "reflection"))
    if block.violations:
        n = block.violation_count
        badges.append(Part(f"⚠ {n} ordering violation" + ("s" if n > 1 else ""), "error bold"))
    if not live and not block.assistant_seen and block.started_seen and not block.marks:
        badges.append(Part("no reply", "warning"))
    total = block.total_tokens
    right = [f"{total:,} tok" if total is not None else "", f"{block.latency_s:.2f}s" if block.latency_s else ""]
    return Title("iteration", head, badges=badges, right=[r for r in right if r])


def _start_title(block: Block) -> Title:
    title = Title("start", Part("start", "bold"))
    seed = next((e for e in block.events if isinstance(e, RunStarted)), None)
    if seed is not None:
        title.details.append(Part(" · ".join(role_of(m) for m in seed.messages), "muted"))
        goal = next((content_text(m.get("content")) for m in seed.messages
                     if isinstance(m, dict) and m.get("role") == "user"), "")
        if goal:
            title.details.append(Part(goal.strip().split("\n", 1)[0]))
    if block.violations:
        title.badges.append(Part(f"⚠ {block.violation_count} ordering violation(s)", "error bold"))
    return title


def _finish_title(block: Block, model: TranscriptModel) -> Title:
    fin = next((e for e in block.events if isinstance(e, RunFinished)), None)
    reason = fin.reason if fin else "finished"
    bad = reason in ERROR_REASONS
    title = Title("finish", Part("■ " + reason_words(reason), "error bold" if bad else "success bold"))
    if fin is None:
        return title
    if fin.detail and bad:
        title.details.append(Part(fin.detail.strip().split("\n", 1)[0], "error"))
    if fin.tests_passed is not None:
        title.badges.append(Part("tests passed", "success") if fin.tests_passed else Part("tests failed", "error"))
    usage, unreported = run_tokens(model, fin)
    title.right = [part for part in (plural(fin.iterations, "iteration"), short_tokens(usage, unreported)) if part]
    return title


def run_tokens(model: TranscriptModel, finished: RunFinished) -> tuple[Usage | None, int]:
    """The run's tokens and its calls without any: counted from the events when the model holds them all
    (a file written before `unreported_calls` was recorded says them too), else as its ending says."""
    if model.iterations and (model.finished is finished or model.finished == finished):  # a big file reads it anew
        return model.usage, model.unreported
    return finished.usage, finished.unreported_calls


# ---------------------------------------------------------------------------------------------------------
# Items


def describe_item(block: Block, item: Item, model: TranscriptModel, *, running: bool = False) -> Description:
    """One item of a block (`running`: the block's calls are being run, live)."""
    event = block.events[item.pos] if 0 <= item.pos < len(block.events) else None
    found = _DESCRIBERS.get(item.kind)
    if found is None or not isinstance(event, found[0]):
        return _unknown(item, event)
    return found[1](block, item, event, model, running)


def _findings(block: Block, item: Item) -> list[ViolationLike]:
    """The ordering findings on the message(s) an item shows: a seed message's own, else every one of its
    event's (a reply's include those on its calls)."""
    keys = [(item.pos, item.sub)] if item.kind == "message" else [k for k in block.violations if k[0] == item.pos]
    return [v for key in keys for v in block.violations.get(key, [])]


def _message(block: Block, item: Item, event: RunStarted, model: TranscriptModel, running: bool) -> Description:
    msg = event.messages[item.sub] if item.sub < len(event.messages) else {}
    text = content_text(msg.get("content") if isinstance(msg, dict) else msg)
    return Description("message", Part(role_of(msg), "label"), rows=[Body(text)], findings=_findings(block, item))


def _request(block: Block, item: Item, event: IterationStarted, model: TranscriptModel,
             running: bool) -> Description:
    again = any(isinstance(e, IterationStarted) for e in block.events[:item.pos])
    meta = [plural(event.request_size, "message")]
    if block.previous_request_size:
        meta.append(f"{event.request_size - block.previous_request_size:+d} since the previous one")
    if event.reflection != "off":
        meta.append(f"reflection {event.reflection}")
    return Description("request", Part("request sent again" if again else "request", "muted"), meta=meta)


def _assistant(block: Block, item: Item, event: AssistantMessage, model: TranscriptModel,
               running: bool) -> Description:
    meta = [event.model] if event.model else []
    if event.usage is not None:
        meta.append(f"{event.usage.prompt_tokens:,} in / {event.usage.completion_tokens:,} out")
    elif not model.imported:
        meta.append("tokens not reported")
    meta += [f"{event.latency_s:.2f}s"] if event.latency_s else []
    meta += [f"first token {event.ttft_s:.2f}s"] if event.ttft_s else []
    meta += [f"finish_reason {event.finish_reason}"] if event.finish_reason else []
    meta += ["action parsed from text"] if event.parsed_from_text else []
    role = role_of(event.message)
    desc = Description("assistant", Part(role if role != "?" else "assistant", "label"), meta=meta,
                       findings=_findings(block, item))
    text = content_text(event.message.get("content"))
    calls = tool_calls_of(event.message)
    if event.raw_content:  # what the model wrote, its calls parsed out of it (listed under it)
        said = (f"the reply as written; {plural(len(calls), 'call')} parsed from it, below" if calls else
                "the reply as written (a <tool_response> it made up is cut from the history)")
        desc.rows.append(Body(event.raw_content, margin="muted", heading=Line(Part(said), style="muted")))
    elif text.strip():
        desc.rows.append(Body(text, whole=True))
    elif not calls:
        desc.rows.append(Line(Part("(empty reply)"), style="muted", empty=True))
    return desc


def _call(block: Block, item: Item, event: AssistantMessage, model: TranscriptModel, running: bool) -> Description:
    call = tool_calls_of(event.message)[item.sub]
    desc = Description("call", Part("→ call", "link bold"), call.name, call.id,
                       rows=[Body(call.arguments, "arguments", margin="link", tool=call.name)])
    if call.id and call.id not in model.result_sites:
        if running:
            desc.marks.append(Part("⋯ running…", "running"))
        elif call.id in model.unanswered:
            desc.marks.append(Part("never answered: the run stopped before its result", "warning"))
        else:
            desc.marks.append(Part("no result", "muted"))
    return desc


def _result(block: Block, item: Item, event: ToolResult, model: TranscriptModel, running: bool) -> Description:
    desc = Description("result", Part("← result", "link bold"), event.name or "?", event.tool_call_id,
                       meta=[f"{event.duration_s:.2f}s"] if event.duration_s else [],
                       findings=_findings(block, item), error=event.is_error)
    mark = event_mark(event)
    if mark is not None:
        desc.marks.append(Part(f"✗ {mark.label}", "error bold"))
    if event.content.strip():
        desc.rows.append(Body(event.content, "result", style="error" if event.is_error else "", margin="link"))
    if event.content == "":
        desc.rows.append(Line(Part("(empty)"), style="muted", margin="link", empty=True))
    return desc


def _note(block: Block, item: Item, event: ReflectionNote, model: TranscriptModel, running: bool) -> Description:
    meta = [f"as {event.role}"]
    meta += [f"{event.fallback_from} refused, fell back"] if event.fallback_from else []
    meta += [event.model] if event.model else []
    if event.usage is not None:
        meta.append(short_tokens(event.usage))
    elif event.request and not model.imported:
        meta.append("tokens not reported")
    meta += [f"{event.latency_s:.2f}s"] if event.latency_s else []
    desc = Description("reflection", Part("✦ reflection", "reflection bold"), meta=meta,
                       findings=_findings(block, item))
    for trig in event.triggers:
        desc.rows.append(Line(Part(f"trigger {trig.kind}", "reflection"), Part(trig.evidence, "muted"), margin="note",
                              brief=True))
    desc.rows.append(Body(event.content, style="italic", margin="note", whole=True))
    for follower in event.messages[1:]:
        if isinstance(follower, dict):
            desc.rows.append(Line(Part(f"followed by a {role_of(follower)} message"),
                                  Part(content_text(follower.get("content"))), style="muted", margin="note"))
    return desc


def _fallback(block: Block, item: Item, event: ReflectionFallback, model: TranscriptModel,
              running: bool) -> Description:
    outcome = (f"re-sent as {event.to_role}" if event.to_role else
               "every role refused: notes are off for the rest of the run")
    status = f" (HTTP {event.status})" if event.status else ""
    desc = Description("fallback", Part("↺ reflection note refused", "reflection bold"),
                       meta=[f"as {event.from_role}{status} → {outcome}"], findings=_findings(block, item),
                       error=True, rows=[Body(event.error, style="error", margin="note")])
    for m in event.messages:
        if isinstance(m, dict):
            desc.rows.append(Line(Part(role_of(m)), Part(content_text(m.get("content")), "italic"), style="label",
                                  margin="note"))
    return desc


def _driver(block: Block, item: Item, event: DriverMessage, model: TranscriptModel, running: bool) -> Description:
    msg = event.message
    desc = Description("driver", Part(f"» {role_of(msg)}", "label"), meta=[event.kind],
                       findings=_findings(block, item))
    mark = event_mark(event)
    if mark is not None:
        desc.marks.append(Part(f"✗ {mark.label}", "error bold"))
    text = content_text(msg.get("content") if isinstance(msg, dict) else msg)
    if isinstance(msg, dict) and msg.get("tool_calls"):
        text = (text + "\n" if text else "") + "tool_calls: " + json.dumps(msg.get("tool_calls"), ensure_ascii=False)
    desc.rows.append(Body(text))
    reply = rejected_reply(msg)
    if reply is not None:
        said = Line(Part("the reply that caused it, as written (not kept in the history):"), style="muted")
        desc.rows.append(Body(reply, name="the reply that caused it", margin="error", heading=said))
    elif event.kind == "format_error":
        desc.rows.append(Line(Part("the reply that caused it is not in the file (not kept in the history)"),
                              style="muted"))
    return desc


def _changes(block: Block, item: Item, event: WorkspaceChanged, model: TranscriptModel,
             running: bool) -> Description:
    stats = [f"{f.path} ({f.status}, binary)" if f.binary else f"{f.path} +{f.added} -{f.removed}" for f in event.files]
    desc = Description("changes", Part("± changed", "running bold"), plural(len(event.files), "file"),
                       meta=[", ".join(stats)], rows=[Body(event.diff, "diff", margin="running")])
    if event.cut:
        desc.marks.append(Part(f"(diff cut: {plural(event.cut, 'more character')} not recorded)", "warning"))
    return desc


NOTICE_LOOKS = {"info": ("ℹ", "muted"), "warning": ("⚠", "warning"), "error": ("✗", "error")}
"""A notice's icon and style, by its level."""


def _notice(block: Block, item: Item, event: Notice, model: TranscriptModel, running: bool) -> Description:
    icon, style = NOTICE_LOOKS.get(event.level, NOTICE_LOOKS["info"])
    return Description("notice", Part(icon, style), event.level, text=event.text, error=event.level == "error")


def _finish(block: Block, item: Item, event: RunFinished, model: TranscriptModel, running: bool) -> Description:
    bad = event.reason in ERROR_REASONS
    usage, unreported = run_tokens(model, event)
    desc = Description("finish", Part(f"run {reason_words(event.reason)}", "error bold" if bad else "bold"),
                       meta=[f"after {plural(event.iterations, 'iteration')}", tokens(usage, unreported=unreported)],
                       error=bad)
    if event.detail:
        desc.rows.append(Body(event.detail, name="detail", style="error" if bad else ""))
    if event.summary:
        desc.rows.append(Body(event.summary, name="summary", whole=True, heading=Line(Part("summary"), style="label")))
    if event.tests_passed is not None:
        verdict = Line(Part("tests passed" if event.tests_passed else "tests failed"),
                       style="success bold" if event.tests_passed else "error bold")
        desc.rows.append(Body(event.test_output, heading=verdict))
    return desc


def _unknown(item: Item, event: Any) -> Description:
    name = getattr(event, "type", type(event).__name__)
    try:
        raw = event.model_dump_json() if hasattr(event, "model_dump_json") else repr(event)
    except Exception:
        raw = repr(event)
    return Description("unknown", Part(f"? {item.kind} ({name})", "warning"),
                       rows=[Body(raw, style="muted", searchable=False)])


Describer = Callable[[Block, Item, Any, TranscriptModel, bool], Description]

_DESCRIBERS: dict[str, tuple[type, Describer]] = {
    "message": (RunStarted, _message),
    "request": (IterationStarted, _request),
    "assistant": (AssistantMessage, _assistant),
    "call": (AssistantMessage, _call),
    "result": (ToolResult, _result),
    "reflection": (ReflectionNote, _note),
    "fallback": (ReflectionFallback, _fallback),
    "driver": (DriverMessage, _driver),
    "changes": (WorkspaceChanged, _changes),
    "notice": (Notice, _notice),
    "finish": (RunFinished, _finish),
}
"""An item's kind: the event it must come from, and what describes it (anything else is `unknown`)."""
