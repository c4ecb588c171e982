"""From command-line choices to a running, recorded loop.

`build_run` resolves the task, workspace, provider and model (raising `UsageError` with one line when
something is missing), and `Run.events()` drives the loop, appends every event to the transcript as it
happens, and yields it on to whichever front end is watching.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator

from agent.loop.control import RunControl, StepMode
from agent.events import Event, Notice, ReflectionMode, RunFinished, is_transient
from agent.models.presets import (
    LOCAL_PROVIDER,
    Endpoint,
    UsageError,
    default_provider,
    make_client,
    resolve_endpoint,
)
from agent.models.errors import describe_provider_error
from agent.models.local import DEFAULT_MODEL_ENV, default_model
from agent.models.profiles import Profile, resolve_profile
from agent.reflection.reflector import ROLES
from agent.tools.sandbox import Sandbox, SandboxError, SandboxMode, choose_sandbox
from agent.tasks.task import Task
from agent.tools.testrun import run_tests
from agent.tasks.verdict import judge
from agent.tools import scratch
from agent.tools.trees import remove_tree
from agent.tools.workspace import Workspace
from agent.transcripts.transcript import TranscriptHeader, TranscriptWriter

if TYPE_CHECKING:
    from agent.models.gate import RequestGate  # imports the SDK, which `agent-tui open` should not pay for

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
    model_path: Path | None = None
    """--provider local: the GGUF file llama-cpp-python's server loads."""
    shared_server: Any = None
    """--provider local: a LocalServer already serving `model_path` (an ablation starts one for all its
    jobs); None: the run starts its own and stops it at the end."""
    shared_reflection_server: Any = None
    """--provider local: a second LocalServer for the reflection calls, so that they do not evict the actor's
    prompt from its server's cache (the actor's next request would be processed whole again); None: a run
    that starts its own server starts one for notes too when reflection writes notes."""
    tool_calls: str | None = None
    """native | text | auto; None: the preset's (see agent.models.profiles)."""
    stream: bool | None = None
    """None: stream where the preset supports it."""
    assistant_content: str | None = None
    """null | empty: the content of a tool-call turn on the wire; None: the preset's."""
    parallel_tool_calls: bool | None = None
    """False: ask for one call per reply (sent only where the endpoint takes the parameter)."""
    tool_choice: str | None = None
    """None or "auto": not sent; "required": sent where the endpoint takes it."""
    tool_call_ids: str | None = None
    """any | mistral9; None: the preset's (mistral9 for Mistral models)."""
    temperature: float | None = None
    max_retries: int = 2
    """The SDK's own retries on 408/409/429/5xx and timeouts (no second retry loop on top)."""
    timeout: float | None = None
    """Seconds per request attempt; None: 120, or 600 for a local model on the CPU. A request, retries and
    the whole streamed reply included, ends after timeout x (1 + max_retries) (agent.models.limits)."""
    max_reply_chars: int | None = None
    """The most characters of one reply taken (agent.models.limits.ReplyLimits); None: the default."""
    max_tool_calls: int | None = None
    """The most tool calls of one reply taken; None: the default."""
    request_gate: RequestGate | None = None
    """Every request to the endpoint waits for a token of this gate (agent.models.gate), which other runs
    may share: how `ablate --backend ray` keeps --concurrency across worker processes."""
    sandbox: SandboxMode | None = None
    """Where commands run (agent.tools.sandbox); None: bwrap where it works here, else none with a warning."""
    pass_env: tuple[str, ...] = ()
    """Variables passed to commands on top of the allow-list (`--pass-env NAME`)."""


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
    warnings: list[str] = field(default_factory=list)
    """Shown and recorded before the first event, as warnings (commands running without a sandbox)."""
    temporary_workspace: bool = False
    """True when the workspace is a fresh copy of a bundled task (`release_workspace` deletes it)."""
    server: Any = None
    """The offline server, when the model is scripted or replayed (its `requests` are what the SDK sent)."""
    replayed: Any = None
    finished: RunFinished | None = None
    local_server: Any = None
    """The llama-cpp-python server of `--provider local`, stopped when the run ends (`close`)."""
    reflection_server: Any = None
    """Its server for the reflection calls, when it started one (stopped with it)."""
    model_server: Any = None
    """The LocalServer this run talks to (its own, or an ablation's): when a request fails because it
    died, the run's ending says so."""
    task: Task | None = None
    """The task worked on (None for your own --workspace): its original tests give the verdict."""

    async def events(self, transient: bool = False) -> AsyncIterator[Event]:
        """Drive the run, writing every event to the transcript and yielding it. `transient=True` also
        yields the events only meant for live display (AssistantDelta: the reply streaming in), which
        are never written."""
        writer = TranscriptWriter(self.path, self.header)
        try:
            for level, texts in (("warning", self.warnings), ("info", self.notices)):
                for text in texts:
                    notice = Notice(level=level, text=text)  # type: ignore[arg-type]
                    writer.write(notice)
                    yield notice
            async for event in self.loop.run():
                if is_transient(event):
                    if transient:
                        yield event
                    continue
                if isinstance(event, RunFinished):
                    event = await self._with_server_death(event)
                    event = await self._with_test_result(event)
                    for extra in [*await self._closing_notices(), *_verdict_notices(event)]:
                        writer.write(extra)
                        yield extra
                    self.finished = event
                writer.write(event)
                yield event
        finally:
            if self.finished is None:  # cancelled or crashed: still say so in the file
                self.finished = RunFinished(reason="cancelled", detail="the run was stopped before it ended",
                                            iterations=_iterations(self.loop), usage=self.loop.usage,
                                            unreported_calls=self.loop.unreported_calls)
                writer.write(self.finished)
            writer.close()
            self.close()

    def close(self) -> None:
        """Stop the local model's servers, if this run started them (safe to call more than once)."""
        servers = (self.local_server, self.reflection_server)
        self.local_server = self.reflection_server = None
        for server in servers:
            if server is not None:
                server.__exit__(None, None, None)

    def release_workspace(self, keep: bool = False) -> bool:
        """Delete the workspace if it is a temporary copy of a bundled task, or with `keep` (the user's
        --keep-workspace) mark it so that no later start sweeps it away; True when it was removed."""
        if not self.temporary_workspace or not self.workspace.exists():
            return False
        if keep:
            scratch.keep(self.workspace)
            return False
        remove_tree(self.workspace)
        return not self.workspace.exists()

    async def _with_server_death(self, event: RunFinished) -> RunFinished:
        """A provider error from a local server that has died: its end, its log, the fix (not just
        "peer closed connection without sending complete message body")."""
        if event.reason != "provider_error" or self.model_server is None:
            return event
        death = await asyncio.to_thread(self.model_server.death)
        return event.model_copy(update={"detail": f"{death}\n(the request failed with: {event.detail})"}) \
            if death else event

    async def _with_test_result(self, event: RunFinished) -> RunFinished:
        """The verdict: a task's original tests against the workspace's code (its own tests for a
        workspace that is not a task), beside what the agent's last run_tests said. A run whose tests
        could not start, there or in the verdict, is the harness's failure, not the agent's."""
        if not self.test_cmd or event.reason == "harness_error":
            return event
        toolbox = self.loop.toolbox
        last = None if toolbox.last_test is None else toolbox.last_test.passed
        if self.task is None:
            verdict = await run_tests(toolbox.workspace, self.test_cmd, toolbox.test_timeout)
        else:
            verdict = await judge(self.task, self.workspace, toolbox.workspace.sandbox, toolbox.test_timeout)
        if verdict.harness is not None:
            return event.model_copy(update={"reason": "harness_error", "detail": f"the verdict: {verdict.harness}",
                                            "test_output": verdict.result.output[-2000:], "last_run_tests": last})
        status = verdict.status(toolbox.test_timeout)
        return event.model_copy(update={"tests_passed": verdict.passed, "last_run_tests": last,
                                        "test_output": f"{status}\n{verdict.result.output[-2000:]}",
                                        "verdict": "workspace" if self.task is None else "pristine"})

    async def _closing_notices(self) -> list[Notice]:
        if self.replayed is None or self.server is None:
            return []
        from agent.run.replay import first_divergence

        where = first_divergence(self.replayed, self.server.requests)
        text = (f"replay diverged: {where}" if where
                else "replay: every request matched the recorded run (durations in tool output aside)")
        return [Notice(level="warning" if where else "info", text=text)]


