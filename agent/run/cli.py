"""The command line: the table of commands, and the headless ones (each imported when it runs).

`tui.main` adds the commands that open the app; everything here runs without Textual. The flags are in
`agent.run.flags`, the headless run in `agent.run.headless`.
Exit status of a run: 0 when the task's tests pass at the end, 1 when they do not, 2 on a usage or
provider error (with a one-line message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from agent.display.terminal import complain, inert
from agent.display.wording import plural
from agent.models.presets import UsageError
from agent.run.flags import add_ablate_parser, add_fork_parser, add_run_flags, add_share_parsers, add_sweep_parser
from agent.tools.sandbox import make_undumpable
from agent.tools.scratch import sweep
from agent.tasks.suites import SUITES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent-tui",
        description="Watch, step through and check an OpenAI Chat Completions agent loop. "
                    "With no command, opens the app on the offline quicksort demo in step mode.")
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
    return parser


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
    """Headless entry point (the `agent-tui` script goes through `tui.main`, which adds the app)."""
    start_process()
    parser = build_parser()
    args = parser.parse_args(argv)
    return dispatch_headless(parser, args)


def dispatch_headless(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        if args.command == "tasks":
            return cmd_tasks(args.suite)
        if args.command == "check":
            return cmd_check(args.file)
        if args.command == "run":
            from agent.run.headless import cmd_run_headless

            return cmd_run_headless(args)
        if args.command == "ablate":
            from agent.run.ablate import cmd_ablate

            return cmd_ablate(args)
        if args.command == "sweep":
            from agent.run.sweep import cmd_sweep

            return cmd_sweep(args)
        if args.command == "export":
            from agent.run.share import cmd_export

            return cmd_export(args)
        if args.command == "fork":
            from agent.run.headless import cmd_fork

            return cmd_fork(args)
    except UsageError as exc:
        complain(str(exc))
        return 2
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
