"""The verdict runs the task's original tests against the workspace's code: rewriting, shadowing or
configuring the tests away does not pass a task, and the transcript keeps both the agent's last run_tests
and the verdict."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from agent.run.runner import RunOptions, build_run
from agent.tools.suites import find_task
from agent.tools.trees import remove_tree
from agent.tools.verdict import verdict_folder
from agent.transcripts.importers import open_transcript

from tests.conftest import call, collect, make_deep, reply, write_script

pytestmark = pytest.mark.real_pytest  # about running the tasks' tests: pytest itself, not the stand-in

CHEATS = {
    "rewrite": [call("c1", "write_file", path="test_quicksort.py", content="def test_ok():\n    assert True\n")],
    "conftest": [call("c1", "write_file", path="conftest.py",
                      content="import pytest\n\ndef pytest_collection_modifyitems(items):\n"
                              "    for item in items:\n        item.add_marker(pytest.mark.skip)\n")],
    "ini": [call("c1", "write_file", path="pytest.ini", content="[pytest]\naddopts = --ignore=test_quicksort.py\n"),
            call("c1b", "write_file", path="test_ok.py", content="def test_ok():\n    pass\n")],
    # pytest shadowed from the working folder: `python -m pytest` would import these instead of pytest
    "pytest.py": [call("c1", "write_file", path="pytest.py",
                       content="import sys\nprint('6 passed')\nsys.exit(0)\n")],
    "pytest/": [call("c1", "write_file", path="pytest/__init__.py", content=""),
                call("c1b", "write_file", path="pytest/__main__.py", content="raise SystemExit(0)\n")],
    # the module under test ends the test process, exit 0, as it is imported: before any test ran
    "os._exit": [call("c1", "write_file", path="quicksort.py", content="import os\nos._exit(0)\n")],
}
WORKSPACE_PASSES = {"rewrite", "ini"}
"""The cheats that fool the workspace's own run_tests (its tests are the agent's to change); the others
are caught there too: all tests skipped, pytest shadowed, no report written."""


@pytest.fixture(params=["none", "bwrap"])
def sandbox(request: pytest.FixtureRequest) -> str:
    """Each attack with and without bubblewrap (skipped where it cannot run, unless CI requires it)."""
    if request.param == "bwrap":
        request.getfixturevalue("bwrap")
    return request.param


@pytest.mark.parametrize("cheat", sorted(CHEATS))
async def test_a_cheating_agent_fails_the_verdict(cheat: str, sandbox: str, tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json", [
        reply("Make the tests pass.", *CHEATS[cheat]),
        reply("Run them.", call("c2", "run_tests")),
        reply("Done.", call("c3", "finish", summary="the tests pass")),
    ])
    out = tmp_path / "run.jsonl"
    run = build_run(RunOptions(task="quicksort", script=script, out=out, reflection="off", sandbox=sandbox))
    events = await collect(run)
    done = events[-1]
    assert done.reason == "finished"
    assert done.last_run_tests is (cheat in WORKSPACE_PASSES)  # what the agent saw in its workspace
    assert done.tests_passed is False and done.verdict == "pristine"  # what the task's own tests say
    if cheat == "os._exit":
        assert "exited 0 but wrote no report" in done.test_output
    else:
        assert "test_keeps_duplicates" in done.test_output
    warnings = [e.text for e in events if e.type == "notice" and e.level == "warning"]
    assert warnings == ["the workspace's tests passed, but the task's original tests fail against its code: "
                        "were the tests changed?"] * (cheat in WORKSPACE_PASSES)
    recorded = open_transcript(out)
    last = [e for e in recorded.events if e.type == "run_finished"][-1]
    assert (last.last_run_tests, last.tests_passed, last.verdict) == (cheat in WORKSPACE_PASSES, False, "pristine")
    assert recorded.header.settings["verdict_cmd"] == find_task("quicksort").verdict_cmd
    if cheat == "rewrite":  # the agent's workspace is left as it made it
        assert "assert True" in (run.workspace / "test_quicksort.py").read_text()


async def test_a_real_fix_passes_the_verdict_without_a_notice(sandbox: str, tmp_path: Path) -> None:
    run = build_run(RunOptions(task="quicksort", out=tmp_path / "run.jsonl", reflection="off", sandbox=sandbox))
    events = await collect(run)
    done = events[-1]
    assert (done.last_run_tests, done.tests_passed, done.verdict) == (True, True, "pristine")
    assert not [e for e in events if e.type == "notice" and e.level == "warning"]


async def test_a_workspace_that_is_no_task_is_judged_by_its_own_tests(tmp_path: Path) -> None:
    work = tmp_path / "ws"
    work.mkdir()
    (work / "test_x.py").write_text("def test_x():\n    assert True\n")
    script = write_script(tmp_path / "script.json", [reply("Done.", call("c1", "finish", summary="nothing to do"))])
    run = build_run(RunOptions(task=None, workspace=work, goal="g", test_cmd=find_task("quicksort").test_cmd,
                               script=script, out=tmp_path / "run.jsonl", reflection="off", sandbox="none"))
    done = (await collect(run))[-1]
    assert (done.last_run_tests, done.tests_passed, done.verdict) == (None, True, "workspace")


def test_the_verdict_folder_puts_back_tests_replaced_by_links_or_folders(tmp_path: Path) -> None:
    task = find_task("quicksort")
    work = tmp_path / "ws"
    work.mkdir()
    (work / "quicksort.py").write_text("mine\n")
    os.symlink("/etc/hostname", work / "test_quicksort.py")
    (work / "__pycache__").mkdir()
    (work / "__pycache__" / "x.pyc").write_bytes(b"stale")
    folder = verdict_folder(task, work)
    try:
        assert (folder / "test_quicksort.py").read_bytes() == task.files["test_quicksort.py"]
        assert not (folder / "test_quicksort.py").is_symlink()
        assert (folder / "quicksort.py").read_text() == "mine\n"
        assert not (folder / "__pycache__").exists()
    finally:
        shutil.rmtree(folder)
    assert (work / "test_quicksort.py").is_symlink()  # the workspace itself is untouched


def test_the_verdict_copies_a_workspace_with_fifos_sockets_and_deep_folders(tmp_path: Path) -> None:
    task = find_task("quicksort")
    work = tmp_path / "ws"
    work.mkdir()
    (work / "quicksort.py").write_text("mine\n")
    os.mkfifo(work / "pipe")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(work / "sock"))
    deep = make_deep(work, 1500)
    folder = verdict_folder(task, work)
    try:
        assert (folder / "quicksort.py").read_text() == "mine\n"
        assert not (folder / "pipe").exists() and not (folder / "sock").exists()
        assert (folder / "test_quicksort.py").read_bytes() == task.files["test_quicksort.py"]
    finally:
        remove_tree(folder)
    assert not folder.exists()
    remove_tree(work)
    assert not work.exists() and deep.startswith(str(work))
