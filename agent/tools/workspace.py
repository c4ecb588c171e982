"""The folder the agent may touch, and the shell commands it may run there.

Every path a tool receives goes through `Workspace.resolve`, which is the only place that decides what is
inside: the model is a stranger typing paths, so `..`, absolute paths and symlinks that lead out are refused
with a message the model can act on. Every file a tool reads or writes goes through `read_file` /
`write_file` here: only regular files (a FIFO would hang the read, `/dev/zero` never ends), at most
`MAX_FILE_BYTES`, and never one hard-linked from outside (a file with more links than it had when the
workspace was opened may be the other name of a file elsewhere). Commands run in the workspace's sandbox
(`agent.tools.sandbox`), in their own process group, so a timeout kills the whole tree, with an
environment built from an allow-list: a command the model writes must never print the API key into the
transcript.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from agent.protocols import ToolErrorKind
from agent.tools.sandbox import TMP_DIR, Sandbox, default_sandbox
from agent.tools.trees import remove_tree, walk_files

MAX_FILE_BYTES = 2_000_000
"""The largest file a tool reads or writes: the repos here are small, and a multi-megabyte file in a tool
message (or written by one) would only drown the context and the transcript."""

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFLNK: "a symlink"}


class ToolError(Exception):
    """Bad input from the model; the message names the input and what is wrong, and goes back to it."""

    kind: ToolErrorKind = "tool_failed"


class BadArguments(ToolError):
    """The arguments are not JSON, not an object, or do not fit the tool's schema."""

    kind: ToolErrorKind = "malformed_arguments"


class BadPath(ToolError):
    """A path that does not exist, has the wrong kind, or leaves the workspace."""

    kind: ToolErrorKind = "bad_path"


class EditNotApplied(ToolError):
    """edit_file's `old` text is empty, missing or ambiguous."""

    kind: ToolErrorKind = "edit_not_applied"


@dataclass
class CommandResult:
    """What one shell command did. `exit_code` is None when it was killed for running too long."""

    exit_code: int | None
    output: str
    timed_out: bool = False
    truncated: bool = False
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def cut_marker(count: int) -> str:
    return f"\n... [{count} characters cut] ...\n"


def cap_text(text: str, cap: int) -> tuple[str, bool]:
    """Keep the head and the tail of `text` within about `cap` characters; the middle is what a reader
    needs least (a test log starts with what ran and ends with the summary)."""
    if len(text) <= cap:
        return text, False
    head = cap // 2
    tail = cap - head
    return text[:head] + cut_marker(len(text) - cap) + text[len(text) - tail:], True


