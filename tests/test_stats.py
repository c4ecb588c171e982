"""Every statistic against values computed by hand, and the per-setting summary built from them: the unit
of analysis is the task (repeats averaged first), never the run."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.experiments.stats import (
    bootstrap_mean,
    min_detectable_effect,
    pass_at_k,
    pass_hat_k,
    sign_test,
    sign_test_power,
    unit_outcomes,
    units_needed,
    wilson,
)
from agent.experiments.summary import format_report, format_statistics, grid_statistics, setting_statistics
from agent.transcripts.notes import read_notes


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
    # Fractional successes (a sum of unit rates): 1.5 of 3 is p = 1/2 over n = 3:
    # 0.5 ± 1.96·sqrt(0.083333 + 0.106707)/2.280486 = 0.5 ± 1.96·0.435936/2.280486 = 0.5 ± 0.374665.
    low, high = wilson(1.5, 3)
    assert (low, high) == (pytest.approx(0.125335, abs=1e-5), pytest.approx(0.874665, abs=1e-5))


def test_sign_test_exact() -> None:
    assert sign_test(6, 0) == pytest.approx(2 / 64)  # 0.03125: six units that differ, all one way
    assert sign_test(0, 6) == pytest.approx(2 / 64)
    assert sign_test(5, 1) == pytest.approx(2 * (1 + 6) / 64)  # 0.21875
    assert sign_test(3, 0) == 0.25  # three units: the smallest p it can give
    assert sign_test(3, 3) == 1.0  # the two tails overlap: capped at 1
    assert sign_test(0, 0) == 1.0


@pytest.mark.parametrize("n, c, k, expected", [
    (5, 2, 1, 0.4),                 # pass@1 is c/n
    (5, 2, 2, 1 - 3 / 10),          # 1 - C(3,2)/C(5,2)
    (10, 3, 5, 1 - 21 / 252),       # 1 - C(7,5)/C(10,5)
    (10, 0, 5, 0.0),
    (4, 3, 2, 1.0),                 # fewer than k failures: every draw of 2 holds a success
])
def test_pass_at_k(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize("n, c, k, expected", [
    (5, 2, 1, 0.4),                 # pass^1 is c/n too
    (6, 4, 2, 6 / 15),              # C(4,2)/C(6,2)
    (10, 7, 5, 21 / 252),           # C(7,5)/C(10,5)
    (4, 1, 2, 0.0),                 # fewer than k successes: no draw of 2 is all successes
    (3, 3, 3, 1.0),
])
def test_pass_hat_k(n: int, c: int, k: int, expected: float) -> None:
    assert pass_hat_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_needs_k_runs() -> None:
    with pytest.raises(ValueError, match="pass@3 needs at least 3 runs, got 2"):
        pass_at_k(2, 1, 3)
    with pytest.raises(ValueError, match=r"pass\^3 needs at least 3 runs, got 2"):
        pass_hat_k(2, 1, 3)


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    values = [10.0, 12.0, 8.0, 30.0, -4.0, 11.0]
    mean, low, high = bootstrap_mean(values, seed=7)
    assert mean == pytest.approx(67 / 6)
    assert low < mean < high and min(values) <= low and high <= max(values)
    assert bootstrap_mean(values, seed=7) == (mean, low, high)
    assert bootstrap_mean([5.0] * 4) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError):
        bootstrap_mean([])


# -- power -------------------------------------------------------------------------------------------------


def test_unit_outcomes_by_hand() -> None:
    # One repeat, base 0.5, effect 0.5: the setting always passes; the unit wins when the baseline fails.
    assert unit_outcomes(1, 0.5, 0.5) == pytest.approx((0.5, 0.0, 0.5))
    # Two repeats, base 0, effect 0.5: X ~ Bin(2, 1/2) against Y = 0: a tie only when X = 0.
    assert unit_outcomes(2, 0.0, 0.5) == pytest.approx((0.75, 0.0, 0.25))


def test_sign_test_power_by_hand() -> None:
    # 6 units, one repeat, 50% -> 100%: a unit differs with chance 1/2 and then always wins; the test
    # rejects only when all 6 differ (p = 2/64 = 0.031; 5 of 5 gives 0.0625 > 0.05): (1/2)^6.
    assert sign_test_power(6, 1, 0.5, 0.5) == pytest.approx(1 / 64)
    # 7 units, 0% -> 50%: rejects when 6 or 7 differ (all wins): P(Bin(7, 1/2) >= 6) = 8/128.
    assert sign_test_power(7, 1, 0.0, 0.5) == pytest.approx(8 / 128)
    # 0% -> 100%: every unit wins; 6 units reject (2/64), 5 can never (2/32 > 0.05).
    assert sign_test_power(6, 1, 0.0, 1.0) == pytest.approx(1.0)
    assert sign_test_power(5, 1, 0.0, 1.0) == 0.0
    assert sign_test_power(20, 3, 0.3, 0.0) < 0.05  # no effect: at most the test's level


def test_planning_numbers() -> None:
    assert units_needed(1.0, 1, 0.0) == 6  # the first count whose all-one-way p (2/2^n) is below 0.05
    assert min_detectable_effect(3, 6, 0.0) is None  # 3 tasks: p = 0.25 at best, nothing is detectable
    mde = min_detectable_effect(20, 1, 0.1)
    assert mde is not None and 0.3 < mde < 0.6
    assert sign_test_power(20, 1, 0.1, mde) >= 0.8 > sign_test_power(20, 1, 0.1, mde - 0.01)
    assert min_detectable_effect(20, 5, 0.1) < mde  # repeats buy power (per-unit rates are less noisy)
    needed = units_needed(0.1, 1, 0.1)
    assert needed is not None and sign_test_power(needed, 1, 0.1, 0.1) >= 0.8 > sign_test_power(needed // 2, 1, 0.1, 0.1)
    assert units_needed(0.1, 3, 0.1) < needed


# -- the summary over units ------------------------------------------------------------------------------


@dataclass
class FakeRow:
    task: str
    setting: str
    repeat: int
    success: bool
    prompt_tokens: int = 90
    completion_tokens: int = 10
    reflection_prompt_tokens: int = 0
    reflection_completion_tokens: int = 0
    wall_time_s: float = 1.0
    reflection_calls: int = 0
    transcript: str = ""
    failed: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def three_by_six() -> list[FakeRow]:
    """3 tasks x 6 repeats, every run of system passes and every run of off fails."""
    return [FakeRow(f"t{t}", setting, r, success=setting == "system")
            for t in range(3) for r in range(1, 7) for setting in ("off", "system")]


def test_three_tasks_of_six_repeats_are_three_units_not_eighteen_pairs() -> None:
    stats = grid_statistics(three_by_six())
    assert (stats["unit"], stats["clusters"], stats["baseline"]) == ("task", 3, "off")
    off, system = stats["settings"]
    assert (system["runs"], system["clusters"], system["success_rate"]) == (18, 3, 1.0)
    versus = system["versus"]
    assert (versus["units"], versus["wins"], versus["losses"], versus["ties"]) == (3, 3, 0, 0)
    assert versus["p_value"] == 0.25  # a sign test on 3 tasks; McNemar on 18 (task, repeat) pairs said 7.6e-6
    assert versus["success_rate"] == {"mean_diff": 1.0, "ci95": [1.0, 1.0]}
    # Wilson over 3 units: 0/3 -> [0, 0.5615] (centre = half = (3.8415/6)/2.28049 = 0.28075), 3/3 mirrors it.
    assert off["ci95"] == [0.0, 0.5615] and system["ci95"] == [0.4385, 1.0]
    assert system["pass_at_k"] == {"1": 1.0, "2": 1.0, "5": 1.0} and off["pass_hat_k"] == {"1": 0.0, "2": 0.0, "5": 0.0}
    assert "caveat" not in stats


def test_rates_average_units_and_pass_hat_k_by_hand() -> None:
    # system passes 4, 6 and 2 of 6 runs on three tasks; off passes 4, 3 and 2 of 6.
    wins = {"a": (4, 4), "b": (6, 3), "c": (2, 2)}
    rows = [FakeRow(t, s, r, success=r <= wins[t][s == "off"]) for t in wins for r in range(1, 7)
            for s in ("off", "system")]
    rows += [FakeRow("c", "system", 7, success=True, failed=True)]  # a failed job counts nowhere
    stats = grid_statistics(rows)
    off, system = stats["settings"]
    assert system["success_rate"] == round((4 / 6 + 1 + 2 / 6) / 3, 4) == 0.6667
    assert system["pass_hat_k"]["2"] == round((6 / 15 + 1 + 1 / 15) / 3, 4)  # C(4,2)/15, 1, C(2,2)/15
    assert system["pass_at_k"]["2"] == round((14 / 15 + 1 + 9 / 15) / 3, 4)  # 1 - C(2,2)/15, 1, 1 - C(4,2)/15
    versus = system["versus"]
    assert (versus["wins"], versus["losses"], versus["ties"]) == (1, 0, 2)  # only task b differs
    assert versus["p_value"] == 1.0
    assert versus["success_rate"]["mean_diff"] == round(0.5 / 3, 4)  # (0 + 3/6 + 0) / 3
    assert stats["excluded"] == 1 and system["runs"] == 18
    assert stats["pairwise"] == [{"setting": "system", **versus}]


def test_cost_per_run_and_per_success_by_hand() -> None:
    rows = [FakeRow("a", "off", 1, True, prompt_tokens=900, completion_tokens=100, wall_time_s=10.0),
            FakeRow("a", "off", 2, False, prompt_tokens=1800, completion_tokens=200, wall_time_s=30.0),
            FakeRow("a", "system", 1, True, prompt_tokens=2700, completion_tokens=300, wall_time_s=20.0,
                    reflection_prompt_tokens=500, reflection_completion_tokens=100, reflection_calls=1),
            FakeRow("a", "system", 2, True, prompt_tokens=900, completion_tokens=100, wall_time_s=20.0)]
    price = {"prompt": 1.0, "completion": 4.0, "source": "test"}
    off, system = setting_statistics(rows, price=price)
    # off: 3,000 tokens and 40 s over 2 runs, 1 success; $ = (2700·1 + 300·4)/1e6 = 0.0039.
    assert off["cost"] == {"actor_tokens_per_run": 1500.0, "reflection_tokens_per_run": 0.0,
                           "tokens_per_run": 1500.0, "tokens_per_success": 3000.0,
                           "wall_s_per_run": 20.0, "wall_s_per_success": 40.0,
                           "dollars_per_run": 0.00195, "dollars_per_success": 0.0039}
    assert system["cost"]["reflection_tokens_per_run"] == 300.0 and system["cost"]["actor_tokens_per_run"] == 1700.0
    assert system["cost"]["tokens_per_success"] == 2000.0
    # pass@t: off passed once, with 1,000 tokens: at t = 1,000, 1 run of 2 succeeded within it.
    assert off["pass_at_t"] == [[1000, 0.5]]
    assert system["pass_at_t"] == [[1000, 0.5], [3000, 1.0]]
    assert "dollars_per_run" not in setting_statistics(rows)[0]["cost"]  # no price: no dollars


def test_one_unit_says_nothing_generalises() -> None:
    rows = [FakeRow("t0", s, r, success=s == "system") for r in range(1, 4) for s in ("off", "system")]
    stats = grid_statistics(rows)
    assert stats["clusters"] == 1 and "nothing here generalises beyond it" in stats["caveat"]
    assert "note: one task" in format_report(stats)


def test_the_printed_report() -> None:
    stats = grid_statistics(three_by_six(), price={"prompt": 0.0, "completion": 0.0, "source": "local"})
    text = format_report(stats)
    assert "over 3 tasks" in text and "sign test on the tasks whose rates differ" in text
    assert "system   100% (18/18 runs, 3 tasks)  [44%, 100%]" in text
    assert "3/0/0" in text and "0.25" in text and "+100pt [+100pt, +100pt]" in text
    assert "each setting against each other" not in text  # two settings: the comparison above says it


def test_notes_and_what_followed_them(tmp_path: Path) -> None:
    def assistant(iteration: int, *calls: tuple[str, str]) -> str:
        return json.dumps({"type": "assistant_message", "iteration": iteration, "message": {
            "role": "assistant", "tool_calls": [{"function": {"name": n, "arguments": a}} for n, a in calls]}})

    def note(iteration: int, *kinds: str) -> str:
        return json.dumps({"type": "reflection_note", "iteration": iteration, "role": "system", "content": "x",
                           "triggers": [{"kind": k, "evidence": f"{k} evidence"} for k in kinds],
                           "usage": {"prompt_tokens": 50, "completion_tokens": 5}})

    lines = [assistant(1, ("run_tests", "{}")), note(1, "tests_failed"),
             assistant(2, ("edit_file", '{"path": "a"}'), ("run_tests", "{}")), note(2, "tests_failed", "no_change"),
             assistant(3, ("run_tests", "{}")), note(3, "repeated_call"), '{"type": "assistant_mes']
    found = read_notes(lines).notes
    assert [n.followed_by for n in found] == [["edited_file", "ran_tests", "repeated_call"],
                                              ["ran_tests", "repeated_call"], ["run_ended"]]
    assert found[1].triggers == ["tests_failed", "no_change"]
    assert found[1].evidence == "tests_failed evidence\nno_change evidence" and found[0].prompt_tokens == 50
    fork = [json.dumps({"type": "header", "fork": {"parent": "p.jsonl", "at": 2}}), *lines]
    assert [n.iteration for n in read_notes(fork).notes] == [2, 3]  # the note after 1 is the parent's, replayed
    path = tmp_path / "runs" / "a.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    (system,) = setting_statistics([FakeRow("a", "system", 1, True, transcript="runs/a.jsonl")], tmp_path)
    notes = system["notes"]
    assert notes["written"] == 3
    assert notes["followed_by"] == {"edited_file": 1, "ran_tests": 2, "repeated_call": 2, "run_ended": 1}
    assert notes["by_trigger"]["tests_failed"] == {"fired": 2, "followed_by": {
        "edited_file": 1, "ran_tests": 2, "repeated_call": 2, "run_ended": 0}}
    assert notes["by_trigger"]["repeated_call"]["followed_by"]["run_ended"] == 1
    text = format_statistics([system])
    assert "system: 3 notes (no_change 1, repeated_call 1, tests_failed 2)" in text
    trigger_rows = [line.split() for line in text.splitlines() if line.startswith("system  ")]
    assert ["system", "tests_failed", "2", "1", "2", "2", "0"] in trigger_rows  # fired; edited, tests, repeated, ended
    assert not math.isnan(system["total_tokens"])
