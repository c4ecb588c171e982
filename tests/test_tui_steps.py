"""A file read in steps (`open_transcript(..., in_steps=True)`, what `agent-tui open FILE` does): the first
screen is drawn from the first step and the rest is read behind it. Whatever the steps, the reader, the
model and the screen must end exactly where reading the file at once ends, and a broken line found late
must not take the app down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tui.screens.transcript as transcript_screen
from agent.events import RunFinished, Usage
from agent.transcripts.importers import open_transcript
from agent.view.model import TranscriptModel
from agent.transcripts.transcript import JsonlReader, TranscriptError, read_jsonl
from tests.test_tui_lazy import odd_events
from tests.tui_helpers import quicksort_events, synthetic_events, transcript_app, write_jsonl


@pytest.fixture(params=["quicksort", "synthetic", "odd"])
def jsonl(request, tmp_path: Path) -> Path:
    events = {"quicksort": quicksort_events, "synthetic": lambda: synthetic_events(40), "odd": odd_events}
    return write_jsonl(tmp_path / f"{request.param}.jsonl", events[request.param]())


def at_once(path: Path, lazy: bool):
    with path.open("rb") as f:
        return read_jsonl(f, str(path), not_text="not text", lazy=lazy)


def in_steps(path: Path, lazy: bool, step: int) -> tuple[JsonlReader, TranscriptModel, int]:
    """Read `path` `step` bytes at a time into a model, as the screen does; also how many steps it took."""
    reader = JsonlReader(path.open("rb"), str(path), not_text="not text", lazy=lazy, close_at_end=True)
    model = TranscriptModel()
    model.extend(reader.transcript.events)
    steps = 0
    while not reader.done:
        model.extend(reader.transcript.events, read=reader.read(step))
        steps += 1
    return reader, model, steps


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("step", [1, 700, 1 << 30])
def test_steps_read_what_reading_at_once_reads(jsonl: Path, lazy: bool, step: int) -> None:
    whole = at_once(jsonl, lazy)
    reader, model, steps = in_steps(jsonl, lazy, step)
    stepped = reader.transcript
    lines = len(jsonl.read_bytes().splitlines())
    if step == 1:
        assert steps == lines  # an event line a step, and the step that finds the end
    elif step == 700:
        assert 1 < steps < lines
    else:
        assert steps == 1
    assert list(stepped.events) == list(whole.events) and stepped.warnings == whole.warnings
    assert stepped.end_offset == whole.end_offset == jsonl.stat().st_size and reader.fraction == 1.0
    reference = TranscriptModel()
    reference.extend(whole.events)
    assert model.lazy == lazy and model.check_order() == reference.check_order()
    assert list(model.messages) == list(reference.messages)
    assert (model.prompt_tokens, model.completion_tokens, model.iterations, model.finished) == \
           (reference.prompt_tokens, reference.completion_tokens, reference.iterations, reference.finished)
    assert (model.call_sites, model.result_sites) == (reference.call_sites, reference.result_sites)
    for x, y in zip(model.blocks, reference.blocks, strict=True):
        assert (x.kind, x.number, x.tool_names, x.marks, x.result_count, x.usage, x.get_items()) == \
               (y.kind, y.number, y.tool_names, y.marks, y.result_count, y.usage, y.get_items())


def test_a_block_shown_while_it_grows_gains_its_items(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", synthetic_events(3))
    reader = JsonlReader(path.open("rb"), str(path), not_text="not text", lazy=True, close_at_end=True)
    model = TranscriptModel()
    model.extend(reader.transcript.events, read=reader.read(1))  # the start block only
    model.extend(reader.transcript.events, read=reader.read(1))  # iteration 1 begins: its request
    shown = model.blocks[-1].get_items()  # on screen before its reply is read
    assert [item.kind for item in shown] == ["title", "request"]
    while not reader.done:
        model.extend(reader.transcript.events, read=reader.read(1))
    whole = TranscriptModel()
    whole.extend(at_once(path, True).events)
    assert model.blocks[1].get_items() == whole.blocks[1].get_items()


def test_the_ending_is_known_before_the_lines_up_to_it(tmp_path: Path) -> None:
    events = synthetic_events(30)
    path = write_jsonl(tmp_path / "t.jsonl", events)
    reader = JsonlReader(path.open("rb"), str(path), not_text="not text", close_at_end=True)
    ending = reader.ending()
    assert isinstance(ending, RunFinished) and ending == events[-1]
    reader.read(1)
    assert reader.ending() == ending and 0 < reader.fraction < 1
    reader.close()
    assert reader.ending() is None  # nothing more is read once closed
    still_written = write_jsonl(tmp_path / "running.jsonl", events[:-1])
    assert JsonlReader(still_written.open("rb"), "r", not_text="x", close_at_end=True).ending() is None
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(path.read_bytes()[:-10])
    assert JsonlReader(torn.open("rb"), "t", not_text="x", close_at_end=True).ending() is None


def test_a_broken_line_fails_the_step_that_reaches_past_it(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", synthetic_events(10))
    lines = path.read_text().splitlines()
    lines[20] = '{"type": "tool_result", "iteration": 1}'
    path.write_text("\n".join(lines) + "\n")
    reader = JsonlReader(path.open("rb"), str(path), not_text="not text", close_at_end=True)
    read = []
    while not reader.done:
        read += reader.read(1)
    assert isinstance(reader.error, TranscriptError)
    assert f"{path.name}:21: bad event line" in str(reader.error)
    assert len(read) == 19 and reader._f.closed  # the lines before it are read
    torn = write_jsonl(tmp_path / "torn.jsonl", synthetic_events(10))
    torn.write_bytes(torn.read_bytes()[:-7])
    reader, _model, _steps = in_steps(torn, False, 1)
    [warning] = reader.transcript.warnings
    assert "last line is torn" in warning


# -- the app ---------------------------------------------------------------------------------------------


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps of a few lines, so that a small file is read behind its first screen as a big one is."""
    monkeypatch.setattr(transcript_screen, "FIRST_STEP", 3_000)
    monkeypatch.setattr(transcript_screen, "READ_STEP", 2_000)


