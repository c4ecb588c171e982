"""The command line: flags, the headless commands, and the event printer.

`tui.main` adds the commands that open the app; everything here runs without Textual.
Exit status of a run: 0 when the task's tests pass at the end, 1 when they do not, 2 on a usage or
provider error (with a one-line message on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any, TextIO, get_args

from agent.display.folding import FOLD_FROM, clip_line, fold_text
from agent.display.terminal import complain, inert
from agent.display.wording import plural, tokens
from agent.run.ablate import add_ablate_parser, cmd_ablate
from agent.run.share import add_share_parsers, cmd_export
from agent.events import (
    AssistantMessage,
    DriverMessage,
    Event,
    IterationStarted,
    Notice,
    ReflectionFallback,
    ReflectionMode,
    ReflectionNote,
    RunFinished,
    ToolResult,
    WorkspaceChanged,
    content_text,
)
from agent.models.presets import PROVIDER_NAMES, UsageError

REFLECTION_MODES = get_args(ReflectionMode)


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """The flags every command that starts a run shares (headless run, TUI run, ablations)."""
    g = p.add_argument_group("what to work on")
    g.add_argument("--task", default=None, help="bundled task to copy into a fresh workspace (default quicksort)")
    g.add_argument("--workspace", type=Path, help="work in this folder instead of a bundled task")
    g.add_argument("--goal", help="the user's goal (required with --workspace)")
    g.add_argument("--test-cmd", help="the command run_tests runs in the workspace")
    g = p.add_argument_group("model")
    g.add_argument("--provider", choices=PROVIDER_NAMES,
                   help="endpoint preset; default: the first whose API key is set, else the offline script")
    g.add_argument("--model", help="model name (default: the preset's)")
    g.add_argument("--base-url", help="override the preset's base URL")
    g.add_argument("--script", type=Path, help="scripted provider: JSON list of assistant messages")
    g.add_argument("--transcript", type=Path, dest="replay", help="replay provider: the transcript to replay")
    g.add_argument("--model-path", type=Path, metavar="FILE.gguf",
                   help="local provider: the GGUF that llama-cpp-python's server loads (pip install -e '.[local]')")
    g.add_argument("--max-retries", type=int, default=2,
                   help="the SDK's own retries on 408/409/429/5xx and timeouts (default 2)")
    g.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="per request attempt (default 120; 600 for --provider local)")
    g = p.add_argument_group("endpoint capabilities (default: the provider's profile)")
    g.add_argument("--tool-calls", choices=("native", "text", "auto"),
                   help="native tool_calls; text: tools in the prompt, calls parsed from replies; auto: native, "
                        "and calls written as text are taken too")
    g.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                   help="stream replies (default: on where the provider supports it)")
    g.add_argument("--assistant-content", choices=("null", "empty"),
                   help='content of a tool-call turn on the wire: null or "" (some servers reject null)')
    g.add_argument("--no-parallel-tool-calls", dest="parallel_tool_calls", action="store_const", const=False,
                   default=None, help="send parallel_tool_calls=false (where the endpoint takes it)")
    g.add_argument("--tool-choice", choices=("auto", "required"),
                   help="required: send tool_choice=required (where the endpoint takes it)")
    g.add_argument("--tool-call-ids", choices=("any", "mistral9"),
                   help="ids the endpoint accepts (mistral9: 9 letters and digits; default for Mistral models)")
    g.add_argument("--temperature", type=float, help="sampling temperature (default: the profile's or endpoint's)")
    g = p.add_argument_group("loop")
    g.add_argument("--max-steps", type=int, default=30, help="step budget (default 30)")
    g.add_argument("--reflection", choices=REFLECTION_MODES, default="system",
                   help="reflection note role, or off (default system)")
    g.add_argument("--reflection-model", help="model for reflection calls (default: the agent's)")
    g.add_argument("--reflection-triggers", metavar="SPEC",
                   help='which triggers fire: "all" (default), "none", "-budget", "tests_failed,repeat=4"')
    g.add_argument("--out", type=Path, help="transcript file (default: runs/<time>-<task>-<provider>.jsonl)")


def run_options(args: argparse.Namespace, step_mode: str = "continuous") -> Any:
    from agent.run.runner import RunOptions

    if args.max_steps < 1:
        raise UsageError("--max-steps must be at least 1")
    if args.workspace is not None and args.task is not None:
        raise UsageError("give either --task or --workspace, not both")
    if getattr(args, "max_retries", 2) < 0:
        raise UsageError("--max-retries must be 0 or more")
    if getattr(args, "timeout", None) is not None and args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if getattr(args, "model_path", None) is not None and args.provider not in (None, "local"):
        raise UsageError("--model-path goes with --provider local")
    extra = {name: getattr(args, name, None) for name in (
        "model_path", "tool_calls", "stream", "assistant_content", "parallel_tool_calls", "tool_choice",
        "tool_call_ids", "temperature", "timeout")}
    if extra["model_path"] is not None and args.provider is None:
        args.provider = "local"  # a model file says which provider
    return RunOptions(task=args.task or ("quicksort" if args.workspace is None else None),
                      workspace=args.workspace, goal=args.goal, test_cmd=args.test_cmd, provider=args.provider,
                      model=args.model, base_url=args.base_url, script=args.script, replay=args.replay,
                      max_steps=args.max_steps, reflection=args.reflection, reflection_model=args.reflection_model,
                      reflection_triggers=args.reflection_triggers, out=args.out, step_mode=step_mode,
                      max_retries=getattr(args, "max_retries", 2), **extra)  # type: ignore[arg-type]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent-tui",
        description="Watch, step through and check an OpenAI Chat Completions agent loop. "
                    "With no command, opens the app on the offline quicksort demo in step mode.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the agent on a task (in the app, or --headless)")
    add_run_flags(run)
    run.add_argument("--headless", action="store_true", help="print events instead of opening the app")
    run.add_argument("--continuous", action="store_true", help="in the app: start running instead of stepping")
    sub.add_parser("tasks", help="list the bundled tasks")
    add_ablate_parser(sub)
    check = sub.add_parser("check", help="check a transcript against the Chat Completions ordering rules")
    check.add_argument("file", type=Path)
    op = sub.add_parser("open", help="inspect a saved transcript in the app (or a folder of runs: pick one or two)")
    op.add_argument("file", type=Path, help="a transcript file, or a folder of runs such as an ablation's --out")
    op.add_argument("--snapshot", type=Path, metavar="OUT.svg", help="render the first screen to an SVG and exit")
    op.add_argument("--size", default="140x45", help="terminal size for --snapshot, WxH (default 140x45)")
    cmp = sub.add_parser("compare", help="two transcripts side by side, aligned by iteration")
    cmp.add_argument("first", type=Path)
    cmp.add_argument("second", type=Path)
    cmp.add_argument("--snapshot", type=Path, metavar="OUT.svg", help="render the first screen to an SVG and exit")
    cmp.add_argument("--size", default="160x45", help="terminal size for --snapshot, WxH (default 160x45)")
    add_share_parsers(sub)
    return parser


def cmd_tasks(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from agent.tools.tasks import list_tasks

    for task in list_tasks():
        out.write(f"{task.name:<14} {task.kind:<10} {task.description}\n")
    return 0


def cmd_check(path: Path, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from agent.transcripts.importers import check_file
    from agent.transcripts.transcript import TranscriptError

    try:
        report = check_file(path)
    except TranscriptError as exc:
        complain(str(exc))
        return 2
    transcript, violations = report.transcript, report.violations
    for warning in transcript.warnings:
        out.write(inert(f"warning: {warning}\n"))
    count = plural(len(transcript.messages()), "message")
    stopped = f"{path}: {report.unanswered_text()}\n" if report.unanswered else ""
    if not violations:
        out.write(inert(f"{path}: ok ({count}, {plural(len(transcript.iterations), 'iteration')}, ordering clean)\n"
                        + stopped))
        return 0
    for v in violations:
        out.write(inert(f"{path}: {v}\n"))
    out.write(inert(stopped + f"{path}: {plural(len(violations), 'ordering violation')} in {count}\n"))
    return 1


def cmd_run_headless(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from agent.run.runner import build_run

    run = build_run(run_options(args))
    out.write(f"agent-tui: {run.header.provider} / {run.header.model}, task {run.header.task or 'custom'}, "
              f"workspace {run.workspace}\n")
    out.write(f"agent-tui: transcript {run.path}\n")
    printer = EventPrinter(out)

    async def drive() -> None:
        task = asyncio.current_task()
        try:  # SIGTERM stops the run as Ctrl-C does: the transcript is closed, a local model's server stopped
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # type: ignore[union-attr]
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
            pass
        async for event in run.events():
            printer.show(event)

    try:
        asyncio.run(drive())
    except asyncio.CancelledError:
        pass
    done = run.finished
    if done is None or done.reason in ("provider_error", "error"):
        detail = done.detail if done else "the run ended without a result"
        complain(detail)
        return 2
    return 0 if done.tests_passed else 1


class EventPrinter:
    """Prints each event as it happens, in the order the model sees them. Every line goes out inert (model and
    tool text never reach the terminal as control sequences), and long texts are folded around the lines
    that carry a failure (the full texts are in the transcript)."""

    REPLY_LINES = 40
    """A reply longer than this is folded (its head, its tail, any error lines)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def line(self, text: str = "") -> None:
        self.out.write(inert(text) + "\n")
        self.out.flush()

    def block(self, text: str, prefix: str, fold_from: int = FOLD_FROM) -> None:
        """`text` folded, each line after `prefix`."""
        for line in fold_text(text, fold_from=fold_from).split("\n"):
            self.line(prefix + line)

    def show(self, event: Event) -> None:
        if isinstance(event, IterationStarted):
            self.line(f"\n── iteration {event.iteration} ── reflection {event.reflection} "
                      f"── request of {event.request_size} messages")
        elif isinstance(event, AssistantMessage):
            text = content_text(event.message.get("content")).strip()
            if text:
                first, _, rest = text.partition("\n")
                self.line(f"assistant: {clip_line(first, 400)[0]}")
                if rest:
                    self.block(rest, "  ", fold_from=self.REPLY_LINES)
            parsed = "  (parsed from text)" if event.parsed_from_text else ""
            for call in event.message.get("tool_calls") or []:
                fn = call.get("function", {})
                self.line(f"  call {call.get('id')}  {fn.get('name')}({_compact_args(fn.get('arguments'))}){parsed}")
            usage = event.usage
            counts = f"{usage.prompt_tokens:,}+{usage.completion_tokens:,} tokens, " if usage else ""
            ttft = f"first token {event.ttft_s:.2f}s, " if event.ttft_s is not None else ""
            wire = ", text tool calls" if event.tool_call_mode == "text" else ""
            self.line(f"  [{counts}{ttft}{event.latency_s:.2f}s, finish_reason {event.finish_reason}{wire}]")
        elif isinstance(event, ToolResult):
            mark = "ERROR " if event.is_error else ""
            self.line(f"  result {event.tool_call_id}  {mark}{event.name}:")
            self.block(event.content.rstrip("\n"), "    │ ")
        elif isinstance(event, ReflectionNote):
            triggers = ", ".join(t.kind for t in event.triggers) or "manual"
            fallback = f" (fell back from {event.fallback_from})" if event.fallback_from else ""
            follower = " + a user follower" if event.follower_added else ""
            self.line(f"  reflection [{event.role}{fallback}{follower}] on {triggers}:")
            for t in event.triggers:
                if t.evidence:
                    self.line(f"    evidence ({t.kind}): {t.evidence.splitlines()[0][:160]}")
            self.block(event.content.strip(), "    ✎ ", fold_from=self.REPLY_LINES)
        elif isinstance(event, ReflectionFallback):
            to = f"as {event.to_role}" if event.to_role else "dropped (every role refused)"
            self.line(f"  reflection note refused as {event.from_role} (HTTP {event.status}: {event.error}); "
                      f"note {to}, request sent again")
        elif isinstance(event, DriverMessage):
            text = content_text(event.message.get("content"))
            self.line(f"  driver {event.kind} ({event.message.get('role')}): {text}")
        elif isinstance(event, WorkspaceChanged):
            files = ", ".join(f"{f.path} ({f.status}{'' if f.binary else f', +{f.added} -{f.removed}'})"
                              for f in event.files)
            self.line(f"  changed: {files}")
        elif isinstance(event, Notice):
            self.line(f"{event.level}: {event.text}")
        elif isinstance(event, RunFinished):
            tests = {True: "tests pass", False: "tests FAIL", None: "no test command"}[event.tests_passed]
            self.line(f"\n══ run finished: {event.reason} after {plural(event.iterations, 'iteration')}; {tests}; "
                      f"{tokens(event.usage)}")
            if event.summary:
                self.line(f"   summary: {event.summary}")
            if event.reason not in ("finished",) and event.detail:
                self.line(f"   {event.detail}")


def _compact_args(arguments: Any) -> str:
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except (json.JSONDecodeError, TypeError):
        return repr(arguments)[:200]
    text = json.dumps(parsed, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."


def main(argv: list[str] | None = None) -> int:
    """Headless entry point (the `agent-tui` script goes through `tui.main`, which adds the app)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return dispatch_headless(parser, args)


def dispatch_headless(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        if args.command == "tasks":
            return cmd_tasks()
        if args.command == "check":
            return cmd_check(args.file)
        if args.command == "run":
            return cmd_run_headless(args)
        if args.command == "ablate":
            return cmd_ablate(args)
        if args.command == "export":
            return cmd_export(args)
    except UsageError as exc:
        complain(str(exc))
        return 2
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
