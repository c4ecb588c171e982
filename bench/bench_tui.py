"""How the TUI scales with the length of a transcript, beside mini-swe-agent's inspector on the same content.

    python bench/bench_tui.py                      # 10 / 1,000 / 10,000 iterations, 3 runs each (~2 min)
    python bench/bench_tui.py --sizes 10 100000    # any sizes
    python bench/bench_tui.py --runs 7             # more runs per measurement (medians are shown)
    python bench/bench_tui.py --no-peer            # agent-tui only
    python bench/bench_tui.py --no-pty             # skip the whole-process runs in a pseudo-terminal
    python bench/bench_tui.py --keep DIR           # keep the generated transcripts in DIR
    python bench/bench_tui.py --footer             # and ours with Textual's Footer in KeyBar's place

For each size it writes a synthetic transcript in our JSONL format (agent.transcripts.transcript.TranscriptWriter and
the event classes: each iteration a short assistant text, one read_file call, a 20-line result; every
tenth iteration a failing run_tests and a reflection note), and the same run in mini-swe-agent's trajectory
format (`{"messages": transcript.messages(), "info": {}}`, as `*.traj.json`: the identical chat history).
Then, each in a fresh subprocess, with the same harness for both apps:

- first screen: from just before the subprocess is spawned to the first screen drawn (headless, via
  `App.run_test` at 140x45, then `tui.screens.drawn.first_drawn`: every widget has handled what it was sent and the
  screen has been refreshed, again while that mounts widgets), so it includes interpreter start-up,
  imports, reading and parsing what the first screen needs. Ours: `open_transcript(path, in_steps=True)`
  (as `agent-tui open FILE`: a big file's first 128 kB, the rest read behind the first screen) +
  `tui.app.AgentTuiApp` on a `tui.screens.transcript.TranscriptScreen`, the collector off until the first
  screen is drawn as in the command (`tui.collector`); the peer:
  `minisweagent.run.utilities.inspector.TrajectoryInspector([path])` (it reads its whole JSON file first);
- all read (ours): to the whole file read and shown, behind the first screen;
- peak RSS of that process (VmHWM, read after the key presses below);
- step, expand, j: the mean over 30 presses of the whole path from a key event posted to the app to the
  screen updated ("key→screen": Textual's dispatch, the binding, the handler, mounting if any, layout,
  compositor and paint), once the file is all read. Step is our `n` (open the next iteration, closing the
  previous) and the peer's `l` (next step: it removes the step's widgets and mounts the next step's);
  expand is our `enter` on a collapsed iteration (the peer has none); j is our cursor down (the peer's j
  starts an animated scroll, not comparable, so it is not shown).

Real terminal (unless --no-pty): `agent-tui open FILE` and `mini-extra inspector FILE.traj.json` in a
pseudo-terminal of 140x45: "pty first" is spawn to the first frame that shows the transcript (ours: the
start block's goal; the peer: its "Step 1/" title); "pty drawn" is spawn to the first screen drawn whole,
its footer's keys included (`q Quit`: Textual's Footer, which the peer uses, adds its keys two frames
after the first; our KeyBar draws them in the first frame); then `q` is sent, and "pty whole" is spawn to
the process exited, with its peak RSS (VmHWM, read until it exits). Both include each CLI's own start-up
(ours parses its argument table; the peer's `mini-extra` dispatches through typer and prints a banner).

Whole process, the figure of the target, printed last: `agent-tui open FILE --snapshot OUT.svg`, from
spawn to the SVG written (interpreter start-up, imports, reading the first step of the file, the first
screen drawn headless, footer keys included, the SVG export), beside the inspector in the pseudo-terminal
to its first screen drawn whole (the same point: its footer's keys) and to its first frame (before its
keys). The ratios are medians of the run-by-run ratios (the machine's speed drifts between rounds). Then
the same for the inspector's own files opened by agent-tui (the bare message list, `FILE.json`, and the
trajectory), `--snapshot` and the first frame in the pseudo-terminal, with the peak RSS of the snapshot
against the inspector's; and an Inspect `.eval` of 100 samples x 50 turns: its sample list and one sample's
first screen, each `--snapshot`, taking turns.

Each app is run once untimed first, and the children may write bytecode (PYTHONDONTWRITEBYTECODE is dropped
for them): the peer is an installed package with compiled modules, this tree is not, and compiling our
modules at every start would be measured otherwise. The two apps take turns run by run.

Figures on this kind of machine (2 cores shared with other work, a VM whose speed drifts by ±30% from one
minute to the next; the load is printed at the end), medians of 7 runs at a load of 1.0-1.9, Textual 8.2,
mini-swe-agent 2.4.6 (first screen / all read / peak RSS under run_test; keys key→screen; pty = the real
CLI in a pseudo-terminal):

    iterations  app              first screen  all read  peak RSS  step     expand  j       pty first  pty drawn
            10  agent-tui             0.303 s    0.30 s     49 MB   3.3 ms  3.5 ms  1.0 ms    0.291 s    0.293 s
            10  mini-swe-agent        0.339 s         —     45 MB  18.1 ms       —       —    0.284 s    0.366 s
         1,000  agent-tui             0.299 s    0.39 s     59 MB   8.9 ms  4.5 ms  4.7 ms    0.298 s    0.298 s
         1,000  mini-swe-agent        0.349 s         —     48 MB  22.3 ms       —       —    0.308 s    0.385 s
        10,000  agent-tui             0.297 s    1.27 s     79 MB   9.8 ms  4.1 ms  4.7 ms    0.283 s    0.284 s
        10,000  mini-swe-agent        0.381 s         —     69 MB  19.8 ms       —       —    0.333 s    0.407 s

    whole process   agent-tui --snapshot   inspector first frame   inspector drawn   ratio to drawn   to first frame
            10                  0.310 s                0.284 s           0.366 s            0.84x            1.09x
         1,000                  0.368 s                0.308 s           0.385 s            0.95x            1.20x
        10,000                  0.334 s                0.333 s           0.407 s            0.81x            0.99x

    the inspector's files   --snapshot  to drawn  to first  RSS    RSS ratio  pty first  to drawn  to first
         1,000  list           0.361 s     0.96x     1.21x  51 MB      0.99x    0.317 s     0.82x     1.03x
         1,000  traj           0.351 s     0.95x     1.19x  52 MB      0.99x    0.309 s     0.79x     1.00x
        10,000  list           0.342 s     0.84x     1.05x  52 MB      0.68x    0.287 s     0.73x     0.90x
        10,000  traj           0.338 s     0.85x     1.06x  52 MB      0.68x    0.294 s     0.72x     0.89x

    an Inspect .eval of 100 samples x 50 turns: the sample list 0.412 s, a sample's first screen 0.346 s

Our first screen costs the same whatever the file's size: it is drawn from the file's first 128 kB and
its last line (how the run ended), and the rest is read behind it (1.3 s for 22.4 MB, keys answered
meanwhile); the inspector's files (a message list, a trajectory) are read 256 kB at a time and parsed a
message at a time, so theirs too. Where the time goes: ~250 ms of interpreter start-up and Textual's imports
(the peer's too), ~100-150 ms of pydantic and the event models (the peer loads neither), ~30 ms of our own
modules, then one frame and the SVG export; the collector stays off until the first screen is drawn.
Memory at 10,000 iterations stays flat because a big file's events stay on disk
(`agent.transcripts.transcript.EventLog`) and the view renders only what is on screen. Run-to-run noise is
±30 ms on these times, more when the machine drifts; compare the run-by-run ratios.

`--footer` adds a row: our in-process child with Textual's `Footer` in the place of `tui.widgets.key_bar.KeyBar`
(what the first screen drawn whole costs with keys that come two frames late).

If mini-swe-agent is not installed, the peer's rows are skipped with a note (it is not a dependency of
agent-tui; `pip install mini-swe-agent` brings it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (140, 45)
PRESSES = 30

# Shared by both children: post a key as the terminal driver would, let the app and its widgets process
# it, then run the screen update (layout + compositor + paint) that Textual's refresh timer would run.
KEY_TO_SCREEN = r"""
def peak_rss_mb():
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's RSS at fork (Linux keeps it
    # across exec), so a bench process that generated a big file would inflate every child's figure.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def key_to_screen(app, pilot, key, n={presses}):
    from textual import events
    total = 0.0
    for _ in range(n):
        t = time.perf_counter()
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)
        await pilot._wait_for_screen()
        await pilot._wait_for_screen()
        app.screen._on_timer_update()
        total += time.perf_counter() - t
    return total / n * 1000
