"""The app on real material, driven as a person uses it: code as code, causes on screen, errors one key away,
search that reveals, copy and raw JSON, a run followed while it is written, honest state, 80x24, and
nothing from a model or a tool reaching the terminal as a control sequence."""

from __future__ import annotations

import asyncio
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, AsyncIterator

from textual import events

from agent.events import AssistantMessage, ToolResult
from agent.transcripts.importers import open_transcript, transcript_from_messages
from tests.conftest import DATA
from tests.tui_helpers import FakeRun, call, iteration_events, transcript_app
from tui.app import AgentTuiApp
from tui.screens.text import TextScreen
from tui.screens.transcript import TranscriptScreen
from tui.snapshot import render_svg

SIZE = (120, 40)



def item_of(block: Any, call_id: str, kind: str) -> int:
    """The index of the `kind` item (call or result) of `call_id` in `block`."""
    return next(i for i, item in enumerate(block.get_items()) if item.kind == kind and item.call_id == call_id)

def block_text(screen: TranscriptScreen, b: int) -> str:
    return "\n".join(strip.text for strip in screen.view.get_block(b)[0])


def iteration(screen: TranscriptScreen, number: int) -> int:
    return next(i for i, b in enumerate(screen.model.blocks) if b.kind == "iteration" and b.number == number)


def on_screen(screen: TranscriptScreen) -> str:
    """The transcript lines in the viewport, as text."""
    view = screen.view
    return "\n".join(view.render_line(y).text for y in range(view.scrollable_content_region.height))


async def open_to(screen: TranscriptScreen, pilot, number: int) -> int:
    b = iteration(screen, number)
    screen.view.goto(b, 0)
    screen.view.set_expanded(b, True)
    await pilot.pause()
    return b


# -- content -------------------------------------------------------------------------------------------------


async def test_write_file_is_code_and_edit_file_is_a_diff() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        text = block_text(screen, await open_to(screen, pilot, 4))
        assert '"content": ┐ 12 lines, python' in text
        assert "│     │ def quicksort(items):" in text and "\\n" not in text
        text = block_text(screen, await open_to(screen, pilot, 2))
        assert "old → new:" in text and "@@ -1,2 +1,3 @@" in text
        assert "│ -     return quicksort(smaller) + [pivot] + quicksort(larger)" in text
        assert "│ +     return quicksort(smaller) + equal + quicksort(larger" in text


async def test_a_failing_run_shows_its_cause_and_o_unfolds_all() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        b = await open_to(screen, pilot, 3)
        text = block_text(screen, b)
        assert "✗ tests failed" in text.split("\n")[0]  # the title
        assert "E   SyntaxError: '(' was never closed" in text
        assert "… 14 lines hidden (click, or o for all)" in text and "_find_and_load_unlocked" not in text
        await pilot.press("o")
        text = block_text(screen, b)
        assert "lines hidden" not in text and "_find_and_load_unlocked" in text
        await pilot.press("o")
        assert "… 14 lines hidden" in block_text(screen, b)


async def test_what_the_agent_changed_in_its_block_and_by_d() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        text = block_text(screen, await open_to(screen, pilot, 4))
        assert "± changed 1 file  quicksort.py +1 -1" in text
        assert "│ +    return quicksort(smaller) + equal + quicksort(larger)" in text
        assert "workspace /tmp/agent-tui-quicksort-" in screen.status.text
        await pilot.press("d")
        shown = app.screen
        assert isinstance(shown, TextScreen) and shown.title_text.startswith("What the agent changed in /tmp/")
        assert "iteration 2 · 1 file: quicksort.py" in shown.copy_text
        assert "+    equal = [x for x in items if x == pivot]" in shown.copy_text
        await pilot.press("escape")
        assert app.screen is screen


# -- errors ------------------------------------------------------------------------------------------------


async def test_x_and_X_jump_between_errors() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        await pilot.press("x")
        assert view.cursor_block.number == 3 and view.cursor_item.kind == "result"
        assert view.cursor_item.call_id == "call_se03"
        await pilot.press("x")  # the only one: it stays, and says so
        assert view.cursor_item.call_id == "call_se03"
        await pilot.press("g", "G", "X")
        assert view.cursor_item.call_id == "call_se03"


