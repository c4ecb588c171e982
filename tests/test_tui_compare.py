"""Comparing two runs: the alignment (agent.transcripts.compare), the side-by-side app, the runs picker, the commands."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.transcripts.compare import align, normalise_messages
from agent.events import (
    AssistantMessage,
    IterationStarted,
    ReflectionNote,
    RunFinished,
    RunStarted,
    ToolResult,
    Trigger,
    Usage,
)
from agent.transcripts.transcript import Transcript, TranscriptWriter
from agent.transcripts.importers import open_transcript
from agent.transcripts.runs import discover_runs
from tests.tui_helpers import GOAL, SYSTEM, T0, header
from tui.app import AgentTuiApp
from tui.screens.compare import CompareScreen
from tui.screens.help import HelpScreen
from tui.screens.runs import RunsScreen, outcome
from tui.screens.transcript import TranscriptScreen
from tui.widgets.compare_view import CompareView

SIZE = (160, 45)


# ---------------------------------------------------------------------------------------------------------
# Deterministic runs: fixed clocks, ids and paths


Step = tuple[str, dict[str, Any], str, bool]
"""One call of an iteration: tool name, arguments, the result's content, whether it is an error."""

NOTE = ("The tests fail on duplicates: the partition drops values equal to the pivot. Read the failing test, "
        "then keep every value equal to the pivot.")