def _verdict_notices(event: RunFinished) -> list[Notice]:
    if event.verdict == "pristine" and event.last_run_tests and not event.tests_passed:
        return [Notice(level="warning", text="the workspace's tests passed, but the task's original tests fail "
                                             "against its code: were the tests changed?")]
    return []


def _iterations(loop: Any) -> int:
    return sum(1 for m in loop.messages if m.get("role") == "assistant")


@dataclass
class _Work:
    """What the agent works on."""

    task_name: str | None
    goal: str
    test_cmd: str | None
    workspace: Path
    task: Task | None = None


@dataclass
class _Connection:
    """Where its requests go."""

    endpoint: Endpoint
    client: Any
    server: Any = None
    replayed: Any = None
    local_server: Any = None
    model_server: Any = None
    reflection_client: Any = None
    """The reflection calls' own client (a local model's second server); None: the agent's."""
    reflection_server: Any = None

    def close(self) -> None:
        for server in (self.local_server, self.reflection_server):
            if server is not None:
                server.__exit__(None, None, None)


def build_run(opts: RunOptions) -> Run:
    """Resolve everything a run needs; raise UsageError (one line) when something is missing or wrong."""
    try:
        sandbox, unsandboxed = choose_sandbox(opts.sandbox, tuple(opts.pass_env))
    except SandboxError as exc:
        raise UsageError(str(exc)) from None
    work = _resolve_work(opts)
    try:
        return _build(opts, work, sandbox, unsandboxed)
    except BaseException:
        if work.task is not None:  # the fresh copy of the task is nobody's: do not leave it in /tmp
            remove_tree(work.workspace)
        raise


