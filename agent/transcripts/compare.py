"""Two transcripts aligned by iteration: where their requests part, which calls differ, where the notes are.

    alignment = align(open_transcript("off.jsonl"), open_transcript("system.jsonl"))
    alignment.divergence        # 3: the first iteration whose request differs
    alignment.diff.describe()   # "message 7: only in B (system message, the reflection note of iteration 2)"

Requests are compared message by message, as the history holds them, after a normalisation that leaves out
what differs between any two runs without meaning anything: durations in tool output ("6 passed in
0.01s"), the run's own workspace path, and tool_call ids (a provider draws them at random: they are renamed
#1, #2, ... in order of appearance on each side, so two runs making the same calls compare equal).

Every request is a prefix of the run's history, so the first message in which the two histories differ
decides every request: request N differs when it reaches that message, or when the two requests have
different sizes. Each run is read once, keeping a digest and the origin of each message and a few digests per
iteration (calls, results, reply), never the texts: linear in the size of the runs and light on memory
(comparing `request_at(i)` for every i would be quadratic). A text is read back only to say what differs
at the divergence. How the requests went out besides their histories (text or native tool calls, the
parameters, the tools: `agent.transcripts.sent`) is compared too, iteration by iteration: two runs with the
same histories but another temperature did not send the same requests. No Textual here.
"""

from __future__ import annotations

import json
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.events import (
    AssistantMessage,
    DriverMessage,
    IterationStarted,
    ReflectionFallback,
    ReflectionNote,
    RunStarted,
    ToolResult,
    appended_messages,
    content_text,
    removed_messages,
)
from agent.outcome import RunOutcome
from agent.transcripts.runs import RunSummary
from agent.transcripts.sent import HowSent, how_sent, sent_differences
from agent.transcripts.transcript import Transcript

Side = Literal["a", "b"]

_DURATION = re.compile(r"\b\d+(?:\.\d+)?(?:s|ms| seconds?)\b")


def mask_durations(text: str) -> str:
    """Durations in tool output (pytest's "in 0.02s") differ on every run: compare runs without them."""
    return _DURATION.sub("<duration>", text)


ORIGIN_LABELS = {
    "seed": "seed message",
    "assistant": "assistant reply",
    "tool": "tool result",
    "reflection": "reflection note",
    "fallback": "reflection note (re-sent in another role)",
    "driver": "driver message",
    "other": "message",
}


# ---------------------------------------------------------------------------------------------------------
# Normalisation


def _norm_text(text: str, workspace: str) -> str:
    if workspace and workspace in text:
        text = text.replace(workspace, "<workspace>")
    return mask_durations(text)


def canonical_arguments(arguments: Any) -> str:
    """Tool-call arguments compared by value: JSON re-dumped with sorted keys (else the text, stripped)."""
    if not isinstance(arguments, str):
        return json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)
    try:
        return json.dumps(json.loads(arguments), sort_keys=True, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):  # nested past the parser: as written
        return arguments.strip()


class _Normaliser:
    """Normalises the messages of one run, in history order (tool_call ids renamed by first appearance)."""

    def __init__(self, workspace: str = "") -> None:
        self.workspace = workspace
        self.ids: dict[str, str] = {}

    def _id(self, call_id: Any) -> Any:
        if not isinstance(call_id, str) or not call_id:
            return call_id
        found = self.ids.get(call_id)
        if found is None:
            found = self.ids[call_id] = f"#{len(self.ids) + 1}"
        return found

    def __call__(self, message: Any) -> Any:
        if not isinstance(message, dict):
            return message
        out: dict[str, Any] = {k: v for k, v in message.items() if v is not None}
        content = out.get("content")
        if isinstance(content, str):
            out["content"] = _norm_text(content, self.workspace)
        elif isinstance(content, list):
            out["content"] = _norm_text(content_text(content), self.workspace)
        if out.get("content") == "" and "tool_calls" in out:
            out.pop("content")  # "" and None are the same empty reply
        calls = out.get("tool_calls")
        if isinstance(calls, list):
            norm_calls = []
            for call in calls:
                if not isinstance(call, dict):
                    norm_calls.append(call)
                    continue
                fn: dict[str, Any] = call["function"] if isinstance(call.get("function"), dict) else {}
                norm_calls.append({"id": self._id(call.get("id")), "type": call.get("type"),
                                   "name": fn.get("name"),
                                   "arguments": _norm_text(canonical_arguments(fn.get("arguments", "")),
                                                           self.workspace)})
            out["tool_calls"] = norm_calls
        if "tool_call_id" in out:
            out["tool_call_id"] = self._id(out["tool_call_id"])
        return out


