"""How one block looks: pure functions from a block of the model to lines of segments.

`render_block` returns the block's lines (title first) and where each item starts, so the view can map a
line to the item under it. Everything here is a function of its arguments (the block, the model, the
width, the render state); the view caches the result per block and re-renders only blocks that change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from agent.display.errors import FORMAT_ERROR, event_mark, marks_label
from agent.display.folding import FOLD_FROM, HEAD, TAIL
from agent.display.terminal import inert
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
    WorkspaceChanged,
)
from agent.transcripts.store import (
    Block,
    Item,
    TranscriptModel,
    content_text,
    item_search_text,
    rejected_reply,
    role_of,
    tool_calls_of,
)
from tui.content import arguments_lines, folded, inert_text, result_lines, unified_diff_lines
from tui.palette import DEFAULT, Palette

INDENT = 2
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

# Restrained styles: colour carries meaning (id links, errors, reflection, warnings), the rest is weight.
# The colours come from the theme, in `RenderState.palette`.
BOLD = Style(bold=True)
ITALIC = Style(italic=True)
HIGHLIGHT = Style(bold=True, reverse=True)
"""The tool_call_id linked to the cursor: its colour as a background."""

FOLD_HINT = "click, or o for all"
"""What a fold line says unfolds it."""
REFOLD_HINT = "(click to fold)"


@dataclass
class RenderState:
    """What besides the block decides its look."""

    highlight_ids: frozenset[str] = frozenset()
    query: str = ""
    live: bool = False
    running: bool = False
    """The request of this block is in flight (only the title shows it)."""
    elapsed: float = 0.0
    frame: int = 0
    streaming: Any = None
    """The reply streaming in (an AssistantDelta), shown under the running block until the message lands."""
    tools_running: bool = False
    """The calls of this block are being run (live): the ones without a result are shown as running."""
    unfold_all: bool = False
    """Every long text shown whole (`o`)."""
    palette: Palette = DEFAULT


# ---------------------------------------------------------------------------------------------------------
# Low-level line building


class _Lines:
    """Accumulates the lines of a block at a fixed width."""

    def __init__(self, console: Console, width: int, palette: Palette) -> None:
        self.console = console
        self.palette = palette
        self.width = max(width, 8)
        self.lines: list[list[Segment]] = []
        self._options = console.options

    def text(self, text: Text, indent: int = INDENT, prefix: list[Segment] | None = None) -> None:
        """Append `text` wrapped at the width, each line prefixed by `indent` spaces or by `prefix`."""
        if prefix is None:
            prefix = [Segment(" " * indent)] if indent else []
        used = sum(cell_len(s.text) for s in prefix)
        avail = max(self.width - used, 4)
        text = inert_text(text)
        text.overflow = "fold"
        text.no_wrap = False
        options = self._options.update(width=avail, min_width=avail, max_width=avail, height=None,
                                       no_wrap=False, overflow="fold", highlight=False, markup=False)
        for line in self.console.render_lines(text, options, pad=True, new_lines=False):
            self.lines.append(prefix + line)

    def line(self, text: Text) -> None:
        """One line, truncated (never wrapped) at the width, ending with `…` when cut."""
        text = inert_text(text)
        text.truncate(self.width, overflow="ellipsis", pad=True)
        self.lines.append(list(text.render(self.console)))


def _bar(style: Style, indent: int = INDENT) -> list[Segment]:
    return [Segment(" " * indent), Segment("│ ", style)]


def _body(out: _Lines, content: str, *, unfolded: bool, prefix: list[Segment] | None = None,
          style: Style | str = "", query: str = "") -> None:
    """Plain text (a message, a note, a detail), folded when long."""
    content = content.rstrip("\n")
    if content == "":
        return
    _lines_body(out, content.split("\n"), unfolded=unfolded, prefix=prefix, style=style, query=query)


def _lines_body(out: _Lines, lines: list[Text] | list[str], *, unfolded: bool, prefix: list[Segment] | None = None,
                style: Style | str = "", query: str = "") -> None:
    """Lines of a body, folded around what carries a failure unless `unfolded` (then, if it is long, a last
    line says a click folds it again)."""
    p = out.palette
    if not lines:
        return
    shown, hidden = folded(lines, unfolded=False, hint=FOLD_HINT)
    if unfolded:
        shown, _ = folded(lines, unfolded=True)
    text = Text("\n", style=style).join(shown)
    text.style = style
    if query:
        text.highlight_words([query], p.match, case_sensitive=False)
    out.text(text, prefix=prefix)
    if unfolded and hidden:
        out.text(Text(REFOLD_HINT, style=p.muted), prefix=prefix)


def _violations(out: _Lines, block: Block, item: Item) -> None:
    p = out.palette
    keys = [(item.pos, item.sub)] if item.kind == "message" else [k for k in block.violations if k[0] == item.pos]
    for key in keys:
        for v in block.violations.get(key, []):
            out.text(Text(f"⚠ {v.rule}: {v.message}", style=p.error + BOLD))


def _id_text(call_id: str | None, model: TranscriptModel, state: RenderState) -> Text:
    p = state.palette
    if not call_id:
        return Text("(no id)", style=p.muted)
    style = state.palette.link(model.link(call_id))
    if call_id in state.highlight_ids:
        return Text(f" {call_id} ", style=style + HIGHLIGHT)
    return Text(call_id, style=style)


# ---------------------------------------------------------------------------------------------------------
# Titles


COMMAND_FENCES = ("", "bash", "sh", "shell", "console", "mswea_bash_command")
"""The fences a text-action agent (mini-swe-agent) runs: a ```python block in a reply is code, not a command."""


def text_action(block: Block) -> str:
    """For a reply without tool calls in another tool's file: the first line of its first fenced shell block
    (mini-swe-agent and other text-action agents put their command there), else ''."""
    event = next((e for e in block.events if isinstance(e, AssistantMessage)), None)
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
    event = next((e for e in block.events if isinstance(e, AssistantMessage)), None)
    wrote = event is not None and (content_text(event.message.get("content")).strip() or event.raw_content)
    return "no tool call: prose" if wrote else "no tool call: empty reply"


def title_text(block: Block, model: TranscriptModel, width: int, state: RenderState) -> Text:
    p = state.palette
    arrow = "▼" if block.expanded else "▶"
    left = Text()
    right = Text(style=p.muted)
    if block.kind == "iteration":
        left.append(f"{arrow} ", p.muted)
        left.append(f"{block.number}", BOLD)
        left.append("  ")
        what = ""
        if block.tool_names:
            left.append(", ".join(block.tool_names))
        else:
            what = no_call_title(block, model)
            if what == "format error":  # the title says it, as the mark a badge would carry
                left.append(f"✗ {what}", p.error + BOLD)
            else:
                left.append(what, "" if what.startswith("$ ") else p.muted)
        badges = []
        marks = block.marks
        if what == "format error":  # said by the title already
            marks = tuple(m for m in marks if m != FORMAT_ERROR.label)
        if marks:
            badges.append((marks_label(marks), p.error))
        if block.reflection:
            badges.append((f"✦ reflection ({block.reflection})", p.reflection))
        if block.fallbacks:
            badges.append(("↺ note role refused", p.reflection))
        if block.violations:
            n = block.violation_count
            badges.append((f"⚠ {n} ordering violation" + ("s" if n > 1 else ""), p.error + BOLD))
        if state.running or state.tools_running:
            frame = SPINNER[state.frame % len(SPINNER)]
            what = "running" if state.running else "running " + ", ".join(running_calls(block, model))
            badges.append((f"{frame} {what}… {state.elapsed:.1f}s", p.running))
        elif not block.assistant_seen and block.started_seen and not state.live and not block.marks:
            badges.append(("no reply", p.warning))
        for label, style in badges:
            left.append("   ")
            left.append(label, style)
        tokens = block.total_tokens
        parts = [p for p in (f"{tokens:,} tok" if tokens is not None else "",
                             f"{block.latency_s:.2f}s" if block.latency_s else "") if p]
        right.append(" · ".join(parts))
    elif block.kind == "start":
        left.append(f"{arrow} ", p.muted)
        left.append("start", BOLD)
        seed = next((e for e in block.events if isinstance(e, RunStarted)), None)
        if seed is not None:
            roles = " · ".join(role_of(m) for m in seed.messages)
            left.append(f"  {roles}", p.muted)
            goal = next((content_text(m.get("content")) for m in seed.messages
                         if isinstance(m, dict) and m.get("role") == "user"), "")
            if goal:
                left.append("  ")
                left.append(goal.strip().split("\n", 1)[0])
        if block.violations:
            left.append("   ")
            left.append(f"⚠ {block.violation_count} ordering violation(s)", p.error + BOLD)
    else:  # finish
        fin = next((e for e in block.events if isinstance(e, RunFinished)), None)
        reason = fin.reason if fin else "finished"
        bad = reason in ("provider_error", "error", "context_length")
        left.append(f"{arrow} ", p.muted)
        left.append("■ " + reason.replace("_", " "), p.error + BOLD if bad else p.success + BOLD)
        if fin is not None:
            if fin.detail and bad:
                left.append("  ")
                left.append(fin.detail.strip().split("\n", 1)[0], p.error)
            if fin.tests_passed is not None:
                left.append("   ")
                left.append("tests passed" if fin.tests_passed else "tests failed",
                            p.success if fin.tests_passed else p.error)
            usage, unreported = run_tokens(model, fin)
            right.append(" · ".join(part for part in (plural(fin.iterations, "iteration"),
                                                      short_tokens(usage, unreported)) if part))
    right_len = right.cell_len
    avail = width - (right_len + 2 if right_len else 0)
    if left.cell_len > avail:
        left.truncate(max(avail, 4), overflow="ellipsis")
    if right_len and width > right_len + 6:
        left.append(" " * max(1, width - left.cell_len - right_len))
        left.append_text(right)
    left.truncate(width, overflow="ellipsis", pad=True)
    left.stylize(Style(bold=False))
    return left


# ---------------------------------------------------------------------------------------------------------
# Items


def render_item(out: _Lines, block: Block, index: int, item: Item, model: TranscriptModel,
                state: RenderState) -> None:
    p = out.palette
    event = block.events[item.pos] if 0 <= item.pos < len(block.events) else None
    unfolded = (index in block.unfolded) != state.unfold_all  # a click inverts `o` for one item
    q = state.query
    try:
        _render_item(out, block, item, event, model, state, unfolded, q)
    except Exception as exc:  # never let one odd event take the view down
        out.text(Text(f"(cannot render this {item.kind}: {type(exc).__name__}: {exc})", style=p.error))


def _render_item(out: _Lines, block: Block, item: Item, event: Any, model: TranscriptModel, state: RenderState,
                 unfolded: bool, q: str) -> None:
    p = out.palette
    kind = item.kind
    if kind == "message" and isinstance(event, RunStarted):
        msg = event.messages[item.sub] if item.sub < len(event.messages) else {}
        head = Text()
        head.append(role_of(msg), p.label)
        out.text(head)
        _violations(out, block, item)
        _body(out, content_text(msg.get("content") if isinstance(msg, dict) else msg), unfolded=unfolded,
              prefix=[Segment(" " * INDENT)], query=q)
    elif kind == "request" and isinstance(event, IterationStarted):
        new = event.request_size - block.previous_request_size
        t = Text(style=p.muted)
        again = any(isinstance(e, IterationStarted) for e in block.events[:item.pos])
        t.append(f"{'request sent again' if again else 'request'} · {plural(event.request_size, 'message')}")
        if block.previous_request_size:
            t.append(f" · {new:+d} since the previous one")
        if event.reflection != "off":
            t.append(f" · reflection {event.reflection}")
        t.append(" · v shows it")
        out.text(t)
    elif kind == "assistant" and isinstance(event, AssistantMessage):
        head = Text()
        head.append(role_of(event.message) if role_of(event.message) != "?" else "assistant", p.label)
        meta = []
        if event.model:
            meta.append(event.model)
        if event.usage is not None:
            meta.append(f"{event.usage.prompt_tokens:,} in / {event.usage.completion_tokens:,} out")
        elif not model.imported:
            meta.append("tokens not reported")
        if event.latency_s:
            meta.append(f"{event.latency_s:.2f}s")
        if event.ttft_s:
            meta.append(f"first token {event.ttft_s:.2f}s")
        if event.finish_reason:
            meta.append(f"finish {event.finish_reason}")
        if event.parsed_from_text:
            meta.append("action parsed from text")
        if meta:
            head.append("  " + " · ".join(meta), p.muted)
        out.text(head)
        _violations(out, block, item)
        text = content_text(event.message.get("content"))
        if event.raw_content:  # what the model wrote, its calls parsed out of it (listed under it)
            parsed = len(tool_calls_of(event.message))
            said = (f"the reply as written; {plural(parsed, 'call')} parsed from it, below" if parsed else
                    "the reply as written (a <tool_response> it made up is cut from the history)")
            out.text(Text(said, style=p.muted))
            _body(out, event.raw_content, unfolded=unfolded, prefix=_bar(p.muted), query=q)
        elif text.strip():
            _body(out, text, unfolded=True, prefix=[Segment(" " * INDENT)], query=q)
        elif not tool_calls_of(event.message):
            out.text(Text("(empty reply)", style=p.muted))
    elif kind == "call" and isinstance(event, AssistantMessage):
        calls = tool_calls_of(event.message)
        call = calls[item.sub]
        color = p.link(model.link(call.id)) if call.id else p.muted
        head = Text()
        head.append("→ call   ", color + BOLD)
        head.append(call.name, BOLD)
        head.append("  ")
        head.append_text(_id_text(call.id, model, state))
        if call.id and call.id not in model.result_sites:
            if state.tools_running:
                head.append("  ⋯ running…", p.running)
            elif call.id in model.unanswered:
                head.append("  never answered: the run stopped before its result", p.warning)
            else:
                head.append("  no result", p.muted)
        out.text(head)
        lines, ok = arguments_lines(call.name, call.arguments, p.code_theme)
        if not ok:
            out.text(Text("arguments are not valid JSON", style=p.warning), prefix=_bar(color))
        _lines_body(out, lines, unfolded=unfolded, prefix=_bar(color), query=q)
    elif kind == "result" and isinstance(event, ToolResult):
        color = p.link(model.link(event.tool_call_id)) if event.tool_call_id else p.muted
        head = Text()
        head.append("← result ", color + BOLD)
        head.append(event.name or "?", BOLD)
        head.append("  ")
        head.append_text(_id_text(event.tool_call_id, model, state))
        if event.duration_s:
            head.append(f"  {event.duration_s:.2f}s", p.muted)
        mark = event_mark(event)
        if mark is not None:
            head.append(f"  ✗ {mark.label}", p.error + BOLD)
        out.text(head)
        _violations(out, block, item)
        if event.content.strip():
            _lines_body(out, result_lines(event.content, p.code_theme), unfolded=unfolded, prefix=_bar(color),
                        style=p.error if event.is_error else "", query=q)
        if event.content == "":
            out.text(Text("(empty)", style=p.muted), prefix=_bar(color))
    elif kind == "reflection" and isinstance(event, ReflectionNote):
        head = Text()
        head.append("✦ reflection", p.reflection + BOLD)
        meta = [f"as {event.role}"]
        if event.fallback_from:
            meta.append(f"{event.fallback_from} refused, fell back")
        if event.model:
            meta.append(event.model)
        if event.usage is not None:
            meta.append(short_tokens(event.usage))
        elif event.request and not model.imported:
            meta.append("tokens not reported")
        if event.latency_s:
            meta.append(f"{event.latency_s:.2f}s")
        head.append("  " + " · ".join(meta), p.muted)
        out.text(head)
        _violations(out, block, item)
        bar = [Segment(" " * INDENT), Segment("┊ ", p.reflection)]
        for trig in event.triggers:
            t = Text()
            t.append(f"trigger {trig.kind}", p.reflection)
            if trig.evidence:
                t.append(": ")
                t.append(inert(trig.evidence.split("\n", 1)[0][:300]), p.muted)
            out.text(t, prefix=bar)
        _body(out, event.content, unfolded=True, prefix=bar, style=ITALIC, query=q)
        for follower in event.messages[1:]:
            if isinstance(follower, dict):
                t = Text(f"followed by a {role_of(follower)} message: ", style=p.muted)
                t.append(content_text(follower.get("content")))
                out.text(t, prefix=bar)
    elif kind == "fallback" and isinstance(event, ReflectionFallback):
        head = Text()
        head.append("↺ reflection note refused", p.reflection + BOLD)
        outcome = (f"re-sent as {event.to_role}" if event.to_role else
                   "every role refused: notes are off for the rest of the run")
        status = f" (HTTP {event.status})" if event.status else ""
        head.append(f"  as {event.from_role}{status} → {outcome}", p.muted)
        out.text(head)
        _violations(out, block, item)
        bar = [Segment(" " * INDENT), Segment("┊ ", p.reflection)]
        _body(out, event.error, unfolded=unfolded, prefix=bar, style=p.error, query=q)
        for m in event.messages:
            if isinstance(m, dict):
                t = Text(f"{role_of(m)}: ", style=p.label)
                t.append(content_text(m.get("content")), ITALIC)
                out.text(t, prefix=bar)
    elif kind == "driver" and isinstance(event, DriverMessage):
        head = Text()
        head.append(f"» {role_of(event.message)}", p.label)
        head.append(f"  {event.kind}", p.muted)
        mark = event_mark(event)
        if mark is not None:
            head.append(f"  ✗ {mark.label}", p.error + BOLD)
        out.text(head)
        _violations(out, block, item)
        msg = event.message
        text = content_text(msg.get("content") if isinstance(msg, dict) else msg)
        if isinstance(msg, dict) and msg.get("tool_calls"):
            text = (text + "\n" if text else "") + "tool_calls: " + json.dumps(msg.get("tool_calls"), ensure_ascii=False)
        _body(out, text, unfolded=unfolded, prefix=[Segment(" " * INDENT)], query=q)
        reply = rejected_reply(msg)
        if reply is not None:
            out.text(Text("the reply that caused it, as written (not kept in the history):", style=p.muted))
            _body(out, reply, unfolded=unfolded, prefix=_bar(p.error), query=q)
        elif event.kind == "format_error":
            out.text(Text("the reply that caused it is not in the file (not kept in the history)", style=p.muted))
    elif kind == "changes" and isinstance(event, WorkspaceChanged):
        head = Text()
        head.append("± changed ", p.running + BOLD)
        head.append(plural(len(event.files), "file"), BOLD)
        head.append("  " + ", ".join(_file_stat(f) for f in event.files), p.muted)
        if event.cut:
            head.append(f"  (diff cut: {plural(event.cut, 'more character')} not recorded)", p.warning)
        out.text(head)
        _lines_body(out, unified_diff_lines(event.diff, p.code_theme), unfolded=unfolded, prefix=_bar(p.running), query=q)
    elif kind == "notice" and isinstance(event, Notice):
        icon, style = {"info": ("ℹ", p.muted), "warning": ("⚠", p.warning), "error": ("✗", p.error)}.get(
            event.level, ("ℹ", p.muted))
        t = Text(f"{icon} ", style=style)
        t.append(event.text, style)
        if q:
            t.highlight_words([q], p.match, case_sensitive=False)
        out.text(t)
    elif kind == "finish" and isinstance(event, RunFinished):
        bad = event.reason in ("provider_error", "error", "context_length")
        t = Text()
        t.append(f"run {event.reason.replace('_', ' ')}", p.error + BOLD if bad else BOLD)
        usage, unreported = run_tokens(model, event)
        t.append(f"  after {plural(event.iterations, 'iteration')} · {tokens(usage, unreported=unreported)}", p.muted)
        out.text(t)
        if event.detail:
            _body(out, event.detail, unfolded=unfolded, style=p.error if bad else "", query=q,
                  prefix=[Segment(" " * INDENT)])
        if event.summary:
            out.text(Text("summary", style=p.label))
            _body(out, event.summary, unfolded=True, prefix=[Segment(" " * INDENT)], query=q)
        if event.tests_passed is not None:
            out.text(Text("tests passed" if event.tests_passed else "tests failed",
                          style=p.success + BOLD if event.tests_passed else p.error + BOLD))
            _body(out, event.test_output, unfolded=unfolded, prefix=[Segment(" " * INDENT)], query=q)
    else:
        name = getattr(event, "type", type(event).__name__)
        out.text(Text(f"? {kind} ({name})", style=p.warning))
        try:
            raw = event.model_dump_json() if hasattr(event, "model_dump_json") else repr(event)
        except Exception:
            raw = repr(event)
        _body(out, raw, unfolded=unfolded, prefix=[Segment(" " * INDENT)], style=p.muted)


def render_block(console: Console, block: Block, model: TranscriptModel, width: int,
                 state: RenderState) -> tuple[list[Strip], list[int]]:
    """The lines of a block at `width` (title first), and the first line of each item."""
    out = _Lines(console, width, state.palette)
    out.line(title_text(block, model, out.width, state))
    starts = [0]
    if block.expanded:
        items = block.get_items()
        for index in range(1, len(items)):
            starts.append(len(out.lines))
            render_item(out, block, index, items[index], model, state)
            if len(out.lines) == starts[-1]:  # every item owns at least one line
                out.lines.append([Segment(" " * out.width)])
        if state.running and state.streaming is not None:
            render_streaming(out, state.streaming)
        out.lines.append([Segment(" " * out.width)])  # breathing room under an open block
    return [Strip(line, out.width) for line in out.lines], starts


def render_streaming(out: _Lines, delta: Any) -> None:
    """The reply as it streams in: its text so far and the calls whose arguments are still arriving."""
    p = out.palette
    head = Text()
    head.append("assistant", p.label)
    meta = [f"streaming {delta.elapsed_s:.1f}s"]
    if delta.ttft_s is not None:
        meta.append(f"first token {delta.ttft_s:.2f}s")
    head.append("  " + " · ".join(meta), p.muted)
    out.text(head)
    if delta.text:
        out.text(Text(delta.text))
    for call in delta.tool_calls:
        line = Text()
        line.append("→ call   ", p.muted)
        line.append(call.get("name") or "…", p.label)
        if call.get("id"):
            line.append(f"  {call['id']}", p.muted)
        out.text(line)
        if call.get("arguments"):
            out.text(Text(call["arguments"], style=p.muted), prefix=_bar(p.muted))


def run_tokens(model: TranscriptModel, finished: RunFinished) -> tuple[Any, int]:
    """The run's tokens and its calls without any: counted from the events when the model holds them all
    (a file written before `unreported_calls` was recorded says them too), else as its ending says."""
    if model.iterations and (model.finished is finished or model.finished == finished):  # a big file reads it anew
        return model.usage, model.unreported
    return finished.usage, finished.unreported_calls


def _file_stat(change: Any) -> str:
    if change.binary:
        return f"{change.path} ({change.status}, binary)"
    return f"{change.path} +{change.added} -{change.removed}"


def running_calls(block: Block, model: TranscriptModel) -> list[str]:
    """The tools of `block` still waiting for their result (live: running)."""
    event = next((e for e in block.events if isinstance(e, AssistantMessage)), None)
    if event is None:
        return []
    return [c.name for c in tool_calls_of(event.message) if c.id and c.id not in model.result_sites]


def render_title(console: Console, block: Block, model: TranscriptModel, width: int, state: RenderState) -> Strip:
    out = _Lines(console, width, state.palette)
    out.line(title_text(block, model, out.width, state))
    return Strip(out.lines[0], out.width)


def estimate_height(block: Block, width: int) -> int:
    """A cheap guess of the rendered height (exact for a collapsed block)."""
    if not block.expanded:
        return 1
    avail = max(width - INDENT - 2, 10)
    total = 2  # title + trailing blank
    with block.transient():  # a lazy block's events are read for this, and not kept
        items = block.get_items()
        for index, item in enumerate(items):
            if index == 0:
                continue
            total += 1
            lines = item_search_text(block, item).split("\n")
            if index not in block.unfolded and len(lines) > FOLD_FROM:
                lines = lines[:HEAD] + ["…"] + lines[-TAIL:]  # causes kept in the middle are not guessed
            for line in lines:
                total += max(1, -(-len(line) // avail))
    return total
