"""Time travel: a new run that replays iterations 1..K of a recorded one, then goes on live from K+1.

    run = build_fork(ForkSpec(Path("runs/a.jsonl"), at=3, drop_note=True))
    async for event in run.events(): ...

The loop is the ordinary one. The fork hands it a `PrefixModel`, which answers the first K requests with the
replies recorded in the parent and every later one with the live model, and a `PrefixReflector`, which puts
the parent's notes back after iterations 1..K-1 and decides what becomes of the note after K: kept, dropped
(`--drop-note`, or reflection off), rewritten (`--edit-note`), or asked again when the reflection role
changed. The replayed tool calls run for real, against a fresh copy of the task's workspace, so the files
are as they were; when the first live request goes out, the history replayed so far is compared with the
parent's (with `agent.transcripts.compare`'s normalisation: durations, workspace paths and tool-call ids
aside) and a notice says whether it matched or where it differs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, AsyncIterator, Callable, cast, get_args

from agent.display.terminal import inert
from agent.events import (
    AssistantMessage,
    Completion,
    Event,
    IterationStarted,
    Notice,
    ReflectionFallback,
    ReflectionMode,
    ReflectionNote,
    RunFinished,
    ToolResult,
    Trigger,
    appended_messages,
    removed_messages,
)
from agent.loop.control import RunControl, StepMode
from agent.models.presets import UsageError
from agent.protocols import IterationRecord, Model, NoteMoved, StopRun
from agent.reflection.reflector import Reflector, frame, note_messages
from agent.run.runner import Run, RunOptions, build_run, pass_env_flag
from agent.tools.scratch import scratch_folder
from agent.tools.trees import CACHES, copy_tree, remove_tree
from agent.transcripts.compare import Origin, describe_difference, normalise_messages, origin_kind
from agent.transcripts.transcript import ForkOrigin, Transcript, TranscriptError, TranscriptHeader


@dataclass
class ForkSpec:
    """What a fork changes: where it branches, what becomes of the note there, and the run options given."""

    parent: Path
    at: int
    drop_note: bool = False
    edit_note: str | None = None
    workspace: Path | None = None
    """For a parent that worked in a folder of its own (`run --workspace`): that folder as the parent found
    it (default: the folder as it is now). Either way the fork works on a copy."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """RunOptions fields given on the command line (provider, model, reflection, max_steps, out...); a None
    value was not given. The loop's settings, the model and the shape of its requests are the parent's."""
    from_header: bool = False
    """Take from the parent's header what decides where requests go and what runs (its base URL, test
    command, passed variables, workspace folder): only when the user says so (`--from-header`)."""
    reflection_after: ReflectionMode | None = None
    """The reflection setting from iteration K+1 on (None: the fork's, as for K). A sweep turns it off, so
    that its arms differ only in the note after K."""


@dataclass
class Recording:
    """What a fork takes from its parent: iterations 1..K."""

    transcript: Transcript
    path: Path
    at: int
    replies: list[Completion]
    """The assistant replies of iterations 1..K, in order."""
    notes: dict[int, ReflectionNote]
    """The note after each iteration, as the requests after it carried it (after a role fallback, in the
    role it ended up in; a note every role refused is left out: the model never read it)."""
    modes: dict[int, ReflectionMode]
    """The reflection setting of each iteration 1..K."""
    history: list[dict[str, Any]]
    """The history through iteration K's tool results (the note after K left out)."""
    origins: list[Origin]
    """Where each message of `history` came from."""
    refused_roles: set[str]
    """Roles the parent's endpoint refused for a note."""

    @property
    def note_at_fork(self) -> ReflectionNote | None:
        return self.notes.get(self.at)


def read_recording(path: Path, at: int | None) -> Recording:
    """Read the parent and check that it can be forked at `at` (UsageError naming what is wrong). `at`
    None: only its notes and settings are wanted (no prefix)."""
    from agent.transcripts.importers import open_transcript

    try:
        parent = open_transcript(path)
    except TranscriptError as exc:
        raise UsageError(str(exc)) from None
    if parent.header.source is not None:
        raise UsageError(f"{path}: imported from {parent.header.source}; fork replays agent-tui's own runs "
                         "(their tools, task and workspace)")
    upto = 0 if at is None else at
    replies: dict[int, Completion] = {}
    calls: dict[int, int] = {}
    results: dict[int, int] = {}
    finished: int | None = None
    notes: dict[int, ReflectionNote] = {}
    modes: dict[int, ReflectionMode] = {}
    refused: set[str] = set()
    history: list[dict[str, Any]] = []
    origins: list[Origin] = []
    replayed = True  # still in iterations 1..K, before the note after K
    for event in parent.events:
        number = getattr(event, "iteration", None)
        if (isinstance(event, RunFinished) or (number is not None and number > upto)
                or (isinstance(event, ReflectionNote) and number == upto)):
            replayed = False
        if replayed:
            dropped = removed_messages(event)
            if dropped:
                del history[len(history) - dropped:], origins[len(origins) - dropped:]
            added = appended_messages(event)
            history.extend(added)
            origins.extend([Origin(origin_kind(event), number)] * len(added))
        if isinstance(event, ToolResult) and event.name == "finish" and not event.is_error:
            finished = number  # the run ended with this iteration
        if isinstance(event, ReflectionNote):
            notes[event.iteration] = event
        elif isinstance(event, ReflectionFallback):
            refused.add(event.from_role)
            note = notes.pop(event.note_iteration, None)
            if note is not None and event.to_role is not None:
                notes[event.note_iteration] = note.model_copy(update={
                    "role": event.to_role, "messages": event.messages, "follower_added": event.to_role == "assistant",
                    "fallback_from": note.fallback_from or note.role})
        elif number is None or number > upto:
            continue
        elif isinstance(event, IterationStarted):
            modes[number] = event.reflection
        elif isinstance(event, AssistantMessage):
            replies[number] = Completion.model_validate(event.model_dump(include=set(Completion.model_fields)))
            calls[number] = len(event.message.get("tool_calls") or [])
        elif isinstance(event, ToolResult):
            results[number] = results.get(number, 0) + 1
    if at is not None:
        last = sum(1 for e in parent.iterations if e.assistant is not None)
        why = f"{last} iterations with a reply"
        if finished is not None and finished <= last:
            last, why = finished - 1, f"a run that called finish in iteration {finished}"
        if not 1 <= at <= last or any(i not in replies for i in range(1, at + 1)):
            where = f"iterations 1 to {last}" if last > 0 else "no iteration"
            raise UsageError(f"--at {at}: {path} ({why}) can be forked at {where}")
        torn = next((i for i in range(1, at + 1) if results.get(i, 0) < calls[i]), None)
        if torn is not None:
            raise UsageError(f"--at {at}: iteration {torn} of {path} lacks results for some of its calls "
                             "(the run was stopped during it); fork at an earlier iteration")
    return Recording(parent, path, upto, [replies[i] for i in range(1, upto + 1)], notes, modes, history,
                     origins, refused)


def replay_notice(recording: Recording, messages: list[dict[str, Any]], workspace: str) -> Notice:
    """Whether the history replayed so far is the recorded one (durations, workspace paths and tool-call
    ids aside), and where it first differs."""
    recorded = normalise_messages(recording.history, recording.transcript.header.workspace or "")
    replayed = normalise_messages(messages[:len(recorded)], workspace)
    for index, origin in enumerate(recording.origins):
        mine = replayed[index] if index < len(replayed) else None
        if recorded[index] != mine:
            diff = describe_difference(index, recorded[index], mine, origin, origin)
            detail = f"; {diff.detail} (A: the recording, B: the fork)" if diff.detail else ""
            return Notice(level="warning", text=f"fork: the replay differs from {recording.path.name} in "
                                                f"iteration {origin.iteration}: {diff.describe()}{detail}")
    results = sum(1 for o in recording.origins if o.kind == "tool")
    return Notice(level="info", text=f"fork: iterations 1-{recording.at} replayed; all {results} tool results "
                                     "match the recording (durations aside)")


class PrefixModel:
    """Answers the first requests with the recorded replies, then hands every request to the live model.

    At the first live request it hands over `check(messages)`'s notice first (the loop shows it in that
    iteration)."""

    def __init__(self, replies: list[Completion], live: Model,
                 check: Callable[[list[dict[str, Any]]], Notice]) -> None:
        self.replies = replies
        self.live = live
        self.check = check
        self.replayed = 0
        self._checked = False

    @property
    def client(self) -> Any:
        """The live model's SDK client (closed by whoever owns the run)."""
        return getattr(self.live, "client", None)

    async def stream(self, messages: list[dict[str, Any]],
                     tools: list[dict[str, Any]]) -> AsyncIterator[Event | Completion]:
        if self.replayed < len(self.replies):
            reply = self.replies[self.replayed]
            self.replayed += 1
            yield reply.model_copy(deep=True)
            return
        if not self._checked:
            self._checked = True
            yield self.check(messages)
        async for item in self.live.stream(messages, tools):
            yield item


class PrefixReflector:
    """Puts the parent's notes back after iterations 1..K-1, applies the fork's choice to the note after K,
    and leaves every later note to the live reflector. The live reflector sees every iteration (with
    reflection off while replaying), so its triggers count from the start, as the parent's did."""

    def __init__(self, live: Reflector, recording: Recording, control: RunControl, mode: ReflectionMode, *,
                 drop: bool = False, edit: str | None = None, after: ReflectionMode | None = None) -> None:
        self.live = live
        self.recording = recording
        self.control = control
        self.mode = mode
        """The fork's reflection setting, from iteration K on (the replayed ones keep the parent's)."""
        self.drop = drop
        self.edit = edit
        self.after = after
        """The setting from K+1 on (None: `mode`)."""

    def choice(self, mode: ReflectionMode) -> str:
        """What becomes of the parent's note after K under `mode`: kept, dropped, edited, added (an edited
        note where the parent had none), text kept, as ROLE (its very text set again, no call: a sweep's
        arms), asked again as ROLE, or none (the parent wrote none)."""
        recorded = self.recording.note_at_fork
        role = self.live.effective_role(mode)
        if self.edit is not None and role is not None:
            if recorded is None:
                return "added"
            return f"text kept, as {role}" if self.edit == recorded.content else "edited"
        if recorded is None:
            return "none"
        if self.drop or role is None:
            return "dropped"
        return "kept" if role == recorded.role else f"asked again as {role}"

    async def after_iteration(self, record: IterationRecord, messages: list[dict[str, Any]],
                              mode: ReflectionMode) -> AsyncIterator[Event]:
        at = self.recording.at
        if record.iteration == at and self.after is not None:
            self.control.set_reflection(self.after)  # read when iteration K+1 begins
        choice = "live" if record.iteration > at else self.choice(mode) if record.iteration == at else "replayed"
        live = choice in ("live", "none") or choice.startswith("asked")
        async for event in self.live.after_iteration(record, messages, mode if live else "off"):
            yield event  # with "off": counts the triggers, writes nothing
        note = None if live else self._note(record.iteration, mode, choice)
        if note is not None:
            yield self.live.place(note)  # the live reflector moves it if the endpoint refuses its role

    def _note(self, iteration: int, mode: ReflectionMode, choice: str) -> ReflectionNote | None:
        """The parent's note after `iteration` (1..K), as `choice` makes it."""
        at = self.recording.at
        if iteration < at:
            following = iteration + 1
            self.control.set_reflection(self.recording.modes.get(following, self.mode) if following < at
                                        else self.mode)
            note = self.recording.notes.get(iteration)
            return note.model_copy(update={"ts": time.time()}, deep=True) if note is not None else None
        if choice == "kept":
            return self.recording.note_at_fork.model_copy(update={"ts": time.time()}, deep=True)  # type: ignore[union-attr]
        if choice in ("edited", "added") or choice.startswith("text kept"):
            return self._edited(iteration, mode)
        return None

    def _edited(self, iteration: int, mode: ReflectionMode) -> ReflectionNote:
        role = self.live.effective_role(mode) or mode
        recorded = self.recording.note_at_fork
        triggers = recorded.triggers if recorded is not None else []
        text = str(self.edit)
        return ReflectionNote(iteration=iteration, role=role, content=text, triggers=triggers,
                              messages=note_messages(frame(text, triggers), role),
                              fallback_from=mode if role != mode else None, follower_added=role == "assistant")

    @property
    def fired(self) -> list[Trigger]:
        return self.live.fired

    def effective_role(self, mode: ReflectionMode) -> str | None:
        return self.live.effective_role(mode)

    def note_refused(self, error: StopRun, messages: list[dict[str, Any]], iteration: int) -> NoteMoved | None:
        return self.live.note_refused(error, messages, iteration)


TRUSTED = {"base_url": "--base-url", "test_cmd": "--test-cmd", "workspace": "--workspace", "pass_env": "--pass-env"}
"""What a parent's header may name but a fork takes from it only with `--from-header`: where the requests
(and the key) go, what command runs, which folder is copied and read, which of the user's variables the
commands see. A transcript may come from anyone; its header is data, not configuration. Without the flag
a fork needs the first three from the user when the header names them; the variables it simply does not
pass (the user's --pass-env, or none)."""


def fork_options(recording: Recording, spec: ForkSpec,
                 step_mode: StepMode = "continuous") -> tuple[RunOptions, list[str]]:
    """The parent's run options, with what the spec gives instead, and the notices the fork shows about
    them. From the header come the task (its
    test command is this machine's), the goal, the loop's settings and, while the provider is the parent's,
    the model and the shape of its requests; never, unless `spec.from_header`, what `TRUSTED` names (a
    UsageError says which and how to give them). A parent that worked in a folder of its own gives that
    folder (`build_fork` copies it)."""
    header = recording.transcript.header
    settings = header.settings or {}
    given = {k: v for k, v in spec.overrides.items() if v is not None and v != ()}
    provider = given.get("provider") or header.provider
    if provider == "replay":
        raise UsageError("a fork goes on live after the replayed iterations: give --provider (the parent ran "
                         "on the replay provider)" if "provider" not in given else
                         "--provider replay: a fork goes on live after the replayed iterations; "
                         "use --provider scripted --script FILE for a fixed continuation")
    reflection = settings.get("reflection")
    opts = RunOptions(task=header.task, goal=header.goal or None, provider=provider,
                      max_steps=int(settings.get("max_steps") or 30),
                      reflection=cast(ReflectionMode, reflection) if reflection in get_args(ReflectionMode)
                      else "system",
                      reflection_triggers=settings.get("reflection_triggers"), step_mode=step_mode)
    if provider == header.provider:
        profile = settings.get("profile") or {}
        script, model_path = settings.get("script"), settings.get("model_path")
        same: dict[str, Any] = dict(model=header.model or None, script=Path(script) if script else None,
                    model_path=Path(model_path) if model_path else None,
                    tool_calls=profile.get("tool_calls"), assistant_content=profile.get("assistant_content"),
                    tool_call_ids=profile.get("id_style"), temperature=profile.get("temperature"),
                    stream=settings.get("stream"), tool_choice=settings.get("tool_choice"),
                    parallel_tool_calls=settings.get("parallel_tool_calls"), timeout=settings.get("timeout"))
        if settings.get("reflection_model") != header.model and "model" not in given:
            same["reflection_model"] = settings.get("reflection_model")  # one the parent named apart
        opts = replace(opts, **{k: v for k, v in same.items() if v is not None})
    named = header_configuration(header, spec, provider)
    if not spec.from_header:
        needed = {k: v for k, v in named.items() if k != "pass_env"}
        if needed:
            flags = ", ".join(TRUSTED[name] for name in needed)
            raise UsageError(f"{recording.path}'s header names {describe_configuration(needed)}: a transcript's "
                             f"header is data, not configuration, so a fork does not take these from it; give "
                             f"your own ({flags}) or --from-header to use these")
        notices = [f"the parent's commands saw {_shown(named['pass_env'])}; this fork passes none of them "
                   "(--pass-env NAME, or --from-header)"] if "pass_env" in named else []
        named = {}
    else:
        notices = [f"--from-header: taken from the parent's header: {describe_configuration(named)}"] if named else []
    if "test_cmd" in named:
        named["test_cmd"], moved = local_test_cmd(named["test_cmd"])
        notices += [moved] if moved else []
    opts = replace(opts, **{k: v for k, v in named.items() if k != "workspace"}, **given)
    if header.task is None:
        source = spec.workspace or Path(named.get("workspace") or header.workspace or ".")
        if not source.is_dir():
            raise UsageError(f"the parent worked in {source}, which is not a folder now: give --workspace DIR "
                             "(the folder as the parent found it)")
        opts = replace(opts, task=None, workspace=source)  # build_fork works on a copy of it
    else:
        _known_task(header.task, recording.path)
        if spec.workspace is not None:
            raise UsageError(f"--workspace: {recording.path} ran the task {header.task}; its fork starts from a "
                             "fresh copy of that task")
    return opts, notices


def header_configuration(header: TranscriptHeader, spec: ForkSpec, provider: str) -> dict[str, Any]:
    """What the fork would take from the parent's header among `TRUSTED`, the user having given none of it."""
    from agent.models.presets import PRESETS

    settings = header.settings or {}
    given = {k for k, v in spec.overrides.items() if v is not None and v != ()}
    named: dict[str, Any] = {}
    preset = PRESETS.get(provider)
    if (provider == header.provider and preset is not None and header.base_url
            and not given & {"base_url", "provider"}  # the user's own provider goes to its own endpoint
            and header.base_url.rstrip("/") != (preset.base_url or "").rstrip("/")):
        named["base_url"] = header.base_url
    if header.task is None:
        if settings.get("test_cmd") and "test_cmd" not in given:
            named["test_cmd"] = str(settings["test_cmd"])
        if spec.workspace is None and header.workspace:
            named["workspace"] = header.workspace
    if settings.get("pass_env") and "pass_env" not in given:
        named["pass_env"] = tuple(str(n) for n in settings["pass_env"])
    return named


def describe_configuration(named: dict[str, Any]) -> str:
    """`base_url http://...; test_cmd '...'`: what a header names, in full, control characters inert."""
    return "; ".join(f"{name} {_shown(value)}" for name, value in named.items())


def _shown(value: Any) -> str:
    text = ", ".join(value) if isinstance(value, tuple) else str(value)
    return inert(repr(text) if " " in text else text)


def local_test_cmd(cmd: str) -> tuple[str, str | None]:
    """A recorded test command for this machine, and a notice when it changed: one that starts a Python
    interpreter missing here (the recording machine's virtualenv) runs with this one instead."""
    program, _, rest = cmd.partition(" ")
    if program.startswith("/") and not Path(program).exists() and Path(program).name.startswith("python"):
        return (f"{shlex.quote(sys.executable)} {rest}".rstrip(),
                f"the recorded test command's interpreter {program} is not on this machine: running it with "
                f"{sys.executable}")
    return cmd, None


def _known_task(name: str, path: Path) -> None:
    from agent.tasks.suites import find_task

    try:
        find_task(name)
    except (KeyError, ValueError) as exc:
        raise UsageError(f"{path} ran task {name!r}, which this machine does not have: "
                         f"{exc.args[0] if exc.args else exc}") from None


def _copy_workspace(source: Path) -> Path:
    copy = scratch_folder("fork")
    copy_tree(source, copy, skip=CACHES)
    return copy


def fork_path(parent: Path, at: int, runs_dir: Path = Path("runs")) -> Path:
    """Where a fork goes by default: `runs/<parent>.fork<K>.jsonl` (then -2, -3...) in the working folder,
    not beside its parent, which may be in a source tree or someone else's folder."""
    path = runs_dir / f"{parent.stem}.fork{at}.jsonl"
    n = 2
    while path.exists():
        path = runs_dir / f"{parent.stem}.fork{at}-{n}.jsonl"
        n += 1
    return path


def build_fork(spec: ForkSpec, step_mode: StepMode = "continuous") -> Run:
    """A run that replays `spec.parent` through iteration `spec.at` and goes on live (UsageError with one
    line when the parent, the iteration or the options do not allow it)."""
    if spec.drop_note and spec.edit_note is not None:
        raise UsageError("give --drop-note or --edit-note, not both")
    if spec.edit_note is not None and not spec.edit_note.strip():
        raise UsageError("--edit-note needs the text of the note")
    parent = Path(spec.parent)
    recording = read_recording(parent, spec.at)
    if spec.drop_note and recording.note_at_fork is None:
        raise UsageError(f"--drop-note: {parent} has no reflection note after iteration {spec.at}")
    opts, notices = fork_options(recording, spec, step_mode)
    if opts.max_steps <= spec.at:
        raise UsageError(f"--max-steps {opts.max_steps}: the fork replays {spec.at} iterations; allow more "
                         "to go on live")
    if spec.edit_note is not None and opts.reflection == "off":
        raise UsageError("--edit-note: reflection is off; give --reflection ROLE for the note's role")
    if opts.workspace is not None:
        opts = replace(opts, workspace=_copy_workspace(opts.workspace))
    try:
        run = build_run(replace(opts, out=opts.out or fork_path(parent, spec.at)))
    except BaseException:
        if opts.workspace is not None:
            remove_tree(opts.workspace)
        raise
    run.temporary_workspace = opts.workspace is not None or run.temporary_workspace  # a copy made for it
    seed_fork(run, recording, opts, spec)
    run.notices += notices
    return run


def seed_fork(run: Run, recording: Recording, opts: RunOptions, spec: ForkSpec) -> None:
    """Put the recording in front of the run's model and reflector, and say so in its header and notices."""
    at = recording.at
    same_endpoint = run.header.provider == recording.transcript.header.provider
    if run.server is not None:
        run.server.skip(at)  # an offline model goes on with its reply for request K+1
    live_reflector = run.loop.reflector
    if same_endpoint and recording.refused_roles:
        live_reflector.refused |= recording.refused_roles  # its notes start in the role that worked
    reflector = PrefixReflector(live_reflector, recording, run.control, opts.reflection, drop=spec.drop_note,
                                edit=spec.edit_note, after=spec.reflection_after)
    run.loop.reflector = reflector
    workspace = str(run.workspace)
    run.loop.model = PrefixModel(recording.replies, run.loop.model,
                                 lambda messages: replay_notice(recording, messages, workspace))
    if at > 1:
        run.control.set_reflection(recording.modes.get(1, opts.reflection))
    note = reflector.choice(opts.reflection)
    run.header.fork = ForkOrigin(parent=str(recording.path.resolve()), at=at, note=note)
    run.notices.append(f"fork of {recording.path} at iteration {at}: iterations 1-{at} replay its replies "
                       f"(their tool calls run again on a fresh workspace), then live on {run.header.provider} / "
                       f"{run.header.model}; the note after iteration {at}: {note}; written to {run.path}")


def fork_spec(args: argparse.Namespace) -> ForkSpec:
    """The fork the flags of `fork` (agent.cli.flags.add_fork_parser) ask for; run options not given (None)
    stay the parent's."""
    if args.each_note and (args.at is not None or args.drop_note or args.edit_note is not None):
        raise UsageError("--each-note forks before every note with it dropped: no --at, --drop-note or --edit-note")
    if not args.each_note and args.at is None:
        raise UsageError("fork needs --at K (the last iteration to replay), or --each-note")
    return ForkSpec(args.file, args.at or 0, args.drop_note, args.edit_note, args.workspace, fork_overrides(args),
                    from_header=args.from_header)


def fork_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The run options the flags give (agent.cli.flags.add_run_flags); None: not given, the parent's."""
    overrides = {f.name: getattr(args, f.name, None) for f in fields(RunOptions) if f.name != "workspace"}
    overrides["pass_env"] = pass_env_flag(args) or None  # none given: none, or the parent's with --from-header
    return overrides
