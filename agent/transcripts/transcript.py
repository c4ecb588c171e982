"""One model of a transcript and one file format for it.

The file is JSONL: a header line, then one line per event, appended and flushed as it happens. Nothing is
ever re-written, so a file grows linearly with the run, and a process killed at any moment leaves every
completed line readable; only the line being written can be torn, and the reader reports it instead of
failing.

Files come from anywhere, so the reader trusts nothing: only regular files are opened (a FIFO or
/dev/urandom would never end), every chat message must have the shape the API defines (`tool_calls` a list
of objects, ...), nesting is bounded, and values that cannot be right (a negative duration, a NaN time, a
result whose id differs from its message's) are reported as warnings.
"""

from __future__ import annotations

import gc
import io
import json
import math
import os
import stat
import time
import weakref
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Literal, Protocol

from pydantic import BaseModel, Field, ValidationError

from agent.events import (
    EVENT_ADAPTER,
    AssistantMessage,
    DriverMessage,
    Event,
    IterationStarted,
    Notice,
    ReflectionFallback,
    ReflectionNote,
    RunFinished,
    RunStarted,
    ToolResult,
    Usage,
    apply_event,
)
from agent.outcome import RunOutcome

FORMAT = "agent-tui/1"


class TranscriptError(Exception):
    """A file that cannot be read as a transcript; the message names the file and what is wrong."""


MAX_DEPTH = 64
"""How deeply the JSON of one chat message may nest (a content of 1,000 nested lists is not a message)."""

_FILE_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
               stat.S_IFSOCK: "a socket"}


