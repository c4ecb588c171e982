"""The `agent-tui` command: the app for `agent-tui`, `run`, `open` (a file, or a folder of runs) and `compare`;
everything else headless."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from agent.display.terminal import complain
from agent.display.wording import plural
from agent.cli.commands import build_parser, fork_headless, run_command, run_headless, start_process
from agent.models.presets import UsageError
from tui.collector import starting

if TYPE_CHECKING:
    from textual.screen import Screen

    from agent.run.runner import Run


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 140x45") from None
    if width < 20 or height < 5:
        raise UsageError(f"--size {text!r}: too small (at least 20x5)")
    return width, height


def _show(screen: Screen[Any], args: argparse.Namespace | None) -> int:
    """Run the app on `screen` (or save its first screen to --snapshot). Non-zero when the app crashed."""
    from tui.app import AgentTuiApp

    app = AgentTuiApp(screen)
    if args is not None and getattr(args, "snapshot", None):
        from tui.snapshot import render_svg

        asyncio.run(render_svg(app, Path(args.snapshot), _size(args.size)))
        print(f"agent-tui: wrote {args.snapshot}")
        return 0
    app.run()
    return app.return_code or 0


def open_folder(args: argparse.Namespace) -> int:
    """`open DIR`: the runs of a folder; enter opens one, space marks two, c compares them."""
    from agent.transcripts.runs import discover_runs
    from tui.screens.runs import RunsScreen

    folder = Path(args.file)
    runs = discover_runs(folder)
    if not runs.entries:
        skipped = f" ({runs.skipped_text()})" if runs.skipped else ""
        complain(f"{folder}: no transcript in this folder or its subfolders{skipped}")
        return 2
    _size(args.size)  # a bad --size is a usage error before anything runs
    return _show(RunsScreen(folder, runs, eager=bool(args.snapshot)), args)


def compare_app(args: argparse.Namespace) -> int:
    """`compare FIRST SECOND`: two transcripts side by side, aligned by iteration."""
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    try:
        first, second = open_transcript(args.first), open_transcript(args.second)
    except TranscriptError as exc:
        complain(str(exc))
        return 2
    from tui.screens.compare import CompareScreen

    _size(args.size)  # a bad --size is a usage error before anything runs
    return _show(CompareScreen(first, second, label_a=str(args.first), label_b=str(args.second)), args)


def open_app(args: argparse.Namespace) -> int:
    """`open FILE`: a saved transcript, ours or another tool's."""
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    if Path(args.file).is_dir():
        return open_folder(args)
    from agent.transcripts.importers import sessions_of

    try:
        runs = sessions_of(args.file) if Path(args.file).is_file() else None
    except TranscriptError:
        runs = None  # opening it says what is wrong
    if runs is not None and len(runs) > 1:  # an Inspect log of many samples: its samples, each openable
        return open_folder(args)

    try:
        transcript = open_transcript(args.file, in_steps=True)  # a big file: the first screen, then the rest
        from tui.screens.transcript import TranscriptScreen

        # A file with no ending may still be written by a run: follow it (not for a snapshot).
        follow = None if args.snapshot else Path(args.file)
        screen = TranscriptScreen(transcript=transcript, title=str(args.file), follow=follow)
        screen.load()  # its first step: a broken line there is a line on the terminal, before the app
    except TranscriptError as exc:
        complain(str(exc))
        return 2
    return _show(screen, args)


def live_app(run: Run, keep_workspace: bool = False) -> int:
    """`agent-tui` (the demo), `run` or `fork` without --headless: the loop, live."""
    from agent.events import EXIT_2_REASONS
    from tui.screens.transcript import TranscriptScreen

    code = _show(TranscriptScreen(run=run), None)
    done = run.finished
    print(f"agent-tui: transcript {run.path}" + (f" ({done.reason}, {plural(done.iterations, 'iteration')})"
                                                 if done else ""))
    run.release_workspace(keep_workspace)  # the copy of a bundled task; nobody else will look at it
    if code:
        return code
    # Quitting the app is not a failure; only a run that could not talk to its model is.
    return 2 if done is not None and done.reason in EXIT_2_REASONS else 0


def demo_app(args: argparse.Namespace) -> int:
    """`agent-tui`: the quicksort demo in step mode (offline, or the first provider whose key is set)."""
    from agent.run.runner import demo_run

    return live_app(demo_run(step_mode=True))


def run_app(args: argparse.Namespace) -> int:
    """`run`: the loop in the app (`--headless` prints it instead)."""
    if args.headless:
        return run_headless(args)
    from agent.run.runner import build_run, run_options

    return live_app(build_run(run_options(args, step_mode="continuous" if args.continuous else "step")),
                    args.keep_workspace)


def fork_app(args: argparse.Namespace) -> int:
    """`fork`: the fork in the app (`--headless` and `--each-note` run without it)."""
    if args.headless or args.each_note:
        return fork_headless(args)
    from agent.run.fork import build_fork, fork_spec

    return live_app(build_fork(fork_spec(args)), args.keep_workspace)


def serve(args: argparse.Namespace) -> int:
    from tui.serve import serve_app

    return serve_app(args)


def _starting(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def started(args: argparse.Namespace) -> int:
        with starting():
            return command(args)
    return started


APP: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: demo_app, "run": run_app, "fork": fork_app, "open": _starting(open_app),
    "compare": _starting(compare_app), "serve": serve}
"""The commands that open the app (the key None: no command); the others are agent.cli's."""


def main(argv: list[str] | None = None) -> int:
    start_process()
    return run_command(build_parser(APP).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
