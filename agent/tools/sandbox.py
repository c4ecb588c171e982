"""Where the commands the agent causes run: a bubblewrap sandbox, with an environment built from an allow-list.

The model writes code that `run_tests` then runs (a `conftest.py` is enough), so a command is hostile. On
Linux it runs under bubblewrap (`bwrap`) in new user, PID, IPC, network and UTS namespaces: `/tmp` is empty
and private, the system folders and everything the Python interpreter needs are bound read-only, the
workspace read-write, the user's home is absent. The PID namespace ends every process the command started
(even `setsid` daemons) when the command ends or agent-tui dies. bwrap itself starts with the command's
environment (it is PID 1 inside, so its `/proc/1/environ` is readable there): that environment is an
allow-list, never a copy of ours minus the names that look secret.

The interpreter may live anywhere: a virtualenv under `/tmp` (CI images, throw-away set-ups), packages in
the user site or on `PYTHONPATH`. `python_paths` finds every folder it reads, and the mounts go in an order
that keeps them visible: the private `/tmp` first, then the read-only binds, then the workspace.

Without bwrap the command runs directly (`--sandbox none`), with the same environment; every run then says
so once at its start.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import os
import shlex
import shutil
import site
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
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

MAX_PROCESSES = 256
"""The most processes a command may have at once (a fork bomb stops there, not at the test timeout)."""

REFUSED_HINT = ("user namespaces are refused here (Ubuntu 24.04 and later restrict them with AppArmor): allow "
                "bwrap with an AppArmor profile (see /etc/apparmor.d/bwrap-userns-restrict) or set "
                "kernel.apparmor_restrict_unprivileged_userns=0")
"""What to do when bwrap is installed but may not create its namespaces."""


class SandboxError(Exception):
    """The sandbox asked for cannot run here; the message says why and what to do instead."""


@dataclass(frozen=True)
class PythonPaths:
    """What the interpreter that runs the tasks' tests reads, wherever it lives: the folders to bind
    read-only, and the variables that point it at the ones it would not find by itself (with HOME moved
    to the workspace, the user site must be named; a PYTHONPATH is not in the allow-list)."""

    folders: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


def _broad(path: str) -> bool:
    """A folder too wide to bind: the root, the home, the temp folder or the working folder, or one that
    holds them (binding it would hand the command the user's files)."""
    wide = {os.path.realpath(p) for p in (os.path.expanduser("~"), tempfile.gettempdir(), os.getcwd())}
    return path == "/" or any(w == path or w.startswith(path.rstrip("/") + "/") for w in wide)


def _under(path: str, folders: list[str] | tuple[str, ...]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


@functools.cache
def python_paths() -> PythonPaths:
    """The folders this interpreter (the one the tasks' tests run with) needs, found once per process:
    its prefixes, the real path of every `sys.path` entry, the user site and `PYTHONPATH` entries."""
    wanted: list[str] = []
    for path in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                 os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))):
        wanted += [os.path.abspath(path), os.path.realpath(path)]
    cwd = os.path.realpath(os.getcwd())
    for entry in sys.path:
        if entry and os.path.exists(entry) and os.path.realpath(entry) != cwd:
            wanted += [os.path.abspath(entry), os.path.realpath(entry)]
    env: dict[str, str] = {}
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user_site and os.path.isdir(user_site):
        env["PYTHONUSERBASE"] = site.getuserbase()
        wanted += [user_site, os.path.realpath(user_site)]
    extra = [os.path.realpath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
             if p and os.path.exists(p) and not _broad(os.path.realpath(p))]
    if extra:
        env["PYTHONPATH"] = os.pathsep.join(extra)
        wanted += extra
    folders: list[str] = []
    for path in sorted(set(wanted), key=len):  # shortest first: a folder inside one already bound is skipped
        if os.path.exists(path) and not _broad(path) and not _under(path, SYSTEM_DIRS) and not _under(path, folders):
            folders.append(path)
    return PythonPaths(tuple(folders), env)


@dataclass(frozen=True)
class Sandbox:
    """How commands run: `mode`, the bwrap binary, and the variables the user lets through (`--pass-env`)."""

    mode: SandboxMode = "none"
    bwrap: str | None = None
    pass_env: tuple[str, ...] = ()

    def environ(self, root: Path, source: Mapping[str, str] | None = None) -> dict[str, str]:
        """The command's whole environment: the allow-list, HOME and TMPDIR in the workspace, what the
        interpreter needs to find its packages, `pass_env`."""
        source = os.environ if source is None else source
        env = allowed_environ(source=source)
        env.update(python_paths().env)
        env.update({name: source[name] for name in self.pass_env if name in source})
        env["HOME"] = str(root)
        env["TMPDIR"] = str(root / TMP_DIR)
        return env

    def argv(self, cmd: str, root: Path, writable: tuple[Path, ...] = ()) -> list[str]:
        """The program and arguments that run shell command `cmd` at `root` (and may also write in the
        folders `writable`: where a test run leaves its report)."""
        shell = ["/bin/sh", "-c", cmd]
        if self.mode == "none":
            return shell
        assert self.bwrap is not None
        sandboxed = [self.bwrap, *bwrap_options(root, writable, _takes_disable_userns(self.bwrap)),
                     "--chdir", str(root), "--", *shell]
        return process_limit().wrap(sandboxed)