async def test_imported_exit_codes_and_format_errors_are_marked() -> None:
    messages = [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "task"},
        {"role": "assistant", "content": "THOUGHT: run it\n\n```bash\npython app.py\n```"},
        {"role": "user", "content": "<returncode>1</returncode>\n<output>\nTraceback ...\n</output>",
         "extra": {"returncode": 1}},
        {"role": "assistant", "content": "two actions\n```bash\nls\n```\n```bash\npwd\n```"},
        {"role": "user", "content": "Please always provide EXACTLY ONE action in triple backticks, found 2 actions."},
    ]
    app, screen = transcript_app(transcript=transcript_from_messages(messages, "json-array"))
    async with app.run_test(size=SIZE) as pilot:
        assert "✗ exit 1" in block_text(screen, iteration(screen, 1)).split("\n")[0]
        assert "✗ format error" in block_text(screen, iteration(screen, 2)).split("\n")[0]
        await pilot.press("x")
        assert screen.view.cursor_item.kind == "driver" and screen.view.cursor_block.number == 1


# -- filter --------------------------------------------------------------------------------------------------


async def test_filter_by_tool_role_and_errors() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        await pilot.press("f", *"errors")
        await pilot.pause()
        shown = [b.number for k, b in enumerate(screen.model.blocks) if k not in view.hidden]
        assert shown == [3, None]  # the failing iteration, and the run's ending
        assert "filter errors: 1 of 6 iterations" in screen.status.text
        await pilot.press("enter", "j")  # back to the transcript; the cursor stays among what is shown
        assert view.cursor[0] not in view.hidden
        await pilot.press("f")
        for _ in "errors":
            await pilot.press("backspace")
        await pilot.press(*"write_file")
        await pilot.pause()
        assert [b.number for k, b in enumerate(screen.model.blocks) if k not in view.hidden] == [4, None]
        await pilot.press("escape")  # esc clears
        await pilot.pause()
        assert view.hidden == set() and "filter" not in screen.status.text
        await pilot.press("f", *"role:reflection")
        await pilot.pause()
        assert "filter role:reflection: 0 of 6 iterations" in screen.status.text


# -- search ------------------------------------------------------------------------------------------------


async def test_search_opens_a_fold_and_scrolls_to_the_line() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"_find_and_load_unlocked", "enter")
        view = screen.view
        assert view.cursor_block.number == 3 and view.cursor_item.kind == "result"
        assert "_find_and_load_unlocked" in on_screen(screen)


async def test_search_finds_decoded_argument_text() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *'"""Quicksort', "enter")  # in write_file's content: \"\"\" on the wire
        view = screen.view
        for _ in range(len(view.matches)):
            if view.cursor_block.number == 4 and view.cursor_item.kind == "call":
                break
            await pilot.press("enter")
        assert view.cursor_block.number == 4 and view.cursor_item.kind == "call"
        assert '"""Quicksort, written for clarity' in on_screen(screen)


async def test_keys_typed_right_after_slash_land_in_the_search_box() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        before = [b.expanded for b in screen.model.blocks]
        for key, char in [("slash", "/"), ("E", "E"), ("R", "R"), ("R", "R"), ("O", "O"), ("R", "R")]:
            app.post_message(events.Key(key, char))  # as a terminal delivers a fast burst: all at once
        await pilot.pause()
        await pilot.pause()
        assert screen.search_bar.text == "ERROR" and [b.expanded for b in screen.model.blocks] == before


async def test_slash_and_f_typed_into_a_bar_are_text() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        for key, char in [("f", "f"), *((c, c) for c in "err"), ("slash", "/"), ("f", "f")]:
            app.post_message(events.Key(key, char))  # a burst: f opens the filter bar, the rest is its text
        await pilot.pause()
        await pilot.pause()
        assert screen.filter_bar.text == "err/f" and not screen.searching
        await pilot.press("escape", "slash", *"src/f", "enter")
        assert screen.search_bar.text == "src/f" and not screen.filter_bar.is_open


async def test_n_moves_between_matches_after_a_live_run_ended() -> None:
    run = FakeRun([iteration_events(i, 2 * i, [call(f"c{i}", "read_file", path="a.py")],
                                    [(f"c{i}", "read_file", f"needle {i}", False)]) for i in (1, 2, 3)],
                  step_mode=False)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=SIZE) as pilot:
        while not screen.run_done:
            await pilot.pause(0.05)
        await pilot.press("slash", *"needle", "enter", "escape")
        first = screen.view.cursor
        await pilot.press("n")
        assert screen.view.cursor != first and "match 2/3" in str(screen.search_bar.query_one("#search-status").render())
        await pilot.press("N")
        assert screen.view.cursor == first


