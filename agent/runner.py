"""From command-line choices to a running, recorded loop.

`build_run` resolves the task, workspace, provider and model (raising `UsageError` with one line when
something is missing), and `Run.events()` drives the loop, appends every event to the transcript as it
happens, and yields it on to whichever front end is watching.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from agent.control import RunControl, StepMode
from agent.events import Event, Notice, ReflectionMode, RunFinished
from agent.providers import (
    Endpoint,
    UsageError,
    default_provider,
    describe_provider_error,
    make_client,
    resolve_endpoint,
)
from agent.transcript import TranscriptHeader, TranscriptWriter

SYSTEM_PROMPT = """You are a careful software engineer working in a small repository.
Work only through the tools you are given: look at the files, run the tests, make the smallest fix, run
the tests again, and call finish(summary) once they pass. Paths are relative to the repository root."""


@dataclass
class RunOptions:
    """Everything a run can be asked for; the CLI fills it from flags, tests build it directly."""

    task: str | None = "quicksort"
    workspace: Path | None = None
    goal: str | None = None
    test_cmd: str | None = None
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    script: Path | None = None
    replay: Path | None = None
    max_steps: int = 30
    reflection: ReflectionMode = "system"
    reflection_model: str | None = None
    reflection_triggers: str | None = None
    """Which triggers fire reflection: "all", "none", "-budget", "tests_failed,repeat=4" (TriggerConfig.parse)."""
    out: Path | None = None
    runs_dir: Path = Path("runs")
    step_mode: StepMode = "continuous"
    test_timeout: float = 120.0


@dataclass
class Run:
    """A prepared run: call `events()` once to drive it."""

    header: TranscriptHeader
    path: Path
    control: RunControl
    loop: Any
    workspace: Path
    test_cmd: str | None
    notices: list[str] = field(default_factory=list)
    server: Any = None
    """The offline server, when the model is scripted or replayed (its `requests` are what the SDK sent)."""
    replayed: Any = None
    finished: RunFinished | None = None

    async def events(self) -> AsyncIterator[Event]:
        writer = TranscriptWriter(self.path, self.header)
        try:
            for text in self.notices:
                notice = Notice(level="info", text=text)
                writer.write(notice)
                yield notice
            async for event in self.loop.run():
                if isinstance(event, RunFinished):
                    for extra in await self._closing_notices():
                        writer.write(extra)
                        yield extra
                    event = await self._with_test_result(event)
                    self.finished = event
                writer.write(event)
                yield event
        finally:
            if self.finished is None:  # cancelled or crashed: still say so in the file
                self.finished = RunFinished(reason="cancelled", detail="the run was stopped before it ended",
                                            iterations=_iterations(self.loop), usage=self.loop.usage)
                writer.write(self.finished)
            writer.close()

    async def _with_test_result(self, event: RunFinished) -> RunFinished:
        if not self.test_cmd:
            return event
        result = await self.loop.toolbox.workspace.run(self.test_cmd, timeout=self.loop.toolbox.test_timeout)
        passed = result.exit_code == 0 and not result.timed_out
        tail = result.output[-2000:]
        return event.model_copy(update={"tests_passed": passed, "test_output": tail})

    async def _closing_notices(self) -> list[Notice]:
        if self.replayed is None or self.server is None:
            return []
        from agent.offline import first_divergence

        where = first_divergence(self.replayed, self.server.requests)
        text = (f"replay diverged: {where}" if where
                else "replay: every request matched the recorded run (durations in tool output aside)")
        return [Notice(level="warning" if where else "info", text=text)]


def _iterations(loop: Any) -> int:
    return sum(1 for m in loop.messages if m.get("role") == "assistant")


def build_run(opts: RunOptions) -> Run:
    """Resolve everything a run needs; raise UsageError (one line) when something is missing or wrong."""
    from agent.loop import AgentLoop, ChatModel
    from agent.offline import OFFLINE_BASE_URL, OfflineServer, ScriptError, load_script, replay_server
    from agent.tasks import get_task, prepare_workspace
    from agent.tools import Toolbox
    from agent.transcript import TranscriptError
    from agent.workspace import Workspace

    notices: list[str] = []
    task = None
    if opts.workspace is not None:
        workspace = Path(opts.workspace).resolve()
        if not workspace.is_dir():
            raise UsageError(f"--workspace {opts.workspace}: no such folder")
        if not opts.goal:
            raise UsageError("--workspace needs --goal TEXT (what the agent should do there)")
        goal, test_cmd, task_name = opts.goal, opts.test_cmd, None
    else:
        try:
            task = get_task(opts.task or "quicksort")
        except (KeyError, ValueError) as exc:
            raise UsageError(str(exc.args[0] if exc.args else exc)) from None
        workspace = prepare_workspace(task)
        goal, test_cmd, task_name = opts.goal or task.goal, opts.test_cmd or task.test_cmd, task.name

    provider = opts.provider
    if provider is None:
        if opts.replay is not None:
            provider = "replay"
        elif opts.script is not None:
            provider = "scripted"
        else:
            provider = default_provider()
            if provider is None:
                provider = "scripted"
                notices.append(f"no --provider given and no API key set: using the offline scripted model "
                               f"for task {task_name or 'custom'}")

    server = replayed = None
    endpoint: Endpoint
    if provider in ("scripted", "replay"):
        try:
            if provider == "scripted":
                if opts.script is None and task is None:
                    raise UsageError("--provider scripted on your own --workspace needs --script FILE")
                script_path = opts.script or task.script  # type: ignore[union-attr]
                server = OfflineServer(load_script(script_path), model=opts.model or "scripted")
            else:
                if opts.replay is None:
                    raise UsageError("--provider replay needs --transcript FILE (the run to replay)")
                from agent.formats import open_transcript

                replayed = open_transcript(opts.replay)
                server = replay_server(replayed)
        except (ScriptError, TranscriptError) as exc:
            raise UsageError(str(exc)) from None
        endpoint = Endpoint(provider, OFFLINE_BASE_URL, server.model, "offline", None)
        client = make_client(endpoint, max_retries=0, http_client=server.http_client())
    else:
        endpoint = resolve_endpoint(provider, opts.model, opts.base_url)
        client = make_client(endpoint)

    toolbox = Toolbox(Workspace(workspace), test_cmd or "", test_timeout=opts.test_timeout)
    control = RunControl(mode=opts.step_mode, reflection=opts.reflection)
    model = ChatModel(client, endpoint.model, describe_error=lambda exc: describe_provider_error(exc, endpoint))
    refused: set[str] = set()
    if replayed is not None:  # the recorded endpoint refused these roles: replay the note where it ended up
        refused = {e.from_role for e in replayed.events if e.type == "reflection_fallback"}
    reflector = _make_reflector(client, endpoint, opts, goal, refused)
    loop = AgentLoop(model=model, toolbox=toolbox, system_prompt=SYSTEM_PROMPT, goal=goal, control=control,
                     max_steps=opts.max_steps, reflector=reflector)
    header = TranscriptHeader(
        task=task_name, goal=goal, provider=endpoint.provider, model=endpoint.model, base_url=endpoint.base_url,
        workspace=str(workspace), tools=toolbox.schemas(),
        settings={"max_steps": opts.max_steps, "reflection": opts.reflection, "test_cmd": test_cmd,
                  "reflection_model": opts.reflection_model or endpoint.model,
                  "reflection_triggers": opts.reflection_triggers or "all",
                  "script": str(opts.script) if opts.script else None,
                  "replay": str(opts.replay) if opts.replay else None},
    )
    path = opts.out or opts.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{task_name or 'custom'}-{provider}.jsonl"
    if opts.out is not None and path.exists():
        if path.is_dir():
            raise UsageError(f"--out {path}: is a folder; give a file name")
        path.unlink()  # the user named this file: a new run replaces it rather than appending to it
    return Run(header=header, path=Path(path), control=control, loop=loop, workspace=workspace,
               test_cmd=test_cmd, notices=notices, server=server, replayed=replayed)


def _make_reflector(client: Any, endpoint: Endpoint, opts: RunOptions, goal: str, refused: set[str]) -> Any:
    """The reflection step. It observes every iteration, so a live toggle finds its counters right."""
    from agent.reflection import make_reflector

    try:
        return make_reflector(client, opts.reflection_model or endpoint.model, goal,
                              triggers=opts.reflection_triggers, refused_roles=refused,
                              describe_error=lambda exc: describe_provider_error(exc, endpoint))
    except ValueError as exc:
        raise UsageError(f"--reflection-triggers: {exc}") from None


def demo_run(step_mode: bool = True, **overrides: Any) -> Run:
    """The quicksort demo that `agent-tui` opens with no arguments (offline unless a key is set)."""
    opts = RunOptions(task="quicksort", step_mode="step" if step_mode else "continuous")
    for name, value in overrides.items():
        setattr(opts, name, value)
    return build_run(opts)
