"""Forks: replay a recorded run through iteration K (tools run again, results checked), go on live from K+1
with the note after K kept, dropped, rewritten or asked again; and `--each-note`, the value of every note."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from agent.events import AssistantMessage, Notice, ReflectionNote, RunFinished
from agent.reflection.reflector import frame
from agent.cli import commands as cli
from agent.run.fork import ForkSpec, build_fork
from agent.run.runner import RunOptions, build_run
from agent.transcripts.compare import align, normalise_messages
from agent.transcripts.importers import open_transcript
from agent.transcripts.transcript import Transcript
from tests.conftest import call, collect, reply, write_script
from tests.loopback import REFLECTION_NOTE, LoopbackServer

QS_EDIT = call("e1", "edit_file", path="quicksort.py",
               old="    larger = [x for x in items if x > pivot]\n    return quicksort(smaller) + [pivot] + quicksort(larger)\n",
               new="    equal = [x for x in items if x == pivot]\n    larger = [x for x in items if x > pivot]\n"
                   "    return quicksort(smaller) + equal + quicksort(larger)\n")

SCRIPT = [
    reply(None, call("r1", "read_file", path="missing.py")),  # a tool error: a note after iteration 1
    reply("Run the tests.", call("t1", "run_tests")),  # the tests fail: a note after iteration 2
    reply(None, QS_EDIT),
    reply(None, call("t2", "run_tests")),
    reply("Fixed.", call("f1", "finish", summary="fixed")),
]


def record_parent(tmp_path: Path, **kw: Any) -> Path:
    """A scripted quicksort run with a note after iterations 1 and 2, saved as parent.jsonl."""
    import asyncio

    path = tmp_path / "parent.jsonl"
    kw.setdefault("script", write_script(tmp_path / "script.json", SCRIPT))
    run = build_run(RunOptions(task="quicksort", reflection="system", out=path, **kw))
    events = asyncio.run(collect(run))
    assert [e.iteration for e in events if isinstance(e, ReflectionNote)] == [1, 2]
    return path


@pytest.fixture(scope="module")
def parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_parent(tmp_path_factory.mktemp("parent"))


def notes(events: list[Any]) -> list[ReflectionNote]:
    return [e for e in events if isinstance(e, ReflectionNote)]


def notices(events: list[Any]) -> list[str]:
    return [e.text for e in events if isinstance(e, Notice)]


def without_note(transcript: Transcript, iteration: int, note_after: int) -> list[dict[str, Any]]:
    """The recorded request of `iteration` with the note written after `note_after` taken out."""
    request, _ = transcript.request_at(iteration)
    [note] = [n for n in notes(transcript.events) if n.iteration == note_after]
    return [m for m in request if m not in note.messages]


async def test_fork_replays_then_goes_on_live_without_the_dropped_note(parent: Path, tmp_path: Path) -> None:
    run = build_fork(ForkSpec(parent, 2, drop_note=True, overrides={"out": tmp_path / "fork.jsonl"}))
    events = await collect(run)
    recorded = open_transcript(parent)
    fork = open_transcript(tmp_path / "fork.jsonl")
    assert fork.header.fork is not None
    assert (fork.header.fork.parent, fork.header.fork.at, fork.header.fork.note) == (str(parent.resolve()), 2, "dropped")
    # iterations 1-2 are the recorded replies; their tools ran again on a fresh workspace
    assert [e.message for e in events if isinstance(e, AssistantMessage) and e.iteration <= 2] == \
           [e.message for e in recorded.events if isinstance(e, AssistantMessage) and e.iteration <= 2]
    assert run.workspace != Path(recorded.header.workspace)
    [match] = [t for t in notices(events) if t.startswith("fork: ")]
    assert match == "fork: iterations 1-2 replayed; all 2 tool results match the recording (durations aside)"
    # the note after 1 is replayed, the one after 2 is gone
    assert [n.iteration for n in notes(events)] == [1]
    assert run.server.reflection_requests == []  # no reflection call: the replayed note is the recorded one
    # the model was asked only from iteration 3 on, first with exactly the replayed history
    assert len(run.server.requests) == 3
    first_live = run.server.requests[0]["messages"]
    assert normalise_messages(first_live, str(run.workspace)) == \
           normalise_messages(without_note(recorded, 3, 2), recorded.header.workspace)
    assert not any(str(m.get("content") or "").startswith("[reflection on tests_failed]") for m in first_live)
    assert isinstance(events[-1], RunFinished) and events[-1].tests_passed is True
    # compared with its parent, the fork parts at iteration 3, where the parent's note was
    alignment = align(recorded, fork)
    assert alignment.divergence == 3 and alignment.diff is not None
    assert alignment.diff.kind == "only_a" and alignment.diff.origin_a.kind == "reflection"


@pytest.mark.parametrize("how", ["keep", "edit", "user"])
async def test_the_note_after_k_is_kept_rewritten_or_asked_again(parent: Path, tmp_path: Path, how: str) -> None:
    overrides: dict[str, Any] = {"out": tmp_path / "fork.jsonl"}
    if how == "user":
        overrides["reflection"] = "user"
    run = build_fork(ForkSpec(parent, 2, edit_note="Fix the pivot." if how == "edit" else None, overrides=overrides))
    events = await collect(run)
    recorded = notes(open_transcript(parent).events)[1]
    note = notes(events)[1]
    assert note.iteration == 2
    if how == "keep":
        assert run.header.fork.note == "kept"
        assert (note.role, note.content, note.messages) == ("system", recorded.content, recorded.messages)
        assert run.server.reflection_requests == []
    elif how == "edit":
        assert run.header.fork.note == "edited"
        assert note.content == "Fix the pivot." and note.triggers == recorded.triggers
        assert note.messages == [{"role": "system", "content": frame("Fix the pivot.", recorded.triggers)}]
    else:
        assert run.header.fork.note == "asked again as user"
        assert note.role == "user" and len(run.server.reflection_requests) == 1
    assert run.server.requests[0]["messages"][-len(note.messages):] == note.messages


async def test_a_replayed_result_that_differs_is_reported(parent: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.jsonl"
    lines = parent.read_text().splitlines()
    for k, line in enumerate(lines):
        event = json.loads(line)
        if event.get("type") == "tool_result" and event["iteration"] == 1:
            event["content"] = event["message"]["content"] = "error: missing.py was here once"
            lines[k] = json.dumps(event)
    tampered.write_text("\n".join(lines) + "\n")
    run = build_fork(ForkSpec(tampered, 2, overrides={"out": tmp_path / "fork.jsonl"}))
    events = await collect(run)
    [report] = [e for e in events if isinstance(e, Notice) and e.text.startswith("fork: ")]
    assert report.level == "warning" and report.iteration == 3
    assert "differs from tampered.jsonl in iteration 1: message 3 (tool content" in report.text


def test_a_fork_against_a_loopback_endpoint(tmp_path: Path) -> None:
    import asyncio

    with LoopbackServer.for_tasks(["quicksort"]) as server:
        base = dict(task="quicksort", provider="vllm", base_url=server.base_url, model="loopback")
        parent = tmp_path / "parent.jsonl"
        asyncio.run(collect(build_run(RunOptions(reflection="system", out=parent, **base))))
        recorded = open_transcript(parent)
        [note] = notes(recorded.events)
        assert note.content == REFLECTION_NOTE and note.iteration == 2
        asked, reflections = len(server.requests), len(server.reflection_requests)
        run = build_fork(ForkSpec(parent, 2, drop_note=True, overrides={"out": tmp_path / "fork.jsonl"},
                                  from_header=True))  # our own file: its endpoint is ours to reuse
        assert (run.header.provider, run.header.base_url) == ("vllm", server.base_url)  # the parent's endpoint
        events = asyncio.run(collect(run))
        live = server.requests[asked:]
    assert len(live) == recorded.finished.iterations - 2  # nothing asked for the replayed iterations
    assert len(server.reflection_requests) == reflections  # the dropped note was not asked again
    first = live[0]["messages"]
    assert normalise_messages(first, str(run.workspace)) == \
           normalise_messages(without_note(recorded, 3, 2), recorded.header.workspace)
    assert REFLECTION_NOTE not in json.dumps(first)
    assert "fork: iterations 1-2 replayed; all 3 tool results match" in " ".join(notices(events))
    assert isinstance(events[-1], RunFinished) and events[-1].tests_passed is True


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, message", [
    (["--at", "5"], "(a run that called finish in iteration 5) can be forked at iterations 1 to 4"),
    (["--at", "0"], "can be forked at iterations 1 to 4"),
    ([], "fork needs --at K"),
    (["--at", "3", "--drop-note"], "has no reflection note after iteration 3"),
    (["--at", "2", "--drop-note", "--edit-note", "x"], "give --drop-note or --edit-note, not both"),
    (["--at", "2", "--edit-note", "x", "--reflection", "off"], "--edit-note: reflection is off"),
    (["--at", "2", "--max-steps", "2"], "--max-steps 2: the fork replays 2 iterations"),
    (["--at", "2", "--provider", "replay"], "--provider replay: a fork goes on live"),
    (["--each-note", "--at", "2"], "--each-note forks before every note"),
    (["--at", "2", "--workspace", "."], "ran the task quicksort"),
])
def test_fork_usage_errors_are_one_line(parent: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                        message: str) -> None:
    code, _, err = run_cli(["fork", str(parent), "--headless", *argv], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_an_imported_transcript_cannot_be_forked(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import DATA

    code, _, err = run_cli(["fork", str(DATA / "messages_array.json"), "--at", "1", "--headless"], capsys)
    assert code == 2 and "fork replays agent-tui's own runs" in err


def test_fork_headless_writes_under_runs_in_the_working_folder(parent: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["fork", str(parent), "--at", "1", "--reflection", "off", "--headless"], capsys)
    assert code == 0, out
    fork = Path("runs") / "parent.fork1.jsonl"
    assert f"transcript {fork}" in out and "the note after iteration 1: dropped" in out
    header = open_transcript(fork).header
    assert header.settings["reflection"] == "off" and header.fork.at == 1
    assert [e.iteration for e in notes(open_transcript(fork).events)] == []
    fork.unlink()


def test_each_note_writes_an_ablation_folder_and_a_table(parent: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "notes"
    code, out, err = run_cli(["fork", str(parent), "--each-note", "--repeats", "2", "--out", str(out_dir)], capsys)
    assert code == 0, err
    table = out[out.index("iteration  trigger"):].splitlines()
    assert "original (once)  with it" in table[0]
    assert table[1].split()[:3] == ["1", "tool_error", "system"]
    assert table[2].split()[:3] == ["2", "tests_failed", "system"]
    # the original ran once; the kept-note arm runs as often as the dropped one
    assert table[1].split("…")[1].split() == ["pass,", "5", "it.", *["2/2", "pass,", "5.0±0.0", "it."] * 2]
    with (out_dir / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["setting"], r["repeat"]) for r in rows) == [
        (f"{arm}-{k}", str(r)) for arm in ("no-note", "note") for k in (1, 2) for r in (1, 2)]
    summary = json.loads((out_dir / "summary.json").read_text())
    assert [n["iteration"] for n in summary["grid"]["notes"]] == [1, 2]
    assert summary["grid"]["notes"][0]["without"]["successes"] == 2
    assert summary["grid"]["notes"][0]["with"]["runs"] == 2
    fork = open_transcript(out_dir / "runs" / "quicksort__no-note-1__r1.jsonl")
    assert fork.header.fork.at == 1 and fork.header.fork.note == "dropped"
    assert [n.iteration for n in notes(fork.events)] == [2]  # only the note after 1 is dropped
    kept = open_transcript(out_dir / "runs" / "quicksort__note-1__r1.jsonl")
    assert kept.header.fork.at == 1 and kept.header.fork.note == "kept"
    assert [n.iteration for n in notes(kept.events)] == [1, 2]
    assert (out_dir / "runs" / "parent.jsonl").read_bytes() == parent.read_bytes()
    from agent.transcripts.runs import discover_runs

    names = sorted(e.label for e in discover_runs(out_dir).entries)
    assert names == ["runs/parent.jsonl"] + sorted(f"runs/quicksort__{arm}-{k}__r{r}.jsonl"
                                                   for arm in ("no-note", "note") for k in (1, 2) for r in (1, 2))
    # a second call finds every fork done
    code, out, _ = run_cli(["fork", str(parent), "--each-note", "--repeats", "2", "--out", str(out_dir)], capsys)
    assert code == 0 and "skipped 8 forks already finished; 0 to run" in out


def test_each_note_needs_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    path = tmp_path / "quiet.jsonl"
    asyncio.run(collect(build_run(RunOptions(task="quicksort", reflection="off", out=path))))
    code, _, err = run_cli(["fork", str(path), "--each-note"], capsys)
    assert code == 2 and "no reflection note in this run" in err
