"""`agent-tui sweep`: every note of a run, forked just before it and carried on with the same text in each
role, or without it; statistics over fork points against `none`, and per trigger."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest

from agent.cli import commands as cli
from agent.experiments.jobs import Job
from agent.experiments.sweep import run_order, trigger_effects, unit_name
from agent.transcripts.importers import open_transcript
from agent.transcripts.runs import discover_runs
from tests.conftest import call
from tests.loopback import LoopbackServer
from tests.test_fork import QS_EDIT, record_parent


def heeds_user_notes(_n: int, body: dict[str, Any]) -> tuple[str, bytes] | None:
    """A model that fixes quicksort only when a reflection note reached it as a user message: after such a
    note it edits, then finishes; otherwise it reads a missing file, turn after turn."""
    messages = body.get("messages") or []
    noted = next((k for k, m in enumerate(messages) if m.get("role") == "user"
                  and str(m.get("content") or "").startswith("[reflection on ")), None)
    if noted is None:
        calls = [call("m1", "read_file", path="missing.py")]
    else:
        done = sum(m.get("role") == "assistant" for m in messages[noted:])
        calls = [QS_EDIT] if done == 0 else [call("f1", "finish", summary="fixed")]
    message = {"role": "assistant", "content": None, "tool_calls": calls}
    completion = {"id": "c", "object": "chat.completion", "created": int(time.time()), "model": "loopback",
                  "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                  "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}
    return "application/json", json.dumps(completion).encode()


@pytest.fixture(autouse=True)
def _fast_task_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_sweep_holds_the_text_and_moves_the_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parent = record_parent(tmp_path)  # notes after iterations 1 (tool_error) and 2 (tests_failed)
    out_dir = tmp_path / "sweep"
    with LoopbackServer([], raw=heeds_user_notes) as server:
        argv = ["sweep", str(parent), "--roles", "user,assistant,none", "--repeats", "2", "--out", str(out_dir),
                "--provider", "vllm", "--base-url", server.base_url, "--model", "loopback", "--no-stream",
                "--max-steps", "4", "--concurrency", "3"]
        code, out, err = run_cli(argv, capsys)
        again = run_cli(argv, capsys)  # a second call finds every fork done (the same endpoint: the same grid)
    assert code == 0, err
    assert again[0] == 0 and "skipped 12 forks already finished; 0 to run" in again[1]
    units = [unit_name(parent, 1), unit_name(parent, 2)]
    assert units == ["parent@1", "parent@2"]
    with (out_dir / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    # fork point by fork point, so that the server's cache keeps the replayed history from one fork to the next
    assert [(r["task"], r["setting"], r["repeat"]) for r in rows] == [
        (u, s, str(k)) for u in units for k in (1, 2) for s in ("user", "assistant", "none")]
    passed = {(r["task"], r["setting"]) for r in rows if r["success"] == "true"}
    assert passed == {(u, "user") for u in units}  # the model heeds a user note only
    # The same text in each arm, framed as the loop frames it; an assistant note keeps its user follower.
    recorded = [e for e in open_transcript(parent).events if e.type == "reflection_note"][1]
    for role in ("user", "assistant", "none"):
        fork = open_transcript(out_dir / "runs" / f"parent@2__{role}__r1.jsonl")
        mine = [e for e in fork.events if e.type == "reflection_note" and e.iteration == 2]
        if role == "none":
            assert mine == []
            continue
        [note] = mine
        assert fork.header.fork is not None and fork.header.fork.note == f"text kept, as {role}"
        assert note.content == recorded.content and note.triggers == recorded.triggers
        assert note.messages[0] == {"role": role, "content": recorded.messages[0]["content"]}
        assert [m["role"] for m in note.messages] == ([role, "user"] if role == "assistant" else [role])
        # later iterations write no note, in any arm
        assert [e.iteration for e in fork.events if e.type == "reflection_note"] == [1, 2]
    summary = json.loads((out_dir / "summary.json").read_text())
    assert (summary["unit"], summary["clusters"], summary["baseline"]) == ("fork point", 2, "none")
    user = next(s for s in summary["settings"] if s["setting"] == "user")
    assert (user["versus"]["wins"], user["versus"]["losses"], user["versus"]["p_value"]) == (2, 0, 0.5)
    assistant = next(s for s in summary["settings"] if s["setting"] == "assistant")
    assert (assistant["versus"]["wins"], assistant["versus"]["ties"]) == (0, 2)
    assert {(p["setting"], p["baseline"]) for p in summary["pairwise"]} == {
        ("assistant", "user"), ("user", "none"), ("assistant", "none")}
    notes = summary["grid"]["sweep"]["notes"]
    assert [(n["unit"], n["triggers"], n["parent_outcome"]["tests_passed"]) for n in notes] == [
        ("parent@1", ["tool_error"], True), ("parent@2", ["tests_failed"], True)]
    assert notes[0]["arms"]["user"] == {"runs": 2, "successes": 2} and notes[0]["arms"]["none"]["successes"] == 0
    assert "parent (not a control)" in out and "fork point" in out and "per trigger" in out
    assert (out_dir / "parents" / "parent.jsonl").read_bytes() == parent.read_bytes()
    entries = discover_runs(out_dir).entries
    assert entries[0].label == "parents/parent.jsonl" and all(e.fork_parent for e in entries[1:])
    # The note a fork sets is no model call: every call of these forks reported its tokens, none is missing.
    for path in sorted((out_dir / "runs").glob("*.jsonl")):
        ending = [e for e in open_transcript(path).events if e.type == "run_finished"][-1]
        assert ending.unreported_calls == 0, path.name


def test_each_arm_runs_first_at_a_fork_point_equally_often() -> None:
    """The first fork of a (fork point, repeat) evaluates the replayed history the next ones find cached:
    the arms take turns at being first, each fork point's forks still one after another."""
    roles = ["system", "user", "assistant", "none"]
    jobs = [Job(f"p{u}", role, r) for u in (1, 2) for r in (1, 2) for role in roles]
    order = run_order(jobs, len(roles))
    assert sorted(order, key=jobs.index) == jobs
    assert [order[k].setting for k in range(0, 16, 4)] == roles  # who goes first, block by block
    assert [(j.task, j.repeat) for j in order] == [(j.task, j.repeat) for j in jobs]  # blocks stay whole
    assert [j.setting for j in order[4:8]] == ["user", "assistant", "none", "system"]


