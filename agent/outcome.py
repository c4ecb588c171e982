"""How a run went, in one place: its ending, its iterations, its tokens reported or not, its notes.

The app's status bar and finish block, the export's facts, the runs picker's outcome column, the
comparison's header and an ablation's row all say how a run went, and they read it from one `RunOutcome`:
`add` folds a run's events one at a time (the view model as a run grows, the comparison's one pass, a grid's
job as it runs, a transcript read whole), and `from_counts` starts one from what the runs picker counts in
a file's bytes without parsing it, to which `add` then gives the file's last `run_finished` line. The
ending, when there is one, says the iterations; folded or read from the end, a run the loop wrote says the
same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from agent.events import (
    AssistantMessage,
    IterationStarted,
    ReflectionNote,
    RunFinished,
    TurnRetracted,
    Usage,
    made_a_call,
)

ERROR_REASONS = ("provider_error", "error", "context_length")
"""Endings shown as an error (red, FAILED): the endpoint or the driver failed, or the history outgrew the
model's context."""
BROKEN_REASONS = ("provider_error", "error", "harness_error", "crashed")
"""Endings that say nothing of the agent: the endpoint, the driver or the test harness failed, or the job
crashed. A grid's job that ended so is failed: left out of the rates, and run again."""


def reason_words(reason: str) -> str:
    """An ending's reason as words: `max steps`, `provider error`."""
    return reason.replace("_", " ")


def tests_said(passed: bool | None) -> str:
    """The verdict in a run's summary: `tests pass`, `tests fail`, or '' when there was no test command."""
    return {True: "tests pass", False: "tests fail", None: ""}[passed]


@dataclass(eq=False)
class RunOutcome:
    """How one run went, folded from its events (`add`, `of`), or from its last line (`from_counts`)."""

    imported: bool = False
    """Another tool's file: a call without token counts was not recorded with any, rather than not reported."""
    ending: RunFinished | None = None
    """The run's `run_finished` (None: running, killed, or another tool's file that records none)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_recorded: bool = False
    """Whether any reply or reflection call reported its tokens (`usage`)."""
    unreported_calls: int = 0
    """Replies and reflection calls whose tokens the endpoint did not report (not in `usage`)."""
    notes: int = 0
    """Reflection notes written (each one reflection call)."""
    retracted: int = 0
    """Turns taken back by the `resample` control (what it did instead of a note)."""
    note_prompt_tokens: int = 0
    note_completion_tokens: int = 0
    """Tokens of the notes' calls, and of the turns `resample` took back: what reflection cost (`note_usage`)."""
    first_reflection: str | None = None
    """The reflection mode of the first iteration (None: no iteration started)."""
    _numbers: set[int] = field(default_factory=set, repr=False)
    _counted: int | None = field(default=None, repr=False)
    """From a file's bytes: the iterations its lines started (`from_counts`)."""

    @classmethod
    def of(cls, events: Iterable[Any], *, imported: bool = False) -> RunOutcome:
        """The outcome of a run's events, in one pass."""
        outcome = cls(imported=imported)
        for event in events:
            outcome.add(event)
        return outcome

    @classmethod
    def from_counts(cls, *, notes: int, iterations: int) -> RunOutcome:
        """An outcome started from a file's byte counts (its reflection notes, its iterations started), for
        the runs picker's fast path: `add` then gives it the file's last `run_finished`, which says the rest."""
        return cls(notes=notes, _counted=iterations)

    def add(self, event: Any) -> None:
        """Fold one more event in."""
        kind = event.__class__
        number = getattr(event, "iteration", None)
        if number.__class__ is int:
            self._numbers.add(number)
        if kind is AssistantMessage:
            self._spent(event.usage, True)
        elif kind is ReflectionNote:
            self.notes += 1
            self._spent_on_notes(event.usage)
            self._spent(event.usage, made_a_call(event))
        elif kind is TurnRetracted:
            self.retracted += 1
            self._spent_on_notes(event.usage)
        elif kind is IterationStarted:
            if self.first_reflection is None:
                self.first_reflection = event.reflection
        elif kind is RunFinished:
            self.ending = event

    def _spent(self, usage: Usage | None, called: bool) -> None:
        """Counted as numbers, not Usage objects: a 10,000-iteration file is folded as it opens."""
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
            self.tokens_recorded = True
        elif called:
            self.unreported_calls += 1

    def _spent_on_notes(self, usage: Usage | None) -> None:
        if usage is not None:
            self.note_prompt_tokens += usage.prompt_tokens
            self.note_completion_tokens += usage.completion_tokens

    @property
    def usage(self) -> Usage | None:
        """Tokens of the replies and reflection calls that reported any (None: none did)."""
        if not self.tokens_recorded:
            return None
        return Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)

    @property
    def note_usage(self) -> Usage:
        """Tokens of the notes' calls, and of the turns `resample` took back: what reflection cost."""
        return Usage(prompt_tokens=self.note_prompt_tokens, completion_tokens=self.note_completion_tokens)

    @property
    def seen(self) -> int:
        """Iterations seen: distinct iteration numbers among the events (from bytes: iterations started)."""
        return self._counted if self._counted is not None else len(self._numbers)

    @property
    def iterations(self) -> int:
        """How many iterations the run took: as its ending says (the loop's or the importer's count), else
        as many as were seen."""
        return self.ending.iterations if self.ending is not None else self.seen

    @property
    def reported(self) -> Usage | None:
        """The run's tokens: counted from its events; when none recorded any, as its ending says (another
        tool may keep only a total; read from bytes, the ending's is all there is)."""
        if self.usage is None and self.ending is not None:
            return self.ending.usage
        return self.usage

    @property
    def unreported(self) -> int:
        """Calls whose tokens the endpoint did not report: counted, else as the ending says (read from bytes);
        0 for another tool's file, which records none."""
        if self.imported:
            return 0
        if self._counted is not None and self.ending is not None:
            return self.ending.unreported_calls
        return self.unreported_calls

    @property
    def reason(self) -> str | None:
        return self.ending.reason if self.ending is not None else None

    @property
    def tests_passed(self) -> bool | None:
        """The verdict: did the tests pass at the end (None: no test command, or no ending)."""
        return self.ending.tests_passed if self.ending is not None else None

    @property
    def broken(self) -> bool:
        """The run ended on a failure that says nothing of the agent (`BROKEN_REASONS`)."""
        return self.reason in BROKEN_REASONS

    @property
    def reflection_calls(self) -> int:
        """What reflection did: notes written, and under `resample` turns taken back."""
        return self.notes + self.retracted