def normalise_messages(messages: list[dict[str, Any]], workspace: str = "") -> list[Any]:
    """Every message of a history as compared across runs (see the module's docstring)."""
    norm = _Normaliser(workspace)
    return [norm(m) for m in messages]


# ---------------------------------------------------------------------------------------------------------
# What differs


@dataclass(frozen=True)
class Origin:
    """Which event put a message into the history."""

    kind: str
    """seed, assistant, tool, reflection, fallback, driver or other"""
    iteration: int | None = None

    @property
    def label(self) -> str:
        name = ORIGIN_LABELS.get(self.kind, self.kind)
        return f"{name} of iteration {self.iteration}" if self.iteration is not None else name


@dataclass(frozen=True)
class MessageDiff:
    """The first message in which two requests differ."""

    index: int
    """Its index in the request (-1: one side sent no request at all at this iteration)."""
    kind: str
    """content, tool_calls, role, fields, only_a, only_b, no_request_a, no_request_b"""
    role_a: str | None = None
    role_b: str | None = None
    origin_a: Origin | None = None
    origin_b: Origin | None = None
    detail: str = ""
    """For content: where the texts part and what each side has there."""

    @property
    def what(self) -> str:
        """A few words: `tool content`, `only in B: system reflection note`, ..."""
        if self.kind == "content":
            return f"{self.role_a} content"
        if self.kind == "tool_calls":
            return f"{self.role_a} tool calls"
        if self.kind == "role":
            return f"role {self.role_a} vs {self.role_b}"
        if self.kind == "fields":
            return f"{self.role_a} message fields"
        if self.kind in ("only_a", "only_b"):
            side, role, origin = (("A", self.role_a, self.origin_a) if self.kind == "only_a"
                                  else ("B", self.role_b, self.origin_b))
            kind = ORIGIN_LABELS.get(origin.kind, "message") if origin else "message"
            return f"only in {side}: {role} {kind}" if kind != "message" else f"only in {side}: a {role} message"
        if self.kind == "no_request_a":
            return "no request in A"
        if self.kind == "no_request_b":
            return "no request in B"
        return self.kind

    def describe(self) -> str:
        """One line: `message 7 (only in B: system reflection note, written in iteration 2)`: the iteration that
        wrote the message, which the view marks (the request that first sent it is the next one's)."""
        if self.index < 0:
            return self.what
        text = f"message {self.index} ({self.what}"
        origin = self.origin_b if self.kind == "only_b" else self.origin_a
        if origin is not None and origin.iteration is not None:
            text += f", written in iteration {origin.iteration}"
        return text + ")"


def _role(message: Any) -> str:
    if isinstance(message, dict) and message.get("role"):
        return str(message["role"])
    return "?"