def test_sweep_usage_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parent = record_parent(tmp_path)
    for argv, message in [
        (["--roles", "system,tool"], "--roles: unknown role tool"),
        (["--reflection", "user"], "give --roles, not --reflection"),
        (["--repeats", "0"], "--repeats must be at least 1"),
    ]:
        code, _, err = run_cli(["sweep", str(parent), "--out", str(tmp_path / "s"), *argv], capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        cli.main(["sweep", "--help"])
    help_text = capsys.readouterr().out
    assert "--roles" in help_text and "--reflection" not in help_text  # taken and answered, not offered
    code, _, err = run_cli(["sweep", str(tmp_path / "nothing"), "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and "no such file or folder" in err


class Row:
    def __init__(self, task: str, setting: str, repeat: int, success: bool) -> None:
        self.task, self.setting, self.repeat, self.success = task, setting, repeat, success
        self.prompt_tokens, self.completion_tokens, self.wall_time_s, self.reflection_calls = 90, 10, 1.0, 0
        self.reflection_prompt_tokens = self.reflection_completion_tokens = 0
        self.failed = False

    @property
    def total_tokens(self) -> int:
        return 100


def test_trigger_effects_pair_each_role_with_none_on_the_notes_of_that_trigger() -> None:
    class Point:
        def __init__(self, unit: str, triggers: list[str]) -> None:
            self.unit, self.triggers = unit, triggers

    points = [Point("a@5", ["budget"]), Point("b@5", ["budget"]), Point("c@5", ["budget", "no_change"]),
              Point("d@2", ["tool_error"])]
    # system passes 2 of 2 at a, b and c, none passes at c only; at d both fail.
    rows = [Row(u, s, r, s == "system" and u != "d@2" or (s == "none" and u == "c@5"))
            for u in ("a@5", "b@5", "c@5", "d@2") for s in ("system", "none") for r in (1, 2)]
    effects = {(e["trigger"], e["role"]): e for e in trigger_effects(points, rows)}  # type: ignore[arg-type]
    budget = effects[("budget", "system")]
    assert (budget["notes"], budget["wins"], budget["losses"], budget["ties"]) == (3, 2, 0, 1)
    assert budget["p_value"] == 0.5 and budget["success_rate"]["mean_diff"] == round(2 / 3, 4)
    assert (effects[("no_change", "system")]["ties"], effects[("tool_error", "system")]["ties"]) == (1, 1)


def test_sweep_plan_costs_each_arm_what_its_parent_spent_after_the_fork(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    parent = record_parent(tmp_path)
    transcript = open_transcript(parent)
    after = [i.assistant.usage for i in transcript.iterations if i.assistant is not None and i.assistant.usage]
    # the fork after 1 goes on with the parent's iterations 2-5, the one after 2 with 3-5
    expected = sum(u.total_tokens for u in after[1:]) + sum(u.total_tokens for u in after[2:])
    code, out, err = run_cli(["sweep", str(parent), "--roles", "system,none", "--repeats", "3",
                              "--out", str(tmp_path / "s"), "--plan"], capsys)
    assert code == 0, err
    assert not (tmp_path / "s").exists()
    assert "plan: 2 fork points x 2 arms x 3 repeats = 12 forks" in out
    assert f"tokens: about {6 * expected:,}" in out
    assert "2 fork points x 3 repeats: no rise is detectable" in out