"""

OURS = r"""
import asyncio, json, sys, time
sys.path.insert(0, {root!r})
from tui.collector import starting
""" + KEY_TO_SCREEN + r"""
async def main(path, t_spawn):
    from agent.transcripts.importers import open_transcript
    from tui.app import AgentTuiApp
    from tui.screens.drawn import first_drawn
    from tui.screens.transcript import TranscriptScreen

    transcript = open_transcript(path, in_steps=True)  # as `agent-tui open FILE` does
    screen = TranscriptScreen(transcript=transcript, title=path)
    app = AgentTuiApp(screen)
    out = {{}}
    async with app.run_test(size={size!r}) as pilot:
        await first_drawn(app.screen)
        out["first_screen_s"] = time.time() - t_spawn
        await app.workers.wait_for_complete()  # the rest of a big file read, before keys are timed
        out["all_read_s"] = time.time() - t_spawn
        await pilot.pause()
        out["overhead_ms"] = await key_to_screen(app, pilot, "f12")
        out["step_ms"] = await key_to_screen(app, pilot, "n")
        out["j_ms"] = await key_to_screen(app, pilot, "j")
        # expand: enter on a closed iteration (the cursor put there first, untimed)
        view = screen.view
        blocks = view.model.blocks
        total, count = 0.0, 0
        for _ in range({presses}):
            # a block never opened yet, after the cursor (else any closed one: a 10-iteration run has few)
            order = [*range(view.cursor[0] + 1, len(blocks)), *range(view.cursor[0] + 1)]
            b = next((k for k in order if blocks[k].kind == "iteration" and not blocks[k].expanded), None)
            if b is None:
                break
            view.move_cursor(b, 0)
            await pilot.pause()
            total += await key_to_screen(app, pilot, "enter", 1)
            count += 1
        out["expand_ms"] = total / max(count, 1)
        out["widgets"] = len(list(app.screen.walk_children()))
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))

