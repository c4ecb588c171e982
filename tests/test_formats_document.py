"""A history saved as one JSON document is read and parsed as it is needed (`formats.document.JsonList`):
opening it in steps reads its first items only, reading it gives what parsing it whole gives, whatever the
size of the chunks it is read in, and a document broken anywhere fails with the line that parsing it whole
says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.transcripts.formats import document
from agent.transcripts.formats.peek import parse_json
from agent.transcripts.importers import open_transcript
from agent.transcripts.transcript import TranscriptError


@pytest.fixture(autouse=True, params=[5, document.CHUNK], ids=["chunks-of-5-bytes", "chunks"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every test twice: read in chunks of 5 bytes (every value cut somewhere), and as `agent-tui` reads."""
    monkeypatch.setattr(document, "CHUNK", request.param)
    return request.param


def history(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": "s"}, {"role": "user", "content": "fix it"}]
    for i in range(n):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "read", "arguments": "{}"}}
        out += [{"role": "assistant", "content": f"step {i}", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": f"c{i}", "content": "x" * 200}]
    return out


def read_through(path: Path) -> Any:
    """The transcript opened in steps, then read to its end (the reader's error raised)."""
    t = open_transcript(path, in_steps=True)
    while t.rest is not None and not t.rest.done:
        t.rest.read(4096)
    if t.rest is not None and t.rest.error is not None:
        raise t.rest.error
    return t


def test_the_first_step_reads_only_the_first_items(tmp_path: Path) -> None:
    messages = history(2000)
    path = tmp_path / "big.json"
    text = json.dumps(messages)
    path.write_text(text[:-1] + ', {"role": "user", "content": }]')  # broken at its very end
    t = open_transcript(path, in_steps=True)  # the first screen does not need the end
    assert t.rest is not None and t.header.goal == "fix it"
    t.rest.read(20_000)
    assert 0 < len(t.messages()) < 200 and t.rest.error is None
    whole = f"{path}: not a transcript: invalid JSON at line 1 column {len(text) + 30}: Expecting value"
    with pytest.raises(TranscriptError) as stepped:
        read_through(path)
    with pytest.raises(TranscriptError) as at_once:
        open_transcript(path)
    assert str(stepped.value) == str(at_once.value) == whole
    with pytest.raises(TranscriptError) as parsed:
        parse_json(path.read_bytes(), str(path))
    assert str(parsed.value) == whole


@pytest.mark.parametrize("document", [
    {"info": {"model": "m"}, "messages": history(300), "z": [1, {"a": "]"}]},
    {"messages": history(300), "info": {"model": "m", "odd": "\"]}", "n": 12345678901234567890, "f": -1.5e-7}},
])
def test_keys_after_the_list_reach_the_header_once_it_is_read(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document, indent=1))
    t = read_through(path)
    assert t.messages() == document["messages"]
    assert t.header.settings == {k: v for k, v in document.items() if k != "messages"} and t.header.model == "m"
    assert t.messages() == open_transcript(path).messages()


def test_a_trajectory_known_by_what_follows_its_messages(tmp_path: Path) -> None:
    messages = history(300) + [{"role": "exit", "content": "", "extra": {"exit_status": "Submitted"}}]
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"messages": messages, "info": {"exit_status": "Submitted", "submission": "done"}}))
    for t in (read_through(path), open_transcript(path)):
        assert t.header.source == "mini-swe-agent"
        assert t.finished is not None and (t.finished.reason, t.finished.summary) == ("finished", "done")


def test_lone_surrogates_anywhere_become_replacement_characters(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text('{"\\ud800k": 1, "messages": ' + json.dumps(history(200))[:-1]
                    + ', {"role": "user", "content": "\\udfff late"}]}')
    t = read_through(path)
    whole = parse_json(path.read_bytes(), str(path))
    assert t.header.settings == {k: v for k, v in whole.items() if k != "messages"} and "\ud800k" not in whole
    assert t.messages() == whole["messages"] and t.messages()[-1]["content"].endswith("\ufffd late")


def test_two_message_lists_in_one_object_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    path.write_text('{"messages": [], "messages": [{"role": "user", "content": "x"}]}')
    with pytest.raises(TranscriptError, match='a JSON object with two "messages" keys'):
        open_transcript(path)


def test_numbers_cut_anywhere_are_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = {"a": -1.5e-7, "b": 12.25, "c": 1e5, "d": -0.0, "e": 123456789012345678901234567890, "f": 2.5e10}
    path = tmp_path / "numbers.json"
    for pad in range(8):  # numbers as the object's own values (each parsed alone), at every offset
        path.write_text('{"p": "' + "x" * pad + '", "a": -1.5e-7, "b": 12.25, "c": 1e5, "messages": [{"role": '
                        '"user", "content": "x"}], "d": -0.0, "e": 123456789012345678901234567890, "f": 2.5E+10}')
        for size in range(1, 48):  # and the window cut in chunks of every size up to the document's
            monkeypatch.setattr(document, "CHUNK", size)
            assert read_through(path).header.settings == {"p": "x" * pad, **numbers}, (pad, size)
