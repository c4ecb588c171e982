"""The command line: one table of commands, each parser with the function that runs it (`func`, imported
only when it runs, so that `agent-tui open` pays for neither the provider stack nor the ablation runner).

`build_parser(app=...)` is the table; `tui.main` hands it the commands that open the app (which fall back
here for `--headless`), `python -m agent.cli` uses it as it is, without Textual. The flags are in
`agent.cli.flags`, the headless run in `agent.cli.headless`.
Exit status of a run: 0 when the task's tests pass at the end, 1 when they do not, 2 on a usage or
provider error (with a one-line message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Mapping, TextIO

from agent.display.terminal import complain, inert
from agent.display.wording import plural
from agent.models.presets import UsageError
from agent.cli.flags import add_ablate_parser, add_fork_parser, add_run_flags, add_share_parsers, add_sweep_parser
from agent.tools.sandbox import make_undumpable
from agent.tools.scratch import sweep
from agent.tasks.suites import SUITES


Command = Callable[[argparse.Namespace], int]
APP_ONLY = ("open", "compare", "serve")
"""Commands that are the app: without it (`python -m agent.cli`) they say so."""


def build_parser(app: Mapping[str | None, Command] | None = None) -> argparse.ArgumentParser:
    """Every command and its flags, each with its `func`: the app's where `app` gives one (the key None:
    no command), else the headless one here."""
    parser = argparse.ArgumentParser(
        prog="agent-tui",
        description="Watch, step through and check an OpenAI Chat Completions agent loop. "
                    "With no command, opens the app on the offline quicksort demo in step mode.")
    app = app or {}
    parser.set_defaults(func=app.get(None, _needs_app))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the agent on a task (in the app, or --headless)")
    add_run_flags(run)
    run.add_argument("--headless", action="store_true", help="print events instead of opening the app")
    run.add_argument("--continuous", action="store_true", help="in the app: start running instead of stepping")
    add_fork_parser(sub)
    tasks = sub.add_parser("tasks", help="list the tasks of a suite (default: the bundled ones)")
    tasks.add_argument("--suite", default="bundled", choices=SUITES,
                       help="bundled (default), or humanevalfix: HumanEval's problems as repair tasks")
    add_ablate_parser(sub)
    add_sweep_parser(sub)
    check = sub.add_parser("check", help="check a transcript against the Chat Completions ordering rules")
    check.add_argument("file", type=Path)
    op = sub.add_parser("open", help="inspect a saved transcript in the app (or a folder of runs: pick one or two)")
    op.add_argument("file", type=Path, help="a transcript file, or a folder of runs such as an ablation's --out")
    op.add_argument("--snapshot", type=Path, metavar="OUT.svg", help="render the first screen to an SVG and exit")
    op.add_argument("--size", default="140x45", help="terminal size for --snapshot, WxH (default 140x45)")
    cmp = sub.add_parser("compare", help="two transcripts side by side, aligned by iteration")
    cmp.add_argument("first", type=Path)
    cmp.add_argument("second", type=Path)
    cmp.add_argument("--snapshot", type=Path, metavar="OUT.svg", help="render the first screen to an SVG and exit")
    cmp.add_argument("--size", default="160x45", help="terminal size for --snapshot, WxH (default 160x45)")
    add_share_parsers(sub)
    headless: dict[str, Command] = {
        "run": run_headless, "fork": fork_headless, "tasks": lambda args: cmd_tasks(args.suite),
        "check": lambda args: cmd_check(args.file), "ablate": ablate, "sweep": sweep_notes, "export": export,
        **{name: _needs_app for name in APP_ONLY}}
    for name, choice in sub.choices.items():
        choice.set_defaults(func=app.get(name, headless[name]))
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Run what the parsed command line asks for; a usage error is one line on stderr and exit 2."""
    try:
        return args.func(args)
    except UsageError as exc:
        complain(str(exc))
        return 2


def _needs_app(args: argparse.Namespace) -> int:
    complain(f"{args.command or 'the demo'} opens the app: run it as agent-tui {args.command or ''}".rstrip())
    return 2


