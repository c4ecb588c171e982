"""The bundled tasks: small buggy repos with failing tests, and a script that fixes each one.

A task is data, not code: `taskdata/<name>/task.json` says what to ask and how to test, `repo/` is the
starting state, `script.json` is a list of assistant messages that fix it when replayed by the offline
model. The agent never works in `repo/` itself: `prepare_workspace` copies it to a fresh temp folder, so
every run starts from the same buggy state and the package data is never modified.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

TASKDATA = Path(__file__).parent / "taskdata"


class UnknownTaskError(KeyError):
    """A task name that is not bundled; the message lists the names that are."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


@dataclass(frozen=True)
class Task:
    name: str
    goal: str
    """The user message that starts a run."""
    test_cmd: str
    """A shell command run at the workspace root; `{python}` already replaced by this interpreter."""
    description: str
    kind: str
    repo: Path
    script: Path


def _load(folder: Path) -> Task:
    meta = json.loads((folder / "task.json").read_text(encoding="utf-8"))
    # The tests must run with an interpreter that has pytest, which is the one running us, not `python` on PATH.
    test_cmd = meta["test_cmd"].replace("{python}", shlex.quote(sys.executable))
    return Task(name=meta["name"], goal=meta["goal"], test_cmd=test_cmd, description=meta["description"],
                kind=meta["kind"], repo=folder / "repo", script=folder / "script.json")


def list_tasks() -> list[Task]:
    """Every bundled task, sorted by name."""
    return [_load(d) for d in sorted(TASKDATA.iterdir()) if (d / "task.json").is_file()]


def get_task(name: str) -> Task:
    folder = TASKDATA / name
    if "/" in name or "\\" in name or name.startswith(".") or not (folder / "task.json").is_file():
        names = ", ".join(t.name for t in list_tasks())
        raise UnknownTaskError(f"unknown task {name!r}; available tasks: {names}")
    return _load(folder)


def prepare_workspace(task: Task | str, parent: Path | None = None) -> Path:
    """A fresh copy of the task's starting repo in a new temp folder (under `parent` if given)."""
    if isinstance(task, str):
        task = get_task(task)
    dest = Path(tempfile.mkdtemp(prefix=f"agent-tui-{task.name}-", dir=parent))
    shutil.copytree(task.repo, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc"))
    return dest
