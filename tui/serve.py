"""`agent-tui serve`: the same app in a browser, through textual-serve.

textual-serve starts one app process per browser tab (`agent-tui open FILE`, or the demo) and carries
its screen and keys over a websocket. It listens on 127.0.0.1 unless `--host` says otherwise: the app can
start runs, so a wider address is the user's explicit choice, and is said out loud.
"""

from __future__ import annotations

import argparse
import shlex
import sys

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_command(args: argparse.Namespace) -> list[str]:
    """The command each browser tab runs: this Python, the app, on FILE or DIR (or the demo)."""
    command = [sys.executable, "-m", "tui.main"]
    return command + (["open", str(args.file.resolve())] if args.file is not None else [])


def serve_app(args: argparse.Namespace) -> int:
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    if not 0 < args.port < 65536:
        print(f"agent-tui: --port {args.port}: expected 1 to 65535", file=sys.stderr)
        return 2
    if args.file is not None and not args.file.is_dir():
        try:
            open_transcript(args.file)  # a bad file is a one-line error here, not a broken page later
        except TranscriptError as exc:
            print(f"agent-tui: {exc}", file=sys.stderr)
            return 2
    from textual_serve.server import Server

    if args.host not in LOOPBACK:
        print(f"agent-tui: listening on {args.host}: anyone who reaches this address gets the app", file=sys.stderr)
    title = f"agent-tui {args.file.name}" if args.file is not None else "agent-tui"
    server = Server(shlex.join(serve_command(args)), host=args.host, port=args.port, title=title,
                    public_url=args.public_url)
    server.serve()
    return 0
