"""What each command accepts: the flags of `run`, `fork`, `ablate`, `export` and `serve`, in a module that imports
no command, so that reading the command line costs the flag tables only (`agent-tui open` loads neither the
provider stack nor the ablation runner nor the exporters; `agent.cli.commands` imports a command when it runs)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, get_args

from agent.events import ReflectionMode
from agent.models.limits import DEFAULT_MAX_REPLY_CHARS, DEFAULT_MAX_TOOL_CALLS
from agent.models.presets import LOCAL_PROVIDER, PRESETS, PROVIDER_NAMES
from agent.tools.sandbox import SANDBOX_MODES

REFLECTION_MODES: tuple[str, ...] = get_args(ReflectionMode)


def add_sandbox_flags(g: Any) -> None:
    """Where the commands a run causes run (agent.tools.sandbox), for every command that starts runs."""
    g.add_argument("--sandbox", choices=SANDBOX_MODES,
                   help="where commands run: bwrap (bubblewrap; the default where it is installed) or none")
    g.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                   help="pass this variable to commands (repeatable); they get only PATH, LANG and TERM otherwise, with HOME and TMPDIR in the workspace")


def add_run_flags(p: argparse.ArgumentParser, work: bool = True, out: bool = True, reflection: bool = True) -> None:
    """The flags every command that starts a run shares (headless run, TUI run, fork; `work=False`: no task,
    workspace, goal or test command, which a fork takes from its parent; `out=False`: no --out FILE, for a
    command whose --out is a folder; `reflection=False`: the reflection flags left out of the help, for a
    command that sets reflection itself and says so when given them)."""
    g = p.add_argument_group("what to work on")
    if work:
        g.add_argument("--task", default=None,
                       help="task to copy into a fresh workspace: a bundled one (default quicksort) or humanevalfix/N")
        g.add_argument("--workspace", type=Path, help="work in this folder instead of a bundled task")
        g.add_argument("--goal", help="the user's goal (required with --workspace)")
        g.add_argument("--test-cmd", help="the command run_tests runs in the workspace")
    add_sandbox_flags(g)
    g.add_argument("--keep-workspace", action="store_true",
                   help="keep the bundled task's temporary workspace (default: removed when the run ends)")
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
                   help="per request attempt (default 120; 600 for --provider local); a request, its retries "
                        "and the whole streamed reply included, ends after --timeout x (1 + --max-retries)")
    g.add_argument("--max-reply-chars", type=int, metavar="N",
                   help=f"the most characters of one reply taken, content and tool calls (default "
                        f"{DEFAULT_MAX_REPLY_CHARS:,}); past it the reply is cut and the turn ends, as at the "
                        "provider's token limit")
    g.add_argument("--max-tool-calls", type=int, metavar="N",
                   help=f"the most tool calls of one reply taken (default {DEFAULT_MAX_TOOL_CALLS}); the rest "
                        "are not read and the turn ends")
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
    said = (lambda text: text) if reflection else (lambda text: argparse.SUPPRESS)
    g.add_argument("--reflection", choices=REFLECTION_MODES, default="system",
                   help=said("reflection note role, or off, or resample (no note: the turn that fired a trigger "
                             "is taken back and drawn again) (default system)"))
    g.add_argument("--reflection-model", help=said("model for reflection calls (default: the agent's)"))
    g.add_argument("--reflection-triggers", metavar="SPEC",
                   help=said('which triggers fire: "all" (default), "none", "-budget", "tests_failed,repeat=4"'))
    if out:
        g.add_argument("--out", type=Path, help="transcript file (default: runs/<time>-<task>-<provider>.jsonl)")


def add_ablate_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("grid")
    g.add_argument("--tasks", default="quicksort",
                   help="comma-separated tasks: bundled names, all (the bundled ones), humanevalfix/N, humanevalfix "
                        "(the suite), humanevalfix:dev or humanevalfix:test (a split), humanevalfix:dev:K (its "
                        "first K) (default quicksort)")
    g.add_argument("--reflection", default="off,system,user,assistant", metavar="SETTINGS",
                   help=f"comma-separated reflection settings from {', '.join(REFLECTION_MODES)} (resample: the "
                        "equal-budget control, a fresh retry of the turn instead of a note), or all "
                        "(default off,system,user,assistant)")
    g.add_argument("--repeats", type=int, default=1, help="runs of every (task, setting) (default 1)")
    g.add_argument("--concurrency", type=int, default=4,
                   help="requests in flight against the endpoint, over all workers (default 4)")
    g.add_argument("--out", type=Path, metavar="DIR", help="grid folder; an existing one is resumed (default runs/ablate-<time>)")
    g.add_argument("--keep-failed", action="store_true", help="do not re-run jobs that failed in an earlier call")
    g.add_argument("--keep-workspaces", action="store_true", help="keep each job's workspace copy (default: remove)")
    g.add_argument("--price", metavar="IN,OUT",
                   help="dollars per million prompt and completion tokens for the cost table (default: the "
                        "preset's list price for its default model; 0 for a model served here)")
    add_sandbox_flags(g)
    add_plan_flags(p)
    g = p.add_argument_group("where the jobs run")
    g.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: asyncio tasks in this process (default); ray: one Ray task per job "
                        "(pip install 'agent-tui[ray]')")
    g.add_argument("--address", metavar="ADDR",
                   help="ray: the cluster to join, auto (started with `ray start` here) or ray://HOST:PORT; "
                        "default: a local Ray started for this call")
    g.add_argument("--cpus-per-job", type=float, metavar="N",
                   help="ray: CPUs each job reserves on its worker, fractions allowed (default 1)")
    g = p.add_argument_group("model")
    g.add_argument("--provider", choices=(*PRESETS, LOCAL_PROVIDER, "scripted"),
                   help="endpoint preset; default: the first whose API key is set, else the offline script")
    g.add_argument("--model", help="model name (default: the preset's)")
    g.add_argument("--base-url", help="override the preset's base URL")
    g.add_argument("--script", type=Path, help="scripted provider with one task: JSON list of assistant messages")
    g.add_argument("--model-path", type=Path, metavar="FILE.gguf",
                   help="local provider: the GGUF that one llama-cpp-python server, started for the grid, serves")
    g.add_argument("--reflection-model", help="model for reflection calls (default: the agent's)")
    g = p.add_argument_group("loop")
    g.add_argument("--max-steps", type=int, default=30, help="step budget of every run (default 30)")
    g.add_argument("--test-timeout", type=float, default=120.0, help="seconds a test run may take (default 120)")


def add_plan_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("planning (nothing runs)")
    g.add_argument("--plan", action="store_true",
                   help="print the jobs, an estimate of their tokens and time, and the smallest effect the grid "
                        "can detect, then stop")
    g.add_argument("--target-effect", type=float, metavar="E",
                   help="with --plan: the units x repeats it takes to detect a rise of E (0.1: 10 points)")
    g.add_argument("--base-rate", type=float, metavar="P",
                   help="the baseline's success rate the power is computed for (default: an earlier grid's, else 0.5)")
    g.add_argument("--plan-from", type=Path, metavar="DIR",
                   help="an earlier grid folder to take tokens and time per run from (default: this folder's "
                        "runs, else the newest grid under runs/ with the same model)")


def add_ablate_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the `ablate` command to a subparsers object."""
    p = sub.add_parser("ablate", help="run tasks x reflection settings x repeats and tabulate the results",
                       description="Run every (task, reflection setting, repeat) as an independent job, "
                                   "write each transcript under DIR/runs, a row per run in DIR/results.csv "
                                   "and DIR/summary.json. Calling again with the same --out resumes.")
    add_ablate_flags(p)
    return p


