"""Reflection: a separate LLM call, on external signals only, whose note is injected into the history.

After each iteration the reflector looks at what happened (tool errors, failing tests, a call repeated
without progress, iterations without a change to the workspace, the step budget running out). When a
trigger fires and reflection is on, it asks a model, in a request of its own with no tools, for a short
note on what to do next, and the loop appends that note after the last tool message of the batch, with the
role reflection is set to: `system` (a driver note, the default), `user` (an external hint) or `assistant`
(self-reflection, followed by a short user message so that the history does not end on an assistant
message). Triggers are watched on every iteration, even while reflection is off, so that switching it on
mid-run starts from the right counts.

Open-model chat templates refuse some of these roles (a system message past the first, a user message
right after tool messages). The reflector owns that recovery: when the request that carries its note is
refused, `Reflector.note_refused` recognises the error text (`role_refusal`), and gives the loop the note in
the next role of `fallback_order` with the events that say so; a refused role is remembered for the rest of
the run.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable

from agent.events import Completion, Event, Notice, ReflectionFallback, ReflectionMode, ReflectionNote, Trigger
from agent.models.errors import role_refusal
from agent.protocols import PURPOSE_HEADER, IterationRecord, Model, NoteMoved, ReflectionFailed, StopRun
from agent.tools.workspace import cap_text

REQUEST_HEADERS = {PURPOSE_HEADER: "reflection"}
"""The extra headers of the model that writes the notes (`extra_headers=` of its ChatModel)."""

ROLES: tuple[str, ...] = ("system", "user", "assistant")
NO_NOTE: tuple[str, ...] = ("off", "resample")
"""Reflection settings under which no note is written."""
DEFAULT_FALLBACK_ORDER: tuple[str, ...] = ("system", "user", "assistant")


FOLLOWER: dict[str, Any] = {"role": "user", "content": "Continue."}
"""What follows an assistant note: many templates refuse a history ending on an assistant message
("Assistant response prefill is incompatible with enable_thinking.")."""

TRIGGER_KINDS = ("tool_error", "tests_failed", "repeated_call", "no_change", "budget")

PROMPT = """You review the progress of a coding agent that works in a small repository through tools \
(list_files, read_file, grep, write_file, edit_file, run_tests, finish). Something has just happened that \
suggests it is stuck or on a wrong track: the triggers below say what, with the evidence. Write a short note \
to the agent, at most four sentences: what went wrong, in concrete terms (the file, the test, the argument), \
and the next action that fixes it. No preamble, no code blocks."""


@dataclass
class TriggerConfig:
    """Which triggers fire, and their thresholds. Every trigger is on by default."""

    tool_error: bool = True
    """A tool result that is an error: bad path, malformed arguments, unknown tool, a tool that failed."""
    tests_failed: bool = True
    """run_tests reported failures (or timed out)."""
    repeated_calls: int = 3
    """The same call (name and arguments) this many times in a row; 0 turns the trigger off."""
    no_change_iterations: int = 5
    """No file changed in the workspace for this many iterations; 0 turns it off."""
    budget_fraction: float = 0.8
    """This share of the step budget used without finish (fires once); 0 turns it off."""

    @classmethod
    def parse(cls, spec: str) -> "TriggerConfig":
        """From a flag value: `all`, `none`, or a comma list such as `tests_failed,repeat=4,no_change=0`
        (a list that names bare triggers turns the others off; `-budget` turns one off and keeps the rest)."""
        spec = spec.strip()
        if spec in ("", "all"):
            return cls()
        if spec == "none":
            return cls(False, False, 0, 0, 0.0)
        items = [x.strip() for x in spec.split(",") if x.strip()]
        only = any(not x.startswith("-") and "=" not in x for x in items)
        cfg = cls(False, False, 0, 0, 0.0) if only else cls()
        defaults = cls()
        aliases = {"repeat": "repeated_call", "repeated_calls": "repeated_call", "no_change_iterations": "no_change",
                   "tests": "tests_failed", "error": "tool_error", "errors": "tool_error"}
        for item in items:
            off = item.startswith("-")
            name, _, value = item.lstrip("-").partition("=")
            kind = aliases.get(name.strip(), name.strip())
            if kind not in TRIGGER_KINDS:
                raise ValueError(f"unknown reflection trigger {name!r}; triggers: {', '.join(TRIGGER_KINDS)}")
            try:
                if kind == "tool_error":
                    cfg.tool_error = not off
                elif kind == "tests_failed":
                    cfg.tests_failed = not off
                elif kind == "repeated_call":
                    cfg.repeated_calls = 0 if off else int(value or defaults.repeated_calls)
                elif kind == "no_change":
                    cfg.no_change_iterations = 0 if off else int(value or defaults.no_change_iterations)
                else:
                    cfg.budget_fraction = 0.0 if off else float(value or defaults.budget_fraction)
            except ValueError:
                raise ValueError(f"reflection trigger {name!r}: {value!r} is not a number") from None
        return cfg


def _call_text(name: str, arguments: str, limit: int = 200) -> str:
    text = f"{name}({_compact(arguments)})"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _compact(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, sort_keys=True)
    except (json.JSONDecodeError, TypeError):
        return arguments


def _first_line(text: str, limit: int = 300) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


ERROR_KIND_LABELS: dict[str, str] = {"unknown_tool": "unknown tool", "malformed_arguments": "malformed arguments",
                                     "bad_path": "bad path", "edit_not_applied": "edit did not apply",
                                     "tool_failed": "tool failed"}
"""How a tool error's kind is named in a note's evidence."""


_FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)(?: - (.*))?$")
_SECTION = re.compile(r"^_{3,} (.+?) _{3,}$")
_TOTALS = re.compile(r"(?<!\d)\d+ (failed|error)")  # from a run's first digit only: a long run of digits, once


def summarize_test_failure(content: str) -> str:
    """Evidence of a failing test run: the status, then each failing test with its first assertion line.
    Understands pytest's output; for anything else, the status and the last lines of the output."""
    lines = content.splitlines()
    status = lines[0].strip() if lines else "tests failed"
    # The first `E ` line of each failure section: the assertion, not pytest's cut summary message.
    first_error: dict[str, str] = {}
    section = None
    for line in lines:
        m = _SECTION.match(line.strip())
        if m:
            section = m.group(1).strip()
            continue
        if section and section not in first_error and line.startswith("E ") and line[1:].strip():
            first_error[section] = line[1:].strip()
    failed: list[str] = []
    for line in lines:
        m = _FAILED_LINE.match(line.strip())
        if not m:
            continue
        node = m.group(2)
        short = node.split("::")[-1]
        why = first_error.get(short) or first_error.get(node.replace("::", ".")) or (m.group(3) or "").strip()
        failed.append(f"{m.group(1)} {node}" + (f" - {why[:200]}" if why else ""))
    totals = next((x.strip("= ").strip() for x in reversed(lines) if _TOTALS.search(x)), "")
    if failed:
        head = f"{status}" + (f", {totals}" if totals else "") + f"; first failure: {failed[0]}"
        return "\n".join([head, *failed[:8]] + ([f"... and {len(failed) - 8} more"] if len(failed) > 8 else []))
    tail = [x.rstrip() for x in lines[1:] if x.strip()][-6:]
    return "\n".join([status, *tail])


