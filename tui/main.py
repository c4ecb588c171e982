"""The `agent-tui` command: the app for `agent-tui`, `run`, `open` (a file, or a folder of runs) and `compare`;
everything else headless."""

from __future__ import annotations

import argparse
import gc
import asyncio
import sys
from pathlib import Path

from agent.run.cli import build_parser, dispatch_headless, run_options
from agent.models.presets import UsageError


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 140x45") from None
    if width < 20 or height < 5:
        raise UsageError(f"--size {text!r}: too small (at least 20x5)")
    return width, height


def _snapshot(app: object, args: argparse.Namespace) -> int:
    from tui.snapshot import render_svg

    size = _size(args.size)
    asyncio.run(render_svg(app, Path(args.snapshot), size))  # type: ignore[arg-type]
    print(f"agent-tui: wrote {args.snapshot}")
    return 0


def open_folder(args: argparse.Namespace) -> int:
    """`open DIR`: the runs of a folder; enter opens one, space marks two, c compares them."""
    from tui.screens.runs import RunsApp, browse_folder, discover_runs

    folder = Path(args.file)
    if args.snapshot:
        entries = discover_runs(folder)
        if not entries:
            print(f"agent-tui: {folder}: no *.jsonl transcripts in this folder (nor in {folder / 'runs'})",
                  file=sys.stderr)
            return 2
        return _snapshot(RunsApp(folder, entries, eager=True), args)
    return browse_folder(folder)


def compare_app(args: argparse.Namespace) -> int:
    """`compare FIRST SECOND`: two transcripts side by side, aligned by iteration."""
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    try:
        first, second = open_transcript(args.first), open_transcript(args.second)
    except TranscriptError as exc:
        print(f"agent-tui: {exc}", file=sys.stderr)
        return 2
    from tui.widgets.compare_view import CompareApp

    _size(args.size)  # a bad --size is a usage error before anything runs
    app = CompareApp(first, second, label_a=str(args.first), label_b=str(args.second))
    if args.snapshot:
        return _snapshot(app, args)
    app.run()
    return 0


def open_app(args: argparse.Namespace) -> int:
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    if Path(args.file).is_dir():
        return open_folder(args)

    gc.disable()  # loading makes many objects and frees none: collections here are pure cost
    try:
        transcript = open_transcript(args.file)
        from tui.screens.transcript import AgentTuiApp

        app = AgentTuiApp(transcript=transcript, title=str(args.file))
    except TranscriptError as exc:
        print(f"agent-tui: {exc}", file=sys.stderr)
        return 2
    finally:
        gc.enable()
    if args.snapshot:
        return _snapshot(app, args)
    app.run()
    return 0


def live_app(args: argparse.Namespace | None) -> int:
    from agent.run.runner import build_run, demo_run

    if args is None:
        run = demo_run(step_mode=True)
    else:
        run = build_run(run_options(args, step_mode="continuous" if args.continuous else "step"))
    from tui.screens.transcript import AgentTuiApp

    app = AgentTuiApp(run=run)
    app.run()
    done = run.finished
    print(f"agent-tui: transcript {run.path}" + (f" ({done.reason}, {done.iterations} iterations)" if done else ""))
    # Quitting the app is not a failure; only a run that could not talk to its model is.
    return 2 if done is not None and done.reason in ("provider_error", "error") else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return live_app(None)
        if args.command == "open":
            return open_app(args)
        if args.command == "compare":
            return compare_app(args)
        if args.command == "run" and not args.headless:
            return live_app(args)
    except UsageError as exc:
        print(f"agent-tui: {exc}", file=sys.stderr)
        return 2
    return dispatch_headless(parser, args)


if __name__ == "__main__":
    sys.exit(main())
