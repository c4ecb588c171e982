"""Reflection `resample`, the equal-budget control: when a trigger fires, no note is written; the turn that
fired it is taken back (history and files) and its request is sent again, without using up a step."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.events import AssistantMessage, IterationStarted, Notice, ReflectionNote, RunFinished, TurnRetracted
from agent.experiments.jobs import Job, run_job
from agent.run.runner import RunOptions, build_run
from agent.transcripts.importers import open_transcript
from tests.conftest import call, collect, reply, write_script
from tests.test_fork import QS_EDIT

BROKEN = "def quicksort(items):\n    return None\n"
SCRIPT = [
    reply("Rewrite it.", call("w1", "write_file", path="quicksort.py", content=BROKEN), call("t1", "run_tests")),
    reply(None, QS_EDIT),  # applies only to the original quicksort.py: the rewrite must have been undone
    reply(None, call("t2", "run_tests")),
    reply("Fixed.", call("f1", "finish", summary="fixed")),
]


@pytest.fixture(autouse=True)
def _fast_task_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_a_failing_turn_is_taken_back_and_drawn_again(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run = build_run(RunOptions(task="quicksort", reflection="resample", max_steps=3, out=path,
                               script=write_script(tmp_path / "script.json", SCRIPT)))
    events = asyncio.run(collect(run))
    [retracted] = [e for e in events if isinstance(e, TurnRetracted)]
    assert retracted.iteration == 1 and retracted.replaced == 3  # the reply and its two results
    assert [t.kind for t in retracted.triggers] == ["tests_failed"]
    assert retracted.restored == ["quicksort.py"] and retracted.whole
    assert retracted.usage is not None and retracted.usage.total_tokens > 0
    assert not [e for e in events if isinstance(e, ReflectionNote)]  # no note: that is the point
    [said] = [e for e in events if isinstance(e, Notice) and e.text.startswith("resample")]
    assert said.iteration == 1 and "files put back: quicksort.py" in said.text  # for a person, in the app too
    # iteration 2 sent iteration 1's request again
    requests = run.server.requests
    assert requests[1]["messages"] == requests[0]["messages"]
    started = [e for e in events if isinstance(e, IterationStarted)]
    assert started[1].request_size == started[0].request_size
    # the retracted turn gave its step back: 4 iterations within max_steps 3, and the run passes
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.reason == "finished" and finished.tests_passed
    assert finished.iterations == 4
    # the transcript rebuilds the same history the model saw
    transcript = open_transcript(path)
    assert transcript.request_at(2)[0] == transcript.request_at(1)[0]


def test_a_resample_job_records_what_it_spent_instead_of_a_note(tmp_path: Path) -> None:
    base = RunOptions(task=None, provider="scripted", script=write_script(tmp_path / "s.json", SCRIPT), max_steps=3)
    row = asyncio.run(run_job(Job("quicksort", "resample", 1), base, tmp_path))
    assert row.success and row.reflection_calls == 1
    transcript = open_transcript(tmp_path / row.transcript)
    first = next(e for e in transcript.events if isinstance(e, AssistantMessage))
    assert first.usage is not None
    assert (row.reflection_prompt_tokens, row.reflection_completion_tokens) == (
        first.usage.prompt_tokens, first.usage.completion_tokens)
