"""The code's own safety net, as pyproject.toml configures each tool, over agent/ and tui/: the types check
(mypy), the lint rules and the complexity bound hold (ruff), and the imports keep to the layers, the engine
never importing the app (import-linter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(sys.executable).parent
"""Where the test extra installed the tools (the interpreter's own scripts folder)."""


def check(tool: str, *args: str) -> str:
    """Run `tool` at the repository's root; its output when it passes, else the test fails with it."""
    done = subprocess.run([str(SCRIPTS / tool), *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{tool} {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


@pytest.mark.timeout(600)  # a first run on a busy machine, with no cache yet
def test_the_types_check() -> None:
    assert "Success: no issues found" in check("mypy")


def test_lint_and_complexity() -> None:
    check("ruff", "check", "agent", "tui")


def test_the_imports_keep_to_the_layers() -> None:
    out = check("lint-imports")
    assert "0 broken" in out and "agent never imports tui KEPT" in out and "layers KEPT" in out