def run_headless(args: argparse.Namespace) -> int:
    from agent.cli.headless import cmd_run_headless

    return cmd_run_headless(args)


def fork_headless(args: argparse.Namespace) -> int:
    from agent.cli.headless import cmd_fork

    return cmd_fork(args)


def ablate(args: argparse.Namespace) -> int:
    from agent.experiments.ablate import cmd_ablate

    return cmd_ablate(args)


def sweep_notes(args: argparse.Namespace) -> int:
    from agent.experiments.sweep import cmd_sweep

    return cmd_sweep(args)


def export(args: argparse.Namespace) -> int:
    from agent.cli.share import cmd_export

    return cmd_export(args)


def cmd_tasks(suite: str = "bundled", out: TextIO | None = None, err: TextIO | None = None) -> int:
    """One task per line: name, kind, (humanevalfix) its dev/test split, description; a built suite's kept and
    skipped counts, and its split, on stderr."""
    out = out or sys.stdout
    err = err or sys.stderr
    from agent.tasks.suites import suite_tasks

    def report(text: str) -> None:
        print(text, file=err)

    try:
        tasks = suite_tasks(suite, report)
    except KeyError as exc:  # the suite's package is missing
        complain(str(exc), err)
        return 2
    if suite == "humanevalfix":  # its dev/test split, as `ablate --tasks humanevalfix:dev` selects it
        from agent.tasks.humanevalfix import split_of

        splits = [split_of(int(task.name.rsplit("/", 1)[1])) for task in tasks]
        for task, split in zip(tasks, splits):
            out.write(f"{task.name:<16} {task.kind:<12} {split:<4} {task.description}\n")
        print(f"split: {splits.count('dev')} dev (--tasks humanevalfix:dev), {splits.count('test')} test "
              "(humanevalfix:test), fixed by a hash of each task's name", file=err)
        return 0
    for task in tasks:
        out.write(f"{task.name:<16} {task.kind:<12} {task.description}\n")
    return 0


def cmd_check(path: Path, out: TextIO | None = None) -> int:
    """Check one transcript, or each run of a file that holds many (an Inspect log's samples): the worst
    exit status of them."""
    from agent.transcripts.importers import sessions_of
    from agent.transcripts.transcript import TranscriptError

    try:
        sessions = sessions_of(path) if path.is_file() else None
    except TranscriptError:
        sessions = None  # check_file says what is wrong with it
    if sessions and len(sessions) > 1:
        return max(_check_one(path.with_name(f"{path.name}#{s.member}"), out) for s in sessions)
    return _check_one(path, out)


def _check_one(path: Path, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from agent.transcripts.importers import check_file
    from agent.transcripts.transcript import TranscriptError

    try:
        report = check_file(path)
    except TranscriptError as exc:
        complain(str(exc))
        return 2
    transcript, violations = report.transcript, report.violations
    for warning in transcript.warnings:
        out.write(inert(f"warning: {warning}\n"))
    count = plural(len(transcript.messages()), "message")
    stopped = f"{path}: {report.unanswered_text()}\n" if report.unanswered else ""
    if not violations:
        out.write(inert(f"{path}: ok ({count}, {plural(len(transcript.iterations), 'iteration')}, ordering clean)\n"
                        + stopped))
        return 0
    for v in violations:
        out.write(inert(f"{path}: {v}\n"))
    out.write(inert(stopped + f"{path}: {plural(len(violations), 'ordering violation')} in {count}\n"))
    return 1


def start_process() -> None:
    """What every agent-tui process does first: make itself non-dumpable (a process of the same user cannot
    read its memory or environment, where the API key is), and remove what runs killed before they could
    clean up left in the scratch folder (workspaces, verdict copies)."""
    make_undumpable()
    sweep()


def main(argv: list[str] | None = None) -> int:
    """Headless entry point, `python -m agent.cli` (the `agent-tui` script goes through `tui.main`, which
    adds the app)."""
    start_process()
    return run_command(build_parser().parse_args(argv))
