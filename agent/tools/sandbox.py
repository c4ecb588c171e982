"""Where the commands the agent causes run: a bubblewrap sandbox, with an environment built from an allow-list.

The model writes code that `run_tests` then runs (a `conftest.py` is enough), so a command is hostile. On
Linux it runs under bubblewrap (`bwrap`) in new user, PID, IPC, network and UTS namespaces: the workspace is
bound read-write, the system folders and the Python interpreter read-only, `/tmp` is empty and private, the
user's home is absent. The PID namespace ends every process the command started (even `setsid` daemons)
when the command ends or agent-tui dies. bwrap itself starts with the command's environment (it is PID 1
inside, so its `/proc/1/environ` is readable there): that environment is an allow-list, never a copy of
ours minus the names that look secret.

Without bwrap the command runs directly (`--sandbox none`), with the same environment; every run then says
so once at its start.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Mapping

SandboxMode = Literal["bwrap", "none"]
SANDBOX_MODES: tuple[SandboxMode, ...] = ("bwrap", "none")

ALLOWED_ENV = ("PATH", "LANG", "TERM")
"""The variables a command gets from ours; HOME and TMPDIR are set to the workspace; `--pass-env` adds more."""

TMP_DIR = ".agent-tui-tmp"
"""TMPDIR of a command: a folder inside the workspace, removed when the command ends."""

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
"""Bound read-only into the sandbox (a symlink such as /bin -> usr/bin is recreated as a symlink)."""

NAMESPACES = ("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts")


class SandboxError(Exception):
    """The sandbox asked for cannot run here; the message says why and what to do instead."""


@dataclass(frozen=True)
class Sandbox:
    """How commands run: `mode`, the bwrap binary, and the variables the user lets through (`--pass-env`)."""

    mode: SandboxMode = "none"
    bwrap: str | None = None
    pass_env: tuple[str, ...] = ()

    def environ(self, root: Path, source: dict[str, str] | os._Environ[str] | None = None) -> dict[str, str]:
        """The command's whole environment: the allow-list, HOME and TMPDIR in the workspace, `pass_env`."""
        env = allowed_environ(self.pass_env, source)
        env["HOME"] = str(root)
        env["TMPDIR"] = str(root / TMP_DIR)
        return env

    def argv(self, cmd: str, root: Path) -> list[str]:
        """The program and arguments that run shell command `cmd` at `root`."""
        shell = ["/bin/sh", "-c", cmd]
        if self.mode == "none":
            return shell
        assert self.bwrap is not None
        return [self.bwrap, *bwrap_options(root), "--chdir", str(root), "--", *shell]


def allowed_environ(names: Iterable[str] = (), source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed variables of `source` (default: ours) and those in `names`, PATH always: what every
    process agent-tui starts gets of its environment (commands here, its own helpers in agent.tools.children),
    never a copy of it minus the names that look secret."""
    source = os.environ if source is None else source
    env = {name: source[name] for name in (*ALLOWED_ENV, *names) if name in source}
    env.setdefault("PATH", os.defpath)
    return env


def bwrap_options(root: Path) -> list[str]:
    """The namespaces and the file system of the sandbox (the workspace `root` read-write)."""
    opts = [*NAMESPACES, "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for top in SYSTEM_DIRS:
        if os.path.islink(top):
            opts += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            opts += ["--ro-bind", top, top]
    for prefix in _interpreter_dirs():
        opts += ["--ro-bind", prefix, prefix]
    opts += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", str(root), str(root)]
    return opts


def _interpreter_dirs() -> list[str]:
    """The Python installation and virtualenv the bundled tasks' tests run with (often under the home)."""
    found: list[str] = []
    for path in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        real = os.path.realpath(path)
        if os.path.isdir(real) and not any(real == s or real.startswith(s + "/") for s in SYSTEM_DIRS):
            found.append(real)
            if real != path:
                found.append(path)
    return sorted(set(found))


@functools.cache
def _probe(bwrap: str) -> str | None:
    """None when bwrap can build the sandbox here, else what it said (user namespaces may be disabled)."""
    root = Path(os.path.realpath("/tmp"))
    try:
        done = subprocess.run([bwrap, *bwrap_options(root), "--", "/bin/true"], env={"PATH": os.defpath},
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    return " ".join(done.stderr.decode("utf-8", "replace").split()) or f"exit {done.returncode}"


def choose_sandbox(requested: SandboxMode | None, pass_env: tuple[str, ...] = ()) -> tuple[Sandbox, str | None]:
    """The sandbox for a run and, when commands will run unsandboxed by default, the one-line warning to show.
    `requested` None: bwrap where it is installed and works, else none. Raises SandboxError when bwrap was
    asked for and cannot run."""
    if requested == "none":
        return Sandbox("none", None, pass_env), None
    bwrap = shutil.which("bwrap")
    problem = "bubblewrap is not installed (Debian: apt-get install bubblewrap)" if bwrap is None else _probe(bwrap)
    if problem is None:
        return Sandbox("bwrap", bwrap, pass_env), None
    if requested == "bwrap":
        raise SandboxError(f"--sandbox bwrap: {problem}")
    return Sandbox("none", None, pass_env), (f"commands run WITHOUT a sandbox: {problem}; they can read your files "
                                             "and use the network (--sandbox none hides this warning)")


def default_sandbox() -> Sandbox:
    """The sandbox a Workspace gets when none is given: bwrap where it works, else none."""
    return choose_sandbox(None)[0]


PR_SET_DUMPABLE = 4


def make_undumpable() -> bool:
    """Make this process non-dumpable, so that another process of the same user (a command the agent ran
    outside a sandbox, say) cannot read its memory or `/proc/<pid>/environ`. True where it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