async def test_the_screen_ends_as_the_file_opened_at_once(jsonl: Path, small_steps: None) -> None:
    shots = []
    for steps in (False, True):
        app, screen = transcript_app(transcript=open_transcript(jsonl, in_steps=steps), title=jsonl.name)
        async with app.run_test(size=(110, 36)) as pilot:
            # The scrollbar's thumb follows the guessed heights of blocks never drawn, guessed when they
            # came in (here: before or after the ordering check): the same lines, another thumb.
            screen.view.styles.scrollbar_size_vertical = 0
            if steps:
                assert screen.reading or jsonl.stat().st_size < 3_000
                await app.workers.wait_for_complete()
                assert not screen.reading and "reading" not in screen.status.text
            await pilot.pause()
            one = [app.export_screenshot()]
            for keys in (["n"], ["E", "G", "enter"], ["slash", *"read", "enter"]):
                await pilot.press(*keys)
                await pilot.pause()
                one.append(app.export_screenshot())
            shots.append(one)
    assert shots[0] == shots[1]


async def test_the_first_screen_says_how_the_run_ended_and_how_far_it_is_read(tmp_path: Path,
                                                                                small_steps: None) -> None:
    events = synthetic_events(60)
    events[-1] = events[-1].model_copy(update={"usage": Usage(prompt_tokens=123_456, completion_tokens=789)})
    path = write_jsonl(tmp_path / "t.jsonl", events)
    app, screen = transcript_app(transcript=open_transcript(path, in_steps=True), title=path.name)
    async with app.run_test(size=(140, 40)) as pilot:
        first = screen.status.text
        assert screen.reading and screen.model.iterations < 60
        assert "60 iterations" in first and "reading the file" in first and "124,245 tokens" in first
        assert "run ended: max steps" in first
        await pilot.press("G", "j", "k", "slash", *"read", "enter")  # keys while it reads
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "reading" not in screen.status.text and screen.model.iterations == 60
        whole = TranscriptModel()
        whole.extend(open_transcript(path).events)
        assert screen.view.block_count() == len(whole.blocks) and screen.model.blocks[-1].kind == "finish"
        assert screen.model.blocks[-1].expanded  # the ending opens, as when the file is read at once


async def test_without_an_ending_the_tokens_say_so_far(tmp_path: Path, small_steps: None) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", synthetic_events(60)[:-1])  # still being written
    app, screen = transcript_app(transcript=open_transcript(path, in_steps=True), title=path.name,
                                 follow=path)
    async with app.run_test(size=(140, 40)):
        assert "so far" in screen.status.text and not screen.following
        await app.workers.wait_for_complete()
        assert "so far" not in screen.status.text and screen.following  # all read: now it follows the file


async def test_a_broken_line_found_behind_the_first_screen_keeps_the_app(tmp_path: Path, small_steps: None) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", synthetic_events(60))
    lines = path.read_text().splitlines()
    lines[150] = json.dumps({"type": "assistant_message", "iteration": 50})
    path.write_text("\n".join(lines) + "\n")
    app, screen = transcript_app(transcript=open_transcript(path, in_steps=True), title=path.name)
    async with app.run_test(size=(140, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.reading and app.is_running
        assert f"{path.name}:151: bad event line" in "\n".join(screen._lines)
        assert "shown up to that line" in "\n".join(screen._lines)
        before = synthetic_events(60)[:149]  # the events of the lines before the broken one
        assert list(screen.transcript.events) == before
        assert screen.model.iterations == len({e.iteration for e in before if getattr(e, "iteration", None)})
        await pilot.press("G", "enter")
        assert app.is_running


def test_open_reads_a_broken_first_step_before_the_app(tmp_path: Path) -> None:
    """A file broken within its first step fails the opening with the same one line as a file read whole."""
    from tui.main import main

    path = write_jsonl(tmp_path / "t.jsonl", synthetic_events(5))
    lines = path.read_text().splitlines()
    lines[3] = json.dumps({"type": "assistant_message", "iteration": 1})
    path.write_text("\n".join(lines) + "\n")
    assert main(["open", str(path), "--snapshot", str(tmp_path / "o.svg")]) == 2
    assert not (tmp_path / "o.svg").exists()
