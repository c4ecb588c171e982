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
import uuid
from pathlib import Path
from typing import Any

import pytest

from agent.run import cli
from agent.tools.sandbox import Sandbox, SandboxError, choose_sandbox
from agent.tools.workspace import Workspace
from agent.transcripts.importers import open_transcript
from tests.conftest import call, reply, write_script

REPO = Path(__file__).resolve().parent.parent
SECRETS = {"OPENAI_API_KEY": "sk-secret-openai", "PGPASSWORD": "pg-secret", "MYSQL_PWD": "mysql-secret",
           "DATABASE_URL": "postgres://u:db-secret@h/d", "GH_PAT": "ghp-secret", "SLACK_WEBHOOK_URL":
           "https://hooks.example/slack-secret", "SENTRY_DSN": "https://sentry-secret@o1.example/1",
           "AUTH": "auth-secret", "API_KEYS": "keys-secret"}
"""Names a deny-list of *_KEY / *_TOKEN / *_SECRET misses, and one it catches."""


@pytest.fixture
def bwrap() -> Sandbox:
    """The bubblewrap sandbox, which CI must have."""
    try:
        return choose_sandbox("bwrap")[0]
    except SandboxError as exc:
        if os.environ.get("AGENT_TUI_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"AGENT_TUI_REQUIRE_SANDBOX=1 but {exc}")
        pytest.skip(f"needs bubblewrap: {exc}")


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
    done = subprocess.run([sys.executable, "-m", "agent.run.cli", "run", "--headless", "--workspace", str(ws),
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
    proc = subprocess.Popen([sys.executable, "-m", "agent.run.cli", "run", "--headless", "--workspace", str(ws),
                             "--goal", "g", "--test-cmd",
                             f"setsid {daemon.format('daemon-up')} & {daemon.format('command-up')}; echo done",
                             "--provider", "scripted", "--script", str(script), "--reflection", "off",
                             "--out", str(tmp_path / "run.jsonl")], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for fifo in ("daemon-up", "command-up"):  # each open blocks until that process runs
            assert (ws / fifo).read_text() == "up\n"
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
    code = ("import ctypes; from agent.run.cli import main; main(['tasks']); "
            "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))")  # 3: PR_GET_DUMPABLE
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "0"  # PR_GET_DUMPABLE