def _text_detail(a: str, b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"at character {at}: A has {a[at:at + 40]!r}, B has {b[at:at + 40]!r}"


def describe_difference(index: int, a: Any, b: Any, origin_a: Origin | None = None,
                        origin_b: Origin | None = None) -> MessageDiff:
    """Why two normalised messages differ (either may be None: missing on that side)."""
    if a is None:
        return MessageDiff(index, "only_b", None, _role(b), None, origin_b)
    if b is None:
        return MessageDiff(index, "only_a", _role(a), None, origin_a, None)
    ra, rb = _role(a), _role(b)
    if ra != rb:
        return MessageDiff(index, "role", ra, rb, origin_a, origin_b)
    ca = a.get("content") if isinstance(a, dict) else a
    cb = b.get("content") if isinstance(b, dict) else b
    if ca != cb:
        return MessageDiff(index, "content", ra, rb, origin_a, origin_b,
                           _text_detail(content_text(ca), content_text(cb)))
    if isinstance(a, dict) and isinstance(b, dict) and a.get("tool_calls") != b.get("tool_calls"):
        return MessageDiff(index, "tool_calls", ra, rb, origin_a, origin_b)
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)) if isinstance(a, dict) and isinstance(b, dict) else []
    return MessageDiff(index, "fields", ra, rb, origin_a, origin_b, ", ".join(keys))


# ---------------------------------------------------------------------------------------------------------
# One run, read once


# ---------------------------------------------------------------------------------------------------------
# One run, read once


@dataclass(frozen=True)
class CallSig:
    """A tool call as compared across runs: its name, and a digest of its (normalised) arguments."""

    name: str
    digest: int


@dataclass
class IterationInfo:
    """What the comparison keeps of one iteration of one run: names, digests and counts, never the texts
    (a big transcript stays on disk; a text is read back only to describe the divergence)."""

    number: int
    request_size: int | None = None
    calls: list[CallSig] = field(default_factory=list)
    results: list[tuple[str, int, bool]] = field(default_factory=list)
    """Per tool result: its name, a digest of its normalised content, whether it is an error."""
    reflection: str | None = None
    """The role of the reflection note written after this iteration, if any."""


_KIND_CODES = ("seed", "assistant", "tool", "reflection", "fallback", "driver", "other")


def _freeze(value: Any) -> Any:
    """A hashable copy of a JSON-like value (dicts by sorted keys), for digests."""
    cls = value.__class__
    if cls is str or cls is int or cls is bool or cls is float or value is None:
        return value
    if cls is dict:
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if cls is list or cls is tuple:
        return tuple(_freeze(v) for v in value)
    return repr(value)


def _digest(value: Any) -> int:
    """A digest for equality within this process (Python's hash: both runs are read in this process)."""
    return hash(_freeze(value))


def summarize_run(transcript: Transcript, label: str = "") -> RunSummary:
    """How one run went, in one pass over its events (what a fork's table says of its parent)."""
    return _RunScan(transcript).summary(label)


