"""Shared fixtures: offline runs that go through the real openai SDK, never the network."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from agent.events import Event
from agent.tasks import task as tasks
from agent.loop.control import RunControl
from agent.tools.sandbox import Sandbox, SandboxError, choose_sandbox

REAL_PYTEST = tasks.PYTEST

DATA = Path(__file__).parent / "data"

STAND_IN_PYTEST = ("{python} -I -S -B -c " + shlex.quote((Path(__file__).parent / "stand_in_pytest.py").read_text())
                   + ' -q --junitxml="$AGENT_TUI_JUNIT"')
"""How the tasks run their tests in this suite (tests/stand_in_pytest.py), but for the tests marked `real_pytest`."""


def call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    """One tool call in Chat Completions format."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def reply(content: str | None, *calls: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = list(calls)
    return message


def write_script(path: Path, replies: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(replies), encoding="utf-8")
    return path


def make_deep(root: Path, depth: int) -> str:
    """`depth` folders nested under `root` with a file at the bottom, as a hostile test could make: deeper
    than a recursive walk or PATH_MAX allow. The path of the outermost."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("deep.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    return str(root / "d")


async def collect(run: Any) -> list[Event]:
    return [event async for event in run.events()]


@pytest.fixture
def bwrap() -> Sandbox:
    """The bubblewrap sandbox, which CI must have."""
    try:
        return choose_sandbox("bwrap")[0]
    except SandboxError as exc:
        if os.environ.get("AGENT_TUI_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"AGENT_TUI_REQUIRE_SANDBOX=1 but {exc}")
        pytest.skip(f"needs bubblewrap: {exc}")


@pytest.fixture(scope="session", autouse=True)
def _stand_in_for_the_tasks_pytest() -> Iterator[None]:
    """The tasks' tests are run by a stand-in of pytest's (~20 ms a run instead of ~400 ms), in this process
    and for the whole session (module-scoped fixtures too); subprocesses of agent-tui run the real one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "PYTEST", STAND_IN_PYTEST)
        yield


@pytest.fixture(scope="session", autouse=True)
def _a_cache_folder_of_the_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What agent-tui caches (the humanevalfix suite's verdicts) goes to a folder of this session's, shared
    with the agent-tui processes the tests start, never to the user's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True)
def _real_pytest_when_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked `real_pytest` (about running tests: the verdict, the tasks, the sandbox...) gets pytest."""
    if request.node.get_closest_marker("real_pytest") is not None:
        monkeypatch.setattr(tasks, "PYTEST", REAL_PYTEST)


@pytest.fixture(autouse=True, scope="session")
def _no_local_model() -> Iterator[None]:
    """The same for the module-scoped fixtures, which run before `_no_keys`: with llama-cpp-python installed
    and `setup`'s model in ./models/, a run with no provider would go to the real model (and time out)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENT_TUI_LOCAL_MODEL", "off")
        yield


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real provider: drop every key so runs default to the offline model."""
    for name in ("OPENAI_API_KEY", "TOGETHER_API_KEY", "XAI_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENT_TUI_LOCAL_MODEL", "off")  # nor the local model a developer may have set up


async def until(control: RunControl, condition: Callable[[], bool], timeout: float = 60) -> None:
    """Wait until `condition()` holds, checking it whenever the run control changes (the loop parks, a step
    is taken); a run that never gets there fails after `timeout` seconds (each iteration may run the task's
    tests, which is slow on a busy machine)."""
    changed = asyncio.Event()
    control.subscribe(changed.set)
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await changed.wait()
                changed.clear()
    finally:
        control.unsubscribe(changed.set)