def _build(opts: RunOptions, work: _Work, sandbox: Sandbox, unsandboxed: str | None) -> Run:
    notices: list[str] = []
    provider = opts.provider
    if provider is None:
        if opts.replay is not None:
            provider = "replay"
        elif opts.script is not None:
            provider = "scripted"
        else:
            provider = default_provider()
            local = None if provider is not None else default_model()
            if local is not None:  # no key, but the local extra and a verified model: a real model
                provider, opts = LOCAL_PROVIDER, replace(opts, model_path=local)
                notices.append(f"no --provider given and no API key set: running the local model {local.name} "
                               f"on this CPU ({DEFAULT_MODEL_ENV}=off for the offline scripted model)")
            elif provider is None:
                provider = "scripted"
                notices.append(f"no --provider given and no API key set: using the offline scripted model "
                               f"for task {work.task_name or 'custom'}")
    try:
        profile = resolve_profile(provider, opts.model, tool_calls=opts.tool_calls,
                                  assistant_content=opts.assistant_content, id_style=opts.tool_call_ids,
                                  temperature=opts.temperature)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if opts.tool_choice == "required" and not profile.tool_choice_required:
        notices.append(f'provider {provider} does not take tool_choice="required": not sending it')
    if opts.parallel_tool_calls is False and not profile.parallel_tool_calls:
        notices.append(f"provider {provider} does not take parallel_tool_calls: the model may still make "
                       "several calls in one reply")
    conn = _connect(opts, provider, work)
    try:
        run = _assemble(opts, provider, work, conn, profile, notices, sandbox)
        run.warnings += [unsandboxed] if unsandboxed else []
        return run
    except BaseException:
        conn.close()
        raise