class _RunScan:
    """One pass over a run's events: request sizes, a digest and the origin of every message of the
    history, and an `IterationInfo` per iteration. Memory is a few numbers per message, whatever the texts."""

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self.workspace = transcript.header.workspace or ""
        self.norm = _Normaliser(self.workspace)
        self.sizes: dict[int, int] = {}
        self.infos: dict[int, IterationInfo] = {}
        self.hashes = array("q")
        self.kinds = array("b")
        self.origin_its = array("i")
        self.event_index = array("q")
        self.subs = array("i")
        self.outcome = RunOutcome(imported=transcript.header.source is not None)
        """How the run went (`agent.outcome`), folded in the same pass."""
        self.how: dict[int, HowSent] = {}
        """How each answered request went out besides its history (none for another tool's file)."""
        self._how_seen: dict[str, HowSent | None] = {}
        for index, event in enumerate(transcript.events):
            self._take(index, event)

    def _info(self, number: int) -> IterationInfo:
        info = self.infos.get(number)
        if info is None:
            info = self.infos[number] = IterationInfo(number)
        return info

    def _take(self, index: int, event: Any) -> None:
        self.outcome.add(event)
        number = getattr(event, "iteration", None)
        info = self._info(number) if number.__class__ is int else None
        kind = type(event)
        if kind is IterationStarted:
            self.sizes[event.iteration] = event.request_size  # the last one: the request that was answered
            info.request_size = event.request_size  # type: ignore[union-attr]
            return
        if kind is AssistantMessage:
            self._note_how(event)
            normalised = self.norm(event.message)
            plain = normalised if isinstance(normalised, dict) else {}
            calls = plain.get("tool_calls")
            info.calls = [CallSig(str(c.get("name") or "?"), hash(c.get("arguments"))) if isinstance(c, dict)  # type: ignore[union-attr]
                          else CallSig("?", _digest(c)) for c in (calls if isinstance(calls, list) else ())]
            self._add(index, event, [normalised], number)
            return
        if kind is ToolResult:
            normalised = self.norm(event.message)
            content = normalised.get("content") if isinstance(normalised, dict) else None
            if not (isinstance(content, str) and event.message.get("content") is event.content):
                content = _norm_text(event.content, self.workspace)
            info.results.append((event.name, hash(content), event.is_error))  # type: ignore[union-attr]
            self._add(index, event, [normalised], number)
            return
        if kind is ReflectionNote and info is not None:
            info.reflection = event.role
        dropped = removed_messages(event)
        if dropped:
            keep = max(0, len(self.hashes) - dropped)
            for arr in (self.hashes, self.kinds, self.origin_its, self.event_index, self.subs):
                del arr[keep:]
        added = appended_messages(event)
        if added:
            self._add(index, event, [self.norm(m) for m in added], number)

    def _note_how(self, event: AssistantMessage) -> None:
        """How the request `event` answered went out (one HowSent per distinct way: most runs have one)."""
        key = json.dumps([event.tool_call_mode, event.request_params, event.profile_changes], sort_keys=True,
                         default=str)
        if key not in self._how_seen:
            self._how_seen[key] = how_sent(self.transcript, event)
        how = self._how_seen[key]
        if how is not None:
            self.how[event.iteration] = how

    def _add(self, index: int, event: Any, normalised: list[Any], number: Any) -> None:
        """Messages `event` (the `index`-th) appended to the history, already normalised."""
        code = _KIND_CODES.index(origin_kind(event))
        it = number if number.__class__ is int else -1
        for sub, message in enumerate(normalised):
            self.hashes.append(_digest(message))
            self.kinds.append(code)
            self.origin_its.append(it)
            self.event_index.append(index)
            self.subs.append(sub)

    def __len__(self) -> int:
        return len(self.hashes)

    def message(self, index: int) -> Any:
        """Message `index` of the history, normalised (read back from its event)."""
        event = self.transcript.events[self.event_index[index]]
        return self.norm(appended_messages(event)[self.subs[index]])

    def origin(self, index: int) -> Origin | None:
        if not 0 <= index < len(self.hashes):
            return None
        it = self.origin_its[index]
        return Origin(_KIND_CODES[self.kinds[index]], it if it >= 0 else None)

    def summary(self, label: str) -> RunSummary:
        header = self.transcript.header
        reflection = header.settings.get("reflection") if isinstance(header.settings, dict) else None
        first = self.outcome.first_reflection
        if not isinstance(reflection, str):
            reflection = first if header.source is None and first else None
        summary = RunSummary(label=label, task=header.task, provider=header.provider, model=header.model,
                             reflection=reflection, imported_from=header.source)
        summary.take(self.outcome)
        return summary


def origin_kind(event: Any) -> str:
    """Which kind of event put a message into the history (an `Origin.kind`)."""
    if isinstance(event, RunStarted):
        return "seed"
    return {AssistantMessage: "assistant", ToolResult: "tool", ReflectionNote: "reflection",
            ReflectionFallback: "fallback", DriverMessage: "driver"}.get(event.__class__, "other")


# ---------------------------------------------------------------------------------------------------------
# The alignment


def _flags(mine: list[Any], theirs: list[Any]) -> list[bool]:
    """Position by position: does each of mine differ from theirs (or have no counterpart)?"""
    return [k >= len(theirs) or x != theirs[k] for k, x in enumerate(mine)]


