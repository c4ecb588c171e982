"""The command line as a user types it: exit codes, one-line errors, what gets printed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agent.run import cli
from agent.transcripts.transcript import load_transcript
from tests.conftest import DATA, call, reply, write_script


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_headless_demo_passes_and_prints_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "demo.jsonl"
    code, out, err = run_cli(["run", "--headless", "--task", "quicksort", "--out", str(out_file)], capsys)
    assert code == 0, err
    assert "using the offline scripted model" in out
    assert "call call_qs01a  list_files" in out and "result call_qs01a  list_files" in out
    assert "run finished: finished" in out and "tests pass" in out
    code, out, _ = run_cli(["check", str(out_file)], capsys)
    assert code == 0 and "ordering clean" in out


def test_headless_exit_1_when_tests_still_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = write_script(tmp_path / "s.json", [reply("done", call("c1", "finish", summary="nothing"))])
    code, out, _ = run_cli(["run", "--headless", "--script", str(script), "--out", str(tmp_path / "r.jsonl")], capsys)
    assert code == 1 and "tests FAIL" in out


def test_missing_key_is_one_line_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["run", "--headless", "--provider", "groq"], capsys)
    assert code == 2
    assert err.strip() == "agent-tui: provider groq needs an API key: set GROQ_API_KEY"


def test_provider_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = write_script(tmp_path / "s.json", [reply(None, call("c1", "list_files"))])
    code, _, err = run_cli(["run", "--headless", "--script", str(script), "--out", str(tmp_path / "r.jsonl")], capsys)
    assert code == 2 and "no reply left" in err and len(err.strip().splitlines()) == 1


def test_unknown_task_and_bad_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["run", "--headless", "--task", "nope"], capsys)
    assert code == 2 and "unknown task 'nope'" in err and "quicksort" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    code, _, err = run_cli(["run", "--headless", "--script", str(bad)], capsys)
    assert code == 2 and "bad.json: not valid JSON" in err


def test_check_flags_violations_with_index(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["check", str(DATA / "bad_order.json")], capsys)
    assert code == 1
    assert "message 4:" in out and "note-inside-batch" in out and "ordering violation(s)" in out


def test_check_reads_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("messages_array.json", "messages_object.json", "mini_swe_agent.traj.json"):
        code, out, _ = run_cli(["check", str(DATA / name)], capsys)
        assert code == 0, out
    not_a_transcript = tmp_path / "notes.txt"
    not_a_transcript.write_text("hello\n")
    code, _, err = run_cli(["check", str(not_a_transcript)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "notes.txt" in err


def test_tasks_lists_bundled_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["tasks"], capsys)
    names = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and "quicksort" in names and len(names) >= 3


def test_replay_reports_divergence_or_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first.jsonl"
    assert run_cli(["run", "--headless", "--reflection", "off", "--out", str(first)], capsys)[0] == 0
    code, out, _ = run_cli(["run", "--headless", "--reflection", "off", "--provider", "replay", "--transcript",
                            str(first), "--out", str(tmp_path / "second.jsonl")], capsys)
    assert code == 0
    assert "replay: every request matched the recorded run" in out  # pytest's own durations aside
    replayed = load_transcript(tmp_path / "second.jsonl")
    assert replayed.header.provider == "replay"


def test_no_key_in_transcript(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-123")
    out_file = tmp_path / "r.jsonl"
    code, out, _ = run_cli(["run", "--headless", "--provider", "scripted", "--out", str(out_file)], capsys)
    assert code == 0
    assert "sk-test-SECRET-123" not in out_file.read_text() and "sk-test-SECRET-123" not in out
    header = json.loads(out_file.read_text().splitlines()[0])
    assert header["provider"] == "scripted"


def test_event_printer_folds_long_results() -> None:
    from agent.events import ToolResult

    buf = io.StringIO()
    text = "\n".join(f"line {i}" for i in range(50))
    cli.EventPrinter(buf).show(ToolResult(iteration=1, tool_call_id="c", name="read_file", content=text,
                                          message={"role": "tool", "tool_call_id": "c", "content": text}))
    assert "30 more lines" in buf.getvalue()


def test_replay_names_the_first_divergence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first.jsonl"
    assert run_cli(["run", "--headless", "--reflection", "off", "--out", str(first)], capsys)[0] == 0
    # same replies, different goal: the very first request differs at the user message
    code, out, _ = run_cli(["run", "--headless", "--reflection", "off", "--provider", "replay", "--transcript",
                            str(first), "--goal", "Fix it, please.", "--out", str(tmp_path / "b.jsonl")], capsys)
    assert "replay diverged: iteration 1: message 1 differs (user content" in out
