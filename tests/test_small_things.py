"""The small things that cost a person time: the runs picker's marks and names, the results' legend, other
tools' notes, an empty filter, the fork form's focus, the help."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.containers import VerticalScroll
from textual.widgets import RadioSet, Static

from agent.transcripts.importers import open_transcript
from tests.tui_helpers import transcript_app
from tui.app import AgentTuiApp
from tui.screens.fork_form import ForkForm
from tui.screens.help import HelpScreen
from tui.screens.runs import RunsScreen

ROOT = Path(__file__).parent.parent
RESULTS = ROOT / "docs/results"
DATA = Path(__file__).parent / "data"


async def loaded(screen: RunsScreen, pilot) -> None:
    for _ in range(300):
        if screen.loading_done:
            break
        await pilot.pause(0.02)


async def test_the_results_folder_lists_tasks_by_their_names_in_number_order() -> None:
    app = AgentTuiApp(screen := RunsScreen(RESULTS))
    async with app.run_test(size=(220, 50)) as pilot:
        await loaded(screen, pilot)
        grid = [e for e in screen.entries if e.label.startswith("runs/")]  # the first grid's (a sweep sits beside)
        labels = [e.label for e in grid]
        numbers = [int(label.split("-")[1].split("__")[0]) for label in labels]
        assert numbers == sorted(numbers) and labels[0] == "runs/humanevalfix-4__off__r1.jsonl"  # 4 before 42
        assert {e.task for e in grid} == {f"humanevalfix/{n}" for n in numbers}  # the grid's names
        legend = screen.query_one("#results-legend", Static)
        assert legend.region.height >= 2 and "exact sign test" in str(legend.render())  # wrapped, not cut
        await pilot.press("space")
        assert screen.marked == [0] and screen.cursor == 0  # space marks; the cursor stays
        await pilot.press("question_mark")
        help_text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "the cursor stays where it is" in help_text


async def test_a_system_note_in_another_tools_history_is_a_note() -> None:
    """bad_order.json: a `system` message in the middle of iteration 1, as a driver writes one."""
    app, screen = transcript_app(transcript=open_transcript(DATA / "bad_order.json"))
    async with app.run_test(size=(120, 30)) as pilot:
        block = next(b for b in screen.model.blocks if b.number == 1)
        assert block.reflection == "system"
        await pilot.press("f")
        await pilot.press(*"role:reflection", "enter")
        await pilot.pause()
        assert screen.view.filter_counts() == (1, 3)
        await pilot.press("f", "ctrl+u")
        await pilot.press(*"no_such_tool", "enter")
        await pilot.pause()
        line = screen.query_one("#no-match", Static)
        assert line.display and "no iteration matches 'no_such_tool'" in str(line.render())
        await pilot.press("escape")
        await pilot.pause()
        assert not line.display and screen.view.filter is None


async def test_the_fork_form_opens_on_its_first_choice_and_enter_does_not_fork(tmp_path: Path) -> None:
    run = tmp_path / "run.jsonl"
    shutil.copy(RESULTS / "runs/humanevalfix-4__system__r1.jsonl", run)
    app, screen = transcript_app(transcript=open_transcript(run), source=str(run))
    async with app.run_test(size=(130, 42)) as pilot:
        await pilot.press("n", "F")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ForkForm) and app.focused is form.query_one("#reflection", RadioSet)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is form


async def test_help_scrolls_with_j_and_k_and_names_the_palette() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one(VerticalScroll)
        assert box.max_scroll_y > 0
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert box.scroll_y == 3
        await pilot.press("k")
        await pilot.pause()
        assert box.scroll_y == 2
        assert any("ctrl+p" in str(s.render()) for s in app.screen.query(Static))