@dataclass
class AlignedIteration:
    """Iteration `number` of both runs (either may be missing)."""

    number: int
    a: IterationInfo | None
    b: IterationInfo | None
    request_differs: bool = False
    diff: MessageDiff | None = None
    """The first message in which this iteration's two requests differ."""
    call_differs_a: list[bool] = field(default_factory=list)
    """Per call of A: differs from B's call at the same position (name or arguments), or B has none there."""
    call_differs_b: list[bool] = field(default_factory=list)
    result_differs_a: list[bool] = field(default_factory=list)
    """Per tool result of A: its content differs from B's result at the same position."""
    result_differs_b: list[bool] = field(default_factory=list)

    @property
    def calls_a(self) -> list[CallSig]:
        return self.a.calls if self.a is not None else []

    @property
    def calls_b(self) -> list[CallSig]:
        return self.b.calls if self.b is not None else []

    @property
    def calls_differ(self) -> bool:
        return self.calls_a != self.calls_b

    @property
    def reflection_a(self) -> str | None:
        """The role of A's reflection note after this iteration (None: no note)."""
        return self.a.reflection if self.a is not None else None

    @property
    def reflection_b(self) -> str | None:
        return self.b.reflection if self.b is not None else None

    @property
    def only_in(self) -> Side | None:
        if self.a is None and self.b is not None:
            return "b"
        if self.b is None and self.a is not None:
            return "a"
        return None

    def call_differs(self, side: Side) -> list[bool]:
        return self.call_differs_a if side == "a" else self.call_differs_b

    def result_differs(self, side: Side) -> list[bool]:
        return self.result_differs_a if side == "a" else self.result_differs_b


@dataclass(frozen=True)
class ForkPoint:
    """One run of a comparison is a fork of the other (`agent-tui fork`): where it branched."""

    side: Side
    """The fork's side."""
    at: int
    """The last iteration it replayed from the other run; it is live from `at + 1`."""
    note: str = ""
    """What became of the other run's note after `at` (kept, dropped, edited...)."""


def _names_same_file(parent: str, label: str) -> bool:
    """Whether a fork's recorded parent path and a run's label (its path as given) are the same file: by
    path when both exist, else by file name (a folder moved since)."""
    a, b = Path(parent), Path(label)
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.name == b.name


def fork_point(a: Transcript, b: Transcript, label_a: str, label_b: str) -> ForkPoint | None:
    """When one run's header names the other (by its label, a path) as its parent, where it forked."""
    for side, run, other in (("b", b, label_a), ("a", a, label_b)):
        fork = run.header.fork
        if fork is not None and _names_same_file(fork.parent, other):
            return ForkPoint(side, fork.at, fork.note)  # type: ignore[arg-type]
    return None


@dataclass
class Alignment:
    """Two runs, iteration by iteration."""

    rows: list[AlignedIteration]
    divergence: int | None
    """The first iteration whose request differs (None: every request the two runs share is the same)."""
    diff: MessageDiff | None
    """The first differing message of that request."""
    cause_a: Origin | None = None
    """Where that message sits in A (None: A has no message there)."""
    cause_b: Origin | None = None
    a: RunSummary | None = None
    b: RunSummary | None = None
    fork: ForkPoint | None = None
    """Set when one run is a fork of the other: iterations 1..`fork.at` are the same by construction."""
    sent_divergence: int | None = None
    """The first iteration both runs answered whose requests went out differently besides their
    histories (another mode, temperature, tools...); None: the same way throughout, or not recorded."""
    sent_detail: str = ""
    """What differed there: `temperature 0.2 vs 0.7; tool calls as text in A, native in B`."""

    def row(self, number: int) -> AlignedIteration | None:
        return next((r for r in self.rows if r.number == number), None)

    @property
    def calls_differ_count(self) -> int:
        """Iterations both runs have whose calls differ."""
        return sum(r.calls_differ for r in self.rows if r.only_in is None)

    def describe(self) -> str:
        if self.divergence is None:
            return f"no divergence: the requests of all {len(self.rows)} shared iterations are the same"
        assert self.diff is not None
        return f"iteration {self.divergence}: {self.diff.describe()}"