def run_events(plan: list[list[Step]], *, note_after: int | None = None, id_prefix: str = "call",
               text: str = "Step {n}.", passed: bool = True) -> list[Any]:
    """A run: one iteration per entry of `plan`, a reflection note after iteration `note_after`."""
    events: list[Any] = [RunStarted(ts=T0, messages=[{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": GOAL}])]
    size = 2
    total = Usage()
    for n, steps in enumerate(plan, start=1):
        events.append(IterationStarted(ts=T0 + n, iteration=n, request_size=size,
                                       reflection="system" if note_after is not None else "off"))
        calls = [{"id": f"{id_prefix}_{n}_{k}", "type": "function",
                  "function": {"name": name, "arguments": json.dumps(args)}} for k, (name, args, _, _) in enumerate(steps)]
        message: dict[str, Any] = {"role": "assistant", "content": text.format(n=n)}
        if calls:
            message["tool_calls"] = calls
        usage = Usage(prompt_tokens=800 + 100 * size, completion_tokens=40 + n)
        total = total + usage
        events.append(AssistantMessage(ts=T0 + n, iteration=n, message=message, usage=usage, latency_s=1.0 + n / 10,
                                       finish_reason="tool_calls" if calls else "stop", model="gpt-4o-mini"))
        size += 1
        for (name, args, content, error), call in zip(steps, calls):
            events.append(ToolResult(ts=T0 + n, iteration=n, tool_call_id=call["id"], name=name,
                                     arguments=call["function"]["arguments"], content=content, is_error=error,
                                     duration_s=0.25, message={"role": "tool", "tool_call_id": call["id"],
                                                               "content": content}))
            size += 1
        if note_after == n:
            note_usage = Usage(prompt_tokens=300, completion_tokens=30)
            total = total + note_usage
            events.append(ReflectionNote(ts=T0 + n, iteration=n, role="system", content=NOTE,
                                         triggers=[Trigger(kind="tests_failed", evidence="FAILED test_duplicates")],
                                         messages=[{"role": "system", "content": NOTE}], usage=note_usage,
                                         latency_s=0.5, model="gpt-4o-mini"))
            size += 1
    events.append(RunFinished(ts=T0 + 99, reason="finished", iterations=len(plan), tests_passed=passed,
                              summary="Kept every value equal to the pivot.", usage=total))
    return events


FAILING = "FAILED test_sort.py::test_duplicates - assert [1, 2, 3] == [1, 1, 2, 3]\n1 failed, 2 passed in 0.04s"
PASSING = "3 passed in 0.03s"


def quicksort_plan(fix: str = "if x >= pivot") -> list[list[Step]]:
    return [
        [("list_files", {"path": "."}, "sort.py\ntest_sort.py", False),
         ("read_file", {"path": "sort.py"}, "def quicksort(xs):\n    ...", False)],
        [("run_tests", {}, FAILING, True)],
        [("read_file", {"path": "test_sort.py"}, "def test_duplicates():\n    assert quicksort([1, 2, 1, 3]) == ...", False)],
        [("edit_file", {"path": "sort.py", "old": "if x > pivot", "new": fix}, "edited sort.py", False)],
        [("run_tests", {}, PASSING, False)],
        [("finish", {"summary": "fixed"}, "finished", False)],
    ]


def transcript(events: list[Any], **kw: Any) -> Transcript:
    return Transcript(header=header(**kw), events=events)


def pair() -> tuple[Transcript, Transcript]:
    """Reflection off against system: the same calls; B's note after the failing tests of iteration 2."""
    a = transcript(run_events(quicksort_plan()), settings={"reflection": "off"})
    b = transcript(run_events(quicksort_plan(), note_after=2), settings={"reflection": "system"})
    return a, b


# ---------------------------------------------------------------------------------------------------------
# The alignment


def test_identical_runs_do_not_diverge() -> None:
    a = transcript(run_events(quicksort_plan()))
    alignment = align(a, transcript(run_events(quicksort_plan())))
    assert alignment.divergence is None and alignment.diff is None
    assert [r.number for r in alignment.rows] == [1, 2, 3, 4, 5, 6]
    assert not any(r.request_differs or r.calls_differ for r in alignment.rows)
    assert "no divergence" in alignment.describe()


def test_ids_durations_and_workspace_paths_do_not_count_as_differences() -> None:
    a = transcript(run_events(quicksort_plan()), workspace="/tmp/ws-one")
    plan = quicksort_plan()
    plan[1] = [("run_tests", {}, FAILING.replace("0.04s", "1.25s"), True)]
    plan[2] = [("read_file", {"path": "test_sort.py"}, "/tmp/ws-two/test_sort.py:3: def test_duplicates", False)]
    plan_a = quicksort_plan()
    plan_a[2] = [("read_file", {"path": "test_sort.py"}, "/tmp/ws-one/test_sort.py:3: def test_duplicates", False)]
    a = transcript(run_events(plan_a), workspace="/tmp/ws-one")
    b = transcript(run_events(plan, id_prefix="toolu_x9"), workspace="/tmp/ws-two")
    assert align(a, b).divergence is None


def test_a_reply_that_differs_is_named_with_the_iteration_that_wrote_it() -> None:
    """The real grid's HumanEval 4: the replies part in iteration 4, first sent in iteration 5's request; the
    banner names both, as the view marks iteration 4."""
    runs = Path(__file__).parent.parent / "docs" / "results" / "runs"
    alignment = align(open_transcript(runs / "humanevalfix-4__off__r1.jsonl"),
                      open_transcript(runs / "humanevalfix-4__system__r1.jsonl"))
    assert alignment.describe() == "iteration 5: message 8 (assistant content, written in iteration 4)"


def test_a_note_after_iteration_2_makes_iteration_3_diverge_at_message_7() -> None:
    a, b = pair()
    alignment = align(a, b)
    assert alignment.divergence == 3
    diff = alignment.diff
    assert diff is not None and diff.index == 7 and diff.kind == "only_b"
    assert diff.role_b == "system" and diff.origin_b is not None and diff.origin_b.kind == "reflection"
    assert diff.origin_b.iteration == 2
    assert diff.what == "only in B: system reflection note"
    assert alignment.describe() == "iteration 3: message 7 (only in B: system reflection note, written in iteration 2)"
    rows = {r.number: r for r in alignment.rows}
    assert not rows[1].request_differs and not rows[2].request_differs
    assert all(rows[n].request_differs for n in (3, 4, 5, 6))
    # the calls are the same all along; the note is on one side only
    assert alignment.calls_differ_count == 0
    assert rows[2].reflection_b is not None and rows[2].reflection_a is None
    assert all(r.reflection_a is None for r in alignment.rows)


def test_the_alignment_agrees_with_comparing_every_request() -> None:
    a, b = pair()
    alignment = align(a, b)
    for row in alignment.rows:
        ra, _ = a.request_at(row.number)
        rb, _ = b.request_at(row.number)
        assert row.request_differs == (normalise_messages(ra) != normalise_messages(rb)), row.number


def test_different_calls_are_flagged_and_make_the_next_request_differ() -> None:
    a = transcript(run_events(quicksort_plan()))
    b = transcript(run_events(quicksort_plan(fix="if x >= pivot or x == pivot")))
    alignment = align(a, b)
    rows = {r.number: r for r in alignment.rows}
    assert rows[4].calls_differ and rows[4].call_differs_a == [True] and rows[4].call_differs_b == [True]
    assert [n for n, r in rows.items() if r.calls_differ] == [4]
    # the differing call is in the assistant message of iteration 4: the request of iteration 5 differs there
    assert alignment.divergence == 5
    assert alignment.diff is not None and alignment.diff.kind == "tool_calls" and alignment.diff.index == 9
    assert alignment.diff.what == "assistant tool calls"


def test_different_tool_content_is_named() -> None:
    plan = quicksort_plan()
    plan[0][1] = ("read_file", {"path": "sort.py"}, "def quicksort(xs):\n    return sorted(xs)", False)
    alignment = align(transcript(run_events(quicksort_plan())), transcript(run_events(plan)))
    assert alignment.divergence == 2
    assert alignment.diff is not None and alignment.diff.index == 4 and alignment.diff.what == "tool content"
    assert "at character" in alignment.diff.detail
    row = alignment.row(1)
    assert row is not None and row.result_differs_a == [False, True] and not row.calls_differ


def test_a_longer_run_has_iterations_only_on_one_side() -> None:
    short = quicksort_plan()[:4]
    alignment = align(transcript(run_events(quicksort_plan())), transcript(run_events(short)))
    assert alignment.divergence == 5
    assert alignment.diff is not None and alignment.diff.kind == "no_request_b"
    assert [r.only_in for r in alignment.rows] == [None, None, None, None, "a", "a"]


def test_run_summaries_carry_the_header_facts() -> None:
    a, b = pair()
    alignment = align(a, b, "off.jsonl", "system.jsonl")
    assert alignment.a is not None and alignment.b is not None
    assert (alignment.a.label, alignment.a.reflection, alignment.a.reflections) == ("off.jsonl", "off", 0)
    assert (alignment.b.label, alignment.b.reflection, alignment.b.reflections) == ("system.jsonl", "system", 1)
    assert alignment.b.outcome == "finished · tests pass" and alignment.b.iterations == 6
    assert alignment.b.usage.total_tokens > alignment.a.usage.total_tokens


# ---------------------------------------------------------------------------------------------------------
# Two real offline runs: reflection off and system


async def _drive(run: Any) -> None:
    async for _ in run.events():
        pass


@pytest.fixture(scope="module")
def offline_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The quicksort task run offline twice, reflection off and system, as an ablation would name them."""
    from agent.run.runner import RunOptions, build_run

    folder = tmp_path_factory.mktemp("abl")
    paths = {}
    for setting in ("off", "system"):
        out = folder / "runs" / f"quicksort__{setting}__r1.jsonl"
        run = build_run(RunOptions(task="quicksort", reflection=setting, out=out))  # type: ignore[arg-type]
        asyncio.run(_drive(run))
        shutil.rmtree(run.workspace, ignore_errors=True)
        paths[setting] = out
    return paths


def text_of(view: CompareView, row: int) -> list[str]:
    return [strip.text for strip in view.get_block(row)[0]]


async def test_offline_runs_diverge_at_iteration_3_and_d_goes_there(offline_runs: dict[str, Path]) -> None:
    a, b = open_transcript(offline_runs["off"]), open_transcript(offline_runs["system"])
    alignment = align(a, b)
    assert alignment.divergence == 3
    assert alignment.diff is not None and alignment.diff.index == 7 and alignment.diff.kind == "only_b"
    assert alignment.cause_b is not None and alignment.cause_b.kind == "reflection"
    app = AgentTuiApp(screen := CompareScreen(a, b, label_a="off.jsonl", label_b="system.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = screen.view
        div = view.divergence_row
        assert div is not None and view.rows[div].number == 3
        banner = text_of(view, div)[0]
        assert "diverges here: message 7 (only in B: system reflection note)" in banner
        assert banner.count("diverges here") == 2  # on both sides
        # it opens on the row where the note was written; the note is marked on B's side only
        assert view.rows[view.cursor].number == 2 and view.row_expanded(view.cursor)
        lines = text_of(view, view.cursor)
        note = next(line for line in lines if "reflection" in line and "as system" in line)
        left, right = note[: len(note) // 2], note[len(note) // 2:]
        assert "✦ reflection" not in left and "✦ reflection" in right and "⟂" in right
        await pilot.press("d")
        assert view.cursor == div and view.row_expanded(div)
        top, height = round(view.scroll_y), view.scrollable_content_region.height
        assert top <= view.block_top(div) < top + height  # the banner is on screen
        await pilot.press("k")
        assert view.cursor == div - 1
        await pilot.press("d", "enter")
        assert not view.row_expanded(div)
        await pilot.press("tab")
        assert view.side == "b"
        await pilot.press("v")
        from tui.screens.request import RequestScreen

        assert isinstance(app.screen, RequestScreen) and len(app.screen.messages) == 8
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "q")
    assert app.return_code == 0


async def test_calls_that_differ_are_marked_on_both_sides() -> None:
    a = transcript(run_events(quicksort_plan()))
    b = transcript(run_events(quicksort_plan(fix="if x >= pivot or x == pivot")))
    app = AgentTuiApp(screen := CompareScreen(a, b))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = screen.view
        row = next(k for k, r in enumerate(view.rows) if r.number == 4)
        title = text_of(view, row)[0]
        assert title.count("≠") == 2  # the title's gutter, on both sides
        # it opens on that row (the differing call is what made the next request differ), marked ⟂ too
        assert view.cursor == row and view.row_expanded(row)
        call_lines = [line for line in text_of(view, row) if "→ call" in line and "edit_file" in line]
        assert call_lines and all(line.count("≠") == 2 for line in call_lines)
        assert any("⟂" in line for line in text_of(view, row))
        await pilot.press("n")  # the next difference: the divergence (iteration 5)
        assert view.rows[view.cursor].number == 5
        await pilot.press("N")
        assert view.cursor == row


async def test_a_missing_iteration_is_a_gap_on_that_side() -> None:
    a = transcript(run_events(quicksort_plan()))
    b = transcript(run_events(quicksort_plan()[:4]))
    app = AgentTuiApp(screen := CompareScreen(a, b))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = screen.view
        row = next(k for k, r in enumerate(view.rows) if r.number == 6)
        line = text_of(view, row)[0]
        assert "6  finish" in line and "no iteration 6 in this run" in line


# ---------------------------------------------------------------------------------------------------------
# The runs picker


def ablation_folder(tmp_path: Path, offline_runs: dict[str, Path], records: bool) -> Path:
    folder = tmp_path / "abl"
    (folder / "runs").mkdir(parents=True)
    for path in offline_runs.values():
        shutil.copy(path, folder / "runs" / path.name)
    if records:
        from agent.experiments.ablate import write_results
        from agent.experiments.jobs import ResultRow, write_record

        for setting, path in offline_runs.items():
            t = open_transcript(path)
            done = t.finished
            assert done is not None
            write_record(folder / "jobs" / f"quicksort__{setting}__r1.json", ResultRow(
                task="quicksort", setting=setting, repeat=1, success=bool(done.tests_passed),
                iterations=done.iterations, reflection_calls=sum(isinstance(e, ReflectionNote) for e in t.events),
                prompt_tokens=done.usage.prompt_tokens, completion_tokens=done.usage.completion_tokens,
                wall_time_s=1.0, exit_reason=done.reason, transcript=f"runs/{path.name}"))
        write_results(folder)
    return folder


def test_a_big_summary_is_the_folders_own_not_a_skipped_file(tmp_path: Path) -> None:
    """A sweep's summary.json starts with every note's text: its run rows lie far past the bytes looked at."""
    grid = {"sweep": {"notes": [{"note": "x" * 500} for _ in range(200)]}}
    (tmp_path / "summary.json").write_text(json.dumps({"generated": 1.0, "grid": grid, "runs": []}, indent=1))
    (tmp_path / "other.json").write_text(json.dumps({"generated": 1.0}))  # the name matters too
    assert discover_runs(tmp_path).skipped_text() == "skipped 1 file: 1 JSON file that is not a transcript"


async def test_a_sweep_s_arms_keep_their_setting_column_beside_the_results() -> None:
    """The real sweep at 160 columns with its results beside: the task (in the run names, and the parent's
    row above its forks) gives way before the setting and the repeat that tell a fork point's arms apart."""
    app = AgentTuiApp(screen := RunsScreen(Path(__file__).parent.parent / "docs" / "sweep"))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert screen.query_one("ResultsPanel").display
        assert {"reflection", "repeat", "outcome"} <= set(screen.columns) and "task" not in screen.columns
        await pilot.resize_terminal(220, 40)
        await pilot.pause()
        assert {"task", "reflection", "repeat"} <= set(screen.columns)
        head = str(screen.query_one("#runs-head").render())
        assert "enter opens a run" in head
        # the settings count the grid's forks, as the results do; the 20 parents apart
        assert "system 2/52" in head and "none 2/52" in head and "not in the grid 1/20" in head
        await pilot.resize_terminal(120, 40)  # too narrow for the results: said, not hidden without a word
        await pilot.pause()
        assert not screen.query_one("ResultsPanel").display
        head = str(screen.query_one("#runs-head").render())
        assert "this folder's results show beside the runs from 150x28: the terminal is 120x40" in head


@pytest.mark.parametrize("records", [True, False], ids=["records", "transcripts-only"])
async def test_the_picker_lists_an_ablation_folder_with_outcomes(tmp_path: Path, offline_runs, records) -> None:
    folder = ablation_folder(tmp_path, offline_runs, records)
    runs = discover_runs(folder)
    entries = runs.entries
    assert [e.label for e in entries] == ["runs/quicksort__off__r1.jsonl", "runs/quicksort__system__r1.jsonl"]
    assert runs.skipped_text() == ""  # the job records and summary.json are read, not left out
    assert all(e.loaded == records for e in entries)
    app = AgentTuiApp(screen := RunsScreen(folder))
    async with app.run_test(size=(140, 30)) as pilot:
        for _ in range(200):
            if screen.loading_done:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        table = screen.table
        assert table.row_count == 2
        off, system = screen.entries
        assert (off.task, off.reflection, off.repeat, off.reflections) == ("quicksort", "off", 1, 0)
        assert (system.reflection, system.reflections, system.iterations) == ("system", 1, 6)
        assert system.reason == "finished" and system.tests_passed is True
        assert system.tokens and off.tokens and system.tokens > off.tokens
        assert "finished · tests pass" in str(table.get_row_at(1)[5])
        await pilot.press("q")


async def test_the_picker_opens_one_run_and_q_comes_back(tmp_path: Path, offline_runs) -> None:
    folder = ablation_folder(tmp_path, offline_runs, records=True)
    app = AgentTuiApp(picker := RunsScreen(folder))
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        await pilot.press("j", "enter")
        await pilot.pause()
        opened = app.screen
        assert isinstance(opened, TranscriptScreen)
        assert opened.model.iterations == 6 and opened.source.endswith("runs/quicksort__system__r1.jsonl")
        await pilot.press("q")  # back to the table, the cursor where it was
        assert app.screen is picker and picker.cursor == 1 and app.is_running
        await pilot.press("q")
    assert app.return_code == 0


async def test_the_picker_compares_two_marked_runs_and_q_comes_back(tmp_path: Path, offline_runs) -> None:
    folder = ablation_folder(tmp_path, offline_runs, records=False)
    app = AgentTuiApp(picker := RunsScreen(folder))
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        await pilot.press("c")  # nothing marked: a hint, nothing opens
        assert app.screen is picker
        await pilot.press("space")  # A = off; the cursor stays on it
        assert picker.marked == [0] and picker.cursor == 0
        await pilot.press("c")  # one mark: nothing opens (the cursor's run is not taken as B)
        assert app.screen is picker
        await pilot.press("j", "space")  # B = system
        assert picker.marked == [0, 1]
        assert str(picker.table.get_row_at(0)[0]) == "A" and str(picker.table.get_row_at(1)[0]) == "B"
        await pilot.press("c")
        await pilot.pause()
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert compare.alignment.divergence == 3
        assert [compare.alignment.a.label, compare.alignment.b.label] == [
            "runs/quicksort__off__r1.jsonl", "runs/quicksort__system__r1.jsonl"]
        await pilot.press("q")
        assert app.screen is picker and picker.marked == [0, 1]
        await pilot.press("q")
    assert app.return_code == 0


# ---------------------------------------------------------------------------------------------------------
# The commands


def test_compare_and_open_dir_commands(tmp_path: Path, offline_runs, capsys) -> None:
    from tui.main import main

    folder = ablation_folder(tmp_path, offline_runs, records=True)
    a, b = folder / "runs/quicksort__off__r1.jsonl", folder / "runs/quicksort__system__r1.jsonl"
    out = tmp_path / "c.svg"
    assert main(["compare", str(a), str(b), "--snapshot", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    assert "diverge&#160;at&#160;iteration&#160;3" in svg and "COMPARE" in svg
    assert main(["open", str(folder), "--snapshot", str(tmp_path / "p.svg")]) == 0
    assert "quicksort__system__r1.jsonl" in (tmp_path / "p.svg").read_text(encoding="utf-8")
    capsys.readouterr()
    # errors: one line, exit 2
    assert main(["compare", str(tmp_path / "missing.jsonl"), str(b)]) == 2
    assert main(["compare", str(folder / "results.csv"), str(b)]) == 2
    assert main(["compare", str(folder), str(b)]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["open", str(empty)]) == 2
    err = capsys.readouterr().err.strip().split("\n")
    assert len(err) == 4 and all(line.startswith("agent-tui: ") for line in err)
    assert "no such file" in err[0] and "not a transcript" in err[1] and "is a directory" in err[2]
    assert "no transcript in this folder or its subfolders" in err[3]


# ---------------------------------------------------------------------------------------------------------
# What it looks like


def compare_app() -> AgentTuiApp:
    a, b = pair()
    return AgentTuiApp(CompareScreen(a, b, label_a="runs/quicksort__off__r1.jsonl",
                                     label_b="runs/quicksort__system__r1.jsonl"))


def test_snapshot_compare(snap_compare) -> None:
    # The first screen: iteration 2 open on both sides (B's reflection note tinted and marked ⟂ as the
    # cause), the divergence banner over iteration 3.
    assert snap_compare(compare_app(), terminal_size=SIZE)


def test_snapshot_compare_divergence(snap_compare) -> None:
    # d: iteration 3 open at the top, its banner on both sides; tab: B is the active run.
    assert snap_compare(compare_app(), press=["d", "tab"], terminal_size=SIZE)


def test_big_files_kept_on_disk_compare_the_same(tmp_path: Path, monkeypatch) -> None:
    import agent.transcripts.transcript as transcript_module

    a, b = pair()
    pa, pb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path, t in ((pa, a), (pb, b)):
        with TranscriptWriter(path, t.header) as w:
            for e in t.events:
                w.write(e)
    in_memory = align(open_transcript(pa), open_transcript(pb))
    monkeypatch.setattr(transcript_module, "LAZY_BYTES", 0)
    la, lb = open_transcript(pa), open_transcript(pb)
    assert not isinstance(la.events, list)  # kept on disk
    on_disk = align(la, lb)
    assert (on_disk.divergence, on_disk.diff, on_disk.calls_differ_count) == (
        in_memory.divergence, in_memory.diff, in_memory.calls_differ_count)
    assert on_disk.b == in_memory.b


def test_lazy_summaries_of_odd_files(tmp_path: Path) -> None:
    from agent.transcripts.runs import summarize_file

    (tmp_path / "notes.jsonl").write_text('{"hello": 1}\n', encoding="utf-8")
    killed = run_events(quicksort_plan(), note_after=2)[:-1]  # no run_finished: still running, or killed
    with TranscriptWriter(tmp_path / "killed.jsonl", header(settings={"reflection": "user"})) as w:
        for e in killed:
            w.write(e)
    runs = discover_runs(tmp_path)
    entries = {e.label: summarize_file(e) for e in runs.entries}
    assert set(entries) == {"killed.jsonl"}  # notes.jsonl has no transcript header: counted, not listed
    assert runs.skipped_text() == "skipped 1 file: 1 .jsonl file without a transcript header"
    k = entries["killed.jsonl"]
    assert (k.reflection, k.reason, k.iterations, k.reflections) == ("user", None, 6, 1)
    assert "no ending" in outcome(k)[0]