@dataclass
class TriggerWatch:
    """The trigger state of one run: fed every iteration, it says which triggers fire, with evidence."""

    config: TriggerConfig = field(default_factory=TriggerConfig)
    _streak_key: tuple[str, str] | None = None
    _streak: int = 0
    _streak_iterations: list[int] = field(default_factory=list)
    _unchanged: list[int] = field(default_factory=list)
    _unchanged_calls: list[str] = field(default_factory=list)
    _budget_fired: bool = False

    def observe(self, record: IterationRecord) -> list[Trigger]:
        cfg = self.config
        fired: list[Trigger] = []

        if cfg.tool_error:
            errors = [f"[{ERROR_KIND_LABELS[o.error_kind]}] {_call_text(r.name, r.arguments)}: {_first_line(r.content)}"
                      for r, o in zip(record.results, record.outcomes) if o.error_kind is not None]
            if errors:
                fired.append(Trigger(kind="tool_error", evidence="\n".join(errors)))

        if cfg.tests_failed:
            failing = [summarize_test_failure(r.content) for r, o in zip(record.results, record.outcomes)
                       if o.tests_failed]
            if failing:
                fired.append(Trigger(kind="tests_failed", evidence=failing[-1]))

        repeated = None
        for r in record.results:  # calls in order, across iterations: "in a row" spans turns
            key = (r.name, _compact(r.arguments))
            if key == self._streak_key:
                self._streak += 1
            else:
                self._streak_key, self._streak, self._streak_iterations = key, 1, []
            if not self._streak_iterations or self._streak_iterations[-1] != record.iteration:
                self._streak_iterations.append(record.iteration)
            if cfg.repeated_calls and self._streak >= cfg.repeated_calls:
                where = ", ".join(map(str, self._streak_iterations))
                repeated = (f"{_call_text(r.name, r.arguments)} called {self._streak} times in a row "
                            f"(iteration{'s' if len(self._streak_iterations) > 1 else ''} {where}); "
                            f"last result: {_first_line(r.content, 200)}")
                self._streak, self._streak_iterations = 0, []  # the next note needs as many repeats again
        if repeated:
            fired.append(Trigger(kind="repeated_call", evidence=repeated))

        if any(o.changed_files for o in record.outcomes):
            self._unchanged, self._unchanged_calls = [], []
        else:
            self._unchanged.append(record.iteration)
            self._unchanged_calls.extend(r.name for r in record.results)
            n = cfg.no_change_iterations
            if n and len(self._unchanged) >= n:
                counts: dict[str, int] = {}
                for name in self._unchanged_calls:
                    counts[name] = counts.get(name, 0) + 1
                calls = ", ".join(f"{k} x{v}" for k, v in counts.items()) or "no tool calls"
                fired.append(Trigger(kind="no_change", evidence=(
                    f"no file changed in the last {len(self._unchanged)} iterations "
                    f"({self._unchanged[0]}-{self._unchanged[-1]}); calls made: {calls}")))
                self._unchanged, self._unchanged_calls = [], []

        if cfg.budget_fraction and not self._budget_fired and record.max_steps > 0:
            threshold = max(1, math.ceil(cfg.budget_fraction * record.max_steps - 1e-9))
            if record.iteration >= threshold:
                self._budget_fired = True
                left = record.max_steps - record.iteration
                fired.append(Trigger(kind="budget", evidence=(
                    f"iteration {record.iteration} of {record.max_steps} done "
                    f"({round(100 * record.iteration / record.max_steps)}% of the step budget) without finish; "
                    f"{left} iteration{'s' if left != 1 else ''} left")))
        return fired