def first_difference(a: _RunScan, b: _RunScan) -> int | None:
    """The first index at which the two (normalised) histories differ; None when they are identical."""
    ha, hb = a.hashes, b.hashes
    n = min(len(ha), len(hb))
    if ha[:n] == hb[:n]:
        return None if len(ha) == len(hb) else n
    lo, hi = 0, n  # the first mismatch, by halving (array slices compare in C)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ha[lo:mid] == hb[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def align(a: Transcript, b: Transcript, label_a: str = "A", label_b: str = "B") -> Alignment:
    """Align two runs by iteration number and find where their requests part (see the module docstring)."""
    va, vb = _RunScan(a), _RunScan(b)
    first = first_difference(va, vb)
    numbers = sorted(set(va.infos) | set(vb.infos) | set(va.sizes) | set(vb.sizes))
    rows: list[AlignedIteration] = []
    divergence: int | None = None
    diff: MessageDiff | None = None
    described: dict[tuple[int, str], MessageDiff] = {}

    def describe(index: int, kind: str) -> MessageDiff:
        found = described.get((index, kind))
        if found is None:
            if kind == "both":
                found = describe_difference(index, va.message(index), vb.message(index), va.origin(index),
                                            vb.origin(index))
            elif kind == "a":
                found = describe_difference(index, va.message(index), None, va.origin(index), None)
            else:
                found = describe_difference(index, None, vb.message(index), None, vb.origin(index))
            described[(index, kind)] = found
        return found

    for n in numbers:
        ia, ib = va.infos.get(n), vb.infos.get(n)
        row = AlignedIteration(n, ia, ib)
        sa, sb = va.sizes.get(n), vb.sizes.get(n)
        if sa is None or sb is None:
            if sa is not None or sb is not None:
                row.request_differs = True
                row.diff = MessageDiff(-1, "no_request_a" if sa is None else "no_request_b")
        else:
            sa, sb = min(sa, len(va)), min(sb, len(vb))
            limit = min(sa, sb)
            if first is not None and first < limit:
                row.request_differs = True
                row.diff = describe(first, "both")
            elif sa != sb:
                row.request_differs = True
                row.diff = describe(limit, "a" if sa > sb else "b")
        row.call_differs_a = _flags(row.calls_a, row.calls_b)
        row.call_differs_b = _flags(row.calls_b, row.calls_a)
        res_a = ia.results if ia is not None else []
        res_b = ib.results if ib is not None else []
        row.result_differs_a = _flags(res_a, res_b)
        row.result_differs_b = _flags(res_b, res_a)
        if row.request_differs and divergence is None:
            divergence, diff = n, row.diff
        rows.append(row)
    cause_a = cause_b = None
    if first is not None:
        cause_a, cause_b = va.origin(first), vb.origin(first)
    sent_at, sent_detail = first_sent_difference(va, vb)
    return Alignment(rows=rows, divergence=divergence, diff=diff,
                     cause_a=cause_a, cause_b=cause_b, a=va.summary(label_a), b=vb.summary(label_b),
                     fork=fork_point(a, b, label_a, label_b), sent_divergence=sent_at, sent_detail=sent_detail)


def first_sent_difference(a: _RunScan, b: _RunScan) -> tuple[int | None, str]:
    """The first iteration both runs answered whose requests went out differently besides their histories,
    and what differed (each distinct pair of ways is compared once)."""
    tools_a, tools_b = a.transcript.header.tools, b.transcript.header.tools
    compared: dict[tuple[int, int], list[str]] = {}
    for number in sorted(set(a.how) & set(b.how)):
        ha, hb = a.how[number], b.how[number]
        key = (id(ha), id(hb))
        if key not in compared:
            compared[key] = sent_differences(ha, hb, tools_a, tools_b)
        if compared[key]:
            return number, "; ".join(compared[key])
    return None, ""
