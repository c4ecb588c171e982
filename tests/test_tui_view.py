"""The app inspecting saved transcripts: navigation, id links, search, the request view, ordering flags,
every file format, bad input, and big files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.events import (
    AssistantMessage,
    DriverMessage,
    IterationStarted,
    Notice,
    RunFinished,
    RunStarted,
    ToolResult,
)
from agent.transcripts.transcript import Transcript
from agent.transcripts.importers import open_transcript
from tests.tui_helpers import T0, header, quicksort_transcript, synthetic_events, transcript_app, write_jsonl
from tui.screens.help import HelpScreen
from tui.screens.request import RequestScreen
from tui.screens.transcript import TranscriptScreen
from tui.widgets.request_view import RequestView
from tui.widgets.transcript_view import TranscriptView

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
SIZE = (120, 40)


def iteration_block(screen: TranscriptScreen, number: int) -> int:
    return next(i for i, b in enumerate(screen.model.blocks) if b.kind == "iteration" and b.number == number)


async def test_opens_with_first_iteration_open_and_cursor_on_it() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = screen.view
        assert view.cursor == (iteration_block(screen, 1), 0)
        assert view.cursor_iteration == 1
        blocks = screen.model.blocks
        assert [b.kind for b in blocks] == ["start", "iteration", "iteration", "iteration", "iteration", "finish"]
        assert [b.expanded for b in blocks] == [False, True, False, False, False, True]
        assert screen.status.text.startswith(" DONE ✓   transcript · run ended: finished, tests pass")  # a saved run
        assert "4 iterations" in screen.status.text


async def test_keys_move_expand_collapse() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        b1 = iteration_block(screen, 1)
        await pilot.press("j")  # into block 1: the assistant item (the request line is not selectable)
        assert view.cursor[0] == b1 and view.cursor_item.kind == "assistant"
        await pilot.press("k")
        assert view.cursor == (b1, 0)
        await pilot.press("enter")  # collapse
        assert not screen.model.blocks[b1].expanded
        await pilot.press("j")
        assert view.cursor == (b1 + 1, 0)
        await pilot.press("enter")
        assert screen.model.blocks[b1 + 1].expanded
        await pilot.press("E")
        assert not any(b.expanded for b in screen.model.blocks)
        await pilot.press("e")
        assert all(b.expanded for b in screen.model.blocks)
        await pilot.press("G")
        assert view.cursor == (len(screen.model.blocks) - 1, 0)
        await pilot.press("g")
        assert view.cursor == (0, 0)
        assert view.total_height == sum(view.block_height(i) for i in range(view.block_count()))


async def test_step_key_opens_the_next_iteration_of_a_file() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        b1 = iteration_block(screen, 1)
        await pilot.press("n")
        assert screen.view.cursor == (b1 + 1, 0)
        assert screen.model.blocks[b1 + 1].expanded and not screen.model.blocks[b1].expanded


async def test_call_and_result_are_linked() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        await pilot.press("tab")
        item = view.cursor_item
        assert item.kind == "call" and item.call_id == "call_read_1"
        assert view.highlighted_ids == {"call_read_1"}
        assert len(view.partner_items) == 1
        pb, pi = view.partner_items[0]
        partner = screen.model.blocks[pb].get_items()[pi]
        assert partner.kind == "result" and partner.call_id == "call_read_1"
        # The partner is on screen, marked in the gutter with the id's colour.
        y0, _ = view.item_lines(pb, pi)
        assert view.scroll_y <= y0 < view.scroll_y + view.scrollable_content_region.height
        line = view.decorate_line(pb, 0, pi, view.get_block(pb)[0][0], 100)
        assert line.text.startswith("┃")
        # Same colour on the call and on its result, a different one for the other call.
        assert screen.model.link("call_read_1") != screen.model.link("call_ls_1")
        # tab again: the second call; shift+tab back; l jumps to the partner result.
        await pilot.press("tab")
        assert view.cursor_item.call_id == "call_ls_1"
        await pilot.press("shift+tab")
        assert view.cursor_item.call_id == "call_read_1"
        await pilot.press("l")
        assert view.cursor == (pb, pi)
        assert view.highlighted_ids == {"call_read_1"}
        assert view.partner_items and screen.model.blocks[view.partner_items[0][0]].get_items()[
            view.partner_items[0][1]].kind == "call"
        # Moving off the link clears the highlight.
        await pilot.press("g")
        assert view.highlighted_ids == frozenset()


async def test_tab_reaches_links_in_collapsed_blocks() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        for _ in range(5):  # 2 calls + 2 results in iteration 1, then the call of iteration 2
            await pilot.press("tab")
        assert view.cursor_block.number == 2
        assert view.cursor_item.call_id == "call_test_2"
        assert view.cursor_block.expanded


async def test_unfold_long_result() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        for _ in range(3):
            await pilot.press("tab")
        assert view.cursor_item.kind == "result" and view.cursor_item.call_id == "call_read_1"
        b = view.cursor[0]
        folded = view.block_height(b)
        text = "\n".join(s.text for s in view.get_block(b)[0])
        assert "lines hidden (click, or o for all)" in text
        await pilot.press("o")
        assert view.block_height(b) > folded
        assert "lines hidden" not in "\n".join(s.text for s in view.get_block(b)[0])
        await pilot.press("o")
        assert view.block_height(b) == folded


async def test_search_finds_tool_name_and_moves_cursor() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        await pilot.press("slash")
        assert screen.search_bar.is_open
        for ch in "edit_file":
            await pilot.press(ch)
        await pilot.press("enter")
        assert view.cursor_block.number == 3
        assert view.cursor_block.expanded
        assert view.cursor_item.kind == "call"
        assert "match 1/2" in str(screen.search_bar.query_one("#search-status").render())
        await pilot.press("enter")  # enter again: next match (the result)
        assert view.cursor_item.kind == "result"
        await pilot.press("escape")  # back to the transcript, search still on: n/N walk matches
        assert app.focused is view
        await pilot.press("n")
        assert view.cursor_item.kind == "call"
        await pilot.press("N")
        assert view.cursor_item.kind == "result"
        await pilot.press("escape")
        assert not screen.search_bar.is_open and view.search_query == ""


async def test_search_message_text() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"pivot", "enter")
        view = screen.view
        assert view.matches
        item = view.cursor_item
        assert item.kind in ("result", "reflection", "call")
        assert "match 1/" in str(screen.search_bar.query_one("#search-status").render())


async def test_request_view_marks_new_messages() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")  # iteration 2
        assert screen.view.cursor_iteration == 2
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RequestScreen)
        assert screen.iteration == 2
        assert len(screen.messages) == 6 and screen.previous_size == 2
        assert screen.new_count == 4
        rv = screen.query_one(RequestView)
        marks = [rv.decorate_line(i, 0, 0, rv.get_block(i)[0][0], 100).text[:1] for i in range(6)]
        assert marks == [" ", " ", "+", "+", "+", "+"]
        assert "+ new" in rv.get_block(2)[0][0].text
        assert "+ new" not in rv.get_block(1)[0][0].text
        await pilot.press("escape")
        assert not isinstance(app.screen, RequestScreen)


async def test_request_view_on_the_start_block_explains() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g", "v")
        assert not isinstance(app.screen, RequestScreen)


async def test_ordering_violation_flagged_on_the_right_message() -> None:

    transcript = open_transcript(DATA / "bad_order.json")
    app, screen = transcript_app(transcript=transcript)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        model = screen.model
        assert model.violation_count == 4
        # message 4 is the system note in the middle of the batch: a DriverMessage of iteration 1.
        b = iteration_block(screen, 1)
        block = model.blocks[b]
        flagged = {key: [v.rule for v in vs] for key, vs in block.violations.items()}
        note_pos = next(i for i, e in enumerate(block.events) if isinstance(e, DriverMessage))
        assert "note-inside-batch" in flagged[(note_pos, 0)]
        item = block.item_for_message(note_pos, 0)
        assert block.get_items()[item].kind == "driver"
        text = "\n".join(s.text for s in screen.view.get_block(b)[0])
        assert "⚠ note-inside-batch:" in text
        assert "ordering violation" in screen.view.get_block(b)[0][0].text  # badge in the title
        assert "4 ordering violations" in screen.status.text


async def test_ordering_check_with_injected_checker() -> None:
    class V:
        def __init__(self, index: int) -> None:
            self.index, self.rule, self.message = index, "orphan-result", "no call for this id"

    transcript = quicksort_transcript()
    messages = transcript.messages()
    target = next(i for i, m in enumerate(messages) if m.get("tool_call_id") == "call_test_2")
    app, screen = transcript_app(transcript=transcript, checker=lambda msgs: [V(target)])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        b = iteration_block(screen, 2)
        block = screen.model.blocks[b]
        (key,) = block.violations
        assert isinstance(block.events[key[0]], ToolResult)
        assert block.events[key[0]].tool_call_id == "call_test_2"
        assert screen.model.blocks[iteration_block(screen, 1)].violations == {}


@pytest.mark.parametrize("name", ["messages_array.json", "messages_object.json", "mini_swe_agent.traj.json",
                                  "bad_order.json"])
async def test_opens_each_sample_format(name: str) -> None:

    transcript = open_transcript(DATA / name)
    app, screen = transcript_app(transcript=transcript, title=name)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "G", "g", "tab", "tab", "v")
        await pilot.pause()
        if isinstance(app.screen, RequestScreen):
            await pilot.press("escape")
        n_iter = sum(1 for b in screen.model.blocks if b.kind == "iteration")
        assert n_iter == len(transcript.iterations)
        for b in range(len(screen.model.blocks)):
            screen.view.get_block(b)


async def test_mini_swe_agent_exit_role_is_not_a_violation() -> None:

    app, screen = transcript_app(transcript=open_transcript(DATA / "mini_swe_agent.traj.json"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert screen.model.violation_count == 0


async def test_torn_last_line_is_warned(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "run.jsonl", synthetic_events(3))
    with path.open("a") as f:
        f.write('{"type": "assistant_mess')
    transcript = open_transcript(path)
    assert transcript.warnings
    app, screen = transcript_app(transcript=transcript)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        box = app.query_one("#warnings")
        assert box.display
        assert "torn" in str(box.render())


async def test_own_jsonl_round_trip(tmp_path: Path) -> None:

    path = write_jsonl(tmp_path / "run.jsonl", synthetic_events(12))
    app, screen = transcript_app(transcript=open_transcript(path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("G")
        assert screen.model.iterations == 12
        assert screen.model.blocks[-1].kind == "finish"


async def test_bad_input_renders_what_is_there() -> None:
    events: list[Any] = [
        RunStarted(ts=T0, messages=[{"role": "wizard", "content": [{"type": "text", "text": "hi"},
                                                                   {"type": "image_url", "image_url": {}}]},
                                    {"content": None}, {"role": "user"}]),
        IterationStarted(ts=T0, iteration=1, request_size=3),
        AssistantMessage(ts=T0, iteration=1, message={"role": "assistant", "content": [{"text": "parts"}, 3],
                                                      "tool_calls": [None, {"id": "c1"}, {"id": "c2", "function": None},
                                                                     {"id": "c3", "function": {"name": "x",
                                                                      "arguments": "{not json"}},
                                                                     {"id": "c4", "function": {"name": "y",
                                                                      "arguments": {"a": 1}}}]}),
        ToolResult(ts=T0, iteration=1, tool_call_id="c1", name="", content="", message={}),
        ToolResult(ts=T0, iteration=1, tool_call_id="zz", name="ghost", content="no such call", is_error=True,
                   message={"role": "tool", "tool_call_id": "zz", "content": "no such call"}),
        DriverMessage(ts=T0, iteration=1, kind="weird", message={"role": 7, "content": {"a": [1, 2]}}),
        Notice(ts=T0, level="error", text="run-level notice without iteration"),
        AssistantMessage(ts=T0, iteration=5, message={}),  # no IterationStarted, empty message
        RunFinished(ts=T0, reason="provider_error", detail="400 Bad Request: messages with role 'tool' must be a "
                    "response to a preceeding message with 'tool_calls'"),
    ]
    app, screen = transcript_app(transcript=Transcript(header=header(), events=events))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        view = screen.view
        texts = []
        for b in range(len(screen.model.blocks)):
            texts.extend(s.text for s in view.get_block(b)[0])
        blob = "\n".join(texts)
        assert "wizard" in blob and "[image]" in blob
        assert "arguments are not valid JSON" in blob
        assert "provider error" in blob and "400 Bad Request" in blob
        finish = view.get_block(len(screen.model.blocks) - 1)[0][0]
        assert "provider error" in finish.text
        for key in ("j",) * 30 + ("tab",) * 10 + ("v", "escape", "k", "o", "enter", "G", "enter"):
            await pilot.press(key)
        assert "FAILED" in screen.status.text


async def test_help_lists_the_keys() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = {k for _, rows in app.screen.sections for k, _ in rows}
        assert {"enter", "tab", "e", "E", "o", "a", "l"} <= keys
        assert any("j" in k for k in keys) and any("/" == k for k in keys)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_click_title_toggles_and_click_item_selects() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        b1 = iteration_block(screen, 1)
        b2 = iteration_block(screen, 2)
        y = view.block_top(b1) - round(view.scroll_y)
        await pilot.click(TranscriptView, offset=(10, y))  # collapse block 1 by its title
        assert not screen.model.blocks[b1].expanded and view.cursor == (b1, 0)
        y = view.block_top(b2) - round(view.scroll_y)
        await pilot.click(TranscriptView, offset=(10, y))
        assert screen.model.blocks[b2].expanded and view.cursor == (b2, 0)
        await pilot.click(TranscriptView, offset=(10, view.block_top(b1) - round(view.scroll_y)))
        assert screen.model.blocks[b1].expanded
        items = screen.model.blocks[b1].get_items()
        call = next(i for i, it in enumerate(items) if it.kind == "call")
        y0, _ = view.item_lines(b1, call)
        await pilot.click(TranscriptView, offset=(10, y0 - round(view.scroll_y)))
        assert view.cursor == (b1, call)
        assert view.highlighted_ids == {"call_read_1"}


async def test_thousand_iterations_without_a_widget_per_block() -> None:
    transcript = Transcript(header=header(), events=synthetic_events(1000))
    app, screen = transcript_app(transcript=transcript)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        nodes = len(list(app.screen.walk_children()))
        assert nodes < 40, nodes
        assert len(screen.model.blocks) == 1002
        view = screen.view
        assert view.cached_blocks < 60  # only what was painted got rendered
        await pilot.press("G", "k", "enter", "e", "G", "g", "E")
        assert len(list(app.screen.walk_children())) == nodes
        assert view.total_height == len(screen.model.blocks)


async def test_the_view_keeps_the_blocks_it_rendered_last_and_drops_the_items_of_the_others() -> None:
    from tui.widgets.lazy_view import CACHE_BLOCKS

    transcript = Transcript(header=header(), events=synthetic_events(CACHE_BLOCKS + 100))
    app, screen = transcript_app(transcript=transcript)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")  # every block open: rendering one derives its items
        view, blocks = screen.view, screen.model.blocks
        for b in range(len(blocks)):  # every block rendered once, in order
            view.get_block(b)
        assert view.cached_blocks == CACHE_BLOCKS
        cursor = view.cursor[0]
        left = [b for b in range(len(blocks) - CACHE_BLOCKS) if b != cursor]
        assert all(blocks[b].items is None for b in left)  # derived again when shown
        assert blocks[cursor].items is not None  # the cursor's block keeps them
        assert all(blocks[b].items is not None for b in range(len(blocks) - CACHE_BLOCKS, len(blocks)))
        view.get_block(len(blocks) - CACHE_BLOCKS)  # used again: the most recent, not the next to leave
        view.get_block(left[0])
        assert blocks[len(blocks) - CACHE_BLOCKS].items is not None
        assert blocks[len(blocks) - CACHE_BLOCKS + 1].items is None


def test_request_at_matches_model_messages() -> None:
    transcript = quicksort_transcript()
    messages, previous = transcript.request_at(3)
    assert previous == 6 and len(messages) == 9
    assert json.dumps(messages)


async def test_empty_transcript_survives_every_key() -> None:
    app, screen = transcript_app(transcript=Transcript(header=header()))
    async with app.run_test(size=SIZE) as pilot:
        for key in ("j", "k", "enter", "tab", "shift+tab", "l", "o", "e", "E", "g", "G", "a", "n", "space", "v",
                    "slash", "x", "enter", "escape", "escape", "question_mark", "escape"):
            await pilot.press(key)
        assert app.is_running


async def test_resize_keeps_layout_consistent() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        await pilot.press("e", "tab")
        before = view.total_height
        await pilot.resize_terminal(60, 30)
        await pilot.pause()
        view.prepare_viewport()
        assert view.line_width < 60
        assert view.total_height == sum(view.block_height(i) for i in range(view.block_count())) and view.total_height > before  # narrower: more wrapping
        for b in range(len(screen.model.blocks)):
            strips, _ = view.get_block(b)
            assert all(s.cell_length == view.line_width for s in strips)
        await pilot.press("tab", "j", "k")
        assert view.highlighted_ids


async def test_double_and_triple_clicks_leave_the_app_running() -> None:
    # A double-click selects the widget's text (Textual walks `widget.query("*")`), a triple-click its
    # container's: neither may take the app down.
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = screen.view
        b1 = iteration_block(screen, 1)
        await pilot.double_click(view, offset=(6, view.block_top(b1)))
        await pilot.pause()
        assert app.is_running and app.screen is screen
        await pilot.triple_click(view, offset=(6, view.block_top(b1) + 2))
        await pilot.pause()
        assert app.is_running and app.screen is screen
        await pilot.double_click(screen.status)
        await pilot.press("slash")
        await pilot.double_click("#search-input")
        await pilot.triple_click("#search-input")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        await pilot.press("escape", "j")  # still answering keys
        assert view.cursor != (b1, 0)
        await pilot.press("q")
    assert app.return_code == 0  # q: a clean exit


def test_an_app_that_crashes_exits_non_zero(tmp_path: Path) -> None:
    # A crash in the app (here: forced in the transcript screen) must not look like a clean quit.
    code = (
        "import sys\n"
        "import tui.screens.transcript as t\n"
        "def boom(self):\n"
        "    raise RuntimeError('boom')\n"
        "t.TranscriptScreen.on_mount = boom\n"
        "from tui.main import main\n"
        f"sys.exit(main(['open', {str(DATA / 'bad_order.json')!r}]))\n"
    )
    env = dict(os.environ, TEXTUAL="headless")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "RuntimeError" in done.stdout + done.stderr and "boom" in done.stdout + done.stderr
