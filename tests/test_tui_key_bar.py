"""The key bar at the bottom: the screen's keys from the first frame on, pressed by a click, explained on
hover, dimmed when they do nothing now, and the command palette's key at the right edge."""

from __future__ import annotations

from tests.tui_helpers import fake_run, quicksort_transcript, transcript_app
from tui.widgets.key_bar import KeyBar


async def test_the_keys_are_in_the_first_frame_with_the_palette_at_the_right() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript(), title="t.jsonl")
    async with app.run_test(size=(100, 30)):
        bar = screen.query_one(KeyBar)
        line = bar.render().plain
        assert line.startswith(" n Step  / Search  ? Keys  q Quit  v Request ")
        assert line.endswith("▏^p palette ") and len(line) == 100
        assert [key.key for key in bar.keys] == ["n", "slash", "question_mark", "q", "v", "ctrl+p"]
        assert "Run" not in line and "Reflect" not in line  # a saved file has no loop to steer


async def test_a_click_presses_the_key_and_hover_tells_what_it_does() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript(), title="t.jsonl")
    async with app.run_test(size=(100, 30)) as pilot:
        bar = screen.query_one(KeyBar)
        step, search = bar.keys[0], bar.keys[1]
        before = screen.view.cursor
        await pilot.click(KeyBar, offset=(step.start + 1, 0))
        await pilot.pause()
        assert screen.view.cursor != before  # n: the next iteration
        await pilot.hover(KeyBar, offset=(search.start + 2, 0))
        await pilot.pause()
        assert bar.hovered == 1 and bar.tooltip == "search everything shown: text, arguments, results, notes"
        await pilot.click(KeyBar, offset=(search.start + 2, 0))
        await pilot.pause()
        assert screen.searching
        await pilot.hover(KeyBar, offset=(60, 0))  # between the keys and the palette: nothing
        await pilot.pause()
        assert bar.hovered is None and bar.tooltip is None


async def test_keys_that_do_nothing_now_are_dimmed_and_ring_the_bell() -> None:
    run = fake_run(1, step_mode=False)
    app, screen = transcript_app(run=run)
    bells = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        bar = screen.query_one(KeyBar)
        keys = {key.key: key for key in bar.keys}
        assert not keys["c"].enabled and keys["q"].enabled  # the run is over: nothing to run on
        await pilot.click(KeyBar, offset=(keys["c"].start + 1, 0))
        assert bells == [1] and app.is_running


async def test_the_bar_is_drawn_again_only_when_its_keys_change() -> None:
    run = fake_run(2)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 30)) as pilot:
        bar = screen.query_one(KeyBar)
        drawn = []
        refresh = bar.refresh
        bar.refresh = lambda *a, **k: (drawn.append(1), refresh(*a, **k))  # type: ignore[method-assign]
        screen.refresh_bindings()  # the same keys: nothing to draw
        await pilot.pause()
        assert drawn == []
        await pilot.press("n", "n", "n")  # the run ends: Step and Run now do nothing, and say so
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert drawn and not {key.key: key for key in bar.keys}["n"].enabled
