"""How a run went is folded once (agent.outcome) and how an event reads is said once (agent.view.describe):
the runs picker's fast path agrees with a full pass, a grid's row and a fork's table read the same summary,
and the export says what the app says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agent.events import AssistantMessage, IterationStarted, ReflectionNote, RunFinished, RunStarted, ToolResult, \
    TurnRetracted, Usage
from agent.export.export import export_transcript
from agent.outcome import RunOutcome
from agent.transcripts.compare import summarize_run
from agent.transcripts.importers import open_transcript
from agent.transcripts.runs import RunSummary, summarize_file
from agent.transcripts.transcript import Transcript
from agent.view.describe import describe_item, describe_title
from agent.view.model import TranscriptModel
from tests.tui_helpers import call, header

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
FIELDS = ("reason", "tests_passed", "iterations", "usage", "unreported", "reflections")


def test_the_runs_picker_reads_from_a_file_s_end_what_a_full_pass_folds() -> None:
    files = sorted((ROOT / "docs/results/runs").glob("*.jsonl")) + [DATA / "syntax_error_run.jsonl"]
    for path in files:
        fast = summarize_file(RunSummary(label=path.name, path=path))  # header, byte counts, last line
        full = summarize_run(open_transcript(path), path.name)  # every event
        assert fast.reason is not None, path
        assert [getattr(fast, f) for f in FIELDS] == [getattr(full, f) for f in FIELDS], path
    killed = DATA / "killed_run.jsonl"  # no ending: the picker says what its bytes do, and no outcome
    fast = summarize_file(RunSummary(label=killed.name, path=killed))
    full = summarize_run(open_transcript(killed), killed.name)
    assert (fast.reason, fast.iterations, fast.reflections) == (full.reason, full.iterations, full.reflections)
    assert fast.reason is None and fast.usage is None and full.usage is not None


def test_one_fold_says_tokens_notes_and_what_reflection_cost() -> None:
    said = Usage(prompt_tokens=100, completion_tokens=10)
    events = [RunStarted(messages=[{"role": "user", "content": "go"}]),
              IterationStarted(iteration=1, request_size=1, reflection="resample"),
              AssistantMessage(iteration=1, message={"role": "assistant", "content": "a"}, usage=said),
              TurnRetracted(iteration=1, replaced=1, usage=said),
              IterationStarted(iteration=2, request_size=1, reflection="resample"),
              AssistantMessage(iteration=2, message={"role": "assistant", "content": "b"}),
              ReflectionNote(iteration=2, role="system", content="n", request=[{"role": "user", "content": "q"}]),
              ReflectionNote(iteration=2, role="system", content="edited by hand")]  # no call: nothing unreported
    outcome = RunOutcome.of(events)
    assert (outcome.reason, outcome.iterations, outcome.usage, outcome.unreported) == (None, 2, said, 2)
    assert (outcome.notes, outcome.retracted, outcome.reflection_calls, outcome.note_usage) == (2, 1, 3, said)
    assert outcome.first_reflection == "resample"
    ending = RunFinished(reason="harness_error", iterations=2, usage=said, unreported_calls=2)
    outcome.add(ending)
    assert outcome.broken and outcome.ending is ending
    assert RunOutcome.of(events, imported=True).unreported == 0  # another tool's file records no counts
    total = RunOutcome.of([RunFinished(reason="finished", iterations=3, usage=said)])
    assert total.reported == said and total.usage is None  # a file that keeps only a total says it


def test_the_export_says_what_the_app_says() -> None:
    events = [RunStarted(messages=[{"role": "user", "content": "fix it"}]),
              IterationStarted(iteration=1, request_size=1),
              AssistantMessage(iteration=1, message={"role": "assistant", "content": "",
                                                     "tool_calls": [call("t1", "run_tests"), call("t2", "read_file")]}),
              ToolResult(iteration=1, tool_call_id="t1", name="run_tests", content="tests failed (exit 1)\n1 failed",
                         message={"role": "tool", "tool_call_id": "t1", "content": "tests failed (exit 1)\n1 failed"}),
              IterationStarted(iteration=2, request_size=4),
              AssistantMessage(iteration=2, message={"role": "assistant", "content": "I think it is done."})]
    transcript = Transcript(header=header(), events=events)
    model = TranscriptModel()
    model.extend(events)
    model.check_order()
    said: list[str] = []
    for block in model.blocks:
        title = describe_title(block, model)
        said += [title.head.text, *(badge.text for badge in title.badges), *title.right]
        for item in block.get_items()[1:]:
            desc = describe_item(block, item, model)
            if desc.kind != "request":
                said += [desc.label.text, *desc.meta, *(mark.text for mark in desc.marks)]
    assert {"✗ tests failed", "no tool call: prose", "tokens not reported", "no result"} <= set(said)
    for fmt in ("md", "html"):
        page = export_transcript(transcript, fmt, redact=False).text
        missing = [text for text in said if text and text.replace("_", "\\_") not in page and text not in page]
        assert missing == [], (fmt, missing)


def test_the_descriptions_need_no_ui_toolkit() -> None:
    code = ("import sys, agent.view.describe, agent.export.document, agent.outcome;"
            "print(sorted(m for m in ('textual', 'rich', 'tui') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