def render_history(messages: list[dict[str, Any]], budget: int = 8000, per_message: int = 2000,
                   skip: int = 2) -> str:
    """The recent messages as text, newest kept first, within about `budget` characters. The first `skip`
    messages (the system prompt and the goal) are left out: the reflection prompt states the goal."""
    names: dict[str, str] = {}
    for m in messages:
        for c in m.get("tool_calls") or []:
            names[c.get("id", "")] = (c.get("function") or {}).get("name", "?")
    parts: list[str] = []
    used = 0
    body = messages[skip:]
    shown = 0
    for m in reversed(body):
        role = m.get("role")
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        text = str(content or "").strip("\n").rstrip()
        if role == "tool":
            head = f"[tool result of {names.get(m.get('tool_call_id', ''), '?')} ({m.get('tool_call_id')})]"
        else:
            head = f"[{role}]"
        lines = [head + (" " + text.strip() if text and "\n" not in text else "")]
        if text and "\n" in text:
            lines.append(text)
        for c in m.get("tool_calls") or []:
            fn = c.get("function") or {}
            lines.append(f"  -> call {c.get('id')}: {_call_text(fn.get('name', '?'), fn.get('arguments') or '', 400)}")
        block = cap_text("\n".join(lines), per_message)[0]
        if parts and used + len(block) > budget:
            break
        parts.append(block)
        used += len(block) + 1
        shown += 1
    parts.reverse()
    if shown < len(body):
        parts.insert(0, f"({len(body) - shown} earlier messages not shown)")
    return "\n".join(parts) if parts else "(no messages yet)"


def trigger_block(triggers: Iterable[Trigger]) -> str:
    """The triggers in the prompt: readable, and parseable (`parse_triggers`) for offline models."""
    return "\n".join(f'<trigger kind="{t.kind}">\n{t.evidence}\n</trigger>' for t in triggers)


_TRIGGER_OPEN = re.compile(r'<trigger kind="([a-z_]+)">\n')
_TRIGGER_CLOSE = "\n</trigger>"


def parse_triggers(text: str) -> list[Trigger]:
    """The triggers of a reflection prompt, as `trigger_block` wrote them. Found with `str.find`, not a lazy
    `(.*?)`: a regex would scan to the end of the text from every tag left open (the evidence quotes tool
    output), which is quadratic."""
    found: list[Trigger] = []
    pos = 0
    while (tag := _TRIGGER_OPEN.search(text, pos)) and (end := text.find(_TRIGGER_CLOSE, tag.end())) >= 0:
        found.append(Trigger(kind=tag.group(1), evidence=text[tag.end():end]))
        pos = end + len(_TRIGGER_CLOSE)
    return found


