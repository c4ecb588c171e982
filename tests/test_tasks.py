"""The bundled tasks: each one fails on a fresh copy, and its script fixes it through the real tools."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from agent.tools.tasks import TASKDATA, UnknownTaskError, get_task, list_tasks, prepare_workspace
from agent.tools.toolbox import Toolbox
from agent.tools.workspace import Workspace

pytestmark = pytest.mark.real_pytest  # about running the tasks' tests: pytest itself, not the stand-in

TASK_NAMES = ["config_merge", "quicksort", "todo_cli", "wordcount"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_list_and_get_tasks() -> None:
    tasks = list_tasks()
    assert [t.name for t in tasks] == TASK_NAMES
    assert len({t.kind for t in tasks}) == len(tasks)
    for task in tasks:
        assert get_task(task.name) == task
        assert task.goal and task.description and task.kind
        assert task.files and task.script
        assert task.tests and all(t in task.files and t.startswith("test_") for t in task.tests)
        assert "{python}" not in task.test_cmd and sys.executable in task.test_cmd


@pytest.mark.parametrize("name", ["nope", "../quicksort", "quicksort/repo", ""])
def test_unknown_task(name: str) -> None:
    with pytest.raises(KeyError) as exc:
        get_task(name)
    assert isinstance(exc.value, UnknownTaskError)
    assert str(exc.value) == f"unknown task {name!r}; available tasks: {', '.join(TASK_NAMES)}"


def test_prepare_workspace_gives_fresh_copies(tmp_path: Path) -> None:
    task = get_task("quicksort")
    first = prepare_workspace(task, tmp_path)
    second = prepare_workspace("quicksort", tmp_path)
    assert first != second and first.parent == second.parent == tmp_path
    assert first.name.startswith(f"quicksort-{os.getpid()}-")  # swept once this process is gone
    assert snapshot(first) == task.files == snapshot(second)
    assert task.files == snapshot(TASKDATA / "quicksort" / "repo")
    (first / "quicksort.py").write_text("changed")
    assert (second / "quicksort.py").read_text() != "changed"
    assert get_task("quicksort").files["quicksort.py"] != b"changed"


def test_quicksort_script_shape() -> None:
    turns = [[(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in m["tool_calls"]]
             for m in get_task("quicksort").script]
    assert turns[0] == [("list_files", {"path": "."}), ("read_file", {"path": "quicksort.py"})]
    assert [[name for name, _ in t] for t in turns[1:]] == [
        ["run_tests"], ["read_file"], ["edit_file"], ["run_tests"], ["finish"]]
    assert turns[2][0][1] == {"path": "test_quicksort.py"}
    assert turns[3][0][1]["path"] == "quicksort.py"


@pytest.mark.parametrize("name", TASK_NAMES)
def test_script_is_well_formed(name: str) -> None:
    script = get_task(name).script
    ids = []
    for message in script:
        assert message["role"] == "assistant" and isinstance(message["content"], str)
        for c in message["tool_calls"]:
            assert c["type"] == "function" and c["id"].startswith("call_")
            assert isinstance(c["function"]["arguments"], str)
            assert isinstance(json.loads(c["function"]["arguments"]), dict)
            ids.append(c["id"])
    assert len(ids) == len(set(ids))
    assert any(len(m["tool_calls"]) >= 2 for m in script)
    assert script[-1]["tool_calls"][-1]["function"]["name"] == "finish"


@pytest.mark.parametrize("name", TASK_NAMES)
async def test_script_fixes_the_task(name: str, tmp_path: Path) -> None:
    task = get_task(name)
    pristine = snapshot(TASKDATA / name / "repo")
    box = Toolbox(Workspace(prepare_workspace(task, tmp_path)), task.test_cmd, test_timeout=120)

    before = await box.execute("run_tests", "{}")
    assert before.tests_failed and before.content.startswith("tests failed (exit 1)"), before.content

    test_runs = []
    finished = None
    for message in task.script:
        for c in message["tool_calls"]:
            out = await box.execute(c["function"]["name"], c["function"]["arguments"])
            assert not out.is_error, (c, out.content)
            if c["function"]["name"] == "run_tests":
                test_runs.append(out)
            if out.finished:
                finished = out
    assert test_runs[0].tests_failed, "the script should run the failing tests before fixing them"
    assert not test_runs[-1].tests_failed and test_runs[-1].content.startswith("tests passed (exit 0)"), (
        test_runs[-1].content)
    assert finished is not None and finished.summary
    assert snapshot(TASKDATA / name / "repo") == pristine
