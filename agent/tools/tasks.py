"""What a task is, the bundled tasks, and the two folders a run of one needs: its workspace and its verdict.

A task is data, not code: the files of a buggy starting state, which of them are its tests, the command
that runs them, and a reference fix (assistant messages that the offline model replays). The bundled tasks
live in `taskdata/<name>/` (`task.json`, `repo/`, `script.json`); other suites build theirs at run time
(agent.tools.humanevalfix). The agent never works on the task's files themselves: `prepare_workspace`
writes them to a fresh temp folder, so every run starts from the same state.

The verdict is not the agent's word, nor its workspace's tests: `agent.tools.verdict` runs `verdict_cmd`,
exactly the task's original test files with no conftest or ini file of the workspace's, on a copy of the
workspace with those files put back, so an agent that rewrote a test to `assert True` still fails.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.tools.scratch import scratch_folder

TASKDATA = Path(__file__).parent / "taskdata"
PYTEST = ('PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {python} -P -B -m pytest -q -p no:cacheprovider '
          '--junitxml="$AGENT_TUI_JUNIT"')
"""How the tasks run their tests (`{pytest}` in a task's test_cmd): with this interpreter (it has pytest),
which `-P` keeps from importing a `pytest.py` of the workspace's; no plugins of the user's (they would slow
every run and change what it does); a JUnit report that says what ran (agent.tools.testrun)."""


class UnknownTaskError(KeyError):
    """A task name that does not exist; the message lists the names that do."""

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
    files: dict[str, bytes] = field(repr=False)
    """The starting workspace: relative path (forward slashes) to content."""
    tests: tuple[str, ...]
    """The test files among `files`: the verdict runs these, as they were."""
    script: list[dict[str, Any]] = field(repr=False)
    """The reference fix: assistant messages (Chat Completions format) for the scripted model."""

    @property
    def verdict_cmd(self) -> str:
        """The task's original test files run by pytest, ignoring any conftest.py or ini file."""
        return self._pristine()

    @property
    def collect_cmd(self) -> str:
        """What `verdict_cmd` would run, listed without running it: how many tests the verdict must see pass."""
        return self._pristine("--collect-only")

    def _pristine(self, *flags: str) -> str:
        files = " ".join(shlex.quote(t) for t in self.tests)
        return " ".join([with_python(PYTEST), "--noconftest -c /dev/null --rootdir .", *flags, "--", files])


def with_python(cmd: str) -> str:
    """A task's test command for this machine: `{pytest}` is how tasks run pytest, `{python}` the
    interpreter running us (it has pytest; `python` on PATH may not)."""
    return cmd.replace("{pytest}", PYTEST).replace("{python}", shlex.quote(sys.executable))


def is_test_file(path: str) -> bool:
    """pytest's own rule for a test module: test_*.py or *_test.py."""
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _load(folder: Path) -> Task:
    meta = json.loads((folder / "task.json").read_text(encoding="utf-8"))
    repo = folder / "repo"
    files = {p.relative_to(repo).as_posix(): p.read_bytes() for p in sorted(repo.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts}
    return Task(name=meta["name"], goal=meta["goal"], test_cmd=with_python(meta["test_cmd"]),
                description=meta["description"], kind=meta["kind"], files=files,
                tests=tuple(p for p in files if is_test_file(p)),
                script=json.loads((folder / "script.json").read_text(encoding="utf-8")))


def list_tasks() -> list[Task]:
    """Every bundled task, sorted by name."""
    return [_load(d) for d in sorted(TASKDATA.iterdir()) if (d / "task.json").is_file()]


def get_task(name: str) -> Task:
    """A bundled task by name (agent.tools.suites finds the tasks of every suite)."""
    folder = TASKDATA / name
    if "/" in name or "\\" in name or name.startswith(".") or not (folder / "task.json").is_file():
        names = ", ".join(t.name for t in list_tasks())
        raise UnknownTaskError(f"unknown task {name!r}; available tasks: {names}")
    return _load(folder)


def write_files(files: dict[str, bytes], dest: Path) -> None:
    for rel, content in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def prepare_workspace(task: Task | str, parent: Path | None = None) -> Path:
    """A fresh copy of the task's starting files in a new scratch folder (under `parent` if given)."""
    if isinstance(task, str):
        task = get_task(task)
    dest = scratch_folder(task.name, parent)
    write_files(task.files, dest)
    return dest
