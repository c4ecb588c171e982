"""Every task by name, whichever suite it comes from, and the task lists of `--tasks`.

Names: a bundled task (`quicksort`), or `humanevalfix/N`. A task list is comma-separated entries, each a
name, `all` (the bundled tasks), `humanevalfix` (the whole suite), `humanevalfix:dev` or
`humanevalfix:test` (its split), optionally cut to the first K tasks of the split: `humanevalfix:dev:20`.
"""

from __future__ import annotations

from typing import Callable

from agent.tasks import humanevalfix
from agent.tasks.task import Task, UnknownTaskError, get_task, list_tasks

SUITES = ("bundled", humanevalfix.SUITE)


def find_task(name: str) -> Task:
    """The task called `name` in any suite (UnknownTaskError with the names that exist otherwise)."""
    prefix = humanevalfix.SUITE + "/"
    if name.startswith(prefix):
        number = name[len(prefix):]
        if not number.isdigit():
            raise UnknownTaskError(f"unknown task {name!r}: expected {prefix}N with N a HumanEval problem number")
        return humanevalfix.get(int(number))
    try:
        return get_task(name)
    except UnknownTaskError as exc:
        raise UnknownTaskError(f"{exc}, or {prefix}N (see: agent-tui tasks --suite {humanevalfix.SUITE})") from None


def suite_tasks(suite: str, report: Callable[[str], None] | None = None) -> list[Task]:
    """Every task of a suite; `report` is told how a built suite came out (kept and skipped)."""
    if suite == "bundled":
        return list_tasks()
    if suite == humanevalfix.SUITE:
        built = humanevalfix.build()
        if report is not None:
            report(built.summary())
        return built.kept
    raise UnknownTaskError(f"unknown suite {suite!r}; suites: {', '.join(SUITES)}")


def select_tasks(spec: str, report: Callable[[str], None] | None = None) -> list[str]:
    """The task names a `--tasks` value stands for, in order, each once (UnknownTaskError on a bad entry)."""
    names: list[str] = []
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        names.extend(n for n in _entry(entry, report) if n not in names)
    if not names:
        raise UnknownTaskError("--tasks needs at least one task name")
    return names


def _entry(entry: str, report: Callable[[str], None] | None) -> list[str]:
    if entry == "all":
        return [t.name for t in list_tasks()]
    suite, _, rest = entry.partition(":")
    if suite != humanevalfix.SUITE:
        return [find_task(entry).name]
    split, _, count = rest.partition(":")
    if split and split not in humanevalfix.SPLITS:
        raise UnknownTaskError(f"--tasks {entry}: unknown split {split!r}; splits: {', '.join(humanevalfix.SPLITS)}")
    if count and not (count.isdigit() and int(count) > 0):
        raise UnknownTaskError(f"--tasks {entry}: {count!r} is not a number of tasks")
    tasks = [t.name for t in suite_tasks(suite, report)
             if not split or humanevalfix.split_of(int(t.name.rsplit("/", 1)[1])) == split]
    return tasks[:int(count)] if count else tasks