def allowed_environ(names: Iterable[str] = (), source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed variables of `source` (default: ours) and those in `names`, PATH always: what every
    process agent-tui starts gets of its environment (commands here, its own helpers in agent.tools.children),
    never a copy of it minus the names that look secret."""
    source = os.environ if source is None else source
    env = {name: source[name] for name in (*ALLOWED_ENV, *names) if name in source}
    env.setdefault("PATH", os.defpath)
    return env


def bwrap_options(root: Path, writable: tuple[Path, ...] = (), disable_userns: bool = True) -> list[str]:
    """The namespaces and the file system of the sandbox. The private /tmp is mounted first: a bind
    made before it would be hidden by it (a virtualenv under /tmp, the workspace itself). With
    `disable_userns` the command may not make namespaces of its own (bwrap 0.8 and later)."""
    opts = [*NAMESPACES, *(["--disable-userns"] if disable_userns else []), "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--tmpfs", "/tmp"]
    for top in SYSTEM_DIRS:
        if os.path.islink(top):
            opts += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            opts += ["--ro-bind", top, top]
    opts += ["--proc", "/proc", "--dev", "/dev"]
    for folder in python_paths().folders:
        opts += ["--ro-bind", folder, folder]
    for place in (*writable, root):
        opts += ["--bind", str(place), str(place)]
    return opts


@functools.cache
def _takes_disable_userns(bwrap: str) -> bool:
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, timeout=10, env={"PATH": os.defpath})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"--disable-userns" in done.stdout + done.stderr


@dataclass(frozen=True)
class ProcessLimit:
    """How the number of a command's processes is capped here: a pids cgroup that the command's shell
    joins before it starts bwrap (where agent-tui may make one: root, cgroup v1 or a writable v2), else
    RLIMIT_NPROC through `prlimit` (which counts all of the user's processes, so the cap is on top of
    those running now; root is exempt from it), else nothing (the test timeout still ends a fork bomb)."""

    cgroup: Path | None = None
    prlimit: str | None = None
    nproc: int = 0

    def wrap(self, argv: list[str]) -> list[str]:
        if self.cgroup is not None:
            join = 'echo $$ > "$0" && exec "$@"'
            return ["/bin/sh", "-c", join, str(self.cgroup / "cgroup.procs"), *argv]
        if self.prlimit is not None:
            return [self.prlimit, f"--nproc={self.nproc}:{self.nproc}", "--", *argv]
        return argv

    @property
    def described(self) -> str:
        if self.cgroup is not None:
            return f"at most {MAX_PROCESSES} processes (pids cgroup {self.cgroup})"
        if self.prlimit is not None:
            return f"at most {self.nproc} processes of this user (RLIMIT_NPROC)"
        return "no process limit (the test timeout ends a fork bomb)"


CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


@functools.cache
def process_limit() -> ProcessLimit:
    """The process cap of this agent-tui process's commands, set up once (see ProcessLimit)."""
    for base in CGROUP_ROOTS:
        if (base / "pids.max").exists() or not os.access(base, os.W_OK):
            continue  # pids.max at the top: not a hierarchy's root we may split
        if base.name != "pids" and "pids" not in _read(base / "cgroup.subtree_control").split():
            continue
        group = base / f"agent-tui-{os.getpid()}"
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(MAX_PROCESSES))
        except OSError:
            continue
        atexit.register(_remove_cgroup, group)
        _sweep_cgroups(base)
        return ProcessLimit(cgroup=group)
    prlimit = shutil.which("prlimit")
    if prlimit is not None and os.getuid() != 0:
        return ProcessLimit(prlimit=prlimit, nproc=_user_processes() + MAX_PROCESSES)
    return ProcessLimit()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _remove_cgroup(group: Path) -> None:
    try:
        group.rmdir()  # refused while a process is in it; the sweep of a later start takes it then
    except OSError:
        pass


def _sweep_cgroups(base: Path) -> None:
    """Remove the empty cgroups of agent-tui processes that are gone (killed before their atexit ran)."""
    for group in base.glob("agent-tui-*"):
        pid = group.name.removeprefix("agent-tui-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and not _read(group / "cgroup.procs").strip():
            _remove_cgroup(group)


def _user_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        try:
            count += entry.name.isdigit() and entry.stat().st_uid == uid
        except OSError:
            continue
    return count


@functools.cache
def _probe(bwrap: str) -> str | None:
    """None when bwrap can build the sandbox here and start the tests' interpreter in it (with its test
    runner), else what went wrong (user namespaces refused, the interpreter hidden)."""
    root = Path(tempfile.mkdtemp(prefix="agent-tui-probe-"))
    try:
        sandbox = Sandbox("bwrap", bwrap)
        check = f"{shlex.quote(sys.executable)} -c 'import pytest'"
        try:
            done = subprocess.run(sandbox.argv(check, root), env=sandbox.environ(root), stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if done.returncode == 0:
        return None
    said = " ".join(done.stderr.decode("utf-8", "replace").split()) or f"exit {done.returncode}"
    if said.startswith("bwrap:") and any(s in said for s in ("ermission denied", "Operation not permitted",
                                                              "No permissions", "uid map")):
        return f"bubblewrap is installed but {REFUSED_HINT} (bwrap said: {said})"
    return f"bubblewrap cannot start this Python ({sys.executable}) with pytest inside the sandbox: {said}"


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