with starting():  # the collector off until the first screen is drawn, as in `agent-tui open`
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""

PEER = r"""
import asyncio, json, sys, time
from pathlib import Path
from minisweagent.run.utilities.inspector import TrajectoryInspector
sys.path.insert(0, {root!r})
from tui.screens.drawn import first_drawn
""" + KEY_TO_SCREEN + r"""
async def main(path, t_spawn):
    app = TrajectoryInspector([Path(path)])
    out = {{}}
    async with app.run_test(size={size!r}) as pilot:
        await first_drawn(app.screen)
        out["first_screen_s"] = time.time() - t_spawn
        await pilot.pause()
        out["overhead_ms"] = await key_to_screen(app, pilot, "f12")
        out["step_ms"] = await key_to_screen(app, pilot, "l")
        out["widgets"] = len(list(app.screen.walk_children()))
        out["title"] = app.title
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


def peer_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("minisweagent") is not None
    except Exception:
        return False


def generate(n: int, path: Path) -> Path:
    """A synthetic run of `n` iterations, written the way the loop writes it."""
    from agent.events import (
        AssistantMessage,
        IterationStarted,
        ReflectionNote,
        RunFinished,
        RunStarted,
        ToolResult,
        Trigger,
        Usage,
    )
    from agent.transcripts.transcript import TranscriptHeader, TranscriptWriter

    t0 = 1_700_000_000.0
    header = TranscriptHeader(created=t0, goal="bench", provider="bench", model="synthetic", task="bench")
    if path.exists():
        path.unlink()
    with TranscriptWriter(path, header) as w:
        w.write(RunStarted(ts=t0, messages=[{"role": "system", "content": "You are a coding agent."},
                                            {"role": "user", "content": "Make the tests pass."}]))
        size = 2
        for i in range(1, n + 1):
            w.write(IterationStarted(ts=t0 + i, iteration=i, request_size=size))
            failing = i % 10 == 0
            name = "run_tests" if failing else "read_file"
            cid = f"call_{i:06d}"
            args = "{}" if failing else json.dumps({"path": f"src/module_{i % 50}.py"})
            w.write(AssistantMessage(
                ts=t0 + i, iteration=i, latency_s=1.5, finish_reason="tool_calls", model="synthetic",
                usage=Usage(prompt_tokens=1000 + 10 * i, completion_tokens=60),
                message={"role": "assistant", "content": f"Iteration {i}: looking at the next module.",
                         "tool_calls": [{"id": cid, "type": "function",
                                         "function": {"name": name, "arguments": args}}]}))
            if failing:
                content = f"FAILED test_{i}.py::test_case - AssertionError\n1 failed, 9 passed"
            else:
                content = "\n".join(f"{k:4d}| value_{k} = compute({k}, {i})" for k in range(20))
            w.write(ToolResult(ts=t0 + i, iteration=i, tool_call_id=cid, name=name, arguments=args, content=content,
                               is_error=failing, duration_s=0.01,
                               message={"role": "tool", "tool_call_id": cid, "content": content}))
            size += 2
            if failing:
                note = "The test fails on an edge case; read it before editing."
                w.write(ReflectionNote(ts=t0 + i, iteration=i, role="system", content=note,
                                       triggers=[Trigger(kind="tool_error", evidence="1 failed")],
                                       messages=[{"role": "system", "content": note}]))
                size += 1
        # As the loop writes it: the run's tokens, summed.
        usage = Usage(prompt_tokens=sum(1000 + 10 * i for i in range(1, n + 1)), completion_tokens=60 * n)
        w.write(RunFinished(ts=t0 + n + 1, reason="max_steps", iterations=n, usage=usage))
    return path


def to_trajectory(jsonl: Path, out: Path) -> Path:
    """The same run in mini-swe-agent's trajectory format: the identical chat history."""
    from agent.transcripts.importers import open_transcript

    messages = open_transcript(jsonl).messages()
    out.write_text(json.dumps({"messages": messages, "info": {}}), encoding="utf-8")
    return out


