"""The Ray backend on a local Ray: the local backend's runs and records, requests bounded over all workers,
and a worker killed in the middle of a job."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any, Iterator

import pytest

from agent.cli.commands import build_parser, run_command
from agent.experiments.ablate import QuietProgress, run_grid
from agent.experiments.jobs import load_record, make_grid, transcript_complete
from agent.run.runner import RunOptions
from agent.transcripts.compare import mask_durations
from tests.loopback import LoopbackServer

ray = pytest.importorskip("ray")
from agent.experiments.ray_backend import RayBackend  # noqa: E402  (after the skip: it is only useful with Ray)


def main(argv: list[str]) -> int:
    """`agent-tui ablate ARGV`, in this process."""
    return run_command(build_parser().parse_args(["ablate", *argv]))


pytestmark = pytest.mark.real_pytest  # Ray's workers run pytest itself: the local grid beside them must too


ROOT = Path(__file__).resolve().parent.parent
TIMINGS = {"created", "ts", "latency_s", "ttft_s", "duration_s", "wall_time_s", "started", "generated", "worker",
           "workspace", "wall_s_per_run", "wall_s_per_success"}
"""What two runs of the same job may differ in: clocks, the worker, the temporary workspace's name."""


@pytest.fixture(scope="module")
def deaths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One small local Ray for the module (2 CPUs, 100 MB of object store, no dashboard, on the loopback
    address), shut down after. Its workers load tests/ray_hooks.py; the folder it yields is where a test
    marks a job to die."""
    folder = tmp_path_factory.mktemp("deaths")
    scratch = tmp_path_factory.mktemp("workers")  # what a killed worker leaves behind goes with the test's files
    ray.init(address="local", num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False,
             _node_ip_address="127.0.0.1", logging_level=logging.ERROR, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "AGENT_TUI_TEST_DEATHS": str(folder),
                                       "NO_PROXY": "127.0.0.1,localhost",
                                       "TMPDIR": str(scratch)},
                          "worker_process_setup_hook": "tests.ray_hooks.arm_deaths"})
    try:
        yield folder
    finally:
        ray.shutdown()


@pytest.fixture(autouse=True)
def _loopback_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in test_ablate: requests to the loopback endpoint go direct, whatever proxy the environment names."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return mask_durations(value) if isinstance(value, str) else value


def short_quicksort(**kwargs: Any) -> LoopbackServer:
    """The quicksort fix without its second test run, and the final check: two test runs a job, not three."""
    from agent.tasks.task import get_task

    task = get_task("quicksort")
    return LoopbackServer({task.goal: [task.script[i] for i in (0, 1, 3, 5)]}, **kwargs)


def jsonl(path: Path) -> list[Any]:
    return [without_timings(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_grid_through_ray_has_the_local_backends_runs_and_records(tmp_path: Path, deaths: Path, capsys) -> None:
    local, remote = tmp_path / "local", tmp_path / "ray"
    with short_quicksort(latency=0.1) as server:
        flags = ["--tasks", "quicksort", "--reflection", "off,system", "--provider", "vllm", "--model", "loopback",
                 "--base-url", server.base_url, "--concurrency", "1"]
        assert main([*flags, "--out", str(local)]) == 0
        server.max_in_flight = 0
        assert main([*flags, "--out", str(remote), "--backend", "ray"]) == 0
        ray_in_flight = server.max_in_flight
    text = capsys.readouterr()
    assert "on Ray" in text.out and "2 ran, 0 skipped, 0 failed" in text.out
    assert "[2/2 done, 0 running, 0 failed" in text.err

    names = sorted(p.name for p in (local / "runs").iterdir())
    assert names == ["quicksort__off__r1.jsonl", "quicksort__system__r1.jsonl"]
    assert sorted(p.name for p in (remote / "runs").iterdir()) == names
    for name in names:  # the transcript the driver stored is the one the worker wrote, event for event
        assert transcript_complete(remote / "runs" / name)
        assert jsonl(remote / "runs" / name) == jsonl(local / "runs" / name)
    here = f"{socket.gethostname()}:{os.getpid()}"
    ray_workers = set()
    for path in sorted((local / "jobs").glob("*.json")):
        mine, theirs = load_record(path), load_record(remote / "jobs" / path.name)
        assert mine is not None and theirs is not None and mine.success and not mine.failed
        assert without_timings(json.loads(path.read_text())) == \
            without_timings(json.loads((remote / "jobs" / path.name).read_text()))
        assert mine.worker == here
        host, pid = theirs.worker.rsplit(":", 1)
        assert host == socket.gethostname() and int(pid) != os.getpid()
        ray_workers.add(theirs.worker)
    assert len(ray_workers) == 2  # each job its own worker process...
    a, b = (load_record(p) for p in sorted((remote / "jobs").glob("*.json")))
    assert a.started < b.started + b.wall_time_s and b.started < a.started + a.wall_time_s  # ...at the same time,
    assert ray_in_flight == 1  # yet with --concurrency 1 never two requests at once

    local_rows, remote_rows = csv_rows(local / "results.csv"), csv_rows(remote / "results.csv")
    assert [without_timings(r) for r in remote_rows] == [without_timings(r) for r in local_rows]
    assert list(remote_rows[0]) == list(local_rows[0])
    assert without_timings(json.loads((remote / "summary.json").read_text())) == \
        without_timings(json.loads((local / "summary.json").read_text()))


def test_a_killed_worker_leaves_its_job_failed_and_a_rerun_completes_it(tmp_path: Path, deaths: Path) -> None:
    jobs = make_grid(["quicksort"], ["off", "system", "user"], 1)
    (deaths / "quicksort__system__r1.die").touch()  # its worker is SIGKILLed holding the only request token
    with short_quicksort() as server:
        base = RunOptions(task=None, provider="vllm", model="loopback", base_url=server.base_url)

        def grid() -> Any:
            return asyncio.run(asyncio.wait_for(run_grid(jobs, base, tmp_path, concurrency=1, backend=RayBackend(),
                                                         progress=QuietProgress()), timeout=300))

        first = grid()
        assert (deaths / "quicksort__system__r1.died").exists()
        rows = {r.job.job_id: r for r in first.ran}
        lost = rows.pop("quicksort__system__r1")
        assert (lost.status, lost.exit_reason, lost.success) == ("failed", "crashed", False)
        assert lost.error.startswith("WorkerCrashedError: ")
        host, pid = lost.worker.rsplit(":", 1)  # the worker that died is named, and is gone
        assert host == socket.gethostname() and not Path(f"/proc/{pid}").exists()
        # the others finished: the dead worker's token went back, or --concurrency 1 would have stopped them
        assert all(r.success for r in rows.values()) and len(rows) == 2
        assert load_record(tmp_path / "jobs" / "quicksort__system__r1.json").failed
        assert not (tmp_path / "runs" / "quicksort__system__r1.jsonl").exists()

        again = grid()
    assert [r.job.job_id for r in again.ran] == ["quicksort__system__r1"]
    assert again.ran[0].success and again.ran[0].worker != lost.worker
    assert sorted(r.job.job_id for r in again.skipped) == ["quicksort__off__r1", "quicksort__user__r1"]
    assert transcript_complete(tmp_path / "runs" / "quicksort__system__r1.jsonl")
