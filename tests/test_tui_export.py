"""Export from the app: the command palette writes the open transcript beside its file and says where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.events import ToolResult
from agent.transcripts.importers import open_transcript
from tests.tui_helpers import T0, quicksort_events, transcript_app, write_jsonl

SECRET = "ghp_PLANTEDinTheAppTest0123456789abcdef"


def toasts(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The messages the app will show as toasts from now on."""
    shown: list[str] = []
    notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **kw: (shown.append(message), notify(message, **kw))[1])
    return shown


async def test_palette_exports_the_open_transcript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = quicksort_events()
    events.insert(-1, ToolResult(ts=T0, iteration=1, tool_call_id="call_env", name="read_file",
                                 content=f"GITHUB_TOKEN={SECRET}",
                                 message={"role": "tool", "tool_call_id": "call_env", "content": f"GITHUB_TOKEN={SECRET}"}))
    path = write_jsonl(tmp_path / "run.jsonl", events)
    app, screen = transcript_app(transcript=open_transcript(path), title=str(path))
    shown = toasts(app, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p", *"export", "space", *"html")
        await app.workers.wait_for_complete()  # the palette's search
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()  # the export
        page = tmp_path / "run.html"
        assert page.exists()
        assert any(str(page) in m and "1 secret redacted" in m for m in shown), shown
    text = page.read_text()
    assert SECRET not in text and "call_env" in text and text.startswith("<!DOCTYPE html>")


async def test_palette_lists_every_format_and_a_file_that_cannot_be_written_is_a_toast(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_jsonl(tmp_path / "run.jsonl", quicksort_events())
    app, screen = transcript_app(transcript=open_transcript(path), title=str(path))
    shown = toasts(app, monkeypatch)
    async with app.run_test(size=(120, 40)):
        titles = [c.title for c in app.get_system_commands(screen)]
        assert {"Export as HTML page", "Export as Markdown", "Export as JSON message list"} <= set(titles)
        (tmp_path / "run.md").mkdir()  # where the Markdown would go: a folder, not writable as a file
        await screen.export("md")
        assert any("cannot export" in m for m in shown), shown
        await screen.export("json")
        assert (tmp_path / "run.messages.json").exists()
