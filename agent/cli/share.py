"""Sharing a run: `export` (headless; its flags are in `agent.cli.flags`, and `tui.serve` serves the app)."""

from __future__ import annotations

import argparse
import sys

from agent.export.export import FORMATS, default_output, export_transcript


def cmd_export(args: argparse.Namespace) -> int:
    """`agent-tui export FILE`: exit 0 with the file written, 2 with one line on what is wrong."""
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    if args.format not in FORMATS:
        print(f"agent-tui: --format {args.format!r}: choose one of {', '.join(FORMATS)}", file=sys.stderr)
        return 2
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
    if not out.parent.is_dir():  # a typo in -o makes no folders
        print(f"agent-tui: cannot write {out}: no folder {out.parent}", file=sys.stderr)
        return 2
    try:
        out.write_text(export.text, encoding="utf-8")
    except OSError as exc:
        print(f"agent-tui: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"agent-tui: wrote {out} ({export.redaction})")
    return 0