class _Capped:
    """Collects a stream as text, holding at most about twice the cap in memory however much arrives."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 2
        self.tail_cap = cap - self.head_cap
        self.head = ""
        self.tail = ""
        self.total = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        self.total += len(text)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += text[:room]
            text = text[room:]
        self.tail += text
        if len(self.tail) > 2 * self.tail_cap + 4096:
            self.tail = self.tail[-self.tail_cap:]

    def result(self) -> tuple[str, bool]:
        self.feed(b"", final=True)
        cut = self.total - len(self.head) - self.tail_cap
        if cut <= 0:
            return self.head + self.tail, False
        return self.head + cut_marker(cut) + self.tail[-self.tail_cap:], True


def _hard_linked(root: Path) -> frozenset[tuple[int, int]]:
    """The files under `root` that have more than one name now (a checkout may hold some legitimately)."""
    return frozenset((info.st_dev, info.st_ino) for _, info in walk_files(root)
                     if info.st_nlink > 1 and stat.S_ISREG(info.st_mode))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Workspace:
    """A root folder; paths are relative to it and may not leave it. Commands run in `sandbox` (default:
    bwrap where it works here)."""

    def __init__(self, root: Path | str, sandbox: Sandbox | None = None) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ValueError(f"workspace {self.root} is not a folder")
        self.sandbox = sandbox or default_sandbox()
        self._linked = _hard_linked(self.root)
        """(device, inode) of the files that already had several names when the workspace was opened."""

    def resolve(self, path: str) -> Path:
        """The real path `path` names inside the workspace, or a ToolError saying why it is refused."""
        if "\0" in path:
            raise BadPath(f"path {path!r} contains a NUL character")
        if os.path.isabs(path) or path == "~" or path.startswith("~/"):
            raise BadPath(f"path {path!r} is absolute; use a path relative to the workspace")
        lexical = os.path.normpath(path or ".")
        if lexical == ".." or lexical.startswith(".." + os.sep):
            raise BadPath(f"path {path!r} leaves the workspace")
        real = Path(os.path.realpath(self.root / path))
        if real == self.root or real.is_relative_to(self.root):
            return real
        # Only a symlink can lead out of a path that stays inside lexically: name the one that does.
        current = self.root
        for part in Path(path).parts:
            current = current / part
            if current.is_symlink() and not Path(os.path.realpath(current)).is_relative_to(self.root):
                link = current.relative_to(self.root).as_posix()
                raise BadPath(f"path {path!r} goes through symlink {link!r}, which points outside the workspace")
        raise BadPath(f"path {path!r} leaves the workspace")

    def read_file(self, path: str, real: Path | None = None, limit: int = MAX_FILE_BYTES) -> tuple[Path, bytes]:
        """The real path and the bytes of regular file `path` (already resolved to `real`, if given), or a
        ToolError saying why not. Opened without following a last symlink and without blocking, then
        checked on the open file, so nothing can be swapped in between."""
        real = real or self.resolve(path)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(real, flags)
        except FileNotFoundError:
            raise BadPath(f"no such file {path!r}; list_files shows the files that exist") from None
        except OSError as exc:
            raise BadPath(f"{path!r} cannot be opened: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            self._check_regular(info, path, "read")
            if info.st_size > limit:
                raise ToolError(f"{path!r} is too large to read ({info.st_size} bytes; the limit is {limit})")
            chunks, size = [], 0
            while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
            if size > limit:  # it grew since fstat
                raise ToolError(f"{path!r} is too large to read (more than {limit} bytes)")
            return real, b"".join(chunks)
        finally:
            os.close(fd)

    def write_file(self, path: str, data: bytes, real: Path | None = None) -> Path:
        """Write `data` as the whole content of regular file `path` (created with its folders if missing),
        or raise a ToolError. An existing file is checked on the open file before it is truncated."""
        real = real or self.resolve(path)
        if len(data) > MAX_FILE_BYTES:
            raise ToolError(f"the content for {path!r} is {len(data)} bytes; a file may hold at most "
                            f"{MAX_FILE_BYTES} bytes: write a smaller file")
        if real.is_dir():
            raise BadPath(f"{path!r} is a folder; give the path of a file")
        try:
            self._check_regular(os.lstat(real), path, "written")  # the precise reason, before opening
        except FileNotFoundError:
            pass
        real.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(real, flags, 0o666)
        except OSError as exc:  # a FIFO without a reader (ENXIO), a symlink swapped in (ELOOP), ...
            raise BadPath(f"{path!r} cannot be written: {exc.strerror}") from None
        try:
            self._check_regular(os.fstat(fd), path, "written")
            os.ftruncate(fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        return real

    def _check_regular(self, info: os.stat_result, path: str, verb: str) -> None:
        if stat.S_ISDIR(info.st_mode):
            raise BadPath(f"{path!r} is a folder, not a file; use list_files to see what it holds")
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise BadPath(f"{path!r} is {kind}; only regular files can be {verb}")
        if info.st_nlink > 1 and (info.st_dev, info.st_ino) not in self._linked:
            raise BadPath(f"{path!r} has {info.st_nlink} hard links made since the workspace was opened; it may "
                          f"be a file outside the workspace, so it is not {verb} (copy it to a new file instead)")

    def relative(self, real: Path) -> str:
        """How a resolved path is shown to the model: relative to the root, with forward slashes."""
        rel = real.relative_to(self.root).as_posix()
        return rel if rel else "."

    async def run(self, cmd: str, timeout: float = 60, output_cap: int = 12_000, *,
                  env: Mapping[str, str] | None = None, writable: tuple[Path, ...] = ()) -> CommandResult:
        """Run `cmd` in a shell at the root, in the sandbox; stdout and stderr merged, capped, killed as a
        group on timeout. `env` adds variables of ours (never the user's); the command may also write in
        the folders `writable` (outside the workspace: where a test run leaves its report)."""
        start = time.monotonic()
        tmp = self.root / TMP_DIR
        tmp.mkdir(exist_ok=True)
        try:
            return await self._run(cmd, timeout, output_cap, start, dict(env or {}), writable)
        finally:
            remove_tree(tmp)

    async def _run(self, cmd: str, timeout: float, output_cap: int, start: float, env: dict[str, str],
                   writable: tuple[Path, ...]) -> CommandResult:
        proc = await asyncio.create_subprocess_exec(
            *self.sandbox.argv(cmd, self.root, writable),
            cwd=self.root,
            env={**self.sandbox.environ(self.root), **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        assert proc.stdout is not None
        stdout = proc.stdout
        out = _Capped(output_cap)

        async def pump() -> int:
            while chunk := await stdout.read(65536):
                out.feed(chunk)
            return await proc.wait()

        exit_code: int | None = None
        timed_out = False
        try:
            async with asyncio.timeout(timeout):  # not wait_for: in 3.11 it can swallow a cancel (Ctrl-C)
                exit_code = await pump()  # that comes as the command ends
        except TimeoutError:
            timed_out = True
            _kill_group(proc.pid)
            await proc.wait()
            with contextlib.suppress(TimeoutError):  # what was written just before the kill is still in the pipe
                async with asyncio.timeout(1.0):
                    out.feed(await proc.stdout.read())
        except BaseException:  # cancelled (Ctrl-C, SIGTERM): end the command, and let its pipes close while
            _kill_group(proc.pid)  # the loop still runs (else their transport is closed on a closed loop)
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(5):
                    await proc.communicate()
            raise
        finally:
            # Background children left behind by a finished command go too.
            _kill_group(proc.pid)
        output, truncated = out.result()
        return CommandResult(exit_code, output, timed_out, truncated, time.monotonic() - start)