def child_env() -> dict[str, str]:
    """The children may write bytecode: an installed package has it (pip compiles at install), and this
    tree's modules must not be compiled from source at every start when the peer's are not."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(code: str, path: Path) -> dict[str, float]:
    t_spawn = time.time()
    proc = subprocess.run([sys.executable, "-c", code, str(path), repr(t_spawn)], capture_output=True, text=True,
                          timeout=600, cwd=str(ROOT), env=child_env())
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[@-Z\\-_])")


def _vm_hwm(pid: int) -> float | None:
    """Peak RSS of a running process in MB (VmHWM; ru_maxrss from wait4 would include the parent's)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


FOOTER_KEY = b"Quit"
"""In both apps' footers (`q Quit`): drawn a refresh or two after the first frame, as Textual's Footer is."""


def run_pty(argv: list[str], marker: bytes, timeout: float = 60.0) -> dict[str, float]:
    """Run `argv` in a pseudo-terminal; time to the first frame showing `marker`, then to the first screen
    drawn whole (its footer's keys too), send q, time to exit."""
    import fcntl
    import pty
    import struct
    import termios

    env = dict(child_env(), TERM="xterm-256color", COLUMNS=str(SIZE[0]), LINES=str(SIZE[1]))
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real terminal of SIZE
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    first: float | None = None
    drawn: float | None = None
    whole: float | None = None
    rss: float | None = None
    retried = False
    screen = b""
    try:
        while time.perf_counter() - t0 < timeout:
            ready, _, _ = select.select([fd], [], [], 0.02)
            if ready:
                try:
                    data = os.read(fd, 1 << 16)
                except OSError:
                    data = b""
                screen = (screen + data)[-(1 << 20):]
                if drawn is None and data:
                    plain = ANSI.sub(b"", screen)
                    if first is None and marker in plain:
                        first = time.perf_counter() - t0
                    if first is not None and FOOTER_KEY in plain:
                        drawn = time.perf_counter() - t0
                        os.write(fd, b"q")
            if first is not None:
                rss = _vm_hwm(pid) or rss
            done, _status, _ = os.wait4(pid, os.WNOHANG)
            if done:
                whole = time.perf_counter() - t0
                break
            if drawn is not None and not retried and time.perf_counter() - t0 > drawn + 5:
                os.write(fd, b"q")  # once more, in case the first one came before the app listened
                retried = True
    finally:
        if whole is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    if first is None or drawn is None or whole is None:
        raise RuntimeError(f"{argv}: no first screen (or no exit) within {timeout}s; last output: "
                           f"{ANSI.sub(b'', screen)[-500:]!r}")
    return {"pty_first_s": first, "pty_drawn_s": drawn, "pty_whole_s": whole, "pty_rss_mb": rss or 0.0}


def run_snapshot(cli: str, path: Path | str, out: Path, key: str = "snapshot") -> dict[str, float]:
    """Whole process: spawn `agent-tui open FILE --snapshot OUT.svg` to the SVG written (it appears whole:
    written beside, then renamed); the process's own exit after that is not counted. `KEY_rss_mb`: its peak
    RSS (VmHWM) up to then."""
    if out.exists():
        out.unlink()
    t0 = time.perf_counter()
    proc = subprocess.Popen([cli, "open", str(path), "--snapshot", str(out), "--size", f"{SIZE[0]}x{SIZE[1]}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env())
    written = None
    rss = 0.0
    while written is None and time.perf_counter() - t0 < 600:
        rss = _vm_hwm(proc.pid) or rss
        if out.exists():
            written = time.perf_counter() - t0
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.002)
    _, err = proc.communicate(timeout=600)
    if written is None or proc.returncode != 0:
        raise RuntimeError(f"agent-tui open --snapshot failed: {err[-2000:]}")
    return {f"{key}_s": written, f"{key}_rss_mb": rss}


def inspect_log(path: Path, samples: int = 100, turns: int = 50) -> Path:
    """An Inspect `.eval` log in the layout Inspect writes (header, summaries, one file per sample), of
    `samples` samples of `turns` tool-calling turns each."""
    import zipfile

    def sample(i: int) -> dict:
        messages = [{"role": "user", "content": f"Task {i}: make the tests pass.", "source": "input"}]
        for t in range(turns):
            cid = f"call_{i}_{t}"
            messages.append({"role": "assistant", "content": f"Turn {t}: reading a module.", "model": "m",
                             "tool_calls": [{"id": cid, "function": "bash", "arguments": {"cmd": f"cat m{t}.py"},
                                             "type": "function"}]})
            messages.append({"role": "tool", "tool_call_id": cid, "function": "bash",
                             "content": "\n".join(f"{k:4d}| line {k} of module {t}" for k in range(20))})
        return {"id": i, "epoch": 1, "input": messages[0]["content"], "target": "pass", "messages": messages,
                "scores": {"match": {"value": "C" if i % 3 else "I"}}, "model_usage": {"m": {"input_tokens": 1000,
                "output_tokens": 100}}, "metadata": {}, "events": []}

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("header.json", json.dumps({"version": 2, "status": "success",
                                              "eval": {"task": "bench", "model": "m", "created": "2026-01-01T00:00:00+00:00"}}))
        summaries = []
        for i in range(1, samples + 1):
            data = sample(i)
            z.writestr(f"samples/{i}_epoch_1.json", json.dumps(data))
            summaries.append({k: data[k] for k in ("id", "epoch", "input", "target", "scores", "model_usage")})
        z.writestr("summaries.json", json.dumps(summaries))
    return path


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in runs[0]:
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if values:
            out[key] = statistics.median(values)
        else:
            out[key] = runs[0][key]
    return out


def fmt(value: float | None, unit: str, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are shown")
    parser.add_argument("--no-pty", action="store_true", help="skip the whole-process runs in a pseudo-terminal")
    parser.add_argument("--no-peer", action="store_true", help="measure agent-tui only")
    parser.add_argument("--keep", type=Path, default=None, help="write the transcripts here and keep them")
    parser.add_argument("--no-eval", action="store_true", help="skip the Inspect .eval log of 100 samples")
    parser.add_argument("--footer", action="store_true", help="also ours with Textual's Footer instead of KeyBar")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-tui-"))
    folder.mkdir(parents=True, exist_ok=True)
    peer = not args.no_peer and peer_available()
    bindir = Path(sys.executable).parent
    ours_cli = shutil.which("agent-tui", path=str(bindir)) or shutil.which("agent-tui")
    peer_cli = shutil.which("mini-extra", path=str(bindir)) or shutil.which("mini-extra")
    ours_code = OURS.format(root=str(ROOT), size=SIZE, presses=PRESSES)
    footer_code = ours_code.replace("from tui.collector import starting\n", "from tui.collector import starting\n"
                                    "import textual.widgets, tui.widgets.key_bar\n"
                                    "tui.widgets.key_bar.KeyBar = textual.widgets.Footer  # before the screens\n")
    peer_code = PEER.format(root=str(ROOT), size=SIZE, presses=PRESSES)
    rows = []
    paired: dict[int, dict[str, float]] = {}
    """Per size: the median of the run-by-run ratios of our snapshot to the peer's screen (robust to the
    machine's speed drifting between rounds, which a ratio of medians is not)."""
    try:
        for n in args.sizes:
            path = generate(n, folder / f"synthetic-{n}.jsonl")
            traj = to_trajectory(path, folder / f"synthetic-{n}.traj.json")
            bare = folder / f"synthetic-{n}.json"
            bare.write_text(json.dumps(json.loads(traj.read_text(encoding="utf-8"))["messages"]), encoding="utf-8")
            # The two apps take turns, run by run, so that a change in the machine's load touches both.
            jobs = {"agent-tui": [lambda: run_child(ours_code, path)]}
            if args.footer:
                jobs["with Footer"] = [lambda: run_child(footer_code, path)]
            if ours_cli:
                svg = folder / f"synthetic-{n}.svg"
                jobs["agent-tui"].append(lambda: run_snapshot(ours_cli, path, svg))
                # The peer's own files, opened by agent-tui: the bare message list and the trajectory.
                jobs["agent-tui"].append(lambda: run_snapshot(ours_cli, bare, svg, "list"))
                jobs["agent-tui"].append(lambda: run_snapshot(ours_cli, traj, svg, "traj"))
            if not args.no_pty and ours_cli:
                jobs["agent-tui"].append(lambda: run_pty([ours_cli, "open", str(path)], b"Make the tests pass."))
                # The peer's own files in a real terminal too: our first frame beside the inspector's.
                for fmt_, doc in (("list", bare), ("traj", traj)):
                    jobs["agent-tui"].append(lambda fmt_=fmt_, doc=doc: {
                        f"{fmt_}_{k}": v for k, v in run_pty([ours_cli, "open", str(doc)], b"Make the tests pass.").items()})
            if peer:
                jobs["mini-swe-agent"] = [lambda: run_child(peer_code, traj)]
                if not args.no_pty and peer_cli:
                    jobs["mini-swe-agent"].append(lambda: run_pty([peer_cli, "inspector", str(traj)], b"Step 1/"))
            results: dict[str, list[dict[str, float]]] = {app: [] for app in jobs}
            for app, fns in jobs.items():
                for fn in fns:
                    fn()  # warm-up: bytecode written, the file in the page cache
            for _ in range(args.runs):
                for app, fns in jobs.items():
                    merged: dict[str, float] = {}
                    for fn in fns:
                        merged.update(fn())
                    results[app].append(merged)
            sizes = {"agent-tui": path.stat().st_size / 1e6, "with Footer": path.stat().st_size / 1e6,
                     "mini-swe-agent": traj.stat().st_size / 1e6}
            for app, runs in results.items():
                rows.append((app, n, sizes[app], median_of(runs)))
            for ours_run, peer_run in zip(results["agent-tui"], results.get("mini-swe-agent", [])):
                for key in ("pty_drawn_s", "pty_first_s"):
                    if ours_run.get("snapshot_s") and peer_run.get(key):
                        paired.setdefault(n, {}).setdefault(key, []).append(ours_run["snapshot_s"] / peer_run[key])
                    for fmt_ in ("list", "traj"):
                        if ours_run.get(f"{fmt_}_s") and peer_run.get(key):
                            paired.setdefault(n, {}).setdefault(f"{fmt_}/{key}", []).append(
                                ours_run[f"{fmt_}_s"] / peer_run[key])
                        if ours_run.get(f"{fmt_}_{key}") and peer_run.get(key):
                            paired.setdefault(n, {}).setdefault(f"{fmt_}_pty/{key}", []).append(
                                ours_run[f"{fmt_}_{key}"] / peer_run[key])
                if ours_run.get("traj_rss_mb") and peer_run.get("pty_rss_mb"):
                    for fmt_ in ("list", "traj"):
                        paired.setdefault(n, {}).setdefault(f"{fmt_}/rss", []).append(
                            ours_run[f"{fmt_}_rss_mb"] / peer_run["pty_rss_mb"])
            print(f"  {n:>7,} iterations measured (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)

    head = (f"{'iterations':>10}  {'app':<15}{'file':>8}  {'first screen':>12}  {'all read':>8}  {'peak RSS':>8}  {'step':>8}  "
            f"{'expand':>8}  {'j':>8}  {'pty first':>9}  {'pty drawn':>9}  {'pty whole':>9}  {'pty RSS':>8}")
    print(f"key→screen latencies are means over {PRESSES} presses; other figures are medians of {args.runs} runs")
    print(head)
    print("-" * len(head))
    for app, n, mb, r in rows:
        print(f"{n:>10,}  {app:<15}{mb:>5.1f} MB  {r['first_screen_s']:>11.3f}s  {fmt(r.get('all_read_s'), 's', 2):>8}  "
              f"{r['peak_rss_mb']:>5.0f} MB  "
              f"{fmt(r.get('step_ms'), 'ms'):>8}  {fmt(r.get('expand_ms'), 'ms'):>8}  {fmt(r.get('j_ms'), 'ms'):>8}  "
              f"{fmt(r.get('pty_first_s'), 's', 3):>9}  {fmt(r.get('pty_drawn_s'), 's', 3):>9}  "
              f"{fmt(r.get('pty_whole_s'), 's', 3):>9}  "
              f"{fmt(r.get('pty_rss_mb'), 'MB', 0):>8}")
    for app, n, _, r in rows:
        print(f"({app} at {n:,} iterations: an unbound key, key→screen, {r['overhead_ms']:.2f} ms; "
              f"{r['widgets']} widgets on screen)")
    by_size: dict[int, dict[str, dict[str, float]]] = {}
    for app, n, _, r in rows:
        by_size.setdefault(n, {})[app] = r
    if any("snapshot_s" in apps.get("agent-tui", {}) for apps in by_size.values()):
        print()
        print("whole process, from spawn (medians): agent-tui `open FILE --snapshot OUT.svg` to the SVG written (its first")
        print("screen drawn whole, footer keys included, then exported); mini-swe-agent `mini-extra inspector")
        print("FILE.traj.json` in a pseudo-terminal to its first frame showing the run (`Step 1/`), and to its first")
        print("screen drawn whole (its footer's keys too: the same point agent-tui's snapshot waits for)")
        print(f"{'iterations':>10}  {'agent-tui --snapshot':>20}  {'inspector first frame':>21}  "
              f"{'inspector drawn':>15}  {'ratio to drawn':>14}  {'to first frame':>14}   (ratios: run by run)")
        for n, apps in by_size.items():
            ours = apps.get("agent-tui", {}).get("snapshot_s")
            peer = apps.get("mini-swe-agent", {})
            first, drawn = peer.get("pty_first_s"), peer.get("pty_drawn_s")
            ratios = {key: f"{statistics.median(values):.2f}x" for key, values in paired.get(n, {}).items()}
            to_drawn, to_first = ratios.get("pty_drawn_s", "—"), ratios.get("pty_first_s", "—")
            print(f"{n:>10,}  {fmt(ours, 's', 3):>20}  {fmt(first, 's', 3):>21}  {fmt(drawn, 's', 3):>15}  "
                  f"{to_drawn:>14}  {to_first:>14}")
    if any("list_s" in apps.get("agent-tui", {}) for apps in by_size.values()):
        print()
        print("the peer's own files, whole process (targets: time <= 1.0x the inspector's, peak RSS at 10,000 <= 1.2x):")
        print("agent-tui `open FILE --snapshot` on the bare message list (.json) and on the trajectory (.traj.json),")
        print("against `mini-extra inspector FILE.traj.json` drawn whole / first frame, and its peak RSS (ratios run by run);")
        print("pty: `agent-tui open FILE` in a pseudo-terminal, its first frame (keys included) against the inspector's")
        print(f"{'iterations':>10}  {'file':<6}  {'agent-tui':>9}  {'to drawn':>8}  {'to first':>8}  {'RSS':>7}  {'RSS ratio':>9}"
              f"  {'pty first':>9}  {'to drawn':>8}  {'to first':>8}")
        for n, apps in by_size.items():
            ours = apps.get("agent-tui", {})
            for fmt_ in ("list", "traj"):
                ratios = {k: f"{statistics.median(v):.2f}x" for k, v in paired.get(n, {}).items()}
                print(f"{n:>10,}  {fmt_:<6}  {fmt(ours.get(f'{fmt_}_s'), 's', 3):>9}  "
                      f"{ratios.get(f'{fmt_}/pty_drawn_s', '—'):>8}  {ratios.get(f'{fmt_}/pty_first_s', '—'):>8}  "
                      f"{fmt(ours.get(f'{fmt_}_rss_mb'), 'MB', 0):>7}  {ratios.get(f'{fmt_}/rss', '—'):>9}  "
                      f"{fmt(ours.get(f'{fmt_}_pty_first_s'), 's', 3):>9}  "
                      f"{ratios.get(f'{fmt_}_pty/pty_drawn_s', '—'):>8}  {ratios.get(f'{fmt_}_pty/pty_first_s', '—'):>8}")
    if ours_cli and not args.no_eval:
        where = args.keep or Path(tempfile.mkdtemp(prefix="bench-eval-"))
        log = inspect_log(where / "bench-100x50.eval")
        listing, sample = [], []
        for _ in range(args.runs):  # taking turns, as above
            listing.append(run_snapshot(ours_cli, log, log.with_suffix(".list.svg"), "list"))
            sample.append(run_snapshot(ours_cli, f"{log}#1_epoch_1", log.with_suffix(".one.svg"), "one"))
        print()
        print(f"an Inspect .eval of 100 samples x 50 turns ({log.stat().st_size / 1e6:.1f} MB), whole process "
              "(targets: the list < 1 s, a sample's first screen < 1 s more):")
        print(f"  sample list {statistics.median(r['list_s'] for r in listing):.3f} s, "
              f"one sample's first screen {statistics.median(r['one_s'] for r in sample):.3f} s "
              f"(peak RSS {statistics.median(r['one_rss_mb'] for r in sample):.0f} MB)")
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)
    print(f"\nthe machine's load (1-minute average): {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
          f"({os.cpu_count()} cores)")
    if not peer:
        why = "--no-peer" if args.no_peer else "mini-swe-agent is not installed (pip install mini-swe-agent)"
        print(f"peer columns skipped: {why}")


if __name__ == "__main__":
    main()
