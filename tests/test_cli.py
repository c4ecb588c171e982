"""The command line as a user types it: exit codes, one-line errors, what gets printed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agent.cli import commands as cli
from agent.cli.headless import EventPrinter
from agent.transcripts.importers import open_transcript
from tests.conftest import DATA, call, reply, write_script


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.real_pytest  # the README's demo, as a user runs it
def test_headless_demo_passes_and_prints_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "demo.jsonl"
    code, out, err = run_cli(["run", "--headless", "--task", "quicksort", "--out", str(out_file)], capsys)
    assert code == 0, err
    assert "using the offline scripted model" in out
    assert "→ call  list_files  call_qs01a\n" in out and "← result  list_files  call_qs01a" in out
    assert "running…" not in out  # the app's live mark: in a log the result comes on the lines below
    # an edit's strings as text, as the app shows them, in the log and in the Markdown export alike
    edit = '  "old": ┐ 3 lines,\n    │     │     larger = [x for x in items if x > pivot]\n'
    assert edit in out and '{"path": "."}' in out and '\\n' not in out
    code, _, _ = run_cli(["export", str(out_file), "--format", "md", "-o", str(tmp_path / "demo.md")], capsys)
    markdown = (tmp_path / "demo.md").read_text()
    assert code == 0 and '"old": ┐ 3 lines,\n    │     larger = [x for x in items if x > pivot]\n' in markdown
    assert "══ ■ finished · tests passed" in out
    code, out, _ = run_cli(["check", str(out_file)], capsys)
    assert code == 0 and "ordering clean" in out


def test_headless_exit_1_when_tests_still_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = write_script(tmp_path / "s.json", [reply("done", call("c1", "finish", summary="nothing"))])
    code, out, _ = run_cli(["run", "--headless", "--script", str(script), "--out", str(tmp_path / "r.jsonl")], capsys)
    assert code == 1 and "tests failed" in out


def test_the_log_s_first_lines_are_inert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The model's name comes from a flag or a forked file's header: it never acts on the terminal."""
    script = write_script(tmp_path / "s.json", [reply("done", call("c1", "finish", summary="nothing"))])
    code, out, _ = run_cli(["run", "--headless", "--script", str(script), "--model", "x\x1b[2Jy",
                            "--out", str(tmp_path / "r\x07.jsonl")], capsys)
    assert code == 1 and "\x1b" not in out and "\x07" not in out
    assert "x^[[2Jy" in out.splitlines()[0] and "r^G.jsonl" in out.splitlines()[1]


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
    assert "message 4:" in out and "note-inside-batch" in out and "4 ordering violations in 10 messages" in out


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
    replayed = open_transcript(tmp_path / "second.jsonl")
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


def test_the_headless_log_says_an_iteration_in_the_export_s_words(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The log and the export describe each item once (`agent.view.describe`): a result's head (its label,
    tool, id, duration and error mark) and a note's role and trigger read the same in both."""
    from agent.export.document import build_document

    out_file = tmp_path / "run.jsonl"
    code, out, _ = run_cli(["run", "--headless", "--out", str(out_file)], capsys)  # a note after iteration 2
    assert code == 0
    doc = build_document(open_transcript(out_file), "not redacted")
    second = next(s for s in doc.sections if s.kind == "iteration" and s.number == 2)
    result = next(e for e in second.entries if e.kind == "result")
    note = next(e for e in second.entries if e.kind == "reflection")
    assert "✗ tests failed" in result.meta
    meta, marks = " · ".join(m for m in result.meta if not m.startswith("✗")), "✗ tests failed"
    assert f"  {result.label}  {result.name}  {result.call_id}  {meta}  {marks}\n" in out
    assert f"  {note.label}  {' · '.join(note.meta)}\n" in out and "as system" in note.meta
    (trigger, evidence), = note.lines
    assert trigger == "trigger tests_failed" and f"┊ {trigger}: {evidence.splitlines()[0]}\n" in out


def test_event_printer_folds_long_results_around_the_cause() -> None:
    from agent.events import ToolResult

    buf = io.StringIO()
    lines = [f"line {i}" for i in range(50)]
    lines[25] = "E   SyntaxError: '(' was never closed"
    text = "\n".join(lines)
    EventPrinter(buf).show(ToolResult(iteration=1, tool_call_id="c", name="run_tests", content=text,
                                          message={"role": "tool", "tool_call_id": "c", "content": text}))
    shown = buf.getvalue()
    assert "│ line 0\n" in shown and "│ line 49\n" in shown
    assert "│ E   SyntaxError: '(' was never closed\n" in shown and "│ line 24\n" in shown
    assert "… 16 lines hidden …" in shown and "… 20 lines hidden …" in shown and "line 30\n" not in shown