def frame(note: ReflectionNote | str, triggers: Iterable[Trigger] = ()) -> str:
    """The text the agent sees: the note, prefixed with what it reflects on. The same for every role, so
    that an ablation of the role changes nothing but the role."""
    if isinstance(note, ReflectionNote):
        triggers, note = note.triggers, note.content
    kinds = ", ".join(dict.fromkeys(t.kind for t in triggers)) or "request"
    return f"[reflection on {kinds}] {note.strip()}"


def note_messages(text: str, role: str) -> list[dict[str, Any]]:
    """The messages a note adds in `role`: an assistant note gets a user follower."""
    if role == "assistant":
        return [{"role": "assistant", "content": text}, dict(FOLLOWER)]
    return [{"role": role, "content": text}]


def without_thinking(text: str) -> str:
    """`text` without its `<think>...</think>` blocks. With `str.find`: `<think>.*?</think>` scanned to the
    end of the reply from every unclosed `<think>` (quadratic)."""
    kept: list[str] = []
    pos = 0
    while (start := text.find("<think>", pos)) >= 0 and (end := text.find("</think>", start + 7)) >= 0:
        kept.append(text[pos:start])
        pos = end + len("</think>")
    kept.append(text[pos:])
    return "".join(kept)


@dataclass
class _Placed:
    """The last note handed to the loop, in the role and messages it has at the end of the history now."""

    note: ReflectionNote
    role: str
    messages: list[dict[str, Any]]


