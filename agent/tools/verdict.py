"""The verdict on a run: the task's original tests, run against the code the agent left, judged by their report.

`verdict_folder` copies the workspace (`agent.tools.trees.copy_tree`: no FIFO, socket or device a command
left there, however deep) and puts the task's original test files back; `judge` runs `task.verdict_cmd` on the
copy, in the run's sandbox, and passes only when the JUnit report says that every one of those tests ran
and passed. How many must run is learnt once per task by listing the pristine tests against the task's own
starting files (`expected_tests`), before any code of the agent's is involved.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from agent.tools.sandbox import Sandbox
from agent.tools.scratch import scratch_folder
from agent.tools.tasks import Task, write_files
from agent.tools.testrun import TestRun, run_tests
from agent.tools.trees import CACHES, copy_tree, remove_tree
from agent.tools.workspace import Workspace

_COLLECTED = re.compile(r"^(\d+) tests? collected", re.MULTILINE)
_expected: dict[str, int | None] = {}
"""Tests each task's pristine files hold, by a digest of the task's files and the command that lists them."""


def verdict_folder(task: Task, workspace: Path) -> Path:
    """A copy of the workspace with the task's original test files put back, for `task.verdict_cmd`.
    Links are copied as links (not followed); caches, FIFOs, sockets and devices are left out. The
    caller removes it (`agent.tools.trees.remove_tree`)."""
    dest = scratch_folder(f"verdict-{task.name}")
    copy_tree(workspace, dest, skip=CACHES)
    for rel in task.tests:  # whatever stands where a test file or its folders go (a link, a folder) goes
        path = dest
        for part in rel.split("/"):
            path = path / part
            last = path == dest / rel
            if path.is_symlink() or (path.exists() and (path.is_dir() if last else not path.is_dir())):
                remove_tree(path)
    write_files({rel: task.files[rel] for rel in task.tests}, dest)
    return dest


async def expected_tests(task: Task, sandbox: Sandbox, timeout: float = 120) -> int | None:
    """How many tests the task's pristine test files hold, listed against its own starting files; None
    when they cannot be listed (then the verdict asks for at least one)."""
    key = hashlib.sha256(repr((task.collect_cmd, sorted(task.files.items()))).encode()).hexdigest()
    if key not in _expected:
        folder = scratch_folder(f"collect-{task.name}")
        try:
            write_files(task.files, folder)
            listed = await Workspace(folder, sandbox).run(task.collect_cmd, timeout=timeout)
        finally:
            remove_tree(folder)
        found = _COLLECTED.search(listed.output)
        if found is None and not listed.ok:
            return None  # not cached: the harness may work next time
        _expected[key] = int(found.group(1)) if found else None
    return _expected[key]


async def judge(task: Task, workspace: Path, sandbox: Sandbox, timeout: float = 120) -> TestRun:
    """Run the task's original tests against the workspace's code (in a copy) and judge them."""
    expected = await expected_tests(task, sandbox, timeout)
    folder = verdict_folder(task, workspace)
    try:
        return await run_tests(Workspace(folder, sandbox), task.verdict_cmd, timeout, expected=expected)
    finally:
        remove_tree(folder)