def test_event_printer_caps_what_the_model_and_tools_wrote() -> None:
    """A 5 MB reply was printed whole at every iteration: every text is cut, one line or many."""
    from agent.events import AssistantMessage, DriverMessage, Notice, RunFinished, ToolResult

    buf = io.StringIO()
    printer = EventPrinter(buf)
    huge = "\x1b]0;owned\x07" + "y" * 5_000_000
    many = "\n".join(["z" * 100_000] * 100)
    for text in (huge, many):
        printer.show(AssistantMessage(iteration=1, message={"role": "assistant", "content": text}))
        printer.show(ToolResult(iteration=1, tool_call_id="c", name="read_file", content=text,
                                message={"role": "tool", "tool_call_id": "c", "content": text}))
        printer.show(DriverMessage(iteration=1, kind="nudge", message={"role": "user", "content": text}))
        printer.show(Notice(text=text))
        printer.show(RunFinished(reason="error", detail=text, summary=text))
    printed = buf.getvalue()
    assert len(printed) < 200_000 and "more characters" in printed and "lines hidden" in printed
    assert "\x1b" not in printed and "^[]0;owned^G" in printed  # shown, not obeyed


def test_replay_names_the_first_divergence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first.jsonl"
    assert run_cli(["run", "--headless", "--reflection", "off", "--out", str(first)], capsys)[0] == 0
    # same replies, different goal: the very first request differs at the user message
    code, out, _ = run_cli(["run", "--headless", "--reflection", "off", "--provider", "replay", "--transcript",
                            str(first), "--goal", "Fix it, please.", "--out", str(tmp_path / "b.jsonl")], capsys)
    assert "replay diverged: iteration 1: message 1 differs (user content" in out


def test_check_accepts_a_run_killed_between_a_call_and_its_result(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["check", str(DATA / "killed_run.jsonl")], capsys)
    assert code == 0, out
    assert "ok (7 messages, 3 iterations, ordering clean)" in out
    assert ("the last calls were never answered: the run stopped before their results (the transcript has no "
            "end: the run was killed, or is still running): call_se03 (run_tests). No request carried them, "
            "so no rule was broken") in out


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_a_headless_run_stopped_while_its_tool_runs_leaves_a_checkable_transcript(
        tmp_path: Path, signame: str) -> None:
    """As a user does it: start a run, stop it (SIGTERM: as Ctrl-C; SIGKILL: nothing can clean up) while
    run_tests is running, then check the transcript."""
    import os
    import signal
    import subprocess
    import sys

    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = write_script(tmp_path / "s.json", [reply("Testing.", call("c1", "run_tests"))])
    out_file = tmp_path / "run.jsonl"
    pid_file = tmp_path / "tool.pid"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "--headless", "--provider", "scripted", "--script",
         str(script), "--workspace", str(workspace), "--goal", "test", "--reflection", "off", "--out",
         str(out_file), "--test-cmd", f"echo $$ > {pid_file}; exec sleep 120",
         "--sandbox", "none"],  # host pids in the pid file (the sandbox: tests/test_sandbox.py)
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the call is printed right before its tool starts
            if "→ call  run_tests  c1" in line:
                break
        while proc.poll() is None and not (pid_file.exists() and pid_file.read_text().strip()):
            pass  # the tool writes its pid as it starts
        proc.send_signal(getattr(signal, signame))
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        if pid_file.exists() and pid_file.read_text().strip():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)  # SIGKILL leaves the tool behind
            except ProcessLookupError:
                pass
    assert cli.cmd_check(out_file, out := io.StringIO()) == 0, out.getvalue()
    text = out.getvalue()
    assert "ordering clean" in text and "the last calls were never answered" in text and "c1 (run_tests)" in text
    if signame == "SIGTERM":
        assert "the run stopped (cancelled) before their results" in text
    else:
        assert "the transcript has no end" in text


def test_headless_output_is_inert_and_a_huge_reply_is_capped(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A model that writes escape sequences (title, screen clear, OSC 52 clipboard) and a 3,000-line reply:
    the terminal gets them as visible text, and a fold instead of 3,000 lines."""
    escapes = "Sure.\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07"
    huge = "\n".join(f"thinking line {i}" for i in range(3000))
    script = write_script(tmp_path / "s.json", [
        reply(escapes, call("c1", "grep", pattern="\x1b\\[31m", path=".")),
        reply(huge, call("c2", "finish", summary="done\x1b[2J")),
    ])
    code, out, err = run_cli(["run", "--headless", "--script", str(script), "--reflection", "off",
                              "--out", str(tmp_path / "r.jsonl")], capsys)
    assert "\x1b" not in out and "\x07" not in out and "\x1b" not in err
    assert "\n    Sure.^[]0;pwned^G^[[2J^[]52;c;ZXZpbA==^G\n" in out  # the reply, under its head
    assert "summary: done^[[2J" in out
    assert "thinking line 2999" in out and "thinking line 1500" not in out
    assert "lines hidden" in out and len(out.splitlines()) < 200
