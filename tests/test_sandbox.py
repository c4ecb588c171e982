"""The sandbox of the commands the agent causes, and the environment they get: each test is an attack.

Tests that need bubblewrap fail when it is missing and `AGENT_TUI_REQUIRE_SANDBOX=1` (CI sets it, and
installs bubblewrap); elsewhere they are skipped with the reason shown.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from agent.cli import commands as cli
from agent.tools.sandbox import Sandbox, SandboxError, choose_sandbox, process_limit
from agent.tools.scratch import keep, sweep
from agent.tools.workspace import Workspace
from agent.transcripts.importers import open_transcript
from tests.conftest import call, make_deep, reply, write_script

pytestmark = pytest.mark.real_pytest  # about running the tasks' tests: pytest itself, not the stand-in

REPO = Path(__file__).resolve().parent.parent
SECRETS = {"OPENAI_API_KEY": "sk-secret-openai", "PGPASSWORD": "pg-secret", "MYSQL_PWD": "mysql-secret",
           "DATABASE_URL": "postgres://u:db-secret@h/d", "GH_PAT": "ghp-secret", "SLACK_WEBHOOK_URL":
           "https://hooks.example/slack-secret", "SENTRY_DSN": "https://sentry-secret@o1.example/1",
           "AUTH": "auth-secret", "API_KEYS": "keys-secret"}
"""Names a deny-list of *_KEY / *_TOKEN / *_SECRET misses, and one it catches."""


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def leaked(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def sandboxes() -> list[str]:
    return ["none", "bwrap"]


def make_sandbox(mode: str, request: pytest.FixtureRequest, pass_env: tuple[str, ...] = ()) -> Sandbox:
    if mode == "bwrap":
        return Sandbox("bwrap", request.getfixturevalue("bwrap").bwrap, pass_env)
    return Sandbox("none", None, pass_env)


# --- the environment: an allow-list -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", sandboxes())
async def test_commands_get_only_the_allow_list(tmp_path: Path, secrets: None, mode: str,
                                                request: pytest.FixtureRequest,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("MY_SETTING", "passed-on-purpose")
    ws = Workspace(tmp_path, make_sandbox(mode, request, pass_env=("MY_SETTING", "NOT_SET_ANYWHERE")))
    result = await ws.run("env")
    env = dict(line.split("=", 1) for line in result.output.splitlines() if "=" in line)
    assert leaked(result.output) == []
    assert env["HOME"] == str(ws.root) and env["TMPDIR"].startswith(str(ws.root) + "/")
    assert env["LANG"] == "C.UTF-8" and env["MY_SETTING"] == "passed-on-purpose" and "PATH" in env
    assert set(env) <= {"PATH", "LANG", "TERM", "HOME", "TMPDIR", "MY_SETTING", "PWD", "SHLVL", "_", "OLDPWD"}
    assert not (ws.root / ".agent-tui-tmp").exists()  # TMPDIR goes with the command


async def test_a_command_cannot_read_the_environment_of_its_parents(tmp_path: Path, bwrap: Sandbox) -> None:
    """`cat /proc/$PPID/environ` gave every key: in the sandbox the parent is bwrap (PID 1), started with
    the command's own environment."""
    ws = Workspace(tmp_path, bwrap)
    env = {**os.environ, **SECRETS}
    code = ("import asyncio, sys; from agent.tools.workspace import Workspace; from agent.tools.sandbox import "
            "choose_sandbox; ws = Workspace(sys.argv[1], choose_sandbox('bwrap')[0]); "
            "print(asyncio.run(ws.run('cat /proc/$PPID/environ; echo; cat /proc/1/environ; echo; "
            "for p in /proc/[0-9]*; do cat $p/environ; done')).output)")
    done = subprocess.run([sys.executable, "-c", code, str(ws.root)], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "PATH=" in done.stdout  # the files were read: they hold the allow-list and nothing else
    assert leaked(done.stdout) == []


def test_a_headless_run_keeps_every_key_out_of_the_transcript(tmp_path: Path, bwrap: Sandbox) -> None:
    """The audit's attack end to end: the model writes a conftest.py that prints the parent's environment,
    then runs the tests; the keys would go into the transcript and to the provider."""
    ws = tmp_path / "ws"
    ws.mkdir()
    spy = "import os\nprint(open(f'/proc/{os.getppid()}/environ').read())\nprint(dict(os.environ))\n"
    script = write_script(tmp_path / "script.json", [
        reply(None, call("c1", "write_file", path="conftest.py", content=spy)),
        reply(None, call("c2", "run_tests")),
        reply(None, call("c3", "finish", summary="done")),
    ])
    out = tmp_path / "run.jsonl"
    env = {**os.environ, **SECRETS}
    done = subprocess.run([sys.executable, "-m", "agent.cli", "run", "--headless", "--workspace", str(ws),
                           "--goal", "g",
                           "--test-cmd", f"cat /proc/$PPID/environ; env; {sys.executable} -c 'import conftest'",
                           "--provider", "scripted", "--script", str(script), "--reflection", "off",
                           "--out", str(out)], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    text = out.read_text()
    assert "HOME=" + str(ws) in text  # the commands ran and printed what they could see
    assert leaked(text) == [] and leaked(done.stdout + done.stderr) == []


# --- what the sandbox hides and stops ------------------------------------------------------------------------


async def test_the_sandbox_hides_home_and_tmp_and_the_network(tmp_path: Path, bwrap: Sandbox) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (tmp_path / "beside.txt").write_text("beside the workspace\n")
    home = Path(os.path.expanduser("~"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    ws = Workspace(root, bwrap)
    try:
        result = await ws.run(
            f"cat {tmp_path}/beside.txt; ls -A {home} | sed 's/^/home:/'; "
            f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2)' 2>&1 | tail -1; "
            "touch /usr/x 2>&1; echo made > made.txt; echo pid=$$")
    finally:
        listener.close()
    out = result.output
    assert "beside the workspace" not in out and "No such file" in out  # the rest of /tmp is absent
    # of the home folder, only the way to the Python installation the tests run with is there
    interpreter = {Path(p).resolve().relative_to(home).parts[0] for p in (sys.prefix, sys.base_prefix)
                   if Path(p).resolve().is_relative_to(home)}
    shown = {line[5:] for line in out.splitlines() if line.startswith("home:")}
    assert shown <= interpreter and set(os.listdir(home)) - interpreter - shown == set(os.listdir(home)) - interpreter
    assert "Connection refused" in out or "unreachable" in out  # its own network: nobody listens there
    assert "Read-only file system" in out  # the system is read-only
    assert (root / "made.txt").read_text() == "made\n"  # the workspace is writable
    assert "pid=2" in out  # its own PID namespace: bwrap is 1, the shell 2


DAEMON = "import sys, time\nopen(sys.argv[1], 'w').write('up\\n')\ntime.sleep(1000)\n"
"""Says it runs by writing to the FIFO named first, then sleeps; the second argument marks it."""


async def test_a_command_cannot_hard_link_a_system_file_into_the_workspace(tmp_path: Path,
                                                                          bwrap: Sandbox) -> None:
    """A hard link gave read_file a file outside the workspace: in the sandbox the mounts differ."""
    ws = Workspace(tmp_path, bwrap)
    result = await ws.run("ln /etc/passwd linked")
    assert not result.ok and "Invalid cross-device link" in result.output
    assert not (ws.root / "linked").exists()


def _daemons(root: Path) -> tuple[str, str]:
    """(marker, the command that starts the daemon with FIFO F: `{} F`) in workspace `root`."""
    (root / "daemon.py").write_text(DAEMON)
    marker = f"marker-{uuid.uuid4().hex}"
    return marker, f"{sys.executable} daemon.py {{}} {marker}"


def _marked(marker: str) -> list[int]:
    """The pids of the processes whose last argument is `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().endswith(f"\0{marker}\0".encode()):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """The pids of `pids` still alive after waiting up to `timeout` for each to exit (pidfd: no polling)."""
    alive = []
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            if not select.select([fd], [], [], timeout)[0]:
                alive.append(pid)
        finally:
            os.close(fd)
    return alive


def _read_fifo(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    """The line a process writes to FIFO `path`. The FIFO is opened without waiting for a writer (a plain
    open blocks until one comes: forever, when the run failed before it started the process), and the
    wait fails as soon as `proc` has ended or `timeout` has passed."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\n"):
            assert time.monotonic() < deadline, f"nothing written to {path.name} in {timeout:g} s"
            if select.select([fd], [], [], 0.2)[0]:
                chunk = os.read(fd, 256)
                if not chunk:  # the writer closed it
                    break
                data += chunk
            elif not data:
                assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before {path.name} was written"
        return data.decode()
    finally:
        os.close(fd)


async def test_a_setsid_child_ends_with_its_command(tmp_path: Path, bwrap: Sandbox) -> None:
    ws = Workspace(tmp_path, bwrap)
    os.mkfifo(ws.root / "ready")
    marker, daemon = _daemons(ws.root)
    # the command waits until its daemon runs, then returns, leaving it behind
    result = await ws.run(f"setsid {daemon.format('ready')} & read up < ready; echo left $up")
    assert result.ok and "left up" in result.output, result.output
    assert _wait_gone(_marked(marker), 10) == []


async def test_a_timed_out_command_ends_with_its_children(tmp_path: Path, bwrap: Sandbox) -> None:
    ws = Workspace(tmp_path, bwrap)
    os.mkfifo(ws.root / "ready")
    marker, daemon = _daemons(ws.root)
    result = await ws.run(f"setsid {daemon.format('ready')} & read up < ready; echo $up; sleep 60", timeout=3)
    assert result.timed_out and "up" in result.output
    assert _wait_gone(_marked(marker), 10) == []


def test_a_sigkilled_run_leaves_no_command_running(tmp_path: Path, bwrap: Sandbox) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    os.mkfifo(ws / "daemon-up")
    os.mkfifo(ws / "command-up")
    marker, daemon = _daemons(ws)
    script = write_script(tmp_path / "script.json", [reply(None, call("c1", "run_tests"))])
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--headless", "--workspace", str(ws),
                             "--goal", "g", "--test-cmd",
                             f"setsid {daemon.format('daemon-up')} & {daemon.format('command-up')}; echo done",
                             "--provider", "scripted", "--script", str(script), "--reflection", "off",
                             "--out", str(tmp_path / "run.jsonl")], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for fifo in ("daemon-up", "command-up"):  # each says when that process runs
            assert _read_fifo(ws / fifo, proc) == "up\n"
        running = _marked(marker)
        assert len(running) == 2  # the command and its setsid daemon
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _wait_gone(running, 10) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- choosing the sandbox -----------------------------------------------------------------------------------


def test_without_bwrap_runs_are_unsandboxed_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    sandbox, warning = choose_sandbox(None)
    assert sandbox.mode == "none" and "WITHOUT a sandbox" in warning and "apt-get install bubblewrap" in warning
    with pytest.raises(SandboxError, match="bubblewrap is not installed"):
        choose_sandbox("bwrap")
    assert cli.main(["run", "--headless", "--sandbox", "bwrap", "--out", str(tmp_path / "r.jsonl")]) == 2
    assert "--sandbox bwrap: bubblewrap is not installed" in capsys.readouterr().err
    assert cli.main(["run", "--headless", "--max-steps", "1", "--out", str(tmp_path / "r.jsonl")]) == 1
    printed = capsys.readouterr().out
    assert printed.index("warning: commands run WITHOUT a sandbox") < printed.index("iteration 1")
    transcript = open_transcript(tmp_path / "r.jsonl")
    assert transcript.header.settings["sandbox"] == "none"
    assert transcript.events[0].level == "warning" and "WITHOUT a sandbox" in transcript.events[0].text


def test_headless_runs_use_bwrap_and_remove_their_workspace(tmp_path: Path, bwrap: Sandbox,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--headless", "--out", str(tmp_path / "r.jsonl")]) == 0
    header = open_transcript(tmp_path / "r.jsonl").header
    assert header.settings["sandbox"] == "bwrap"
    assert not Path(header.workspace).exists() and "removed the temporary workspace" in capsys.readouterr().out
    assert cli.main(["run", "--headless", "--keep-workspace", "--out", str(tmp_path / "k.jsonl")]) == 0
    kept = Path(open_transcript(tmp_path / "k.jsonl").header.workspace)
    assert (kept / "quicksort.py").is_file()
    shutil.rmtree(kept)


@pytest.mark.parametrize("keep", [False, True])
def test_the_app_removes_its_temporary_workspace_too(monkeypatch: pytest.MonkeyPatch, keep: bool,
                                                     tmp_path: Path) -> None:
    import tui.main

    shown: list[Any] = []
    monkeypatch.setattr(tui.main, "_show", lambda screen, args: shown.append(screen.run_handle) or 0)
    argv = ["run", "--out", str(tmp_path / "r.jsonl"), *(["--keep-workspace"] if keep else [])]
    assert tui.main.main(argv) == 0
    [run] = shown
    assert run.workspace.exists() == keep
    shutil.rmtree(run.workspace, ignore_errors=True)


def test_pass_env_takes_names_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--headless", "--pass-env", "A=1"]) == 2
    assert "--pass-env 'A=1': give a variable name" in capsys.readouterr().err


# --- the agent-tui process itself ---------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_DUMPABLE is Linux's")
@pytest.mark.parametrize("protect", [False, True])
def test_a_same_user_process_cannot_read_agent_tui_environment(protect: bool) -> None:
    """Outside a sandbox, a command of the same user could read /proc/<agent-tui>/environ; not once the
    process is non-dumpable. Runs as nobody when the tests run as root (root may read any process)."""
    code = ("import os, subprocess, sys; sys.path.insert(0, sys.argv[1]); "
            "from agent.tools.sandbox import make_undumpable; "
            "sys.argv[2] == 'True' and make_undumpable(); "
            "r = subprocess.run(['cat', f'/proc/{os.getpid()}/environ'], capture_output=True); "
            "print(r.returncode, b'SECRET_MARKER' in r.stdout)")
    argv = ["/usr/bin/python3", "-c", code, str(REPO), str(protect)]
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    done = subprocess.run(argv, env={"PATH": os.defpath, "SECRET_MARKER": "x"}, capture_output=True, text=True,
                          timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == (["1", "False"] if protect else ["0", "True"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_DUMPABLE is Linux's")
def test_the_cli_makes_itself_undumpable() -> None:
    code = ("import ctypes; from agent.cli.commands import main; main(['tasks']); "
            "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))")  # 3: PR_GET_DUMPABLE
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "0"  # PR_GET_DUMPABLE



# --- wherever Python lives ----------------------------------------------------------------------------------


def _headless_demo(python: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "agent.cli", "run", "--headless", "--task", "quicksort", "--sandbox",
                           "bwrap", "--reflection", "off", "--out", str(tmp_path / "demo.jsonl")],
                          cwd=tmp_path, env=env or dict(os.environ), capture_output=True, text=True, timeout=300)


def _our_packages(folder: Path) -> None:
    """Make the interpreter whose site folder is `folder` find agent-tui and pytest where they are installed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agent_tui_here.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")


def test_the_demo_passes_from_a_virtualenv_under_tmp(bwrap: Sandbox) -> None:
    """CI images and throw-away set-ups keep the virtualenv under /tmp, which the sandbox's private /tmp
    once hid: every run_tests said `python3: not found`."""
    venv = Path(tempfile.mkdtemp(prefix="venv-under-tmp-", dir="/tmp"))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        _our_packages(Path(subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig."
                                           "get_paths()['purelib'])"], capture_output=True, text=True,
                                          check=True).stdout.strip()))
        done = _headless_demo(str(venv / "bin" / "python"), venv)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
        assert "not found" not in done.stdout and "tests pass" in done.stdout
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def test_the_demo_passes_with_its_packages_in_the_user_site(bwrap: Sandbox, tmp_path: Path) -> None:
    """`pip install --user`: the packages are in the user site, which moves with HOME (the workspace,
    inside the sandbox) unless the command is told where it is."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    user_base = tmp_path / "userbase"
    env = {**os.environ, "PYTHONUSERBASE": str(user_base)}
    user_site = subprocess.run([base, "-c", "import site; print(site.getusersitepackages())"], env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
    _our_packages(Path(user_site))
    done = _headless_demo(str(base), tmp_path, env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "tests pass" in done.stdout


async def test_a_package_on_pythonpath_is_found_in_the_sandbox(bwrap: Sandbox, tmp_path: Path) -> None:
    extra = Path(tempfile.mkdtemp(prefix="pythonpath-", dir="/tmp"))
    try:
        (extra / "elsewhere_pkg.py").write_text("WHERE = 'found'\n")
        probe = (f"from agent.tools.workspace import Workspace; from agent.tools.sandbox import choose_sandbox; "
                 f"import asyncio; ws = Workspace({str(tmp_path)!r}, choose_sandbox('bwrap')[0]); "
                 f"r = asyncio.run(ws.run({sys.executable!r} + ' -c \"import elsewhere_pkg; "
                 f"print(elsewhere_pkg.WHERE)\"')); print(r.output)")
        done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(extra)},
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert "found" in done.stdout, done.stdout + done.stderr
    finally:
        shutil.rmtree(extra, ignore_errors=True)


def test_bwrap_refused_by_the_kernel_falls_back_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Ubuntu 24.04 lets bwrap be installed but refuses its user namespace (AppArmor)."""
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\ncase \"$1\" in --help) echo usage; exit 0;; esac\n"
                    "echo 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    sandbox, warning = choose_sandbox(None)
    assert sandbox.mode == "none" and warning is not None
    assert "user namespaces are refused" in warning and "apparmor" in warning.lower()
    with pytest.raises(SandboxError, match="user namespaces are refused"):
        choose_sandbox("bwrap")
    assert cli.main(["run", "--headless", "--max-steps", "1", "--out", str(tmp_path / "r.jsonl")]) == 1
    printed = capsys.readouterr().out
    assert printed.count("user namespaces are refused") == 1


# --- what a command may not do to the machine ---------------------------------------------------------------


async def test_a_fork_bomb_stops_at_the_process_cap(tmp_path: Path, bwrap: Sandbox) -> None:
    limit = process_limit()
    if limit.cgroup is None and limit.prlimit is None:
        pytest.skip(f"no way to cap processes here: {limit.described}")
    result = await Workspace(tmp_path, bwrap).run("bomb() { bomb | bomb & }; bomb; sleep 2; echo outlived",
                                                  timeout=60)
    assert not result.timed_out and "outlived" in result.output
    assert "fork" in result.output.lower()  # the shell said it could not fork: the cap held


def test_what_killed_runs_left_is_swept_at_the_next_start(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    root.mkdir()
    dead = _a_dead_pid()
    left = root / f"quicksort-{dead}-abc123"
    kept = root / f"quicksort-{dead}-kept42"
    mine = root / f"verdict-quicksort-{os.getpid()}-xyz"
    for folder in (left, kept, mine):
        folder.mkdir()
        (folder / "quicksort.py").write_text("x\n")
    make_deep(left, 1500)
    keep(kept)
    assert sweep(root) == 1
    assert not left.exists() and kept.exists() and mine.exists()


def test_a_sigkilled_run_leaves_a_workspace_that_the_next_command_removes(tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json", [reply(None, call("c1", "run_tests"))])
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--headless", "--task", "quicksort",
                             "--test-cmd", "sleep 60", "--provider", "scripted", "--script", str(script),
                             "--reflection", "off", "--out", str(tmp_path / "run.jsonl")], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scratch = tmp_path / f"agent-tui-{os.getuid()}"
    try:
        deadline = time.monotonic() + 60
        while not list(scratch.glob(f"quicksort-{proc.pid}-*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(scratch.glob(f"quicksort-{proc.pid}-*"))
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(scratch.glob(f"quicksort-{proc.pid}-*"))  # SIGKILL cleans nothing up
    subprocess.run([sys.executable, "-m", "agent.cli", "tasks"], cwd=REPO, env=env, capture_output=True,
                   timeout=120, check=True)
    assert not list(scratch.glob(f"quicksort-{proc.pid}-*"))


def _a_dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("mode", sandboxes())
def test_sigterm_during_run_tests_ends_the_run_without_a_traceback(tmp_path: Path, mode: str,
                                                                   request: pytest.FixtureRequest) -> None:
    if mode == "bwrap":
        request.getfixturevalue("bwrap")
    ws = tmp_path / "ws"
    ws.mkdir()
    script = write_script(tmp_path / "script.json", [reply(None, call("c1", "run_tests"))])
    out = tmp_path / "run.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--headless", "--workspace", str(ws),
                             "--goal", "g", "--test-cmd", f"touch started; {sys.executable} -c 'import time; "
                             "time.sleep(60)'", "--sandbox", mode, "--provider", "scripted", "--script",
                             str(script), "--out", str(out)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (ws / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in err and "Event loop is closed" not in err, err
    assert open_transcript(out).events[-1].reason == "cancelled"
