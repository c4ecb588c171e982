"""A harness that fails is not an agent that fails: a test command that cannot start ends the run as a
harness error (no reflection note, exit 2, left out of a grid's rates), code of the agent's cannot pass its
own failure off as one, and a grid checks its harness before its first job and stops when its first jobs
all hit one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.events import ReflectionNote
from agent.cli import commands as cli
from agent.cli.commands import build_parser, run_command
from agent.experiments import ablate
from agent.run.runner import RunOptions, build_run
from agent.tasks import task as tasks
from agent.transcripts.importers import open_transcript
from tests.conftest import call, collect, reply, write_script


def main(argv: list[str]) -> int:
    """`agent-tui ablate ARGV`, in this process."""
    return run_command(build_parser().parse_args(["ablate", *argv]))

pytestmark = pytest.mark.real_pytest  # about running the tasks' tests: pytest itself, not the stand-in

BROKEN = '/nonexistent/venv/bin/python -P -m pytest -q --junitxml="$AGENT_TUI_JUNIT"'
"""A test command whose interpreter is not there, as on a machine where the sandbox hides it."""


@pytest.fixture
def broken_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every task's tests run with an interpreter that cannot start."""
    monkeypatch.setattr(tasks, "PYTEST", BROKEN)


async def test_a_test_command_that_cannot_start_ends_the_run_as_a_harness_error(tmp_path: Path) -> None:
    work = tmp_path / "ws"
    work.mkdir()
    script = write_script(tmp_path / "script.json", [
        reply("Run the tests.", call("c1", "run_tests")),
        reply("Again.", call("c2", "run_tests")),
        reply("Done.", call("c3", "finish", summary="done")),
    ])
    out = tmp_path / "run.jsonl"
    run = build_run(RunOptions(task=None, workspace=work, goal="g", test_cmd=BROKEN, script=script, out=out,
                               reflection="system"))
    events = await collect(run)
    results = [e for e in events if e.type == "tool_result"]
    assert len(results) == 1 and results[0].content.startswith("the tests could not run: ")
    assert "a sandbox or set-up problem, not failing tests" in results[0].content
    assert not [e for e in events if isinstance(e, ReflectionNote)]  # nothing for the agent to reflect on
    done = events[-1]
    assert done.reason == "harness_error" and "/nonexistent/venv/bin/python cannot start" in done.detail
    assert done.tests_passed is None
    assert open_transcript(out).events[-1].reason == "harness_error"


def test_a_harness_error_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "ws"
    work.mkdir()
    script = write_script(tmp_path / "script.json", [reply(None, call("c1", "run_tests"))])
    assert cli.main(["run", "--headless", "--workspace", str(work), "--goal", "g", "--test-cmd", BROKEN,
                     "--provider", "scripted", "--script", str(script), "--out", str(tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot start" in err[0] and "not failing tests" in err[0]


async def test_code_that_exits_127_is_the_agents_failure_not_the_harness(tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json", [
        reply(None, call("c1", "write_file", path="quicksort.py", content="import os\nos._exit(127)\n")),
        reply(None, call("c2", "run_tests")),
        reply(None, call("c3", "finish", summary="done")),
    ])
    run = build_run(RunOptions(task="quicksort", script=script, out=tmp_path / "run.jsonl", reflection="off"))
    events = await collect(run)
    result = [e for e in events if e.type == "tool_result" and e.name == "run_tests"][0]
    assert result.content.startswith("tests failed (exit 127)")
    assert (events[-1].reason, events[-1].tests_passed) == ("finished", False)


async def test_a_verdict_that_cannot_start_is_a_harness_error(tmp_path: Path, broken_interpreter: None) -> None:
    script = write_script(tmp_path / "script.json", [reply(None, call("c1", "finish", summary="done"))])
    run = build_run(RunOptions(task="quicksort", script=script, out=tmp_path / "run.jsonl", reflection="off"))
    done = (await collect(run))[-1]
    assert done.reason == "harness_error" and done.detail.startswith("the verdict: /nonexistent/venv/bin/python")
    assert done.tests_passed is None


def test_a_grid_with_a_broken_harness_starts_no_job(tmp_path: Path, broken_interpreter: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "grid"
    code = main(["--tasks", "quicksort", "--reflection", "off,system", "--provider", "scripted",
                        "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "pre-flight: quicksort's reference fix could not run its tests" in err and "no job started" in err
    assert not list(out.glob("jobs/*.json"))


def test_a_grid_stops_when_its_first_jobs_all_hit_a_harness_error(tmp_path: Path, broken_interpreter: None,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    async def passes(*_: object) -> None:
        return None

    monkeypatch.setattr(ablate, "preflight", passes)  # the harness breaks after the check
    out = tmp_path / "grid"
    code = main(["--tasks", "quicksort", "--reflection", "off,system", "--repeats", "4",
                        "--concurrency", "1", "--provider", "scripted", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert "stopped: the first 3 jobs could not run the tasks' tests" in captured.err
    records = [json.loads(p.read_text()) for p in out.glob("jobs/*.json")]
    assert len(records) == 3 and all(r["exit_reason"] == "harness_error" and r["status"] == "failed"
                                     for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["failed"] == 3 and summary["counts"]["done"] == 0
    assert all(g["runs"] == 0 for g in summary["groups"])  # no rate rests on a broken harness
