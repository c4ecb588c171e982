"""`agent-tui run --headless`: the run printed event by event, as the model sees them."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any, Callable, TextIO

from agent.display.folding import FOLD_FROM, clip_line, fold_text
from agent.display.terminal import complain, inert
from agent.display.wording import plural, tokens
from agent.events import (
    AssistantMessage,
    DriverMessage,
    EXIT_2_REASONS,
    Event,
    IterationStarted,
    Notice,
    ReflectionFallback,
    ReflectionNote,
    RunFinished,
    ToolResult,
    WorkspaceChanged,
    content_text,
)
from agent.run.runner import Run, build_run, run_options


def cmd_fork(args: argparse.Namespace) -> int:
    """`agent-tui fork --headless`, or `--each-note` (which runs its forks here, without the app)."""
    from agent.run.fork import build_fork, fork_spec

    spec = fork_spec(args)
    if args.each_note:
        from agent.experiments.fork_notes import cmd_each_note

        return cmd_each_note(spec, args)
    return drive_headless(build_fork(spec), keep_workspace=args.keep_workspace)


def cmd_run_headless(args: argparse.Namespace, out: TextIO | None = None) -> int:
    return drive_headless(build_run(run_options(args)), out, keep_workspace=args.keep_workspace)


def drive_headless(run: Run, out: TextIO | None = None, *, keep_workspace: bool = False) -> int:
    """Drive a prepared run to its end, printing its events (exit status: see the module docstring)."""
    out = out or sys.stdout
    out.write(f"agent-tui: {run.header.provider} / {run.header.model}, task {run.header.task or 'custom'}, "
              f"workspace {run.workspace}\n")
    out.write(f"agent-tui: transcript {run.path}\n")
    printer = EventPrinter(out)

    async def drive() -> None:
        task = asyncio.current_task()
        try:  # SIGTERM stops the run as Ctrl-C does: the transcript is closed, a local model's server stopped
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # type: ignore[union-attr]
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
            pass
        async for event in run.events():
            printer.show(event)

    try:
        asyncio.run(drive())
    except asyncio.CancelledError:
        pass
    finally:
        if run.release_workspace(keep_workspace):
            out.write(f"agent-tui: removed the temporary workspace {run.workspace} (--keep-workspace keeps it)\n")
    done = run.finished
    if done is None or done.reason in EXIT_2_REASONS:
        detail = done.detail if done else "the run ended without a result"
        complain(detail)
        return 2
    return 0 if done.tests_passed else 1


class EventPrinter:
    """Prints each event as it happens, in the order the model sees them. Every line goes out inert (model and
    tool text never reach the terminal as control sequences), and long texts are folded around the lines
    that carry a failure (the full texts are in the transcript)."""

    REPLY_LINES = 40
    """A reply longer than this is folded (its head, its tail, any error lines)."""
    FIRST_LINE = 400
    """The most of a reply's, a notice's or a summary's first line printed."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def line(self, text: str = "") -> None:
        self.out.write(inert(text) + "\n")
        self.out.flush()

    def block(self, text: str, prefix: str, fold_from: int = FOLD_FROM) -> None:
        """`text` folded, each line after `prefix`."""
        for line in fold_text(text, fold_from=fold_from).split("\n"):
            self.line(prefix + line)

    def paragraph(self, label: str, text: str, fold_from: int = FOLD_FROM) -> None:
        """`label` and the first line of `text`, cut at FIRST_LINE characters, the rest folded below it: a
        5 MB reply or notice is never printed whole (the transcript keeps it)."""
        first, _, rest = text.partition("\n")
        line, cut = clip_line(first, self.FIRST_LINE)
        self.line(label + line + (f" … ({plural(cut, 'more character')})" if cut else ""))
        if rest:
            self.block(rest, "  ", fold_from=fold_from)

    def show(self, event: Event) -> None:
        """Print one event, in this log's own words (the transcript keeps everything; `agent-tui open` and
        `export` say it as the app does)."""
        said = self._SAYS.get(type(event))
        if said is not None:
            said(self, event)

    def _started(self, event: IterationStarted) -> None:
        self.line(f"\n── iteration {event.iteration} ── reflection {event.reflection} "
                  f"── request of {plural(event.request_size, 'message')}")

    def _reply(self, event: AssistantMessage) -> None:
        text = content_text(event.message.get("content")).strip()
        if text:
            self.paragraph("assistant: ", text, fold_from=self.REPLY_LINES)
        parsed = "  (parsed from text)" if event.parsed_from_text else ""
        for call in event.message.get("tool_calls") or []:
            fn = call.get("function", {})
            self.line(f"  call {clip_line(str(call.get('id')), 80)[0]}  {clip_line(str(fn.get('name')), 80)[0]}"
                      f"({_compact_args(fn.get('arguments'))}){parsed}")
        usage = event.usage
        counts = f"{usage.prompt_tokens:,}+{usage.completion_tokens:,} tokens, " if usage else "tokens not reported, "
        ttft = f"first token {event.ttft_s:.2f}s, " if event.ttft_s is not None else ""
        wire = ", text tool calls" if event.tool_call_mode == "text" else ""
        self.line(f"  [{counts}{ttft}{event.latency_s:.2f}s, finish_reason {event.finish_reason}{wire}]")

    def _result(self, event: ToolResult) -> None:
        mark = "ERROR " if event.is_error else ""
        self.line(f"  result {event.tool_call_id}  {mark}{event.name}:")
        self.block(event.content.rstrip("\n"), "    │ ")

    def _note(self, event: ReflectionNote) -> None:
        triggers = ", ".join(t.kind for t in event.triggers) or "manual"
        fallback = f" (fell back from {event.fallback_from})" if event.fallback_from else ""
        follower = " + a user follower" if event.follower_added else ""
        self.line(f"  reflection [{event.role}{fallback}{follower}] on {triggers}:")
        for t in event.triggers:
            if t.evidence:
                self.line(f"    evidence ({t.kind}): {t.evidence.splitlines()[0][:160]}")
        self.block(event.content.strip(), "    ✎ ", fold_from=self.REPLY_LINES)

    def _fallback(self, event: ReflectionFallback) -> None:
        to = f"as {event.to_role}" if event.to_role else "dropped (every role refused)"
        self.line(f"  reflection note refused as {event.from_role} (HTTP {event.status}: "
                  f"{clip_line(event.error, 400)[0]}); note {to}, request sent again")

    def _driver(self, event: DriverMessage) -> None:
        self.paragraph(f"  driver {event.kind} ({event.message.get('role')}): ", content_text(event.message.get("content")))

    def _changes(self, event: WorkspaceChanged) -> None:
        files = ", ".join(f"{f.path} ({f.status}{'' if f.binary else f', +{f.added} -{f.removed}'})"
                          for f in event.files)
        self.line(f"  changed: {files}")

    def _notice(self, event: Notice) -> None:
        self.paragraph(f"{event.level}: ", event.text)

    def _finished(self, event: RunFinished) -> None:
        tests = {True: "tests pass", False: "tests FAIL", None: "no test command"}[event.tests_passed]
        self.line(f"\n══ run finished: {event.reason} after {plural(event.iterations, 'iteration')}; {tests}; "
                  f"{tokens(event.usage, unreported=event.unreported_calls)}")
        if event.summary:
            self.paragraph("   summary: ", event.summary)
        if event.reason not in ("finished",) and event.detail:
            self.paragraph("   ", event.detail)

    _SAYS: dict[type, Callable[[EventPrinter, Any], None]] = {
        IterationStarted: _started, AssistantMessage: _reply, ToolResult: _result, ReflectionNote: _note,
        ReflectionFallback: _fallback, DriverMessage: _driver, WorkspaceChanged: _changes, Notice: _notice,
        RunFinished: _finished}
    """What each event says in this log (the others, a reply streaming in, say nothing)."""


def _compact_args(arguments: Any) -> str:
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except (json.JSONDecodeError, TypeError):
        return repr(arguments)[:200]
    text = json.dumps(parsed, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."