def open_regular(path: Path | str) -> IO[bytes]:
    """`path` opened for reading in binary, if it is a regular file; else a TranscriptError saying what it
    is. Opened without blocking and checked on the open file: a FIFO put in its place cannot hang us."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise TranscriptError(f"{p}: no such file") from None
    except OSError as exc:
        raise TranscriptError(f"{p}: cannot be read: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise TranscriptError(f"{p}: is a directory, not a transcript file")
        kind = _FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise TranscriptError(f"{p}: is {kind}; only regular files are read")
    raw = io.FileIO(fd, "rb", closefd=True)
    raw.name = str(p)  # type: ignore[misc]  # not the descriptor: EventLog opens the file again by name
    return io.BufferedReader(raw)


def message_problem(message: Any) -> str | None:
    """Why `message` cannot be a chat message (worded to follow its name), or None when its shape is right:
    an object with a string `role`; `tool_calls`, when present, a list of objects whose `function` is an
    object with a string `name`; ids strings; nesting at most MAX_DEPTH deep."""
    if not isinstance(message, dict):
        return "is not a chat message (not an object)"
    if not isinstance(message.get("role"), str):
        return 'is not a chat message (no "role")'
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        return f'has "tool_calls" that is {_json_kind(calls)}, not a list'
    for i, call in enumerate(calls or ()):
        if not isinstance(call, dict):
            return f"has tool_calls[{i}] that is {_json_kind(call)}, not an object"
        function = call.get("function")
        if not isinstance(function, dict):
            return f"has tool_calls[{i}].function that is {_json_kind(function)}, not an object"
        if not isinstance(function.get("name", ""), str):
            return f"has tool_calls[{i}].function.name that is {_json_kind(function['name'])}, not a string"
        if not isinstance(call.get("id", ""), (str, type(None))):
            return f"has tool_calls[{i}].id that is {_json_kind(call['id'])}, not a string"
    if not isinstance(message.get("tool_call_id", ""), (str, type(None))):
        return f'has a "tool_call_id" that is {_json_kind(message["tool_call_id"])}, not a string'
    if _deeper_than(message, MAX_DEPTH):
        return f"nests more than {MAX_DEPTH} levels deep"
    return None


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), "a value")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (without recursion: it may be 100,000 deep)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node if isinstance(child, (dict, list)))
    return False


def event_problem(event: Event) -> str | None:
    """Why an event that validated still cannot be part of a transcript: a message of the wrong shape."""
    cls = event.__class__
    if cls in (AssistantMessage, ToolResult, DriverMessage):
        problem = message_problem(event.message)  # type: ignore[union-attr]
        return f"its message {problem}" if problem else None
    if cls in (RunStarted, ReflectionNote, ReflectionFallback):
        for i, message in enumerate(event.messages):  # type: ignore[union-attr]
            problem = message_problem(message)
            if problem:
                return f"messages[{i}] {problem}"
    return None


_COUNTS = {"iteration_started": ("request_size",), "assistant_message": ("latency_s", "ttft_s"),
           "tool_result": ("duration_s",), "reflection_note": ("latency_s",), "run_finished": ("iterations",)}
"""The fields of each event that hold a size, a duration or a count: never negative, never NaN."""


def _bad_count(value: float | int | None) -> bool:
    return value is not None and not (value >= 0 and math.isfinite(value))


def implausible(event: Event) -> str | None:
    """A value of `event` that cannot be right (a negative or NaN time, duration, size or count; a result
    whose id is not its message's), or None."""
    if _bad_count(event.ts):
        return f"{event.type}: ts is {event.ts}"
    if isinstance(event, IterationStarted) and event.iteration < 1:
        return f"iteration_started: iteration is {event.iteration}"
    if isinstance(event, ToolResult) and event.message.get("tool_call_id") != event.tool_call_id:
        said = event.message.get("tool_call_id")
        return f"tool_result: tool_call_id {event.tool_call_id!r} differs from its message's tool_call_id {said!r}"
    for name in _COUNTS.get(event.type, ()):
        if _bad_count(getattr(event, name)):
            return f"{event.type}: {name} is {getattr(event, name)}"
    usage = getattr(event, "usage", None)
    for name in ("prompt_tokens", "completion_tokens"):
        if usage is not None and _bad_count(getattr(usage, name)):
            return f"{event.type}: usage.{name} is {getattr(usage, name)}"
    return None


class ForkOrigin(BaseModel):
    """Where a fork (`agent-tui fork`) branched off its parent run."""

    parent: str
    """The parent's transcript, as an absolute path."""
    at: int
    """The last iteration replayed from the parent; the fork is live from `at + 1` on."""
    note: str = ""
    """What became of the parent's note after iteration `at`: kept, dropped, edited, added (edited where
    the parent wrote none), asked again as ROLE, or none (the parent wrote none there)."""


class TranscriptHeader(BaseModel):
    """The first line of a transcript: what ran, where, and with which settings. Never the API key."""

    type: Literal["header"] = "header"
    format: str = FORMAT
    created: float = Field(default_factory=time.time)
    task: str | None = None
    goal: str = ""
    provider: str = ""
    model: str = ""
    base_url: str = ""
    workspace: str = ""
    tools: list[dict[str, Any]] = []
    settings: dict[str, Any] = {}
    source: str | None = None
    """For an imported transcript: the format it was read from."""
    fork: ForkOrigin | None = None
    """For a fork: its parent run and the iteration it branched at."""


@dataclass
class Iteration:
    """The events of one iteration, grouped for display and analysis."""

    number: int
    started: IterationStarted | None = None
    assistant: AssistantMessage | None = None
    results: list[ToolResult] = field(default_factory=list)
    reflection: ReflectionNote | None = None
    fallbacks: list[ReflectionFallback] = field(default_factory=list)
    """Role refusals of this iteration's request (each replaced the previous iteration's note)."""
    others: list[Event] = field(default_factory=list)

    @property
    def tool_names(self) -> list[str]:
        if self.assistant is None:
            return []
        return [c.get("function", {}).get("name", "?") for c in self.assistant.message.get("tool_calls") or []]


class StepReader(Protocol):
    """What reads a transcript behind its first screen, a step at a time: `JsonlReader` for our JSONL,
    `formats.history.HistoryReader` for every other format."""

    done: bool
    error: TranscriptError | None

    @property
    def fraction(self) -> float: ...

    def read(self, budget: int | None = None) -> list[Event]: ...

    def ending(self) -> RunFinished | None: ...

    def close(self) -> None: ...


@dataclass
class Transcript:
    """A header and the events that followed it, plus what the reader had to warn about."""

    header: TranscriptHeader
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    end_offset: int = 0
    """Bytes of the file read into events, up to the end of its last complete line: a follower
    (`TranscriptTail`) goes on from there while a run is still writing the file."""
    rest: StepReader | None = field(default=None, repr=False, compare=False)
    """Opened in steps (`open_transcript(..., in_steps=True)`): reads (or converts) what is not read yet;
    None once the whole file is read."""
    _iterations: list[Iteration] | None = field(default=None, repr=False)

    def add(self, event: Event) -> None:
        self.events.append(event)
        self._iterations = None

    def messages(self) -> list[dict[str, Any]]:
        """The whole chat history, rebuilt from the events (a reflection fallback replaces the note at
        the end of the history, as the loop did)."""
        out: list[dict[str, Any]] = []
        for event in self.events:
            apply_event(out, event)
        return out

    def request_at(self, iteration: int) -> tuple[list[dict[str, Any]], int]:
        """The exact messages sent at `iteration` (the request that was answered: when a role refusal made
        the loop send it again, the last IterationStarted of the iteration), and how many of them the
        previous iteration's request had."""
        sizes: dict[int, int] = {}
        numbers: list[int] = []
        history: list[dict[str, Any]] = []
        for e in self.events:  # one pass (a big file's events are read back from disk)
            if isinstance(e, IterationStarted):
                if e.iteration not in sizes:
                    numbers.append(e.iteration)
                sizes[e.iteration] = e.request_size
            apply_event(history, e)
        if iteration not in sizes:
            raise KeyError(f"no request recorded for iteration {iteration}")
        k = numbers.index(iteration)
        previous = sizes[numbers[k - 1]] if k > 0 else 0
        return history[: sizes[iteration]], previous

    @property
    def iterations(self) -> list[Iteration]:
        if self._iterations is None:
            self._iterations = group_iterations(self.events)
        return self._iterations

    @property
    def finished(self) -> RunFinished | None:
        for event in reversed(self.events):
            if isinstance(event, RunFinished):
                return event
        return None

    @property
    def outcome(self) -> RunOutcome:
        """How the run went (`agent.outcome`), folded from its events (a big file's are read back once)."""
        return RunOutcome.of(self.events, imported=self.header.source is not None)

    @property
    def usage(self) -> Usage | None:
        """Tokens of every completion and reflection call; None when the file recorded no token counts."""
        return self.outcome.usage


def group_iterations(events: Iterable[Event]) -> list[Iteration]:
    """Group a flat event stream by iteration number, in order of first appearance."""
    by_number: dict[int, Iteration] = {}
    order: list[Iteration] = []

    def get(n: int) -> Iteration:
        it = by_number.get(n)
        if it is None:
            it = by_number[n] = Iteration(n)
            order.append(it)
        return it

    for event in events:
        if isinstance(event, IterationStarted):
            get(event.iteration).started = event  # the last one wins: the request that was answered
        elif isinstance(event, AssistantMessage):
            get(event.iteration).assistant = event
        elif isinstance(event, ToolResult):
            get(event.iteration).results.append(event)
        elif isinstance(event, ReflectionNote):
            get(event.iteration).reflection = event
        elif isinstance(event, ReflectionFallback):
            get(event.iteration).fallbacks.append(event)
        elif isinstance(event, (DriverMessage, Notice)) and event.iteration is not None:
            get(event.iteration).others.append(event)
    return order


class TranscriptWriter:
    """Appends a header and then one line per event, flushing each line as it is written."""

    def __init__(self, path: Path | str, header: TranscriptHeader) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        if self.path.stat().st_size == 0:
            self._write(header.model_dump_json())

    def _write(self, line: str) -> None:
        # One write per line, flushed: a kill can tear at most the line being written.
        self._file.write(line + "\n")
        self._file.flush()

    def write(self, event: Event) -> None:
        self._write(event.model_dump_json())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "TranscriptWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


LAZY_BYTES = 4_000_000
"""From this size on, `read_jsonl` keeps a file's events on disk (`EventLog`): it validates every line
once, then remembers where each event is, and reads an event back when it is used. A 10,000-iteration run
then costs a few hundred kB of offsets instead of ~100 MB of objects."""


def parse_jsonl(text: str, source: str = "<transcript>") -> Transcript:
    """Parse our JSONL format from a text. A torn last line is a warning; a bad line elsewhere is an error."""
    return read_jsonl(io.BytesIO(text.encode("utf-8")), source, not_text=f"{source}: not UTF-8 text", lazy=False)


def read_jsonl(f: IO[bytes], source: str, *, not_text: str, lazy: bool | None = None) -> Transcript:
    """Read our JSONL from a binary file positioned at its start, all of it (see `JsonlReader`)."""
    reader = JsonlReader(f, source, not_text=not_text, lazy=lazy)
    while not reader.done:
        reader.read(JsonlReader.STEP)  # a big file's events are dropped step by step: only their places stay
    if reader.error is not None:
        raise reader.error
    return reader.transcript


ENDING_PEEK = 1 << 16
"""Bytes read from the end of a file for its last line (`JsonlReader.ending`)."""


class JsonlReader:
    """Our JSONL, read in steps: the header when it is made, then `read(budget)` validates the next complete
    lines, about `budget` bytes of them, and appends their events to `transcript.events`. The app shows the
    first screen of a big file after the first step and reads the rest behind it; `read_jsonl` reads every
    step at once. Either way each line is validated once, with the collector paused, and the same rules
    hold: a line that fails is an error when any line follows it, and a warning (a torn write) when it is
    the last one. A big file (`lazy`, by default from `LAZY_BYTES` on) keeps only where each event is."""

    STEP = 1 << 20
    """Bytes of lines validated per step when the whole file is read at once."""

    def __init__(self, f: IO[bytes], source: str, *, not_text: str, lazy: bool | None = None,
                 close_at_end: bool = False) -> None:
        """`close_at_end`: the file is the reader's, closed once it is read (or when its header fails)."""
        try:
            first = f.readline()
            if not first.strip():
                raise TranscriptError(f"{source}: empty file, not a transcript")
            try:
                header = _parse_header(first.decode("utf-8"), source)
            except UnicodeDecodeError:
                raise TranscriptError(not_text) from None
        except BaseException:
            if close_at_end:
                f.close()
            raise
        self._close_at_end = close_at_end
        self.transcript = Transcript(header=header, end_offset=len(first))
        try:
            self.size = os.fstat(f.fileno()).st_size
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            self.size = 0
        """The file's size when it was opened (how far `position` has to go)."""
        self.lazy = self.size >= LAZY_BYTES if lazy is None else lazy
        self.position = len(first)
        """Bytes read so far, the header included."""
        self.done = False
        """Nothing more to read: every line is read, or a broken one was found (`error`)."""
        self.error: TranscriptError | None = None
        """The broken line that stopped the reading (the events before it are read)."""
        self._f = f
        self._source = source
        self._not_text = not_text
        self._number = 1
        self._failed: tuple[int, bytes, ValidationError] | None = None
        if self.lazy:
            self._offsets, self._lengths = array("q"), array("q")
            self.transcript.events = EventLog(f.name, self._offsets, self._lengths, source)  # type: ignore[assignment]

    @property
    def fraction(self) -> float:
        """How much of the file is read (0 to 1)."""
        return 1.0 if self.done or not self.size else min(self.position / self.size, 1.0)

    def read(self, budget: int | None = None) -> list[Event]:
        """Validate the next lines, at least `budget` bytes of them (the rest of the file when None), and
        return their events. A big file's events are not kept (only where each one is): the list is the
        one chance to look at them without reading them back. A broken line ends the reading: the events
        before it are returned, and `error` says what is wrong."""
        if self.done:
            return []
        transcript, source = self.transcript, self._source
        validate, warnings = EVENT_ADAPTER.validate_json, transcript.warnings
        keep = transcript.events.append
        offsets, lengths = (self._offsets, self._lengths) if self.lazy else (None, None)
        out: list[Event] = []
        stop = None if budget is None else self.position + budget
        was_enabled = gc.isenabled()
        gc.disable()  # only new, long-lived objects: a collection now would walk them all for nothing
        try:
            for line in self._f:
                start = self.position
                self.position += len(line)
                self._number += 1
                if self._failed is not None:
                    self._fail()
                if line.endswith(b"\n"):
                    transcript.end_offset = self.position
                if not line.isspace():
                    try:
                        event = validate(line)
                    except ValidationError as exc:
                        self._failed = (self._number, line, exc)
                        continue
                    problem = event_problem(event)
                    if problem:
                        raise TranscriptError(f"{source}:{self._number}: bad {event.type} event: {problem}")
                    odd = implausible(event)
                    if odd:
                        warnings.append(f"{source}:{self._number}: {odd}")
                    if event.__class__ is ToolResult:
                        share_content(event)
                    if offsets is not None and lengths is not None:
                        offsets.append(start)
                        lengths.append(len(line))
                    else:
                        keep(event)
                    out.append(event)
                if stop is not None and self.position >= stop:
                    return out
        except TranscriptError as exc:
            self.error = exc
            self.close()
            return out
        except OSError as exc:
            self.error = TranscriptError(f"{source}: {exc.strerror or exc}")
            self.close()
            return out
        finally:
            if was_enabled:
                gc.enable()
        self.close()
        if self._failed is not None:
            n, line, _ = self._failed
            size = len(line.rstrip(b"\n"))
            warnings.append(f"{source}:{n}: last line is torn or incomplete ({size:,} bytes); ignored")
        return out

    def ending(self) -> RunFinished | None:
        """How the run ended, from the file's last line, before the lines up to it are read (the first
        screen of a big file says so at once); None when that line is not a valid ending."""
        if self.done or self.size <= self.position:
            return None
        start = max(self.position, self.size - ENDING_PEEK)
        try:
            data = os.pread(self._f.fileno(), self.size - start, start)
        except (OSError, ValueError, io.UnsupportedOperation):
            return None
        lines = data.rstrip(b"\n").rsplit(b"\n", 1)
        if len(lines) < 2 and start > self.position:
            return None  # the last line is longer than the peek: not an ending anyway
        try:
            event = EVENT_ADAPTER.validate_json(lines[-1])
        except ValidationError:
            return None
        return event if isinstance(event, RunFinished) and event_problem(event) is None else None

    def close(self) -> None:
        """Stop reading: nothing more is read, and the file is closed if it is the reader's."""
        self.done = True
        if self._close_at_end:
            self._f.close()

    def _fail(self) -> None:
        """A line failed and another follows it: the file is broken there, not torn at its end."""
        assert self._failed is not None
        n, line, exc = self._failed
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            raise TranscriptError(self._not_text) from None
        raise TranscriptError(f"{self._source}:{n}: bad event line: {_first_error(exc)}")


class TranscriptTail:
    """Follows a transcript that a run is still writing, like `tail -f`: `read()` returns the events of the
    lines completed since the last call; a line still being written waits for its newline."""

    def __init__(self, path: Path | str, offset: int) -> None:
        self.path = Path(path)
        self.offset = offset

    def read(self) -> list[Event]:
        """New events (none when nothing was appended). TranscriptError when the file shrank or was
        replaced, or a completed line is not an event."""
        try:
            with open_regular(self.path) as f:  # replaced by a FIFO, it must not hang the app
                if os.fstat(f.fileno()).st_size < self.offset:
                    raise TranscriptError(f"{self.path}: the file is shorter than when it was opened")
                f.seek(self.offset)
                data = f.read()
        except OSError as exc:
            raise TranscriptError(f"{self.path}: {exc.strerror or exc}") from None
        end = data.rfind(b"\n") + 1
        events: list[Event] = []
        for line in data[:end].split(b"\n"):
            if not line.strip():
                continue
            try:
                event = EVENT_ADAPTER.validate_json(line)
            except ValidationError as exc:
                raise TranscriptError(f"{self.path}: bad event line appended: {_first_error(exc)}") from None
            problem = event_problem(event)
            if problem:
                raise TranscriptError(f"{self.path}: bad {event.type} event appended: {problem}")
            if event.__class__ is ToolResult:
                share_content(event)
            events.append(event)
        self.offset += end
        return events


def _parse_header(line: str, source: str) -> TranscriptHeader:
    try:
        first = json.loads(line)
        if not isinstance(first, dict) or first.get("type") != "header":
            raise TranscriptError(f'{source}:1: not an agent-tui transcript header (no "type": "header")')
        header = TranscriptHeader.model_validate(first)
    except json.JSONDecodeError as exc:
        ran_out = exc.pos >= len(line.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
        if ran_out and not line.endswith("\n") and line.lstrip().startswith("{"):
            raise TranscriptError(f"{source}:1: the header line is cut off: the file ends inside it, after "
                                  f"{len(line.encode()):,} bytes (a copy cut short, or a run stopped as it "
                                  "began)") from None
        raise TranscriptError(f"{source}:1: not an agent-tui transcript header ({exc.msg})") from None
    except RecursionError:
        raise TranscriptError(f"{source}:1: not an agent-tui transcript header (nested too deeply)") from None
    except ValidationError as exc:
        raise TranscriptError(f"{source}:1: not an agent-tui transcript header ({_first_error(exc)})") from None
    if _deeper_than(first, MAX_DEPTH):
        raise TranscriptError(f"{source}:1: the header nests more than {MAX_DEPTH} levels deep")
    if _bad_count(header.created):
        raise TranscriptError(f"{source}:1: the header's created time is {header.created}")
    return header


def share_content(event: ToolResult) -> None:
    """A result's `content` and its message's `content` are the same text: keep one string, not two."""
    message = event.message
    text = message.get("content")
    if text is not event.content and text.__class__ is str and text == event.content:
        message["content"] = event.content


class EventLog(Sequence[Event]):
    """The events of a JSONL file, kept on disk: an offset and a length per event, read back and validated
    again when an event is used. Behaves as a read-mostly list: `len`, indexing, slicing, iteration (one
    sequential read), `append` / `extend` (kept in memory, after the file's events), and equality with a
    list. Each access returns a new event object: no event is cached here, only the last 64 kB read.

    The file stays open (so a file replaced by another of the same name still reads as loaded); appending
    to it is harmless, rewriting it in place is not: a line that no longer validates raises TranscriptError.
    """

    CHUNK = 1 << 20
    """Bytes read at once when every event is read in order."""
    READAHEAD = 1 << 16
    """Bytes read at once for a block's events, kept for the next block (most reads are in file order)."""

    def __init__(self, path: str, offsets: array, lengths: array, source: str) -> None:
        self.path = path
        self._buffer: tuple[bytes, int] = (b"", 0)
        self.source = source
        self._offsets = offsets
        self._lengths = lengths
        self._tail: list[Event] = []
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._closer = weakref.finalize(self, os.close, self._fd)

    def close(self) -> None:
        self._closer()

    def __len__(self) -> int:
        return len(self._offsets) + len(self._tail)

    def _parse(self, index: int, raw: bytes) -> Event:
        try:
            event = EVENT_ADAPTER.validate_json(raw)
        except ValidationError as exc:
            raise TranscriptError(f"{self.source}: event {index} changed on disk since the file was opened "
                                  f"({_first_error(exc)})") from None
        if event.__class__ is ToolResult:
            share_content(event)
        return event

    def _read(self, start: int, size: int) -> bytes:
        data = os.pread(self._fd, size, start)
        if len(data) != size:
            raise TranscriptError(f"{self.source}: the file is shorter than when it was opened")
        return data

    def _get(self, index: int) -> Event:
        n = len(self._offsets)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("event index out of range")
        if index >= n:
            return self._tail[index - n]
        return next(self._stream((index,), self.READAHEAD))

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return list(self._stream(range(*index.indices(len(self))), self.CHUNK))
        return self._get(index.__index__())

    def take(self, indices: Iterable[int]) -> list[Event]:
        """The events at `indices` (a block's). Reads go through a small read-ahead buffer, so that visiting
        the blocks in order (search, expand all, the history) reads the file in pieces, not event by event."""
        return list(self._stream(indices, self.READAHEAD))

    def _stream(self, indices: Iterable[int], chunk: int) -> Iterator[Event]:
        offsets, lengths, n = self._offsets, self._lengths, len(self._offsets)
        end_of_events = offsets[n - 1] + lengths[n - 1] if n else 0
        buf, base = self._buffer
        for index in indices:
            if index >= n:
                yield self._tail[index - n]
                continue
            start, size = offsets[index], lengths[index]
            if start < base or start + size > base + len(buf):
                base = start
                buf = self._read(start, max(size, min(chunk, end_of_events - start)))
                if chunk <= self.READAHEAD:
                    self._buffer = buf, base  # kept for the next access nearby
            yield self._parse(index, buf[start - base:start - base + size])

    def __iter__(self) -> Iterator[Event]:
        return self._stream(range(len(self)), self.CHUNK)

    def __reversed__(self) -> Iterator[Event]:
        for index in range(len(self) - 1, -1, -1):
            yield self._get(index)

    def append(self, event: Event) -> None:
        self._tail.append(event)

    def extend(self, events: Iterable[Event]) -> None:
        self._tail.extend(events)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, EventLog)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<EventLog {self.source}: {len(self)} events>"


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ()))
    return f"{loc}: {err['msg']}" if loc else err["msg"]