def _resolve_work(opts: RunOptions) -> _Work:
    from agent.tasks.suites import find_task
    from agent.tasks.task import prepare_workspace

    if opts.workspace is not None:
        workspace = Path(opts.workspace).resolve()
        if not workspace.is_dir():
            raise UsageError(f"--workspace {opts.workspace}: no such folder")
        if not opts.goal:
            raise UsageError("--workspace needs --goal TEXT (what the agent should do there)")
        return _Work(None, opts.goal, opts.test_cmd, workspace)
    try:
        task = find_task(opts.task or "quicksort")
    except (KeyError, ValueError) as exc:
        raise UsageError(str(exc.args[0] if exc.args else exc)) from None
    return _Work(task.name, opts.goal or task.goal, opts.test_cmd or task.test_cmd, prepare_workspace(task), task)


def _timeout(opts: RunOptions, provider: str) -> float:
    return opts.timeout or (600.0 if provider == LOCAL_PROVIDER else 120.0)


def _connect(opts: RunOptions, provider: str, work: _Work) -> _Connection:
    """The endpoint and the SDK client: an offline model, the local model's server, or a preset."""
    from agent.models.offline import OFFLINE_BASE_URL, OfflineServer, ScriptError, load_script
    from agent.reflection.scripted import default_reflection_answer
    from agent.run.replay import replay_server
    from agent.transcripts.transcript import TranscriptError

    timeout = _timeout(opts, provider)
    if provider == LOCAL_PROVIDER:
        def client_of(server: Any) -> tuple[Endpoint, Any]:
            endpoint = Endpoint(LOCAL_PROVIDER, server.base_url, opts.model or Path(server.model_path).name,
                                "not-needed", None)
            return endpoint, make_client(endpoint, max_retries=opts.max_retries, timeout=timeout,
                                         gate=opts.request_gate)

        conn = _Connection(*client_of(opts.shared_server)) if opts.shared_server is not None else None  # an ablation's
        if conn is None:
            server = _start_local(opts)
            conn = _Connection(*client_of(server), local_server=server)
        conn.model_server = opts.shared_server or conn.local_server
        reflection = opts.shared_reflection_server
        try:
            if reflection is None and conn.local_server is not None and opts.reflection in ROLES:
                reflection = conn.reflection_server = _start_local(opts)
        except BaseException:
            conn.close()
            raise
        if reflection is not None:
            conn.reflection_client = client_of(reflection)[1]
        return conn
    if provider not in ("scripted", "replay"):
        endpoint = resolve_endpoint(provider, opts.model, opts.base_url)
        return _Connection(endpoint, make_client(endpoint, max_retries=opts.max_retries, timeout=timeout,
                                                 gate=opts.request_gate))
    replayed = None
    try:
        if provider == "scripted":
            if opts.script is not None:
                replies = load_script(opts.script)
            elif work.task is not None:
                replies = work.task.script
            else:
                raise UsageError("--provider scripted on your own --workspace needs --script FILE")
            server = OfflineServer(replies, model=opts.model or "scripted", reflection_answer=default_reflection_answer)
        else:
            if opts.replay is None:
                raise UsageError("--provider replay needs --transcript FILE (the run to replay)")
            from agent.transcripts.importers import open_transcript

            replayed = open_transcript(opts.replay)
            server = replay_server(replayed)
    except (ScriptError, TranscriptError) as exc:
        raise UsageError(str(exc)) from None
    endpoint = Endpoint(provider, OFFLINE_BASE_URL, server.model, "offline", None)
    return _Connection(endpoint, make_client(endpoint, max_retries=0, transport=server.transport(),
                                             gate=opts.request_gate), server=server, replayed=replayed)


def _start_local(opts: RunOptions) -> Any:
    """Start llama-cpp-python's server on a free loopback port for `--model-path` (UsageError on failure)."""
    from agent.models.local import LocalModelError, LocalServer

    if opts.model_path is None:
        raise UsageError("--provider local needs --model-path FILE.gguf (assemble one with: "
                         "python -m agent.models.local setup)")
    if opts.base_url:
        raise UsageError("--provider local starts its own server: use --provider llamacpp --base-url URL "
                         "for one that is already running")
    server = LocalServer(Path(opts.model_path))
    try:
        server.__enter__()
    except LocalModelError as exc:
        raise UsageError(str(exc)) from None
    atexit.register(server.__exit__, None, None, None)  # a backstop: Run.close() stops it first
    return server


