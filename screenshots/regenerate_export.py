"""Regenerate `export-page.png`: the page `agent-tui export` writes, as Chromium shows it.

    python screenshots/regenerate_export.py         # only this one; regenerate.py makes all of them

The offline quicksort demo runs headless in a temporary folder, the way a person would do it:

    agent-tui run --headless --task quicksort --out demo.jsonl && agent-tui export demo.jsonl
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HERE = ROOT / "screenshots"

from agent.cli.commands import main as cli  # noqa: E402

sys.path.insert(0, str(HERE))
from regenerate import to_png  # noqa: E402

WINDOW = (1100, 1500)


def main() -> None:
    home = os.getcwd()
    page = HERE / "export-page.html"
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                assert cli(["run", "--headless", "--task", "quicksort", "--out", "demo.jsonl"]) == 0
                assert cli(["export", "demo.jsonl", "-o", str(page)]) == 0
        finally:
            os.chdir(home)
    print(to_png(page, window=WINDOW).relative_to(ROOT))


if __name__ == "__main__":
    main()