# -- navigation ------------------------------------------------------------------------------------------


async def test_G_shows_the_last_blocks_contents() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "killed_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("G")
        last = len(screen.model.blocks) - 1
        assert screen.model.blocks[last].expanded and screen.view.cursor == (last, 0)
        assert "→ call   run_tests  call_se03" in on_screen(screen)


async def test_l_on_a_reused_id_goes_to_the_partner_in_the_same_iteration() -> None:
    events_ = transcript_from_messages([
        {"role": "system", "content": "s"}, {"role": "user", "content": "u"},
        {"role": "assistant", "content": None, "tool_calls": [call("call_1", "read_file", path="a.py")]},
        {"role": "tool", "tool_call_id": "call_1", "content": "first"},
        {"role": "assistant", "content": None, "tool_calls": [call("call_1", "read_file", path="b.py")]},
        {"role": "tool", "tool_call_id": "call_1", "content": "second"},
    ], "json-array")
    app, screen = transcript_app(transcript=events_)
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        b2 = await open_to(screen, pilot, 2)
        result = item_of(view.model.blocks[b2], "call_1", "result")
        view.goto(b2, result)
        await pilot.press("l")
        assert view.cursor[0] == b2 and view.cursor_item.kind == "call"
        await pilot.press("l")
        assert view.cursor == (b2, result)


async def test_y_copies_the_item_and_J_shows_its_raw_json() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "syntax_error_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        view = screen.view
        b = await open_to(screen, pilot, 4)
        view.goto(b, item_of(view.model.blocks[b], "call_se04", "call"))
        await pilot.press("y")
        copied = json.loads(app.clipboard)
        assert copied["path"] == "quicksort.py" and copied["content"].startswith('"""Quicksort')
        await pilot.press("J")
        raw = app.screen
        assert isinstance(raw, TextScreen) and json.loads(raw.copy_text)["id"] == "call_se04"
        await pilot.press("escape", "X", "y")
        assert app.clipboard.startswith("tests failed (exit 2)")
        await pilot.press("v", "y")  # in the request view: the whole request, its body as sent
        body = json.loads(app.clipboard)
        request = body["messages"]
        assert [m["role"] for m in request][:2] == ["system", "user"] and len(request) == 6
        assert body["model"] == view.model.blocks[b].events[1].model


# -- state --------------------------------------------------------------------------------------------------


async def test_a_running_call_is_running_not_an_ordering_violation() -> None:
    gate = asyncio.Event()

    class SlowTool(FakeRun):
        async def events(self, transient: bool = False) -> AsyncIterator[Any]:  # the result waits for the test
            async for event in super().events(transient):
                if isinstance(event, ToolResult):
                    await gate.wait()
                yield event

    run = SlowTool([iteration_events(1, 2, [call("c1", "run_tests")], [("c1", "run_tests", "ok", False)])],
                   step_mode=False)
    app, screen = transcript_app(run=run)
    async with app.run_test(size=SIZE) as pilot:
        while not any(isinstance(e, AssistantMessage) for e in screen.transcript.events):
            await pilot.pause(0.05)
        await pilot.pause()
        b = iteration(screen, 1)
        text = block_text(screen, b)
        assert "running run_tests…" in text.split("\n")[0] and "→ call   run_tests  c1  ⋯ running…" in text
        assert screen.model.violation_count == 0 and "ordering violation" not in screen.status.text
        gate.set()
        while not screen.run_done:
            await pilot.pause(0.05)
        text = block_text(screen, b)
        assert "running" not in text and "← result run_tests" in text


async def test_a_stopped_run_says_its_calls_were_never_answered() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "killed_run.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        text = block_text(screen, await open_to(screen, pilot, 3))
        assert "never answered: the run stopped before its result" in text
        assert screen.model.violation_count == 0 and "ordering violation" not in screen.status.text


