"""`--plan`: a grid's jobs, their tokens and time from earlier runs or the model's measured speed, and what
the grid can detect, said before anything runs; numbers checked by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import commands as cli
from agent.experiments.jobs import ResultRow, write_record
from agent.experiments.planner import PerRun, Speed, cost_lines, load_speed, power_lines, speed_file


def row(task: str, setting: str, success: bool, prompt: int, completion: int, wall: float) -> ResultRow:
    return ResultRow(task=task, setting=setting, repeat=1, success=success, iterations=3, reflection_calls=0,
                     prompt_tokens=prompt, completion_tokens=completion, wall_time_s=wall, exit_reason="finished")


def test_time_from_the_measured_speed() -> None:
    # a run of 1,000 prompt and 100 completion tokens, half the prompt from the cache, at 100 and 10 tokens/s:
    # 1000·0.5/100 + 100/10 = 15 s; two of them one after the other on a local server: 30 s.
    speed = Speed(prompt_tps=100, decode_tps=10, cache_hit_rate=0.5, source="bench")
    run = PerRun(1000, 100, wall_s=999, successes=0.5)
    tokens, time = cost_lines([("off", run), ("system", run)], speed, concurrency=4, local=True, source="test")
    assert tokens.startswith("tokens: about 2,200 (1,100 a run")
    assert time.startswith("time: about 30 s (15 s a run at 100 prompt and 10 decode tokens/s, 50% of prompt")
    assert "one local server answers one request at a time" in time
    # without a speed: the runs' own wall time, shared by 4 at once on an API
    _, time = cost_lines([("off", run)] * 8, None, concurrency=4, local=False, source="test")
    assert time.startswith("time: about 33 min (17 min a run at the wall time of those runs; 4 at once)")
    assert "no earlier runs" in cost_lines([("off", None)], None, 1, True, "nothing here")[0]
    # tools and the verdict's test run take their time whatever the model's speed: 15 s + 5 s
    _, time = cost_lines([("off", PerRun(1000, 100, wall_s=999, successes=0.5, tool_s=5))], speed, 1, True, "t")
    assert time.startswith("time: about 20 s (20 s a run")


def test_a_forks_first_request_costs_what_the_cache_does_not_hold() -> None:
    # 3,000 prompt tokens, 2,000 of them the first request, 1,500 of those cached: 500 evaluated, and half of
    # the other 1,000 (the measured hit rate): 1,000 tokens at 100/s, 100 completion tokens at 10/s: 20 s.
    speed = Speed(prompt_tps=100, decode_tps=10, cache_hit_rate=0.5, source="bench")
    assert PerRun(3000, 100, 0, 0, first_prompt=2000, first_cached=1500).seconds(speed) == pytest.approx(20.0)
    assert PerRun(3000, 100, 0, 0, first_prompt=2000).seconds(speed) == pytest.approx(35.0)  # a cold server


def test_power_lines() -> None:
    head, verdict = power_lines(3, 6, "task", 0.0, "test")
    assert "3 tasks x 6 repeats: no rise is detectable" in verdict and "p-value would be 0.25" in verdict
    head, intro, table = power_lines(20, 1, "task", 0.0, "test", target=1.0)
    assert intro == "to detect a rise of 100 points (to 100%):"
    assert table.splitlines()[1].split() == ["1", "6", "6"]  # six tasks, each won: p = 2/64 < 0.05
    _, verdict = power_lines(20, 1, "task", 0.1, "test")
    assert verdict.startswith("20 tasks x 1 repeat: the smallest rise detectable is 46 points (from 10% to 56%)")


def test_the_speed_file_beside_the_model(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    assert load_speed(model) is None
    speed_file(model).write_text(json.dumps({"prompt_tps": 80.5, "decode_tps": 20, "cache_hit_rate": 0.25,
                                             "measured": "2026-12-07"}))
    speed = load_speed(model)
    assert speed is not None and (speed.prompt_tps, speed.cache_hit_rate) == (80.5, 0.25)
    assert speed.source == "m.gguf.speed.json, measured 2026-12-07"


def test_ablate_plan_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    earlier = tmp_path / "earlier"
    for k, (setting, success) in enumerate([("off", False), ("off", True), ("system", True), ("system", True)]):
        write_record(earlier / "jobs" / f"{k}.json", row(f"t{k}", setting, success, 900, 100, 60.0))
    out = tmp_path / "grid"
    argv = ["ablate", "--tasks", "quicksort,wordcount", "--reflection", "off,system,user", "--repeats", "2",
            "--provider", "scripted", "--out", str(out), "--plan", "--plan-from", str(earlier)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert not out.exists()
    assert "plan: 12 jobs (2 tasks x 3 settings x 2 repeats), 0 finished already" in text and "12 to run" in text
    assert "  off: 1,000 tokens a run (900 prompt, 100 completion), 60 s, 50% passed" in text
    assert "  user: 1,000 tokens a run" in text and "(no such runs: the mean of system)" in text
    assert "tokens: about 12,000" in text and "time: about 3 min (1 min a run at the wall time" in text
    assert "a base rate of 50% (the earlier runs' rate with off)" in text
    assert "2 tasks x 2 repeats: no rise is detectable" in text
    assert cli.main([*argv, "--target-effect", "0.5"]) == 0
    assert "to detect a rise of 50 points (to 100%):" in capsys.readouterr().out
    assert cli.main([*argv, "--target-effect", "1.5"]) == 2
    assert "--target-effect 1.5: give a rise" in capsys.readouterr().err
