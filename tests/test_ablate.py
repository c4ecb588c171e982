"""Ablation grids: independent jobs, resumable folders, failures recorded, bounded concurrency."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.experiments import ablate, jobs as jobs_module
from agent.cli.commands import build_parser, run_command
from agent.experiments.ablate import Progress, QuietProgress, compare_hint, run_grid, summarize, write_results
from agent.experiments.jobs import (
    CSV_COLUMNS,
    Job,
    ResultRow,
    job_paths,
    make_grid,
    transcript_complete,
    write_record,
)
from agent.run.runner import RunOptions
from tests.loopback import LoopbackServer


def main(argv: list[str]) -> int:
    """`agent-tui ablate ARGV`, in this process."""
    return run_command(build_parser().parse_args(["ablate", *argv]))

ROOT = Path(__file__).resolve().parent.parent
GRID = ["--tasks", "quicksort", "--reflection", "off,system", "--repeats", "2", "--provider", "scripted"]


@pytest.fixture(autouse=True)
def _loopback_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to the loopback endpoints go direct, whatever proxy the environment names."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def records(out: Path) -> list[Path]:
    return sorted((out / "jobs").glob("*.json"))


@pytest.mark.real_pytest  # one grid end to end with the tasks' own pytest
def test_offline_grid_writes_every_run_and_a_second_call_runs_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "grid"
    assert main([*GRID, "--out", str(out)]) == 0
    first = capsys.readouterr()
    transcripts = sorted(p.name for p in (out / "runs").glob("*.jsonl"))
    assert transcripts == ["quicksort__off__r1.jsonl", "quicksort__off__r2.jsonl",
                           "quicksort__system__r1.jsonl", "quicksort__system__r2.jsonl"]
    assert all(transcript_complete(out / "runs" / name) for name in transcripts)
    columns, rows = read_csv(out / "results.csv")
    assert columns == ["task", "setting", "repeat", "success", "iterations", "reflection_calls",
                       "prompt_tokens", "completion_tokens", "reflection_prompt_tokens", "reflection_completion_tokens",
                       "wall_time_s", "exit_reason", "worker"]
    assert list(CSV_COLUMNS) == columns
    assert [(r["task"], r["setting"], r["repeat"]) for r in rows] == [
        ("quicksort", "off", "1"), ("quicksort", "system", "1"), ("quicksort", "off", "2"), ("quicksort", "system", "2")]
    assert all(r["success"] == "true" and r["exit_reason"] == "finished" and int(r["iterations"]) > 0
               and int(r["prompt_tokens"]) > 0 and int(r["completion_tokens"]) > 0 for r in rows)
    assert all(r["reflection_calls"] == "0" and r["reflection_prompt_tokens"] == "0" for r in rows if r["setting"] == "off")
    assert all(int(r["reflection_prompt_tokens"]) > 0 for r in rows if r["setting"] == "system")  # apart from the actor's
    here = f"{socket.gethostname()}:{os.getpid()}"  # the local backend runs every job in this process
    assert {r["worker"] for r in rows} == {here}
    assert json.loads((out / "jobs" / "quicksort__off__r1.json").read_text())["worker"] == here
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"records": 4, "done": 4, "failed": 0, "missing": 0}
    assert {(g["setting"], g["runs"], g["success_rate"]) for g in summary["groups"]} == {("off", 2, 1.0),
                                                                                        ("system", 2, 1.0)}
    assert "4 ran, 0 skipped, 0 failed" in first.out
    assert "agent-tui compare " in first.out and "quicksort__off__r1.jsonl" in first.out
    assert "quicksort__system__r1.jsonl" in first.out
    assert "done, 0 running, 0 failed" in first.err  # the progress, as plain lines when not on a terminal

    stamps = {p: p.stat().st_mtime_ns for p in [*records(out), *(out / "runs").glob("*.jsonl")]}
    assert main([*GRID, "--out", str(out)]) == 0
    second = capsys.readouterr()
    assert "skipped 4 jobs already finished" in second.out and "0 ran, 4 skipped" in second.out
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing ran, nothing was rewritten
    assert len(read_csv(out / "results.csv")[1]) == 4


def test_a_crashing_job_is_recorded_as_failed_and_the_rest_go_on(tmp_path: Path, monkeypatch, capsys) -> None:
    real = jobs_module.build_run

    def flaky(opts: RunOptions):
        run = real(opts)
        if opts.reflection == "system":  # crash in the middle of the run, after a few events
            events = run.events

            async def crashing():
                stream = events()
                try:
                    count = 0
                    async for event in stream:
                        yield event
                        count += 1
                        if count == 3:
                            raise RuntimeError("boom in the middle")
                finally:
                    await stream.aclose()

            run.events = crashing
        return run

    monkeypatch.setattr(jobs_module, "build_run", flaky)
    out = tmp_path / "grid"
    assert main([*GRID, "--out", str(out)]) == 1
    text = capsys.readouterr()
    _, rows = read_csv(out / "results.csv")
    assert len(rows) == 4
    by_setting = {(r["setting"], r["repeat"]): r for r in rows}
    assert by_setting[("off", "1")]["success"] == "true" and by_setting[("off", "2")]["success"] == "true"
    for repeat in ("1", "2"):
        assert by_setting[("system", repeat)]["exit_reason"] == "crashed"
        assert by_setting[("system", repeat)]["success"] == "false"
    record = json.loads((out / "jobs" / "quicksort__system__r1.json").read_text())
    assert record["status"] == "failed" and record["error"] == "RuntimeError: boom in the middle"
    assert "boom in the middle" in record["traceback"]
    summary = json.loads((out / "summary.json").read_text())
    assert [f["job"] for f in summary["failures"]] == ["quicksort__system__r1", "quicksort__system__r2"]
    assert "FAILED quicksort__system__r1: RuntimeError: boom in the middle" in text.err
    assert "2 failed" in text.out

    # --keep-failed leaves them as they are; a plain rerun retries only them
    assert main([*GRID, "--out", str(out), "--keep-failed"]) == 1
    assert "0 ran, 4 skipped" in capsys.readouterr().out
    monkeypatch.setattr(jobs_module, "build_run", real)
    assert main([*GRID, "--out", str(out)]) == 0
    assert "2 ran, 2 skipped, 0 failed" in capsys.readouterr().out
    assert all(r["success"] == "true" for r in read_csv(out / "results.csv")[1])


def test_a_job_that_cannot_start_is_failed_with_its_error(tmp_path: Path, monkeypatch) -> None:
    def broken(opts: RunOptions):
        raise ValueError("no workspace for you")

    monkeypatch.setattr(jobs_module, "build_run", broken)
    grid = asyncio.run(run_grid([Job("quicksort", "off", 1)], RunOptions(task=None, provider="scripted"),
                                tmp_path, progress=QuietProgress()))
    assert [(r.status, r.exit_reason, r.error) for r in grid.ran] == [("failed", "crashed",
                                                                       "ValueError: no workspace for you")]
    assert len(records(tmp_path)) == 1


async def test_a_cancelled_grid_keeps_finished_jobs_and_resumes_the_rest(tmp_path: Path) -> None:
    jobs = make_grid(["quicksort"], ["off", "system"], 2)
    base = RunOptions(task=None, provider="scripted")

    class StopAfterTwo(QuietProgress):
        def job_finished(self, job: Job, row: ResultRow) -> None:
            super().job_finished(job, row)
            if self.done == 2:
                grid_task.cancel()

    grid_task = asyncio.create_task(run_grid(jobs, base, tmp_path, concurrency=1, progress=StopAfterTwo()))
    with pytest.raises(asyncio.CancelledError):
        await grid_task
    kept = records(tmp_path)
    assert [p.stem for p in kept] == ["quicksort__off__r1", "quicksort__system__r1"]
    for job in jobs[2:]:  # a job cut short has a transcript that says so, and no record
        transcript, record = job_paths(tmp_path, job)
        assert not record.exists()
        assert not transcript.exists() or not transcript_complete(transcript)
    assert len(write_results(tmp_path, jobs)) == 2
    assert len(read_csv(tmp_path / "results.csv")[1]) == 2

    again = await run_grid(jobs, base, tmp_path, concurrency=2, progress=QuietProgress())
    assert sorted(r.job.job_id for r in again.ran) == ["quicksort__off__r2", "quicksort__system__r2"]
    assert sorted(r.job.job_id for r in again.skipped) == ["quicksort__off__r1", "quicksort__system__r1"]
    assert len(write_results(tmp_path, jobs)) == 4


def test_ctrl_c_exits_130_and_keeps_every_finished_job(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Ctrl-C as in a terminal: a suite started in the background by a shell (`pytest &`) ignores SIGINT, and
    # its children inherit that, so the child would run its whole grid and exit 0.
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "ablate", *GRID, "--concurrency", "1", "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 90
        while not (out / "jobs").is_dir() or not any((out / "jobs").glob("*.json")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no job finished in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    kept = records(out)
    assert proc.returncode == 130, stderr
    assert 1 <= len(kept) < 4
    assert "interrupted:" in stdout and "run the same command again" in stdout
    assert len(read_csv(out / "results.csv")[1]) == len(kept)


def test_concurrency_bounds_the_requests_in_flight(tmp_path: Path) -> None:
    with LoopbackServer.for_tasks(["quicksort"], latency=0.1) as server:
        base = RunOptions(task=None, provider="vllm", model="loopback", base_url=server.base_url)
        jobs = make_grid(["quicksort"], ["off", "system"], 3)
        grid = asyncio.run(run_grid(jobs, base, tmp_path / "k3", concurrency=3, progress=QuietProgress()))
        assert len(grid.ran) == 6 and all(r.success for r in grid.ran)
        assert 2 <= server.max_in_flight <= 3  # overlapped, and never more than K
        assert sum(r.reflection_calls for r in grid.ran) == len(server.reflection_requests)

        server.max_in_flight = 0
        grid = asyncio.run(run_grid(jobs[:2], base, tmp_path / "k1", concurrency=1, progress=QuietProgress()))
        assert len(grid.ran) == 2 and all(r.success for r in grid.ran)
        assert server.max_in_flight == 1


def test_provider_errors_fail_the_job_with_the_providers_words(tmp_path: Path) -> None:
    with LoopbackServer.for_tasks(["quicksort"], fail=lambda n, body: (400, "loopback says no")) as server:
        base = RunOptions(task=None, provider="vllm", model="loopback", base_url=server.base_url)
        grid = asyncio.run(run_grid([Job("quicksort", "off", 1)], base, tmp_path, progress=QuietProgress()))
    [row] = grid.ran
    assert row.status == "failed" and row.exit_reason == "provider_error" and not row.success
    assert "loopback says no" in row.error
    assert transcript_complete(tmp_path / row.transcript)


def test_a_folder_made_with_other_settings_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "grid"
    job = Job("quicksort", "off", 1)
    write_record(job_paths(out, job)[1], ResultRow(
        "quicksort", "off", 1, True, 6, 0, 1, 1, 1.0, "finished",
        config={"provider": "scripted", "model": None, "max_steps": 30}))
    assert main([*GRID, "--out", str(out), "--max-steps", "5"]) == 2
    err = capsys.readouterr().err
    assert "max_steps=30" in err and "use another --out" in err


@pytest.mark.parametrize("flags, message", [
    (["--tasks", "nosuch"], "unknown task 'nosuch'"),
    (["--reflection", "off,sideways"], "unknown setting sideways"),
    (["--repeats", "0"], "--repeats must be at least 1"),
    (["--concurrency", "0"], "--concurrency must be at least 1"),
    (["--address", "auto"], "--address and --cpus-per-job go with --backend ray"),
    (["--backend", "ray", "--cpus-per-job", "0"], "--cpus-per-job must be more than 0"),
    (["--provider", "openai"], "set OPENAI_API_KEY"),
])
def test_bad_flags_are_one_line_usage_errors(tmp_path: Path, capsys, flags, message) -> None:
    assert main(["--provider", "scripted", "--out", str(tmp_path / "g"), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "g").exists()


def test_grid_order() -> None:
    jobs = make_grid(["a", "b"], ["off", "system"], 2)
    assert [j.job_id for j in jobs[:4]] == ["a__off__r1", "a__system__r1", "b__off__r1", "b__system__r1"]
    assert len(jobs) == 8


def test_shard_is_gone_ray_spreads_a_grid(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--provider", "scripted", "--out", str(tmp_path / "g"), "--shard", "1/2"])
    assert "unrecognized arguments: --shard" in capsys.readouterr().err


def test_the_local_backend_needs_no_ray() -> None:
    code = ("import sys; from agent.experiments import ablate; from agent.cli import commands as cli; "
            "ablate.parse_backend(cli.build_parser().parse_args(['ablate'])); "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_ray_backend_without_ray_says_how_to_install_it(tmp_path: Path, monkeypatch, capsys) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert main([*GRID, "--out", str(tmp_path / "g"), "--backend", "ray"]) == 2
    assert "--backend ray needs Ray: pip install 'agent-tui[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


def row(setting: str, repeat: int, success: bool = True, iterations: int = 6, status: str = "done") -> ResultRow:
    return ResultRow("quicksort", setting, repeat, success, iterations, 1, 100, 10, 2.0, "finished", status=status,
                     transcript=f"runs/quicksort__{setting}__r{repeat}.jsonl")


def test_summary_has_rates_and_spread_and_leaves_failed_jobs_out() -> None:
    rows = [row("off", 1, True, 4), row("off", 2, False, 8), row("off", 3, status="failed"), row("user", 1)]
    groups = {g["setting"]: g for g in summarize(rows)}
    off = groups["off"]
    assert (off["runs"], off["failed"], off["successes"], off["success_rate"]) == (2, 1, 1, 0.5)
    assert off["iterations"]["mean"] == 6.0 and off["iterations"]["sd"] == pytest.approx(2.828, abs=1e-3)
    assert groups["user"]["iterations"]["sd"] == 0.0
    table = ablate.format_summary(summarize(rows))
    assert "1/2 50%" in table and "6.0±2.8" in table


def test_compare_hint_pairs_two_settings_of_the_same_repeat(tmp_path: Path) -> None:
    rows = [row("off", 1), row("off", 2), row("user", 2)]
    for r in rows:
        (tmp_path / r.transcript).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / r.transcript).write_text("{}\n")
    hint = compare_hint(rows, tmp_path)
    assert hint == (f"agent-tui compare {tmp_path}/runs/quicksort__off__r2.jsonl "
                    f"{tmp_path}/runs/quicksort__user__r2.jsonl")
    assert compare_hint(rows[:2], tmp_path).endswith("quicksort__off__r2.jsonl")
    assert compare_hint(rows[:1], tmp_path) is None


def test_progress_redraws_one_line_on_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=True)
    progress.begin(2)
    a, b = Job("t", "off", 1), Job("t", "off", 2)
    progress.job_started(a)
    progress.job_started(b)
    progress.job_finished(a, row("off", 1))
    progress.job_finished(b, row("off", 2, status="failed"))
    progress.end()
    text = stream.getvalue()
    assert "\r[############............] 1/2 done, 1 running, 0 failed" in text
    assert "2/2 done, 0 running, 1 failed" in text
    assert text.count("\n") == 2  # the failure scrolled up, the final bar stays


def test_the_ablate_command_plugs_into_a_subcommand_parser(tmp_path: Path, capsys) -> None:
    import argparse

    from agent.experiments.ablate import cmd_ablate
    from agent.cli.flags import add_ablate_parser

    parser = argparse.ArgumentParser(prog="agent-tui")
    sub = parser.add_subparsers(dest="command")
    add_ablate_parser(sub)
    args = parser.parse_args(["ablate", "--tasks", "quicksort", "--reflection", "user", "--provider", "scripted",
                              "--out", str(tmp_path / "g")])
    assert args.command == "ablate"
    assert cmd_ablate(args) == 0
    assert "1 ran, 0 skipped, 0 failed" in capsys.readouterr().out
    assert [r["setting"] for r in read_csv(tmp_path / "g" / "results.csv")[1]] == ["user"]
