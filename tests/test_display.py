"""How real transcripts read: folds keep the cause, errors are marked, escape sequences stay inert, counts
are worded honestly. On the fixtures of tests/data (a real failing pytest run, a 5,000-line log, escapes)."""

from __future__ import annotations

import io
import json

from agent.display.errors import event_mark, message_mark, text_mark
from agent.display.folding import Hidden, Shown, fold_plan, fold_text
from agent.display.terminal import complain, inert
from agent.display.wording import plural, short_tokens, tokens
from agent.events import DriverMessage, ToolResult, Usage
from agent.transcripts.importers import open_transcript
from tests.conftest import DATA


def _results(name: str) -> list[ToolResult]:
    return [e for e in open_transcript(DATA / name).events if isinstance(e, ToolResult)]


def test_a_failing_pytest_run_folds_to_its_syntax_error() -> None:
    failing = next(r for r in _results("syntax_error_run.jsonl") if r.content.startswith("tests failed"))
    lines = failing.content.split("\n")
    assert len(lines) > 25 and not any("SyntaxError" in line for line in lines[:12])  # buried mid-traceback
    shown = fold_text(failing.content)
    assert "E   SyntaxError: '(' was never closed" in shown
    assert "E       return quicksort(smaller) + equal + quicksort(larger" in shown
    assert shown.startswith("tests failed (exit 2)") and shown.endswith("1 error in " + lines[-1].split(" in ")[1])
    hidden = [line for line in shown.split("\n") if line.startswith("… ")]
    assert hidden and all(line.endswith("lines hidden …") for line in hidden)
    assert len(shown.split("\n")) < len(lines)


def test_a_5000_line_log_shows_head_failure_and_tail() -> None:
    log = open_transcript(DATA / "long_result.json").iterations[0].results[0].content
    lines = log.split("\n")
    plan = fold_plan(lines)
    assert plan[0] == Shown(0, 8) and isinstance(plan[-1], Shown) and plan[-1].end == len(lines)
    assert sum(p.end - p.start for p in plan) == len(lines)  # every line once, in order
    assert all(a.end == b.start for a, b in zip(plan, plan[1:]))
    shown = [i for p in plan if isinstance(p, Shown) for i in range(p.start, p.end)]
    texts = [lines[i] for i in shown]
    assert any(t.endswith("::test_case_3090 FAILED [ 61%]") for t in texts)
    assert "E       AssertionError: assert '3' == 3" in texts
    assert texts[-1].startswith("======================= 1 failed, 4990 passed")
    assert len(shown) < 40 and max(p.count for p in plan if isinstance(p, Hidden)) > 3000


def test_short_texts_are_not_folded_and_a_single_hidden_line_is_shown() -> None:
    assert fold_plan([f"l{i}" for i in range(20)]) == [Shown(0, 20)]
    lines = [f"l{i}" for i in range(21)]
    assert fold_plan(lines) == [Shown(0, 8), Hidden(8, 17), Shown(17, 21)]
    lines[9] = "ValueError: bad"  # keeps 8..9: the run before it is gone, one line after it is shown
    assert fold_plan(lines) == [Shown(0, 10), Hidden(10, 17), Shown(17, 21)]
    assert fold_text("x" * 2500).endswith("… (500 more characters)")


def test_error_marks_of_our_results_and_imported_ones() -> None:
    results = _results("syntax_error_run.jsonl")
    marks = {r.tool_call_id: event_mark(r) for r in results}
    assert marks["call_se03"] is not None and marks["call_se03"].label == "tests failed"
    assert marks["call_se05"] is None and marks["call_se01"] is None  # passing tests, a plain read
    error = ToolResult(iteration=1, tool_call_id="c", name="read_file", content="error: no such file 'x'",
                       is_error=True, message={})
    assert event_mark(error).label == "error"
    assert text_mark("<returncode>2</returncode>\n<output>\nboom\n</output>").label == "exit 2"
    assert text_mark("<returncode>0</returncode>\n<output>\nok\n</output>") is None
    assert text_mark(json.dumps({"returncode": 127, "output": "sh: nope: not found"})).label == "exit 127"
    assert text_mark("compiling\n...\n[Command finished with exit code 1]").label == "exit 1"
    assert text_mark("tests timed out after 120s\n").label == "timed out"
    assert text_mark("Please always provide EXACTLY ONE action in triple backticks, found 2 actions.").label \
        == "format error"
    mini = {"role": "user", "content": "<output>\nTraceback ...\n</output>", "extra": {"returncode": 1}}
    assert message_mark(mini).label == "exit 1"
    observation = DriverMessage(iteration=2, kind="observation", message=mini)
    assert event_mark(observation).label == "exit 1"
    # A file that merely talks about exit codes is not an error.
    assert text_mark("\n".join(["a"] * 5 + ["the script returns exit code 1 on error"] + ["b"] * 5)) is None


def test_mini_swe_agent_trajectory_has_no_false_marks() -> None:
    transcript = open_transcript(DATA / "mini_swe_agent.traj.json")
    assert [event_mark(e) for e in transcript.events] == [None] * len(transcript.events)


def test_inert_shows_control_sequences() -> None:
    assert inert("title\x1b]0;pwned\x07 clear\x1b[2J") == "title^[]0;pwned^G clear^[[2J"
    assert inert("a\r\nb\rc\td\x7f\x9b") == "a\nb^Mc\td^?<U+009B>"
    assert inert("plain text\n") == "plain text\n"
    err = io.StringIO()
    complain("provider said \x1b]52;c;ZXZpbA==\x07", err)
    assert err.getvalue() == "agent-tui: provider said ^[]52;c;ZXZpbA==^G\n"


def test_counts_are_worded() -> None:
    assert (plural(1, "iteration"), plural(2, "iteration"), plural(12345, "line")) == \
        ("1 iteration", "2 iterations", "12,345 lines")
    assert tokens(None) == "tokens not recorded" and short_tokens(None) == ""
    assert tokens(Usage(prompt_tokens=1200, completion_tokens=34)) == "1,234 tokens (1,200 in / 34 out)"
    assert tokens(Usage(prompt_tokens=1, completion_tokens=0), split=False) == "1 token"
    assert open_transcript(DATA / "mini_swe_agent.traj.json").usage is None
    assert open_transcript(DATA / "mini_swe_agent.traj.json").finished.usage is None
