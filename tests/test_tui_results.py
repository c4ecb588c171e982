"""`agent-tui open DIR` on an ablation: its results (charts and numbers) beside the runs list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.run.ablate import main as ablate
from tui.app import AgentTuiApp
from tui.screens.results import RateChart, ResultsPanel, TokensChart, load_settings, results_text
from tui.screens.runs import RunsScreen
from tui.screens.transcript import TranscriptScreen


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A finished scripted ablation (made outside the test's event loop: ablate runs its own)."""
    out = tmp_path / "abl"
    assert ablate(["--tasks", "quicksort", "--reflection", "off,system", "--provider", "scripted",
                   "--concurrency", "2", "--out", str(out)]) == 0
    return out


async def test_an_ablation_shows_its_results_beside_the_runs(folder: Path) -> None:
    settings = load_settings(folder)
    assert settings is not None and [s["setting"] for s in settings] == ["off", "system"]
    app = AgentTuiApp(screen := RunsScreen(folder, eager=True))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        panel = screen.query_one(ResultsPanel)
        assert panel.settings == settings
        rate, tokens = screen.query_one(RateChart), screen.query_one(TokensChart)
        assert rate.region.width > 20 and rate.region.height > 5 and tokens.region.height > 5
        assert rate.region.x > screen.table.region.x  # beside the runs, on the right
        numbers = str(screen.query_one("#results-numbers").render())
        assert "off     1/1 [21%, 100%]" in numbers and "vs off 0/0/1 p=1" in numbers
        await pilot.press("enter")  # the runs list still has the keys
        await pilot.pause()
        assert isinstance(app.screen, TranscriptScreen)


async def test_a_small_terminal_gives_the_runs_the_whole_width(folder: Path) -> None:
    app = AgentTuiApp(screen := RunsScreen(folder, eager=True))
    async with app.run_test(size=(130, 18)) as pilot:
        await pilot.pause()
        assert not screen.query_one(ResultsPanel).display
        assert screen.table.region.width == 130


async def test_a_folder_without_a_summary_has_no_panel(folder: Path) -> None:
    (folder / "summary.json").write_text(json.dumps({"settings": "garbage"}))
    assert load_settings(folder) is None
    app = AgentTuiApp(screen := RunsScreen(folder, eager=True))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert not screen.query(ResultsPanel)
        assert screen.table.region.width == 120


def test_results_text_reads_as_the_printed_table() -> None:
    text = results_text([
        {"setting": "off", "runs": 6, "successes": 0, "ci95": [0.0, 0.3903], "total_tokens": 1000.0},
        {"setting": "system", "runs": 6, "successes": 6, "ci95": [0.6097, 1.0], "total_tokens": 2500.0,
         "versus": {"baseline": "off", "wins": 6, "losses": 0, "ties": 0, "p_value": 0.03125}},
    ]).plain
    assert text.splitlines()[:2] == ["off     0/6 [0%, 39%]  1,000 tok/run",
                                     "system  6/6 [61%, 100%]  vs off 6/0/0 p=0.0312  2,500 tok/run"]
