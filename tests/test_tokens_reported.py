"""Token counts are what the endpoint reported: a call without counts says "not reported", and the tokens of
the calls that had some (the reflection call's) are never shown as the run's whole."""

from __future__ import annotations

from pathlib import Path

from agent.events import AssistantMessage, ReflectionNote, RunFinished
from agent.transcripts.importers import open_transcript
from agent.transcripts.runs import discover_runs, summarize_file
from tests.test_request_as_sent import text_run
from tests.tui_helpers import transcript_app
from tui.blocks import RenderState, render_block
from tui.widgets.status_bar import render_status

DATA = Path(__file__).parent / "data"
SIZE = (160, 40)


async def test_a_llamacpp_run_without_counts_says_what_was_not_reported(tmp_path: Path) -> None:
    # llama.cpp streams without stream_options: no counts for the agent's calls; the reflection call
    # (not streamed) has them
    out, _ = await text_run(tmp_path)
    transcript = open_transcript(out)
    replies = [e for e in transcript.events if isinstance(e, AssistantMessage)]
    notes = [e for e in transcript.events if isinstance(e, ReflectionNote)]
    assert replies and all(r.usage is None for r in replies)
    assert notes and all(n.usage is not None for n in notes)
    done = transcript.finished
    assert isinstance(done, RunFinished) and done.unreported_calls == len(replies)
    reported = sum(n.usage.total_tokens for n in notes)
    app, screen = transcript_app(transcript=transcript, source=str(out))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = screen.status.text  # at this width, the short form: the in/out split left out
        assert f"≥{reported:,} tokens ({len(replies)} calls not reported)" in status
        wide = render_status(screen.status.info, 400).plain  # room for all of it
        assert f"{reported:,} tokens reported (" in wide and f"; {len(replies)} calls not reported" in wide
        finish = screen.view.get_block(len(screen.model.blocks) - 1)[0]
        assert f"≥{reported:,} tok" in finish[0].text
        assert any(f"{len(replies)} calls not reported" in line.text for line in finish)
        first = next(b for b in screen.model.blocks if b.kind == "iteration")
        first.expanded = True
        lines, _ = render_block(app.console, first, screen.model, 150, RenderState())
        assert any("tokens not reported" in line.text for line in lines)
    entry = summarize_file(next(e for e in discover_runs(tmp_path).entries if e.path == out))
    assert entry.unreported == len(replies) and entry.usage is not None and entry.usage.total_tokens == reported


async def test_another_tools_file_without_counts_says_not_recorded() -> None:
    app, screen = transcript_app(transcript=open_transcript(DATA / "mini_swe_agent.traj.json"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "tokens not recorded" in screen.status.text and "not reported" not in screen.status.text
