"""`agent-tui open DIR` on an ablation: its results (rates over units with intervals, pass@t, cost per
success) beside the runs list; and the notes lens, every note of the folder in one table."""

from __future__ import annotations

import csv
import io
import json
import shutil
from types import SimpleNamespace
from pathlib import Path

import pytest

from agent.cli.commands import build_parser, run_command
from tui.app import AgentTuiApp
from tui.screens.notes import NotesScreen, sort_key
from tui.screens.results import PassAtTChart, RateChart, ResultsPanel, legend, load_results, results_text
from tui.screens.runs import RunsScreen
from tui.screens.transcript import TranscriptScreen


def ablate(argv: list[str]) -> int:
    """`agent-tui ablate ARGV`, in this process."""
    return run_command(build_parser().parse_args(["ablate", *argv]))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished scripted ablation, made once for the module and only read (outside the tests' event loops:
    ablate runs its own)."""
    out = tmp_path_factory.mktemp("ablation") / "abl"
    assert ablate(["--tasks", "quicksort", "--reflection", "off,system", "--provider", "scripted",
                   "--concurrency", "2", "--out", str(out)]) == 0
    return out


async def test_an_ablation_shows_its_results_beside_the_runs(folder: Path) -> None:
    results = load_results(folder)
    assert results is not None and [s["setting"] for s in results["settings"]] == ["off", "system"]
    assert (results["unit"], results["clusters"]) == ("task", 1) and "nothing here generalises" in results["caveat"]
    app = AgentTuiApp(screen := RunsScreen(folder, eager=True))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        panel = screen.query_one(ResultsPanel)
        assert panel.results == results
        rate, pass_at_t = screen.query_one(RateChart), screen.query_one(PassAtTChart)
        assert rate.region.width > 20 and rate.region.height > 5 and pass_at_t.region.height > 5
        assert rate.region.x > screen.table.region.x  # beside the runs, on the right
        numbers = str(screen.query_one("#results-numbers").render())
        assert "off     100% 1/1 [21%, 100%]" in numbers and "vs off 0/0/1 p=1" in numbers
        assert "tokens " in numbers and "/run" in numbers and "/success" in numbers
        await pilot.press("enter")  # the runs list still has the keys
        await pilot.pause()
        assert isinstance(app.screen, TranscriptScreen)


async def test_a_small_terminal_gives_the_runs_the_whole_width(folder: Path) -> None:
    app = AgentTuiApp(screen := RunsScreen(folder, eager=True))
    async with app.run_test(size=(130, 18)) as pilot:
        await pilot.pause()
        assert not screen.query_one(ResultsPanel).display
        assert screen.table.region.width == 130


async def test_a_folder_without_a_summary_has_no_panel(folder: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(folder, tmp_path / "abl"))  # changed here: the module's stays as it was
    (folder / "summary.json").write_text(json.dumps({"settings": "garbage"}))
    assert load_results(folder) is None
    app = AgentTuiApp(screen := RunsScreen(folder, eager=True))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert not screen.query(ResultsPanel)
        assert screen.table.region.width == 120


def test_percent_axes_fit_low_rates() -> None:
    from tui.screens.results import axis_top

    assert (axis_top(100), axis_top(61), axis_top(30), axis_top(5), axis_top(0)) == (100, 100, 40, 10, 10)


def test_results_text_reads_as_the_printed_table() -> None:
    results = {"unit": "task", "clusters": 3, "caveat": None, "settings": [
        {"setting": "off", "runs": 6, "successes": 0, "success_rate": 0.0, "ci95": [0.0, 0.5615],
         "cost": {"tokens_per_run": 1000.0, "tokens_per_success": None}},
        {"setting": "system", "runs": 6, "successes": 6, "success_rate": 1.0, "ci95": [0.4385, 1.0],
         "cost": {"tokens_per_run": 25000.0, "tokens_per_success": 25000.0, "dollars_per_success": 0.0125},
         "versus": {"baseline": "off", "wins": 3, "losses": 0, "ties": 0, "p_value": 0.25}},
    ]}
    lines = results_text(results).plain.splitlines()
    assert lines[0] == "off     0% 0/6 [0%, 56%]  tokens 1.0k/run -/success"
    assert lines[1] == ("system  100% 6/6 [44%, 100%]  vs off 3/0/0 p=0.25  tokens 25.0k/run 25.0k/success"
                        "  $0.0125/success")
    assert len(lines) == 2 and legend(results).startswith("rates over 3 tasks, a task's repeats averaged")


async def test_the_notes_lens_lists_filters_sorts_opens_and_exports(folder: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(folder, tmp_path / "abl"))  # it writes notes.csv: the module's stays as it was
    app = AgentTuiApp(runs := RunsScreen(folder, eager=True))
    async with app.run_test(size=(180, 40)) as pilot:
        await pilot.pause()
        await pilot.press("N")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, NotesScreen)
        [row] = screen.shown  # the system run wrote one note, after a failing test run
        assert (row.run, row.note.triggers, row.note.role, row.outcome) == (
            "runs/quicksort__system__r1.jsonl", ["tests_failed"], "system", "pass")
        detail = str(screen.query_one("#notes-detail").render())
        assert row.note.content.split()[0] in detail and "next:" in detail
        await pilot.press("o")  # role: system (the only one)
        await pilot.press("o")  # then all again
        assert screen.role is None and len(screen.shown) == 1
        await pilot.press("s")
        assert screen.sort_column == "iteration"
        await pilot.press("x")
        await pilot.pause()
        exported = list(csv.DictReader(io.StringIO((folder / "notes.csv").read_text())))
        assert [(r["run"], r["iteration"], r["triggers"], r["outcome"]) for r in exported] == [
            ("runs/quicksort__system__r1.jsonl", str(row.note.iteration), "tests_failed", "pass")]
        await pilot.press("enter")
        await pilot.pause()
        transcript = app.screen
        assert isinstance(transcript, TranscriptScreen)
        assert transcript.view.cursor_iteration == row.note.iteration
        assert transcript.view.cursor_item is not None and transcript.view.cursor_item.kind == "reflection"
        await pilot.press("q")
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is runs


def test_notes_sort_by_run_as_the_runs_picker_does() -> None:
    """humanevalfix-4 before humanevalfix-42, in the notes lens as in the picker (natural order)."""
    rows = [SimpleNamespace(run=f"runs/humanevalfix-{n}__system__r1.jsonl") for n in (42, 4, 12, 9)]
    ordered = sorted(rows, key=sort_key("run"))  # type: ignore[arg-type]
    assert [r.run.split("-")[1].split("_")[0] for r in ordered] == ["4", "9", "12", "42"]