def _assemble(opts: RunOptions, provider: str, work: _Work, conn: _Connection, profile: Profile,
              notices: list[str], sandbox: Sandbox) -> Run:
    from agent.models.chat import ChatModel
    from agent.models.limits import ReplyLimits
    from agent.loop.agent_loop import NUDGE, AgentLoop
    from agent.models.textcalls import TEXT_NUDGE
    from agent.tools.changes import ChangeTracker
    from agent.tools.toolbox import Toolbox
    from agent.models.wire import describe_wire

    endpoint, client = conn.endpoint, conn.client
    stream = profile.stream if opts.stream is None else opts.stream
    toolbox = Toolbox(Workspace(work.workspace, sandbox), work.test_cmd or "", test_timeout=opts.test_timeout)
    control = RunControl(mode=opts.step_mode, reflection=opts.reflection)
    model = ChatModel(client, endpoint.model, describe_error=lambda exc: describe_provider_error(exc, endpoint),
                      profile=profile, stream=stream, tool_choice=opts.tool_choice,
                      parallel_tool_calls=opts.parallel_tool_calls,
                      limits=ReplyLimits.of(opts.max_reply_chars, opts.max_tool_calls))
    refused: set[str] = set(profile.refused_roles)  # what the preset knows its templates refuse
    if conn.replayed is not None:  # the recorded endpoint refused these roles: replay the note where it ended up
        refused |= {e.from_role for e in conn.replayed.events if e.type == "reflection_fallback"}
    reflector = _make_reflector(conn.reflection_client or client, endpoint, opts, provider, work.goal, refused)
    loop = AgentLoop(model=model, toolbox=toolbox, system_prompt=SYSTEM_PROMPT, goal=work.goal, control=control,
                     max_steps=opts.max_steps, reflector=reflector,
                     nudge=TEXT_NUDGE if profile.tool_calls == "text" else NUDGE,
                     changes=ChangeTracker(toolbox.workspace))
    header = TranscriptHeader(
        task=work.task_name, goal=work.goal, provider=endpoint.provider, model=endpoint.model,
        base_url=endpoint.shown_url, workspace=str(work.workspace), tools=toolbox.schemas(),
        settings={"max_steps": opts.max_steps, "reflection": opts.reflection, "test_cmd": work.test_cmd,
                  "verdict_cmd": work.task.verdict_cmd if work.task else work.test_cmd,
                  "reflection_model": opts.reflection_model or endpoint.model,
                  "reflection_triggers": opts.reflection_triggers or "all",
                  "script": str(opts.script) if opts.script else None,
                  "replay": str(opts.replay) if opts.replay else None,
                  "model_path": str(opts.model_path) if opts.model_path else None,
                  "profile": profile.settings(), "stream": stream,
                  "tool_choice": opts.tool_choice, "parallel_tool_calls": opts.parallel_tool_calls,
                  "max_retries": 0 if conn.server is not None else opts.max_retries,
                  "timeout": _timeout(opts, provider),
                  "max_reply_chars": model.limits.max_chars, "max_tool_calls": model.limits.max_tool_calls,
                  "sandbox": sandbox.mode, "pass_env": list(sandbox.pass_env),
                  "wire": describe_wire(profile, profile.tool_calls == "text")},
    )
    path = opts.out or opts.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{work.task_name or 'custom'}-{provider}.jsonl"
    if opts.out is not None and path.exists():
        if path.is_dir():
            raise UsageError(f"--out {path}: is a folder; give a file name")
        path.unlink()  # the user named this file: a new run replaces it rather than appending to it
    return Run(header=header, path=Path(path), control=control, loop=loop, workspace=work.workspace,
               test_cmd=work.test_cmd, notices=notices, server=conn.server, replayed=conn.replayed,
               local_server=conn.local_server, model_server=conn.model_server, task=work.task,
               reflection_server=conn.reflection_server,
               temporary_workspace=work.task is not None)


