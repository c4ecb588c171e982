"""Forks in the app: `F` opens the fork form and the fork runs live in a screen of its own; a folder's runs
show as a tree (parent, its forks); comparing a fork with its parent opens at the iteration it forked at."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import RadioSet, Select, Static, TextArea

from agent.events import ReflectionNote
from agent.run.fork import ForkSpec, build_fork
from agent.run.runner import RunOptions, build_run
from agent.transcripts.compare import ForkPoint, align
from agent.transcripts.runs import discover_runs
from agent.transcripts.importers import open_transcript
from tui.app import AgentTuiApp
from tui.screens.compare import CompareScreen
from tui.screens.fork_form import ForkForm
from tui.screens.runs import RunsScreen
from tui.screens.transcript import TranscriptScreen
from tui.widgets.compare_bar import divergence_text
from tui.widgets.run_tree import run_label


async def _drive(run: Any) -> None:
    async for _ in run.events():
        pass


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The quicksort demo (a note after iteration 2), a fork of it at 2 without the note, a fork of that fork
    at 4, a fork at 1, and an unrelated run, all in one folder."""
    folder = tmp_path_factory.mktemp("runs")
    paths: dict[str, Path] = {}
    for name, make in [
        ("demo", lambda: build_run(RunOptions(task="quicksort", out=folder / "demo.jsonl"))),
        ("other", lambda: build_run(RunOptions(task="quicksort", reflection="off", out=folder / "other.jsonl"))),
        ("fork2", lambda: build_fork(ForkSpec(folder / "demo.jsonl", 2, drop_note=True,
                                              overrides={"out": folder / "demo.fork2.jsonl"}))),
        ("fork2-4", lambda: build_fork(ForkSpec(folder / "demo.fork2.jsonl", 4,
                                                overrides={"max_steps": 8, "out": folder / "demo.fork2.fork4.jsonl"}))),
        ("fork1", lambda: build_fork(ForkSpec(folder / "demo.jsonl", 1, overrides={"out": folder / "demo.fork1.jsonl"}))),
    ]:
        run = make()
        asyncio.run(_drive(run))
        shutil.rmtree(run.workspace, ignore_errors=True)
        paths[name] = run.path
    return paths


def test_the_runs_of_a_folder_are_a_tree_of_forks(family: dict[str, Path]) -> None:
    entries = discover_runs(family["demo"].parent).entries
    rows = [(e.label, e.tree, e.fork_at, e.fork_note) for e in entries]
    assert rows == [
        ("demo.jsonl", (), None, ""),
        ("demo.fork1.jsonl", (False,), 1, "none"),
        ("demo.fork2.jsonl", (True,), 2, "dropped"),
        ("demo.fork2.fork4.jsonl", (True, True), 4, "none"),
        ("other.jsonl", (), None, ""),
    ]
    labels = [run_label(e).plain for e in entries]
    assert labels[1] == "├─ demo.fork1.jsonl  ⎇1"  # the parent wrote no note after iteration 1
    assert labels[2].startswith("└─ demo.fork2.jsonl  ⎇2 note dropped")
    assert labels[3].startswith("   └─ demo.fork2.fork4.jsonl  ⎇4")


def test_a_fork_whose_parent_is_elsewhere_stays_on_top_and_names_it(family: dict[str, Path], tmp_path: Path) -> None:
    shutil.copy(family["fork2"], tmp_path / "lonely.jsonl")
    [entry] = discover_runs(tmp_path).entries
    assert entry.tree == () and run_label(entry).plain == "lonely.jsonl  ⎇2 note dropped of demo.jsonl"


async def test_the_runs_screen_draws_the_tree(family: dict[str, Path]) -> None:
    app = AgentTuiApp(screen := RunsScreen(family["demo"].parent, eager=True))
    async with app.run_test(size=(150, 20)) as pilot:
        await pilot.pause()
        cells = [str(screen.table.get_row_at(k)[1]) for k in range(screen.table.row_count)]
        assert cells[0] == "demo.jsonl" and cells[3].startswith("   └─ demo.fork2.fork4.jsonl")
        await pilot.press("q")


async def test_comparing_a_fork_with_its_parent_opens_where_it_forked(family: dict[str, Path]) -> None:
    parent, fork = open_transcript(family["demo"]), open_transcript(family["fork2"])
    alignment = align(parent, fork, str(family["demo"]), str(family["fork2"]))
    assert alignment.fork == ForkPoint("b", 2, "dropped")
    assert alignment.divergence == 3  # iterations 1-2 are the same; the parent's note is where they part
    assert align(fork, parent, "x/demo.fork2.jsonl", "y/demo.jsonl").fork == ForkPoint("a", 2, "dropped")
    assert align(parent, open_transcript(family["other"]), "demo.jsonl", "other.jsonl").fork is None
    assert divergence_text(alignment).plain.startswith(" COMPARE   ⎇ B forks A at iteration 2 (note dropped) · ")
    app = AgentTuiApp(screen := CompareScreen(parent, fork, label_a=str(family["demo"]), label_b=str(family["fork2"])))
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        view = screen.view
        assert view.rows[view.cursor].number == 2 and view.row_expanded(view.cursor)
        lines = [strip.text for strip in view.get_block(view.cursor)[0]]
        assert "B forked here: iterations 1–2 replayed, live from 3" in lines[-1]
        await pilot.press("q")