async def test_a_transcript_being_written_is_followed_until_the_run_finishes(tmp_path: Path) -> None:
    source = (DATA / "syntax_error_run.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    cut = next(i for i, line in enumerate(source) if '"iteration_started"' in line and '"iteration":3' in line)
    path.write_text("".join(source[:cut]) + source[cut][:20], encoding="utf-8")  # a line half written
    app, screen = transcript_app(transcript=open_transcript(path), title=str(path), follow=path)
    async with app.run_test(size=SIZE) as pilot:
        assert screen.following and "● following" in screen.status.text
        assert screen.model.iterations == 2
        with path.open("a", encoding="utf-8") as f:
            f.write(source[cut][20:] + "".join(source[cut + 1:]))
        for _ in range(200):
            if screen.transcript.finished is not None:
                break
            await pilot.pause(0.05)
        assert screen.model.iterations == 6 and screen.transcript.finished.reason == "finished"
        assert not screen.following and "following" not in screen.status.text
        assert screen.view.cursor[0] == len(screen.model.blocks) - 1  # it followed the newest block


async def test_imported_files_say_tokens_not_recorded() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "mini_swe_agent.traj.json"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "tokens not recorded" in screen.status.text and "0 tok" not in screen.status.text
        finish = len(screen.model.blocks) - 1
        text = block_text(screen, finish)
        assert "4 iterations" in text and "0 tok" not in text and "tokens not recorded" in text
    one = transcript_from_messages([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "done"}],
                                   "json-array")
    app, screen = transcript_app(transcript=one)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "\n1 iteration · tokens not recorded" in screen.status.text


# -- layout ---------------------------------------------------------------------------------------------------


async def test_80x24_keeps_the_stats_line_the_essential_keys_and_the_help_box() -> None:
    from agent.run.runner import demo_run

    app = AgentTuiApp(TranscriptScreen(run=demo_run(step_mode=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        lines = screen.status.text.split("\n")
        assert len(lines) == 2 and all(len(line) <= 78 for line in lines)
        assert "iteration" in lines[1] and "tokens" in lines[1]
        footer = app.screen.query_one("KeyBar").render().plain
        for key in ("Step", "Search", "Keys", "Quit"):
            assert key in footer, footer
        await pilot.press("question_mark")
        box = app.screen.query_one("VerticalScroll")
        assert box.region.right <= 80 and box.region.x >= 0
        await pilot.press("escape", "q")


# -- terminal safety ---------------------------------------------------------------------------------------


async def test_escape_sequences_are_shown_inert_in_the_app_and_its_svg(tmp_path: Path) -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "escapes.json"), title="escapes.json")
    svg = await render_svg(app, tmp_path / "escapes.svg", (120, 40))
    text = svg.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    ET.fromstring(text)  # well-formed XML
    assert "^[]0;pwned^G" in text.replace("&#160;", " ")
    app, screen = transcript_app(transcript=open_transcript(DATA / "escapes.json"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        for b in range(len(screen.model.blocks)):
            assert all("\x1b" not in s.text and "\x07" not in s.text for s in screen.view.get_block(b)[0])


# -- the runs picker -------------------------------------------------------------------------------------------


async def test_runs_picker_lists_every_format_in_subfolders_and_counts_what_it_skipped(tmp_path: Path) -> None:
    from tui.screens.runs import RunsScreen

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "deep").mkdir()
    shutil.copy(DATA / "syntax_error_run.jsonl", tmp_path / "mine" / "syntax_error_run.jsonl")
    shutil.copy(DATA / "mini_swe_agent.traj.json", tmp_path / "mine" / "deep" / "calc.traj.json")
    shutil.copy(DATA / "messages_array.json", tmp_path / "plain.json")
    (tmp_path / "summary.json").write_text('{"settings": ["off"]}')
    (tmp_path / "notes.jsonl").write_text('{"not": "a header"}\n')
    app = AgentTuiApp(RunsScreen(tmp_path, eager=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        names = [e.label for e in screen.entries]
        assert names == ["mine/deep/calc.traj.json", "mine/syntax_error_run.jsonl", "plain.json"]
        head = str(screen.query_one("#runs-head").render())
        assert "3 runs" in head and "skipped 2 files: 1 .jsonl file without a transcript header, " \
                                    "1 JSON file that is not a transcript" in head
        mini = next(e for e in screen.entries if e.label.endswith(".traj.json"))
        assert mini.reason == "finished" and mini.iterations == 4
        table = screen.table
        assert table.virtual_size.width <= 80  # the columns fit the terminal
        await pilot.press("enter")
        assert isinstance(app.screen, TranscriptScreen)
