"""Running a test command and judging what it did: passed, failed, or could not run at all.

An exit code is the test process's word, and the code under test runs inside that process: a `pytest.py`
in the workspace shadows pytest, a module that calls `os._exit(0)` as it is imported ends the run "green"
before any test ran. So a command that names `$AGENT_TUI_JUNIT` (every task's does) is judged by the JUnit
XML report pytest writes there, in a folder outside the workspace: it passes only when the report exists,
no test failed or errored, and at least one ran (the verdict also knows how many must run). pytest itself
starts with `-P`, so the working folder is not on `sys.path` until pytest has been imported from where it
is installed.

A command that could not start (exit 126/127, "No module named pytest", bubblewrap refusing) is a harness
problem, not failing tests: `TestRun.harness` says so in one line, after starting the command's program in
an empty folder confirms it (so that code the agent wrote cannot pass its own failure off as the harness's).
"""

from __future__ import annotations

import re
import shlex
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from agent.display.wording import plural
from agent.tools.scratch import scratch_folder
from agent.tools.trees import remove_tree
from agent.tools.workspace import CommandResult, Workspace

REPORT_ENV = "AGENT_TUI_JUNIT"
"""The variable holding the path where a test command writes its JUnit XML report."""
MAX_REPORT_BYTES = 8_000_000
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
NOT_STARTED = (126, 127)
"""sh's exit codes for a program it found but could not run, and one it did not find."""


def writes_report(cmd: str) -> bool:
    """Whether `cmd` writes a JUnit report to `$AGENT_TUI_JUNIT` (then the report decides, not the exit code)."""
    return f"${REPORT_ENV}" in cmd or f"${{{REPORT_ENV}}}" in cmd


@dataclass(frozen=True)
class TestReport:
    """What a JUnit XML report says ran: tests that passed, failed, errored (a collection error, a fixture
    error) and were skipped."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    @property
    def tests(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    def describe(self) -> str:
        parts = [f"{self.passed} passed", f"{self.failed} failed", plural(self.errors, "error"),
                 f"{self.skipped} skipped"]
        return ", ".join(p for p, n in zip(parts, (self.passed, self.failed, self.errors, self.skipped)) if n) \
            or "no tests ran"


def read_report(path: Path) -> TestReport | None:
    """The counts of a JUnit XML report; None when it is missing, too large or not a report."""
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            return None
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    if root.tag not in ("testsuites", "testsuite"):
        return None
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    for case in root.iter("testcase"):
        kinds = {child.tag for child in case}
        key = ("errors" if "error" in kinds else "failed" if "failure" in kinds else
               "skipped" if "skipped" in kinds else "passed")
        counts[key] += 1
    if not any(counts.values()):  # errors outside any test case: a collection error in some pytest versions
        errors = sum(int(s.get("errors") or 0) for s in root.iter("testsuite") if (s.get("errors") or "0").isdigit())
        counts["errors"] = errors
    return TestReport(**counts)


@dataclass
class TestRun:
    """One run of a test command: what it printed, its report (when it writes one) and, when it could not
    start, the harness problem."""

    result: CommandResult
    writes_report: bool
    report: TestReport | None = None
    harness: str | None = None
    expected: int | None = None
    """How many tests must have run and passed (the verdict knows it); None: at least one."""

    @property
    def passed(self) -> bool:
        if not self.result.ok or self.harness is not None:
            return False
        if not self.writes_report:
            return True
        report = self.report
        if report is None or report.failed or report.errors or report.passed == 0:
            return False
        return self.expected is None or (report.passed == self.expected and report.skipped == 0)

    def status(self, timeout: float) -> str:
        """One line for the model and the person: passed, failed, timed out, could not run (pytest's own
        summary, below it in the output, has the counts)."""
        result, report = self.result, self.report
        if self.harness is not None:
            return f"the tests could not run: {self.harness}"
        if result.timed_out:
            return f"tests timed out after {timeout:g}s"
        if self.passed:
            return "tests passed (exit 0)"
        if result.exit_code != 0 or not self.writes_report:
            return f"tests failed (exit {result.exit_code})"
        if report is None:
            return "tests failed: the test process exited 0 but wrote no report (it ended before pytest did)"
        if report.passed == 0 and not (report.failed or report.errors):
            return f"tests failed: {report.describe()} (exit 0): no test passed"
        must = f" of the {self.expected} tests that must pass" if self.expected is not None else ""
        return f"tests failed: {report.describe()}{must} (exit 0)"


async def run_tests(workspace: Workspace, cmd: str, timeout: float, output_cap: int = 12_000,
                    expected: int | None = None) -> TestRun:
    """Run test command `cmd` in `workspace` and judge it (see the module's docstring)."""
    reports = writes_report(cmd)
    folder = scratch_folder("report") if reports else None
    try:
        env = {REPORT_ENV: str(folder / "junit.xml")} if folder is not None else {}
        result = await workspace.run(cmd, timeout=timeout, output_cap=output_cap, env=env,
                                     writable=(folder,) if folder is not None else ())
        report = read_report(folder / "junit.xml") if folder is not None else None
        if folder is not None:  # pytest names the report's path, which differs from run to run: noise
            result.output = "".join(line for line in result.output.splitlines(keepends=True)
                                    if f"generated xml file: {folder}" not in line)
    finally:
        if folder is not None:
            remove_tree(folder)
    run = TestRun(result, reports, report, expected=expected)
    if report is None and not result.timed_out and _looks_unstarted(result):
        run.harness = await _confirm_harness(workspace, cmd, result)
    return run


def _looks_unstarted(result: CommandResult) -> bool:
    out = result.output.lstrip()
    return (result.exit_code in NOT_STARTED or out.startswith("bwrap:")
            or "No module named pytest" in out or "No module named 'pytest'" in out)


async def _confirm_harness(workspace: Workspace, cmd: str, result: CommandResult) -> str | None:
    """The one-line harness problem when the command's program cannot start in an empty folder either;
    None when it can (then what went wrong is the workspace's doing)."""
    program = _program(cmd)
    if program is None:
        return None
    probe = (f"{shlex.quote(program)} -P -c 'import pytest'" if program == sys.executable
             else f"command -v {shlex.quote(program)}")
    empty = scratch_folder("probe")
    try:
        check = await Workspace(empty, workspace.sandbox).run(probe, timeout=60, output_cap=2000)
    finally:
        remove_tree(empty)
    if check.ok:
        return None
    said = next((line.strip() for line in (check.output or result.output).splitlines() if line.strip()),
                f"exit {check.exit_code}")
    where = "inside the sandbox" if workspace.sandbox.mode == "bwrap" else "here"
    return f"{program} cannot start {where} ({said}): a sandbox or set-up problem, not failing tests"


def _program(cmd: str) -> str | None:
    """The program a shell command starts (after any VAR=value words); None for a relative path, which
    only the workspace can explain."""
    try:
        words = shlex.split(cmd)
    except ValueError:
        return None
    program = next((w for w in words if not _ASSIGNMENT.match(w)), None)
    return None if program is None or ("/" in program and not program.startswith("/")) else program