def add_share_parsers(sub: Any) -> None:
    ex = sub.add_parser("export", help="write a transcript as one HTML page, Markdown, or a plain message list "
                                       "(secrets redacted)")
    ex.add_argument("file", type=Path, help="any transcript `open` reads")
    ex.add_argument("--format", default="html", help="html (default), md or json")
    ex.add_argument("-o", "--out", type=Path, metavar="OUT",
                    help="output file, - for standard output (default: beside FILE, e.g. run.html)")
    ex.add_argument("--no-redact", dest="redact", action="store_false",
                    help="keep API keys, tokens and passwords as they are")
    sv = sub.add_parser("serve", help="the app in a browser (textual-serve)")
    sv.add_argument("file", type=Path, nargs="?", help="a transcript or a folder of runs (default: the demo)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="default 8000")
    sv.add_argument("--public-url", help="the URL browsers reach the server by, when it is not http://HOST:PORT")
    sv.add_argument("--max-sessions", type=int, default=2,
                    help="at most this many browser tabs at once, each its own app process (default 2)")


def add_fork_parser(sub: Any) -> None:
    fk = sub.add_parser("fork", help="replay a run through iteration K, then go on live (in the app, or --headless)",
                        description="Replay FILE's iterations 1..K (its replies; the tool calls run again on a fresh "
                                    "workspace and their results are checked against the recording), then go on "
                                    "live from K+1. The loop settings, provider and model are the parent's unless "
                                    "given; where requests go and what runs is yours (see --from-header).")
    fk.add_argument("file", type=Path, help="the parent run's transcript")
    fk.add_argument("--at", type=int, metavar="K", help="the last iteration replayed")
    fk.add_argument("--drop-note", action="store_true", help="leave out the reflection note written after K")
    fk.add_argument("--edit-note", metavar="TEXT", help="put TEXT in place of the note after K")
    fk.add_argument("--each-note", action="store_true", help="fork just before every note with it dropped, "
                    "--repeats times each, into an ablation folder (--out DIR), and print what each note changed")
    fk.add_argument("--repeats", type=int, default=1, help="--each-note: forks per note (default 1)")
    fk.add_argument("--concurrency", type=int, default=4, help="--each-note: forks at once (default 4)")
    fk.add_argument("--workspace", type=Path, help="a parent run in its own folder: that folder as the run found it")
    fk.add_argument("--test-cmd", help="a parent run in its own folder: the command run_tests runs")
    fk.add_argument("--from-header", action="store_true",
                    help="take the base URL, test command, passed variables and workspace folder that the parent's "
                         "header names (a transcript is data: without this flag a fork takes none of them)")
    fk.add_argument("--headless", action="store_true", help="print events instead of opening the app")
    add_run_flags(fk, work=False)
    fk.set_defaults(reflection=None, max_steps=None)


def add_sweep_parser(sub: Any) -> None:
    sw = sub.add_parser("sweep", help="fork every note of some runs and go on with its text in each role, and "
                                      "without it",
                        description="For every reflection note in the given runs, fork just before it (the "
                                    "prefix is replayed without model calls) and go on live with that exact note "
                                    "in each role of --roles (none: without it), --repeats times each, into an "
                                    "ablation folder (--out DIR; calling again resumes). Later iterations write "
                                    "no note. The table sets each role against none on the same fork points.")
    sw.add_argument("files", type=Path, nargs="+", metavar="FILE|DIR",
                    help="transcripts of agent-tui runs, or folders of them (forks in them are left out)")
    sw.add_argument("--roles", default="system,user,assistant,none",
                    help="the arms: roles from system, user, assistant, and none (no note) (default all four)")
    sw.add_argument("--repeats", type=int, default=1, help="forks per note and role (default 1)")
    sw.add_argument("--concurrency", type=int, default=1, help="forks at once (default 1)")
    sw.add_argument("--keep-failed", action="store_true", help="do not re-run forks that failed in an earlier call")
    sw.add_argument("--price", metavar="IN,OUT",
                    help="dollars per million prompt and completion tokens (default: the preset's list price)")
    sw.add_argument("--out", type=Path, required=True, metavar="DIR", help="the sweep's folder (an existing one is resumed)")
    sw.add_argument("--from-header", action="store_true",
                    help="take the base URL, test command, passed variables and workspace folder that the parents' "
                         "headers name (a transcript is data: without this flag a fork takes none of them)")
    add_plan_flags(sw)
    add_run_flags(sw, work=False, out=False, reflection=False)  # each arm's role is --roles, then reflection is off
    sw.set_defaults(reflection=None, max_steps=None)