class Reflector:
    """Watches every iteration; when a trigger fires and reflection is on, writes and shapes the note, and
    moves it to the next role when the endpoint refuses the one it is in."""

    def __init__(self, model: Model, goal: str, *, triggers: TriggerConfig | None = None,
                 fallback_order: Iterable[str] = DEFAULT_FALLBACK_ORDER, refused_roles: Iterable[str] = (),
                 initial_role: str | None = None, history_chars: int = 8000) -> None:
        self.model = model
        """Writes the notes: a `Model` like the agent's (agent.models.chat.ChatModel), so the request takes
        the endpoint's adaptations (`developer` for `system`...), its retries and its error lines."""
        self.goal = goal
        self.watch = TriggerWatch(triggers or TriggerConfig())
        self.fallback_order = tuple(fallback_order)
        unknown = [r for r in self.fallback_order if r not in ROLES]
        if unknown or not self.fallback_order:
            raise ValueError(f"reflection fallback order: roles must be among {', '.join(ROLES)}, got "
                             f"{', '.join(self.fallback_order) or 'none'}")
        self.refused: set[str] = set(refused_roles)
        """Roles the endpoint refused (or a preset knows it refuses): notes take the next role instead."""
        if initial_role is not None:  # a preset that knows which role works: the ones before it are refused
            if initial_role not in self.fallback_order:
                raise ValueError(f"reflection initial role {initial_role!r} is not in the fallback order")
            self.refused.update(self.fallback_order[: self.fallback_order.index(initial_role)])
        self.disabled = False
        """True once every role was refused: no more notes in this run."""
        self.fired: list[Trigger] = []
        """The triggers that fired after the last iteration observed, whatever the mode (the loop's
        `resample` control acts on them instead of a note)."""
        self.history_chars = history_chars
        self._placed: _Placed | None = None

    # --- roles ----------------------------------------------------------------------------------------

    def _candidates(self, role: str) -> list[str]:
        """`role`, then the roles after it in the fallback order, then those before it."""
        order = list(self.fallback_order)
        if role not in order:
            order.insert(0, role)
        k = order.index(role)
        return order[k:] + order[:k]

    def effective_role(self, mode: ReflectionMode) -> str | None:
        """The role a note takes when reflection is set to `mode` (None: no note, off or `resample`)."""
        if mode in NO_NOTE or self.disabled:
            return None
        return next((r for r in self._candidates(mode) if r not in self.refused), None)

    def place(self, note: ReflectionNote) -> ReflectionNote:
        """`note`, handed to the loop to go at the end of the history: remembered until the next iteration is
        observed (the request carrying it was answered), so that `note_refused` can move it."""
        self._placed = _Placed(note, note.role, list(note.messages))
        return note

    def note_refused(self, error: StopRun, messages: list[dict[str, Any]], iteration: int) -> NoteMoved | None:
        """When `error` is the endpoint refusing the request `messages` because of the role of the note at its
        end: remember the role is refused, and give the note in the next role (none left: the note goes, and
        no more notes are written in this run). None when the error is anything else."""
        placed = self._placed
        if placed is None or not placed.messages or \
                messages[len(messages) - len(placed.messages):] != placed.messages:
            return None
        found = role_refusal(error)
        if found is None:
            return None
        text, status = found
        self.refused.add(placed.role)
        to_role = next((r for r in self._candidates(placed.role) if r not in self.refused), None)
        moved = note_messages(frame(placed.note), to_role) if to_role is not None else []
        said = ReflectionFallback(iteration=iteration, note_iteration=placed.note.iteration, from_role=placed.role,
                                  to_role=to_role, error=text, status=status, messages=list(moved),
                                  replaced=len(placed.messages))
        if to_role is not None:
            self._placed = _Placed(placed.note, to_role, list(moved))
            notice = (f"the endpoint refused the reflection note as a {placed.role} message ({text}); sending the "
                      f"request again with the note as a {to_role} message, and using {to_role} for the rest of "
                      "the run")
        else:
            self._placed, self.disabled = None, True
            notice = (f"the endpoint refused the reflection note in every role (last, as {placed.role}: {text}); "
                      "sending the request again without it, and injecting no more notes in this run")
        return NoteMoved(len(placed.messages), moved,
                         [said, Notice(iteration=iteration, level="warning", text=notice)])

    # --- the note -------------------------------------------------------------------------------------

    def prompt(self, record: IterationRecord, messages: list[dict[str, Any]], triggers: list[Trigger]) -> list[dict[str, Any]]:
        history = render_history(messages, budget=self.history_chars)
        user = (f"## Goal\n{self.goal.strip()}\n\n"
                f"## Recent history (oldest first)\n{history}\n\n"
                f"## What triggered this note (after iteration {record.iteration} of {record.max_steps})\n"
                f"{trigger_block(triggers)}\n\n"
                "Write the note now.")
        return [{"role": "system", "content": PROMPT}, {"role": "user", "content": user}]

    async def after_iteration(self, record: IterationRecord, messages: list[dict[str, Any]],
                              mode: ReflectionMode) -> AsyncIterator[Event]:
        self._placed = None  # the request that carried the last note was answered
        triggers = self.fired = self.watch.observe(record)  # always: the counts must be right when it goes on
        role = self.effective_role(mode)
        if not triggers or role is None:
            return
        request = self.prompt(record, messages, triggers)
        kinds = ", ".join(t.kind for t in triggers)
        completion: Completion | None = None
        try:
            async for item in self.model.stream(request, []):
                if isinstance(item, Completion):
                    completion = item
                else:
                    yield item  # the model's retries, its adaptations to the endpoint
        except Exception as exc:  # a failing reflection call must not end the run
            why = exc.detail if isinstance(exc, StopRun) else f"{type(exc).__name__}: {exc}"
            raise ReflectionFailed(f"the reflection call on {kinds} failed: {why}") from exc
        written = (completion.raw_content or completion.message.get("content") or "") if completion else ""
        text = without_thinking(str(written)).strip()
        if completion is None or not text:
            raise ReflectionFailed(f"the reflection call on {kinds} returned no text")
        yield self.place(ReflectionNote(
            iteration=record.iteration, role=role, content=text, triggers=triggers,
            messages=note_messages(frame(text, triggers), role), request=request, usage=completion.usage,
            latency_s=completion.latency_s, model=completion.model, fallback_from=mode if role != mode else None,
            follower_added=role == "assistant"))


def make_reflector(model: Model, goal: str, *, triggers: TriggerConfig | str | None = None,
                   fallback_order: Iterable[str] = DEFAULT_FALLBACK_ORDER, refused_roles: Iterable[str] = (),
                   initial_role: str | None = None) -> Reflector:
    """The reflector of one run. `model`: what writes the notes (a ChatModel sending `REQUEST_HEADERS`, no
    tools); `triggers`: a TriggerConfig or a flag string (`TriggerConfig.parse`); `refused_roles` /
    `initial_role`: what a provider preset knows its endpoint refuses, so notes start in a role that works."""
    if isinstance(triggers, str):
        triggers = TriggerConfig.parse(triggers)
    return Reflector(model, goal, triggers=triggers, fallback_order=fallback_order, refused_roles=refused_roles,
                     initial_role=initial_role)
