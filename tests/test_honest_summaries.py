"""Summaries say what happened: the verdict in the status badge, runs without an ending counted as unknown,
a workspace that is gone said to be, another tool's file exported without a made-up start or a long prompt
as its subtitle."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.transcripts.export import export_transcript
from agent.transcripts.importers import open_transcript
from tests.tui_helpers import transcript_app
from tui.app import AgentTuiApp
from tui.screens.runs import RunsScreen

ROOT = Path(__file__).parent.parent
RUNS = ROOT / "docs/results/runs"
DATA = Path(__file__).parent / "data"
SIZE = (200, 30)


async def test_a_run_that_finished_with_failing_tests_says_so_in_its_badge() -> None:
    for name, badge, said in [("humanevalfix-39__system__r1.jsonl", " DONE ✗ ", "run ended: finished, tests fail"),
                              ("humanevalfix-4__system__r1.jsonl", " DONE ✓ ", "run ended: finished, tests pass"),
                              ("humanevalfix-6__off__r1.jsonl", " STOPPED ✗ ", "run ended: max steps, tests fail")]:
        app, screen = transcript_app(transcript=open_transcript(RUNS / name), source=str(RUNS / name))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            status = screen.status.text
            assert status.startswith(badge) and said in status, status
            # the run's temporary workspace was removed when it ended
            assert "workspace /tmp/agent-tui-humanevalfix-" in status and status.rstrip().endswith("(removed)")


async def test_the_runs_picker_counts_a_run_without_an_ending_as_unknown(tmp_path: Path) -> None:
    shutil.copy(RUNS / "humanevalfix-4__system__r1.jsonl", tmp_path / "passed.jsonl")
    shutil.copy(RUNS / "humanevalfix-39__system__r1.jsonl", tmp_path / "failed.jsonl")
    shutil.copy(DATA / "killed_run.jsonl", tmp_path / "killed.jsonl")
    app = AgentTuiApp(screen := RunsScreen(tmp_path))
    async with app.run_test(size=(160, 20)) as pilot:
        for _ in range(200):
            if screen.loading_done:
                break
            await pilot.pause(0.02)
        head = str(screen.query_one("#runs-head").render())
        assert "1 pass · 1 fail · 1 unknown" in head


def test_another_tools_file_exported_has_no_made_up_start_nor_its_prompt_as_subtitle() -> None:
    transcript = open_transcript(DATA / "mini_swe_agent_toolcall.traj.json")
    page = export_transcript(transcript, "html").text
    assert "started" not in page and "file written" in page
    goal = page.split('<p class="goal">', 1)[1].split("</p>", 1)[0]
    assert goal.startswith("Please solve this issue: add() in calc.py returns the difference") and goal.count("\n") <= 2
    assert "Recommended Workflow" not in goal and "more lines" in goal
    assert "Recommended Workflow" in page  # the first user message is all there, in the start section
