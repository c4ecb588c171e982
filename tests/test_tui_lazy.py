"""Big files are kept on disk (`EventLog`) and their blocks read back on demand: everything a person sees
and every answer the model gives must be the same as for the same file held in memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from agent.events import ReflectionFallback, RunStarted
from agent.transcripts.importers import open_transcript, transcript_from_messages
from agent.transcripts.transcript import EventLog, TranscriptError, TranscriptHeader, read_jsonl
from tests.tui_helpers import quicksort_events, synthetic_events, transcript_app, write_jsonl
from tui.render.blocks import RenderState, estimate_height, render_block
from agent.view.model import TranscriptModel

DATA = Path(__file__).parent / "data"


def load(path: Path, lazy: bool):
    with path.open("rb") as f:
        return read_jsonl(f, str(path), not_text=f"{path}: not a text file", lazy=lazy)


def odd_events() -> list:
    """bad_order.json's history as events, plus a role refusal that replaces the note at the end."""
    messages = json.loads((DATA / "bad_order.json").read_text())
    events = list(transcript_from_messages(messages, "json-array").events)
    last = max(getattr(e, "iteration", 0) or 0 for e in events)
    events.append(ReflectionFallback(ts=1.0, iteration=last, note_iteration=last, from_role="system",
                                     to_role="user", error="role refused", replaced=1,
                                     messages=[{"role": "user", "content": "note, as user"}]))
    return events


@pytest.fixture(params=["quicksort", "synthetic", "odd"])
def jsonl(request, tmp_path: Path) -> Path:
    events = {"quicksort": quicksort_events, "synthetic": lambda: synthetic_events(30), "odd": odd_events}
    return write_jsonl(tmp_path / f"{request.param}.jsonl", events[request.param]())


def test_event_log_is_a_list_read_from_disk(jsonl: Path) -> None:
    eager, lazy = load(jsonl, False), load(jsonl, True)
    log = lazy.events
    assert isinstance(log, EventLog) and isinstance(eager.events, list)
    assert log == eager.events and eager.events == log and len(log) == len(eager.events)
    assert log[0] == eager.events[0] and log[-1] == eager.events[-1] and log[2:5] == eager.events[2:5]
    assert list(reversed(log)) == list(reversed(eager.events))
    assert log.take(range(1, 4)) == eager.events[1:4]
    assert lazy.messages() == eager.messages() and lazy.finished == eager.finished
    assert lazy.usage == eager.usage
    numbers = [it.number for it in eager.iterations]
    for n in numbers:
        assert lazy.request_at(n) == eager.request_at(n)
    with pytest.raises(IndexError):
        log[len(log)]
    extra = RunStarted(ts=1.0, messages=[])
    lazy.add(extra)
    assert log[-1] is extra and len(log) == len(eager.events) + 1


def test_models_agree(jsonl: Path) -> None:
    eager, lazy = load(jsonl, False), load(jsonl, True)
    a, b = TranscriptModel(), TranscriptModel()
    a.extend(eager.events)
    b.extend(lazy.events)
    assert b.lazy and not a.lazy
    assert a.check_order() == b.check_order() and a.violation_count == b.violation_count
    assert b.messages == a.messages and len(b.messages) == len(a.messages)
    assert (a.prompt_tokens, a.completion_tokens, a.iterations, a.finished) == \
           (b.prompt_tokens, b.completion_tokens, b.iterations, b.finished)
    assert (a.call_sites, a.result_sites, a._links) == (b.call_sites, b.result_sites, b._links)
    for query in ("read", "pivot", "Step 3", "nothing like this"):
        assert a.search(query) == b.search(query)
    assert all(block._events is None for block in b.blocks)  # search kept nothing
    console = Console(width=120)
    for x, y in zip(a.blocks, b.blocks):
        assert (x.kind, x.number, x.tool_names, x.marks, x.result_count, x.reflection, x.usage, x.fallbacks,
                x.request_size, x.previous_request_size) == \
               (y.kind, y.number, y.tool_names, y.marks, y.result_count, y.reflection, y.usage, y.fallbacks,
                y.request_size, y.previous_request_size)
        assert dict(x.violations) == dict(y.violations)
        for expanded in (False, True):
            x.expanded = y.expanded = expanded
            assert estimate_height(x, 100) == estimate_height(y, 100)
            assert render_block(console, x, a, 100, RenderState()) == render_block(console, y, b, 100, RenderState())
        assert y._events is not None and y.get_items() == x.get_items()
        y.drop_items()
        assert y._events is None  # dropped with the items: read back next time
    for index in range(len(a.messages)):
        assert a.location(index) == b.location(index)


def test_a_live_event_for_a_lazy_block_keeps_it_in_memory(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", synthetic_events(3))
    model = TranscriptModel()
    model.extend(load(path, True).events)
    last = model._by_number[3]
    before = len(model.blocks[last].events)
    model.add(synthetic_events(3)[-2])  # another result for iteration 3
    block = model.blocks[last]
    assert len(block.events) == before + 1
    block.drop_items()  # a block that grew holds its events: dropping its items keeps them
    assert len(block.events) == before + 1


async def test_the_app_looks_the_same(jsonl: Path) -> None:
    screens = []
    for lazy in (False, True):
        app, screen = transcript_app(transcript=load(jsonl, lazy), title="t.jsonl")
        shots = []
        async with app.run_test(size=(110, 36)) as pilot:
            await pilot.pause()
            shots.append(app.export_screenshot())
            for keys in (["n"], ["n", "tab"], ["e"], ["E", "G", "enter"], ["slash", *"read", "enter"]):
                await pilot.press(*keys)
                await pilot.pause()
                shots.append(app.export_screenshot())
        screens.append(shots)
    assert screens[0] == screens[1]


def test_big_files_open_lazily_and_errors_keep_their_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.transcripts.transcript

    monkeypatch.setattr(agent.transcripts.transcript, "LAZY_BYTES", 1)
    path = write_jsonl(tmp_path / "t.jsonl", quicksort_events())
    t = open_transcript(path)
    assert isinstance(t.events, EventLog) and t.warnings == []
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines) + "\n" + lines[-1][:20])
    t = open_transcript(path)
    [warning] = t.warnings
    assert f"{path}:{len(lines) + 1}: last line is torn" in warning and len(t.events) == len(lines) - 1
    lines[3] = '{"type": "tool_result", "iteration": 1}'
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TranscriptError, match=rf"{path.name}:4: bad event line"):
        open_transcript(path)


def test_a_file_rewritten_in_place_is_an_error_not_a_wrong_event(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", synthetic_events(300))  # more than one read-ahead buffer
    t = load(path, True)
    with path.open("r+b") as f:
        f.seek(t.events._offsets[1])
        f.write(b"#" * 8)
    with pytest.raises(TranscriptError, match="changed on disk"):
        t.events[1]
    path.write_bytes(b"")
    with pytest.raises(TranscriptError, match="shorter"):
        t.events[-1]


def test_header_only_file(tmp_path: Path) -> None:
    from agent.transcripts.transcript import TranscriptWriter

    path = tmp_path / "h.jsonl"
    TranscriptWriter(path, TranscriptHeader(goal="g")).close()
    t = load(path, True)
    assert len(t.events) == 0 and t.events == [] and list(t.events) == []
    model = TranscriptModel()
    model.extend(t.events)
    assert model.blocks == [] and model.check_order() == set()
