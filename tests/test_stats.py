"""Every statistic against values computed by hand, and the per-setting summary built from them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.run.stats import mcnemar, paired_bootstrap, pass_at_k, wilson
from agent.run.summary import format_statistics, note_followups, setting_statistics


def test_wilson_at_the_edges() -> None:
    # z = 1.96, n = 6: centre = (p + z²/12) / (1 + z²/6), half = z·sqrt(p(1-p)/6 + z²/144) / (1 + z²/6).
    # p = 0: centre = half = 0.32013/1.64027 = 0.19517, so [0, 0.39034]; p = 1 mirrors it.
    low, high = wilson(0, 6)
    assert low == 0.0 and high == pytest.approx(0.390334, abs=1e-5)
    low, high = wilson(6, 6)
    assert low == pytest.approx(0.609666, abs=1e-5) and high == 1.0
    low, high = wilson(3, 6)  # symmetric around 1/2: 0.5 ± 1.96·sqrt(0.25/6 + 3.8415/144)/1.64027 = 0.5 ± 0.312384
    assert low == pytest.approx(1 - high) and high == pytest.approx(0.812384, abs=1e-5)
    assert wilson(0, 0) == (0.0, 1.0)


def test_mcnemar_exact() -> None:
    assert mcnemar(6, 0) == pytest.approx(2 / 64)  # 0.03125: six discordant pairs all one way
    assert mcnemar(0, 6) == pytest.approx(2 / 64)
    assert mcnemar(5, 1) == pytest.approx(2 * (1 + 6) / 64)  # 0.21875
    assert mcnemar(3, 3) == 1.0  # the two tails overlap: capped at 1
    assert mcnemar(0, 0) == 1.0


@pytest.mark.parametrize("n, c, k, expected", [
    (5, 2, 1, 0.4),                 # pass@1 is c/n
    (5, 2, 2, 1 - 3 / 10),          # 1 - C(3,2)/C(5,2)
    (10, 3, 5, 1 - 21 / 252),       # 1 - C(7,5)/C(10,5)
    (10, 0, 5, 0.0),
    (4, 3, 2, 1.0),                 # fewer than k failures: every draw of 2 holds a success
])
def test_pass_at_k(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_needs_k_runs() -> None:
    with pytest.raises(ValueError, match="pass@3 needs at least 3 runs, got 2"):
        pass_at_k(2, 1, 3)


def test_paired_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    diffs = [10.0, 12.0, 8.0, 30.0, -4.0, 11.0]
    mean, low, high = paired_bootstrap(diffs, seed=7)
    assert mean == pytest.approx(67 / 6)
    assert low < mean < high and min(diffs) <= low and high <= max(diffs)
    assert paired_bootstrap(diffs, seed=7) == (mean, low, high)
    assert paired_bootstrap([5.0] * 4) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError):
        paired_bootstrap([])


@dataclass
class FakeRow:
    task: str
    setting: str
    repeat: int
    success: bool
    total_tokens: int = 100
    wall_time_s: float = 1.0
    reflection_calls: int = 0
    transcript: str = ""
    failed: bool = False


def test_setting_statistics_pairs_with_off() -> None:
    rows = []
    for t in range(6):  # system wins 5 pairs, loses 1; tokens +50 on every pair
        rows.append(FakeRow(f"t{t}", "off", 1, success=(t == 5)))
        rows.append(FakeRow(f"t{t}", "system", 1, success=(t != 5), total_tokens=150, reflection_calls=2))
    rows.append(FakeRow("t0", "system", 2, success=True, failed=True))  # a failed job counts nowhere
    off, system = setting_statistics(rows)
    assert (off["runs"], off["successes"], off["success_rate"]) == (6, 1, 0.1667)
    assert "vs_off" not in off and off["pass_at_k"] == {"1": 0.1667}
    assert system["ci95"] == [0.4365, 0.9699]  # centre 0.70321, half 0.26673 (as above, p = 5/6)
    versus = system["vs_off"]
    assert (versus["pairs"], versus["wins"], versus["losses"], versus["ties"]) == (6, 5, 1, 0)
    assert versus["p_value"] == pytest.approx(0.21875)
    assert versus["total_tokens"] == {"mean_diff": 50.0, "ci95": [50.0, 50.0]}
    assert versus["reflection_calls"]["mean_diff"] == 2.0
    table = format_statistics([off, system])
    assert "5/1/0" in table and "0.219" in table and "[44%, 97%]" in table


def test_pass_at_k_averages_over_tasks_when_every_task_has_k_runs() -> None:
    rows = [FakeRow("a", "off", r, success=r <= 1) for r in range(1, 6)]  # 1 of 5
    rows += [FakeRow("b", "off", r, success=r <= 4) for r in range(1, 6)]  # 4 of 5
    (off,) = setting_statistics(rows)
    assert off["pass_at_k"] == {"1": 0.5, "2": round((0.4 + 1.0) / 2, 4), "5": 1.0}


def test_notes_and_what_followed_them(tmp_path: Path) -> None:
    def assistant(iteration: int, *calls: tuple[str, str]) -> str:
        return json.dumps({"type": "assistant_message", "iteration": iteration, "message": {
            "role": "assistant", "tool_calls": [{"function": {"name": n, "arguments": a}} for n, a in calls]}})

    def note(iteration: int, *kinds: str) -> str:
        return json.dumps({"type": "reflection_note", "iteration": iteration,
                           "triggers": [{"kind": k} for k in kinds]})

    lines = [assistant(1, ("run_tests", "{}")), note(1, "tests_failed"),
             assistant(2, ("edit_file", '{"path": "a"}'), ("run_tests", "{}")), note(2, "tests_failed", "no_change"),
             assistant(3, ("run_tests", "{}")), note(3, "repeated_call"), '{"type": "assistant_mes']
    found = note_followups(lines)
    assert [n["followed_by"] for n in found] == [["edited_file", "ran_tests", "repeated_call"],
                                                 ["ran_tests", "repeated_call"], ["run_ended"]]
    assert found[1]["triggers"] == ["tests_failed", "no_change"]
    path = tmp_path / "runs" / "a.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    (system,) = setting_statistics([FakeRow("a", "system", 1, True, transcript="runs/a.jsonl")], tmp_path)
    assert system["notes"] == {"written": 3, "by_trigger": {"no_change": 1, "repeated_call": 1, "tests_failed": 2},
                               "followed_by": {"edited_file": 1, "ran_tests": 2, "repeated_call": 2, "run_ended": 1}}
    assert "system: 3 notes (no_change 1, repeated_call 1, tests_failed 2)" in format_statistics([system])
    assert not math.isnan(system["total_tokens"])