async def test_shift_f_opens_the_form_and_the_fork_runs_live_in_a_new_screen(family: dict[str, Path]) -> None:
    parent = family["demo"]
    app = AgentTuiApp(first := TranscriptScreen(transcript=open_transcript(parent), title=str(parent)))
    async with app.run_test(size=(130, 42)) as pilot:
        await pilot.pause()
        first.view.goto(next(k for k, b in enumerate(first.model.blocks) if b.number == 2), 0)
        await pilot.press("F")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ForkForm) and form.fork_at == 2
        assert form.query_one("#reflection", RadioSet).pressed_button.id == "reflection-system"
        assert form.query_one("#provider", Select).value == "scripted"
        # edit: the recorded note comes up to be rewritten
        area = form.query_one("#note-text", TextArea)
        assert not area.display
        form.query_one("#note-edit").value = True
        await pilot.pause()
        recorded = next(e for e in first.transcript.events if isinstance(e, ReflectionNote) and e.iteration == 2)
        assert area.display and area.text == recorded.content
        area.load_text("Fix the pivot.")
        spec = form.spec()
        assert (spec.at, spec.edit_note, spec.drop_note) == (2, "Fix the pivot.", False)
        assert spec.overrides["reflection"] == "system"
        assert spec.overrides["provider"] is None  # the parent's, as prefilled: not a choice of the user's
        # a provider without its key: the error stays in the form
        form.query_one("#provider", Select).value = "groq"
        form.query_one("#note-drop").value = True
        await pilot.pause()
        await pilot.click("#fork")
        error = form.query_one("#fork-error", Static)
        for _ in range(100):
            if "✗" in str(error.content):
                break
            await pilot.pause(0.05)
        assert app.screen is form and app.focused is form.query_one("#fork")
        assert "GROQ_API_KEY" in str(error.content)
        form.query_one("#provider", Select).value = "scripted"
        await pilot.press("ctrl+s")  # the form's key for Fork
        for _ in range(600):
            if isinstance(app.screen, TranscriptScreen) and app.screen is not first and app.screen.run_done:
                break
            await pilot.pause(0.1)
        live = app.screen
        assert isinstance(live, TranscriptScreen) and live.live and live.run_done, str(error.content)
        assert live.transcript.header.fork is not None and live.transcript.header.fork.at == 2
        assert live.transcript.header.fork.note == "dropped"
        assert not any(isinstance(e, ReflectionNote) and e.iteration == 2 for e in live.transcript.events)
        assert live.model.finished is not None and live.model.finished.tests_passed is True
        await pilot.press("q")  # back to the parent
        assert app.screen is first
        await pilot.press("q")
    Path(live.run_handle.path).unlink()


async def test_shift_f_on_an_imported_transcript_says_why_not(tmp_path: Path) -> None:
    from agent.transcripts.importers import open_transcript
    from tests.conftest import DATA

    app = AgentTuiApp(first := TranscriptScreen(transcript=open_transcript(DATA / "messages_array.json"),
                                                title=str(DATA / "messages_array.json")))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("j", "F")
        await pilot.pause()
        assert app.screen is first
        await pilot.press("q")


async def test_the_form_asks_before_taking_a_strangers_base_url(family: dict[str, Path], tmp_path: Path) -> None:
    """A file's header is data: the form shows what it names and forks with it only when ticked."""
    from textual.widgets import Checkbox

    from tests.loopback import LoopbackServer
    from tests.test_fork_trust import rewrite_header

    with LoopbackServer([]) as capture:
        stranger = rewrite_header(family["demo"], tmp_path / "stranger.jsonl", provider="vllm", model="loopback",
                                  base_url=capture.base_url)
        app = AgentTuiApp(first := TranscriptScreen(transcript=open_transcript(stranger), title=str(stranger)))
        async with app.run_test(size=(130, 42)) as pilot:
            await pilot.pause()
            first.view.goto(next(k for k, b in enumerate(first.model.blocks) if b.number == 2), 0)
            await pilot.press("F")
            await pilot.pause()
            form = app.screen
            assert isinstance(form, ForkForm)
            box = form.query_one("#from-header", Checkbox)
            assert capture.base_url in str(box.label) and not box.value
            await pilot.click("#fork")
            error = form.query_one("#fork-error", Static)
            for _ in range(100):
                if "✗" in str(error.content):
                    break
                await pilot.pause(0.05)
            assert app.screen is form and f"header names base_url {capture.base_url}" in str(error.content)
            assert form.spec().from_header is False
            box.value = True
            assert form.spec().from_header is True
            await pilot.press("escape", "q")
        assert capture.count == 0
