"""One model of a transcript and one file format for it.

The file is JSONL: a header line, then one line per event, appended and flushed as it happens. Nothing is
ever re-written, so a file grows linearly with the run, and a process killed at any moment leaves every
completed line readable; only the line being written can be torn, and the reader reports it instead of
failing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Literal

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

FORMAT = "agent-tui/1"


class TranscriptError(Exception):
    """A file that cannot be read as a transcript; the message names the file and what is wrong."""


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

    @property
    def has_error(self) -> bool:
        return any(r.is_error for r in self.results)


@dataclass
class Transcript:
    """A header and the events that followed it, plus what the reader had to warn about."""

    header: TranscriptHeader
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
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
        for e in self.events:
            if isinstance(e, IterationStarted):
                if e.iteration not in sizes:
                    numbers.append(e.iteration)
                sizes[e.iteration] = e.request_size
        if iteration not in sizes:
            raise KeyError(f"no request recorded for iteration {iteration}")
        k = numbers.index(iteration)
        history = self.messages()
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
    def usage(self) -> Usage:
        total = Usage()
        for event in self.events:
            if isinstance(event, (AssistantMessage, ReflectionNote)):
                total = total + event.usage
        return total


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


def parse_jsonl(text: str, source: str = "<transcript>") -> Transcript:
    """Parse our JSONL format. A torn last line is a warning; a bad line elsewhere is an error."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise TranscriptError(f"{source}: empty file, not a transcript")
    try:
        first = json.loads(lines[0])
        if not isinstance(first, dict) or first.get("type") != "header":
            raise TranscriptError(f'{source}:1: not an agent-tui transcript header (no "type": "header")')
        header = TranscriptHeader.model_validate(first)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"{source}:1: not an agent-tui transcript header ({exc.msg})") from None
    except ValidationError as exc:
        raise TranscriptError(f"{source}:1: not an agent-tui transcript header ({_first_error(exc)})") from None
    transcript = Transcript(header=header)
    last = len(lines)
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            transcript.events.append(EVENT_ADAPTER.validate_json(line))
        except ValidationError as exc:
            if number == last:
                transcript.warnings.append(
                    f"{source}:{number}: last line is torn or incomplete ({len(line)} bytes); ignored"
                )
            else:
                raise TranscriptError(f"{source}:{number}: bad event line: {_first_error(exc)}") from None
    return transcript


def load_transcript(path: Path | str) -> Transcript:
    """Read one of our JSONL transcripts from disk."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TranscriptError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise TranscriptError(f"{p}: is a directory, not a transcript file") from None
    except UnicodeDecodeError:
        raise TranscriptError(f"{p}: not a text file") from None
    return parse_jsonl(text, str(p))


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ()))
    return f"{loc}: {err['msg']}" if loc else err["msg"]


def dump_event(event: Event) -> dict[str, Any]:
    return json.loads(event.model_dump_json())
