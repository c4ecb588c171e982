"""The TUI's pure parts: the block model fed event by event, folding, and id colours."""

from __future__ import annotations

from pathlib import Path

from agent.events import AssistantMessage, ToolResult, appended_messages, content_text
from agent.view.model import TranscriptModel, tool_calls_of
from tests.tui_helpers import quicksort_events, synthetic_events
from tui.render.palette import DEFAULT


def test_every_message_maps_to_the_item_showing_it() -> None:
    events = quicksort_events()
    model = TranscriptModel(use_default_checker=False)
    model.extend(events)
    history = [m for e in events for m in appended_messages(e)]
    assert model.messages == history
    for index, message in enumerate(model.messages):
        site = model.location(index)
        block = model.blocks[site.block]
        item = block.get_items()[block.item_for_message(site.pos, site.sub)]
        event = block.events[site.pos]
        if message.get("role") == "tool":
            assert item.kind == "result" and item.call_id == message["tool_call_id"]
        elif isinstance(event, AssistantMessage):
            assert item.kind == "assistant"
        assert item.kind != "title"


def test_items_only_grow_as_events_arrive() -> None:
    model = TranscriptModel(use_default_checker=False)
    seen: dict[int, list[str]] = {}
    for event in quicksort_events():
        b, _ = model.add(event)
        kinds = [i.kind for i in model.blocks[b].get_items()]
        assert kinds[: len(seen.get(b, []))] == seen.get(b, [])
        seen[b] = kinds
    rebuilt = TranscriptModel(use_default_checker=False)
    rebuilt.extend(quicksort_events())
    assert [[i.kind for i in b.get_items()] for b in rebuilt.blocks] == [seen[b] for b in range(len(seen))]


def test_id_colours_by_order_of_appearance() -> None:
    model = TranscriptModel(use_default_checker=False)
    n = len(DEFAULT.links)
    model.extend(synthetic_events(n + 2))
    ids = [f"call_{i:05d}" for i in range(1, n + 3)]
    assert [model.link(i) for i in ids] == list(range(n + 2))
    colours = [DEFAULT.link(model.link(i)) for i in ids]
    assert len(set(colours[:n])) == n
    assert colours[n] == colours[0]
    # A call and its result share the id, hence the colour; partner sites point at each other.
    (res,) = model.partner_sites("call_00001", "call")
    assert isinstance(model.blocks[res.block].events[res.pos], ToolResult)
    (call,) = model.partner_sites("call_00001", "result")
    assert isinstance(model.blocks[call.block].events[call.pos], AssistantMessage)


def test_blocks_group_by_iteration_and_count() -> None:
    model = TranscriptModel(use_default_checker=False)
    model.extend(synthetic_events(25))
    assert model.iterations == 25
    assert [b.kind for b in model.blocks][:2] == ["start", "iteration"]
    assert model.blocks[-1].kind == "finish"
    assert all(b.tool_names == ["read_file"] for b in model.blocks if b.kind == "iteration")
    assert model.usage.total_tokens == sum(
        e.usage.total_tokens for e in synthetic_events(25) if isinstance(e, AssistantMessage))


def test_search_matches_names_and_text() -> None:
    model = TranscriptModel(use_default_checker=False)
    model.extend(quicksort_events())
    hits = model.search("EDIT_FILE")
    kinds = [model.blocks[b].get_items()[i].kind for b, i in hits]
    assert kinds == ["call", "result"]
    assert model.search("duplicates")  # text of a result and of the goal
    assert model.search("") == []


def test_checker_failure_is_not_fatal() -> None:
    def broken(messages):
        raise ValueError("boom")

    model = TranscriptModel(broken)
    model.extend(quicksort_events())
    assert model.check_order() == set()
    assert model.violation_count == 0


def test_defensive_message_readers() -> None:
    assert content_text(None) == ""
    assert content_text([{"type": "text", "text": "a"}, {"type": "image_url"}, "b", 3]) == "a\n[image]\nb\n3"
    assert content_text({"x": 1}) == '{"x": 1}'
    calls = tool_calls_of({"tool_calls": [None, {"id": "c", "function": None}, {"function": {"name": "n",
                                                                                             "arguments": {"a": 1}}}]})
    assert [(c.id, c.name, c.arguments) for c in calls] == [("", "?", "null"), ("c", "?", ""), ("", "n", '{"a": 1}')]
    assert tool_calls_of("not a dict") == []


async def test_render_svg(tmp_path: Path) -> None:
    from tests.tui_helpers import quicksort_transcript, transcript_app
    from tui.snapshot import render_svg

    app, _ = transcript_app(transcript=quicksort_transcript(), title="qs")
    out = await render_svg(app, tmp_path / "x" / "qs.svg", size=(100, 30))
    svg = out.read_text()
    assert svg.startswith("<svg") and "read_file" in svg.replace("&#160;", " ")


def test_reflection_fallback_replaces_the_note_in_the_history() -> None:
    from agent.events import IterationStarted, ReflectionFallback, ReflectionNote
    from agent.transcripts.transcript import Transcript
    from tests.tui_helpers import T0, header, iteration_events

    note = {"role": "system", "content": "Reflect: check the pivot."}
    events = quicksort_events()[:1] + iteration_events(1, 2, [], [], text="thinking")
    events.append(ReflectionNote(ts=T0, iteration=1, role="system", content=note["content"], messages=[note]))
    events.append(IterationStarted(ts=T0, iteration=2, request_size=4, reflection="system"))
    events.append(ReflectionFallback(ts=T0, iteration=2, note_iteration=1, from_role="system", to_role="user",
                                     error="400: system messages must come first", status=400, replaced=1,
                                     messages=[{"role": "user", "content": note["content"]}]))
    events += iteration_events(2, 4, [], [], text="again")
    transcript = Transcript(header=header(), events=events)
    model = TranscriptModel(use_default_checker=False)
    model.extend(events)
    assert model.messages == transcript.messages()
    assert model.messages[-2]["role"] == "user"  # the note, re-sent as user
    block = next(b for b in model.blocks if b.number == 2)
    assert block.fallbacks == 1 and block.previous_request_size == transcript.request_at(2)[1] == 2
    kinds = [i.kind for i in block.get_items()]
    assert kinds.count("request") == 2 and "fallback" in kinds
    for index in range(len(model.messages)):
        site = model.location(index)
        assert model.blocks[site.block].item_for_message(site.pos, site.sub) is not None


async def test_fallback_renders() -> None:
    from agent.events import IterationStarted, ReflectionFallback
    from agent.transcripts.transcript import Transcript
    from tests.tui_helpers import T0, header, transcript_app

    events = quicksort_events()
    events.insert(-1, IterationStarted(ts=T0, iteration=5, request_size=13))
    events.insert(-1, ReflectionFallback(ts=T0, iteration=5, note_iteration=4, from_role="assistant", to_role=None,
                                         error="roles must alternate", replaced=0))
    app, screen = transcript_app(transcript=Transcript(header=header(), events=events))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        b = next(i for i, blk in enumerate(screen.model.blocks) if blk.number == 5)
        text = "\n".join(s.text for s in screen.view.get_block(b)[0])
        assert "↺ reflection note refused" in text and "notes are off" in text
        assert "note role refused" in screen.view.get_block(b)[0][0].text
