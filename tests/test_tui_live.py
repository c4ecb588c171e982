"""The app driving a live run: stepping, continuous, pause, reflection toggle, quitting, failures."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from agent.events import IterationStarted, RunFinished
from agent.run.runner import demo_run
from agent.transcripts.importers import open_transcript
from tests.tui_helpers import FakeRun, fake_run, transcript_app
from tui.screens.transcript import TranscriptScreen


async def wait_for(pilot: Any, cond: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until `cond()` holds (what it checks is updated by the app's own event loop)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.01)


def started(screen: TranscriptScreen) -> int:
    return sum(isinstance(e, IterationStarted) for e in screen.transcript.events)


async def settle(pilot: Any, screen: TranscriptScreen, run: FakeRun) -> None:
    """Until the loop is parked again and every event reached the view."""
    await wait_for(pilot, lambda: run.control.waiting or screen.run_done)
    await pilot.pause()
    await pilot.pause()


async def test_rapid_presses_queue_one_iteration_each() -> None:
    run = fake_run(6)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, run)
        assert started(screen) == 0
        assert "press n for the next iteration" in screen.status.text
        await pilot.press("n", "n", "n")  # faster than the loop: queued, never merged
        await wait_for(pilot, lambda: started(screen) == 3 and run.control.waiting)
        # parked with no step queued: the gate is shut, no fourth iteration can start
        assert run.control.pending_steps == 0 and run.started == 3
        assert started(screen) == 3
        assert screen.model.iterations == 3
        await pilot.press("space")
        await wait_for(pilot, lambda: started(screen) == 4 and run.control.waiting)
        assert run.started == 4


async def test_step_with_the_demo_run(tmp_path: Path) -> None:
    run = demo_run(step_mode=True, runs_dir=tmp_path)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: run.control.waiting)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: started(screen) == 2 and run.control.waiting)
        await pilot.pause()  # the view takes the last events in
        assert started(screen) == 2
        view = screen.view
        # Newest open, older collapsed.
        iters = [b for b in screen.model.blocks if b.kind == "iteration"]
        assert [b.expanded for b in iters] == [False, True]
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.run_done, timeout=30)
        await pilot.pause()
        assert screen.model.finished is not None
        assert view.cursor_block is not None
    # The transcript file holds the whole run.
    saved = open_transcript(run.path)
    assert isinstance(saved.events[-1], RunFinished)


async def test_continuous_then_pause() -> None:
    run = fake_run(40, step_mode=True, delay=0.05)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, run)
        await pilot.press("c")
        assert run.control.mode == "continuous"
        assert "RUNNING" in screen.status.text
        await wait_for(pilot, lambda: started(screen) >= 3)
        await pilot.press("p")
        assert run.control.mode == "step"
        await wait_for(pilot, lambda: run.control.waiting and started(screen) == run.started)
        # parked in step mode with no step queued: the gate is shut, the run cannot go on by itself
        assert run.control.pending_steps == 0 and run.started < 40
        assert "paused" in screen.status.text


async def test_reflection_toggle_changes_control_and_header() -> None:
    run = fake_run(3)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, run)
        assert run.control.reflection == "off"
        assert "reflection off" in screen.status.text
        await pilot.press("r")
        assert run.control.reflection == "system"
        await pilot.pause()
        assert "reflection on · as system" in screen.status.text
        await pilot.press("r")
        assert run.control.reflection == "off"
        await pilot.pause()
        assert "reflection off" in screen.status.text


async def test_running_block_shows_spinner_then_stops() -> None:
    run = fake_run(2, delay=1.5)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, run)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.view.running_block is not None)
        b = screen.view.running_block
        assert screen.view._ticker is not None
        await wait_for(pilot, lambda: "running…" in screen.view.get_block(b)[0][0].text)
        await wait_for(pilot, lambda: "waiting for the model" in screen.status.text)
        await wait_for(pilot, lambda: screen.view.running_block is None and run.control.waiting)
        assert screen.view._ticker is None
        assert "running…" not in screen.view.get_block(b)[0][0].text


async def test_auto_collapse_and_its_switch() -> None:
    run = fake_run(5)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, run)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: started(screen) == 2 and run.control.waiting)
        await pilot.pause()
        iters = [b for b in screen.model.blocks if b.kind == "iteration"]
        assert [b.expanded for b in iters] == [False, True]
        await pilot.press("a")
        assert screen.view.auto_collapse is False
        await pilot.press("n")
        await wait_for(pilot, lambda: started(screen) == 3 and run.control.waiting)
        await pilot.pause()
        iters = [b for b in screen.model.blocks if b.kind == "iteration"]
        assert [b.expanded for b in iters] == [False, True, True]


async def test_quit_while_parked_cancels_the_worker() -> None:
    run = fake_run(3)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, run)
        await pilot.press("q")
        await pilot.pause()
    assert screen._worker is not None and screen._worker.is_finished
    assert app.return_code == 0


async def test_a_crashing_run_is_shown_not_fatal() -> None:
    class Broken(FakeRun):
        async def events(self, transient: bool = False) -> AsyncIterator[Any]:
            async for e in super().events(transient):
                yield e
                if isinstance(e, IterationStarted):
                    raise RuntimeError("provider exploded")

    run = Broken(fake_run(2).iterations, step_mode=False)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen.run_done)
        await pilot.pause()
        assert screen.run_error == "RuntimeError: provider exploded"
        texts = [b.events[-1] for b in screen.model.blocks]
        assert any(getattr(e, "text", "").startswith("the run stopped with an error") for e in texts)
        assert "FAILED" in screen.status.text
        await pilot.press("n")  # nothing to step: still alive
        await pilot.press("j", "k", "enter")


async def test_quit_mid_run_leaves_a_readable_transcript(tmp_path: Path) -> None:
    run = demo_run(step_mode=True, runs_dir=tmp_path)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: run.control.waiting)
        await pilot.press("n")
        await wait_for(pilot, lambda: started(screen) == 1 and run.control.waiting)
        await pilot.press("n", "q")
    saved = open_transcript(run.path)
    assert not saved.warnings
    assert isinstance(saved.events[-1], RunFinished)
    assert saved.events[-1].reason == "cancelled"
    assert sum(isinstance(e, IterationStarted) for e in saved.events) >= 1


async def test_cursor_left_behind_is_not_dragged_along() -> None:
    run = fake_run(5)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, run)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: started(screen) == 2 and run.control.waiting)
        await pilot.pause()
        view = screen.view
        newest = max(i for i, b in enumerate(screen.model.blocks) if b.kind == "iteration")
        assert view.cursor == (newest, 0)  # following the run
        await pilot.press("g")  # look at the start: stop following
        await pilot.press("n")
        await wait_for(pilot, lambda: started(screen) == 3 and run.control.waiting)
        await pilot.pause()
        assert view.cursor == (0, 0)
        await pilot.press("G")  # back at the end: follow again
        await pilot.press("n")
        await wait_for(pilot, lambda: started(screen) == 4 and run.control.waiting)
        await pilot.pause()
        newest = max(i for i, b in enumerate(screen.model.blocks) if b.kind == "iteration")
        assert view.cursor == (newest, 0)


async def test_a_streamed_reply_shows_in_the_running_block(tmp_path: Path) -> None:
    """With streaming on, deltas reach the view while the request is in flight; none reach the file."""
    run = demo_run(step_mode=True, runs_dir=tmp_path, stream=True, reflection="off")
    app, screen = transcript_app(run=run)
    shown: list[Any] = []
    async with app.run_test(size=(120, 40)) as pilot:
        original = screen.view.show_delta

        def spy(delta: Any) -> None:
            shown.append((screen.view.running_block, delta))
            original(delta)

        screen.view.show_delta = spy  # type: ignore[method-assign]
        await wait_for(pilot, lambda: run.control.waiting)
        await pilot.press("n")
        await wait_for(pilot, lambda: started(screen) == 1 and run.control.waiting and screen.view.running_block is None)
        await pilot.pause()
        assert shown and all(block is not None for block, _ in shown)
        first = shown[0][1]
        assert first.text and first.ttft_s is not None  # deltas are throttled: at least the first arrives
        assistant = screen.transcript.iterations[0].assistant
        assert assistant is not None and assistant.ttft_s is not None
        assert screen.view.streaming is None  # the message landed: the preview is gone
    assert '"assistant_delta"' not in run.path.read_text()


def test_status_shows_the_role_notes_really_go_in() -> None:
    """After a role fallback the header says which role the endpoint accepted."""
    from tui.widgets.status_bar import StatusInfo, render_status

    plain = render_status(StatusInfo(live=True, reflection="system", effective_role="system")).plain
    assert "on · as system" in plain and "sent as" not in plain
    fallen = render_status(StatusInfo(live=True, reflection="system", effective_role="user")).plain
    assert "sent as user (endpoint refused system)" in fallen