def _make_reflector(client: Any, endpoint: Endpoint, opts: RunOptions, provider: str, goal: str,
                    refused: set[str]) -> Any:
    """The reflection step. It observes every iteration, so a live toggle finds its counters right. Its notes
    are written by a ChatModel of their own, on the agent's client, with the reflection model's profile (the
    endpoint's roles and parameters), no tools and no streaming."""
    from agent.models.chat import ChatModel
    from agent.reflection.reflector import REQUEST_HEADERS, make_reflector

    name = opts.reflection_model or endpoint.model
    profile = resolve_profile(provider, name, assistant_content=opts.assistant_content, id_style=opts.tool_call_ids,
                              temperature=opts.temperature)
    model = ChatModel(client, name, describe_error=lambda exc: describe_provider_error(exc, endpoint),
                      profile=replace(profile, tool_calls="native", stream=False), stream=False,
                      extra_headers=dict(REQUEST_HEADERS))
    try:
        return make_reflector(model, goal, triggers=opts.reflection_triggers, refused_roles=refused)
    except ValueError as exc:
        raise UsageError(f"--reflection-triggers: {exc}") from None


def demo_run(step_mode: bool = True, **overrides: Any) -> Run:
    """The quicksort demo that `agent-tui` opens with no arguments (offline unless a key is set)."""
    opts = RunOptions(task="quicksort", step_mode="step" if step_mode else "continuous")
    for name, value in overrides.items():
        setattr(opts, name, value)
    return build_run(opts)


def pass_env_flag(args: argparse.Namespace) -> tuple[str, ...]:
    """The names given with --pass-env, checked: a value on the command line would land in shell history."""
    names = tuple(getattr(args, "pass_env", None) or ())
    bad = [n for n in names if not n or "=" in n or "\0" in n]
    if bad:
        raise UsageError(f"--pass-env {bad[0]!r}: give a variable name (its value is taken from the environment)")
    return names


def run_options(args: argparse.Namespace, step_mode: StepMode = "continuous") -> RunOptions:
    """The options of a run from the flags of `run` (`agent.cli.flags.add_run_flags`), checked."""
    if args.max_steps < 1:
        raise UsageError("--max-steps must be at least 1")
    if args.workspace is not None and args.task is not None:
        raise UsageError("give either --task or --workspace, not both")
    if getattr(args, "max_retries", 2) < 0:
        raise UsageError("--max-retries must be 0 or more")
    if getattr(args, "timeout", None) is not None and args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    for flag in ("max_reply_chars", "max_tool_calls"):
        if getattr(args, flag, None) is not None and getattr(args, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1")
    if getattr(args, "model_path", None) is not None and args.provider not in (None, "local"):
        raise UsageError("--model-path goes with --provider local")
    extra = {name: getattr(args, name, None) for name in (
        "model_path", "tool_calls", "stream", "assistant_content", "parallel_tool_calls", "tool_choice",
        "tool_call_ids", "temperature", "timeout", "sandbox", "max_reply_chars", "max_tool_calls")}
    extra["pass_env"] = pass_env_flag(args)
    if extra["model_path"] is not None and args.provider is None:
        args.provider = "local"  # a model file says which provider
    return RunOptions(task=args.task or ("quicksort" if args.workspace is None else None),
                      workspace=args.workspace, goal=args.goal, test_cmd=args.test_cmd, provider=args.provider,
                      model=args.model, base_url=args.base_url, script=args.script, replay=args.replay,
                      max_steps=args.max_steps, reflection=args.reflection, reflection_model=args.reflection_model,
                      reflection_triggers=args.reflection_triggers, out=args.out, step_mode=step_mode,
                      max_retries=getattr(args, "max_retries", 2), **extra)  # type: ignore[arg-type]
