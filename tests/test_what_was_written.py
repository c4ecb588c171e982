"""What the model wrote is on screen: the raw reply of a text-mode run (searchable, its parsed calls under it),
the reply mini-swe-agent refused (`extra.model_response`), titles that say what an iteration without a call
did, and pytest's `E` lines inside a JSON result (mini-swe-agent's tool-call observations)."""

from __future__ import annotations

from pathlib import Path

from agent.events import DriverMessage, ToolResult
from agent.transcripts.importers import open_transcript
from agent.transcripts.store import TranscriptModel
from tests.tui_helpers import transcript_app
from tui.blocks import RenderState, render_block, title_text
from tui.content import folded, result_lines

ROOT = Path(__file__).parent.parent
RUNS = ROOT / "docs/results/runs"
DATA = Path(__file__).parent / "data"
SIZE = (150, 45)


def model_of(path: Path) -> TranscriptModel:
    transcript = open_transcript(path)
    model = TranscriptModel()
    model.imported = transcript.header.source is not None
    model.extend(transcript.events)
    return model


def block_text(app, model: TranscriptModel, number: int) -> tuple[str, list[str]]:
    block = next(b for b in model.blocks if b.number == number)
    block.expanded = True
    lines, _ = render_block(app.console, block, model, 140, RenderState())
    return lines[0].text, [line.text for line in lines[1:]]


async def test_a_text_mode_reply_is_shown_as_written_and_found_by_search() -> None:
    """Qwen2.5-Coder wrote five calls in iteration 1, `finish` among them; one was taken."""
    path = RUNS / "humanevalfix-71__system__r1.jsonl"
    app, screen = transcript_app(transcript=open_transcript(path), source=str(path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        title, lines = block_text(app, screen.model, 1)
        text = "\n".join(lines)
        assert "the reply as written; 1 call parsed from it, below" in text
        assert '"name": "finish"' in text  # what it also wrote, not run
        assert text.index('"name": "finish"') < text.index("→ call   read_file")  # the parsed call under it
        await pilot.press("slash")
        await pilot.press(*"Fixed the bug in", "enter")
        await pilot.pause()
        block, item = screen.view.cursor_block, screen.view.cursor_item
        assert block.number == 1 and item.kind == "assistant"


async def test_an_iteration_without_a_call_is_titled_by_what_happened() -> None:
    app, _ = transcript_app(transcript=open_transcript(RUNS / "humanevalfix-71__system__r1.jsonl"))
    async with app.run_test(size=SIZE):
        ours = model_of(RUNS / "humanevalfix-71__system__r1.jsonl")
        prose = title_text(next(b for b in ours.blocks if b.number == 4), ours, 120, RenderState()).plain
        assert "no tool call: prose" in prose and "$ def" not in prose  # a ```python block is not a command
        empty = model_of(RUNS / "humanevalfix-4__system__r1.jsonl")
        assert "no tool call: empty reply" in title_text(
            next(b for b in empty.blocks if b.number == 3), empty, 120, RenderState()).plain
        theirs = model_of(DATA / "mini_swe_agent.traj.json")  # mini-swe-agent's command, from its bash block
        assert "$ ls -la" in title_text(next(b for b in theirs.blocks if b.number == 1), theirs, 120,
                                         RenderState()).plain


async def test_the_reply_mini_swe_agent_refused_is_shown_under_its_format_error() -> None:
    """mini-swe-agent 2 keeps a refused reply only in its error message's `extra.model_response`."""
    transcript = open_transcript(DATA / "mini_swe_agent_textbased.traj.json")
    [error] = [e for e in transcript.events if isinstance(e, DriverMessage) and e.kind == "format_error"]
    assert error.iteration == 1  # an iteration of its own
    assert transcript.request_at(1)[0] == transcript.messages()[:2]  # asked with the task, its reply refused
    app, screen = transcript_app(transcript=transcript)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        title, lines = block_text(app, screen.model, 1)
        assert title.count("format error") == 1 and "✗ format error" in title and "no reply" not in title
        text = "\n".join(lines)
        assert "Expected exactly 1 action, found 2." in text
        assert "the reply that caused it, as written (not kept in the history):" in text
        assert "Let me read calc.py and run the tests." in text
        await pilot.press("slash")
        await pilot.press(*"read calc.py and run", "enter")
        await pilot.pause()
        assert screen.view.cursor_block.number == 1 and screen.view.cursor_item.kind == "driver"
    toolcall = model_of(DATA / "mini_swe_agent_toolcall.traj.json")  # no model_response: said so
    title, lines = block_text(app, toolcall, 3)
    assert "format error" in title and any("is not in the file" in line for line in lines)


def test_pytest_e_lines_inside_a_json_observation_stay_unfolded() -> None:
    transcript = open_transcript(DATA / "mini_swe_agent_toolcall.traj.json")
    failing = next(r for r in transcript.events if isinstance(r, ToolResult) and '"returncode": 1' in r.content)
    lines = result_lines(failing.content)
    shown, hidden = folded(lines)
    e_lines = [t.plain for t in lines if "│ E " in t.plain]
    assert hidden and len(e_lines) == 8
    assert [t.plain for t in shown if "│ E " in t.plain] == e_lines
    line = next(t for t in lines if "│ E " in t.plain)
    rule_end = line.plain.index("│ ") + 2
    assert line.style == "" and all(span.end <= rule_end for span in line.spans)  # the rule grey, not the text
