"""Sharing a run: the flags of `export` and `serve`, and `export` itself (headless; `tui.serve` serves the app)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.transcripts.export import FORMATS, default_output, export_transcript


def add_share_parsers(sub: Any) -> None:
    ex = sub.add_parser("export", help="write a transcript as one HTML page, Markdown, or a plain message list "
                                       "(secrets redacted)")
    ex.add_argument("file", type=Path, help="any transcript `open` reads")
    ex.add_argument("--format", choices=FORMATS, default="html", help="html (default), md or json")
    ex.add_argument("-o", "--out", type=Path, metavar="OUT",
                    help="output file, - for standard output (default: beside FILE, e.g. run.html)")
    ex.add_argument("--no-redact", dest="redact", action="store_false",
                    help="keep API keys, tokens and passwords as they are")
    sv = sub.add_parser("serve", help="the app in a browser (textual-serve)")
    sv.add_argument("file", type=Path, nargs="?", help="a transcript or a folder of runs (default: the demo)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="default 8000")
    sv.add_argument("--public-url", help="the URL browsers reach the server by, when it is not http://HOST:PORT")


def cmd_export(args: argparse.Namespace) -> int:
    """`agent-tui export FILE`: exit 0 with the file written, 2 with one line on what is wrong."""
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    try:
        transcript = open_transcript(args.file)
    except TranscriptError as exc:
        print(f"agent-tui: {exc}", file=sys.stderr)
        return 2
    out = args.out or default_output(args.file, args.format)
    if str(out) != "-" and out.resolve() == args.file.resolve():
        print(f"agent-tui: {out}: is the transcript itself; give another -o", file=sys.stderr)
        return 2
    export = export_transcript(transcript, args.format, redact=args.redact)
    if str(out) == "-":
        sys.stdout.write(export.text)
        print(f"agent-tui: {export.redaction}", file=sys.stderr)
        return 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(export.text, encoding="utf-8")
    except OSError as exc:
        print(f"agent-tui: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"agent-tui: wrote {out} ({export.redaction})")
    return 0
