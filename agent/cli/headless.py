"""`agent-tui run --headless`: the run printed as it happens, in the words the app and the export use."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TextIO

from agent.display.folding import FOLD_FROM, clip_line, fold_text
from agent.display.terminal import complain, inert
from agent.display.wording import plural
from agent.events import EXIT_2_REASONS, Event
from agent.run.runner import Run, build_run, run_options
from agent.view.describe import Body, Description, Line, describe_item, describe_title
from agent.view.model import Block, TranscriptModel, readable_arguments


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
    """Drive a prepared run to its end, printing its events. Exit status: 0 when the tests pass at the end, 1
    when they do not, 2 when the run ended on an error."""
    out = out or sys.stdout
    out.write(inert(f"agent-tui: {run.header.provider} / {run.header.model}, task {run.header.task or 'custom'}, "
                    f"workspace {run.workspace}") + "\n")  # a forked file's header names the model: hostile text
    out.write(inert(f"agent-tui: transcript {run.path}") + "\n")
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
    """Prints a run as it happens, in the words the app and the export use: each event goes into the run's
    view model (`agent.view.model`) as it is published, and what it added is printed at once through
    `agent.view.describe`: a block's title when the block starts (an iteration, the start, the end), then
    each of its items (the request, the reply, each call before its tool runs, each result, a note...).
    Nothing is printed twice and nothing waits for the run's end: a run killed mid-way has printed every
    event it recorded. Only the layout is this log's: plain lines, every one inert (model and tool text never
    reach the terminal as control sequences), long texts folded around the lines that carry a failure (the
    full texts are in the transcript)."""

    REPLY_LINES = 40
    """A text read rather than skimmed (a reply, a note, a summary) is folded past this many lines."""
    FIRST_LINE = 400
    """The most of a line printed beside a label (a head, a notice, a trigger's evidence, a summary's first line)."""
    RULES = {"iteration": "──", "start": "──", "finish": "══"}
    """What opens a block's title line, by the block's kind."""
    MARGINS = {"": "", "note": "┊ "}
    """What runs down the left of a body, by its margin (any other margin, a solid bar: `│ `)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.model = TranscriptModel(use_default_checker=False)
        """The run so far (the ordering check is `agent-tui check`'s: a run's own history keeps the rules)."""

    def line(self, text: str = "") -> None:
        self.out.write(inert(text) + "\n")
        self.out.flush()

    def block(self, text: str, prefix: str, fold_from: int = FOLD_FROM) -> None:
        """`text` folded, each line after `prefix`."""
        for line in fold_text(text, fold_from=fold_from).split("\n"):
            self.line(prefix + line)

    def paragraph(self, label: str, text: str, fold_from: int = FOLD_FROM) -> None:
        """`label` and the first line of `text`, cut at FIRST_LINE characters, the rest folded below it, under
        the label's indent: a 5 MB reply or notice is never printed whole (the transcript keeps it)."""
        first, _, rest = text.partition("\n")
        line, cut = clip_line(first, self.FIRST_LINE)
        self.line(label + line + (f" … ({plural(cut, 'more character')})" if cut else ""))
        if rest:
            self.block(rest, " " * (len(label) - len(label.lstrip()) + 2), fold_from=fold_from)

    def show(self, event: Event) -> None:
        """Add one event to the run and print what it added: the title of a block it starts, and its items."""
        b, new = self.model.add(event)
        block = self.model.blocks[b]
        if new:
            self.title(block)
        pos = len(block.events) - 1
        for item in block.get_items():  # a call is printed as its tool starts, its result when it ends
            if item.pos == pos:
                self.item(describe_item(block, item, self.model, running=True))

    def title(self, block: Block) -> None:
        """A block's title as it starts: an iteration's number (what it did is said by its items, as they
        come), the start's roles and goal, or how the run ended with its verdict and tokens."""
        said = describe_title(block, self.model, live=True)
        parts = [f"iteration {block.number}"] if block.kind == "iteration" else []
        parts += [part.text for part in (said.head, *said.details, *said.badges)] + said.right
        self.line()
        self.paragraph(f"{self.RULES.get(block.kind, '──')} ", " · ".join(p for p in parts if p))

    def item(self, desc: Description) -> None:
        """One item: its head (label, name, id, meta, marks), then its rows under it."""
        if desc.kind == "notice":  # its text is its head
            self.paragraph(f"{ITEM_INDENT}{desc.label.text} {desc.name}: ", desc.text)
            return
        marks = [m.text for m in desc.marks if m.style != "running"]  # live state: the result follows in the log
        head = [desc.label.text, desc.name, desc.call_id or "", " · ".join(desc.meta), *marks]
        self.paragraph(ITEM_INDENT, "  ".join(p for p in head if p))
        for row in desc.rows:
            if isinstance(row, Body):
                self.body(row)
            else:
                self.labelled(row)

    def labelled(self, row: Line) -> None:
        """A labelled line: evidence by its first line only (the text it quotes is printed above it)."""
        label = BODY_INDENT + self.MARGINS.get(row.margin, "│ ") + row.label.text
        if row.text is None:
            self.line(label)
        elif row.brief:
            if row.text.text:
                self.paragraph(label + ": ", row.text.text.split("\n", 1)[0])
        else:
            self.paragraph(label + ": ", row.text.text)

    def body(self, body: Body) -> None:
        """A text under its item, after its heading or name when it has one: beside it when it is one line,
        else on lines of its own below it."""
        fold_from = self.REPLY_LINES if body.whole else FOLD_FROM
        text = (readable_arguments(body.text)[0] if body.kind == "arguments" else body.text).strip("\n")
        label = (body.heading.label.text if body.heading is not None else body.name).rstrip(":")
        if label and "\n" not in text:
            self.paragraph(BODY_INDENT + label + ": ", text)
            return
        if label:
            self.line(BODY_INDENT + label + ":")
        if text.strip():
            indent = BODY_INDENT + ("  " if label else "")
            self.block(text, indent + self.MARGINS.get(body.margin, "│ "), fold_from=fold_from)


ITEM_INDENT = "  "
"""An item's head under its block's title."""
BODY_INDENT = "    "
"""An item's text under its head."""
