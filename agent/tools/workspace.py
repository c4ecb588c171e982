"""The folder the agent may touch, and the shell commands it may run there.

Every path a tool receives goes through `Workspace.resolve`, which is the only place that decides what is
inside: the model is a stranger typing paths, so `..`, absolute paths and symlinks that lead out are refused
with a message the model can act on. Commands run in the workspace's sandbox (`agent.tools.sandbox`), in
their own process group, so a timeout kills the whole tree, with an environment built from an allow-list:
a command the model writes must never print the API key into the transcript.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from agent.protocols import ToolErrorKind
from agent.tools.sandbox import TMP_DIR, Sandbox, default_sandbox


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

    def relative(self, real: Path) -> str:
        """How a resolved path is shown to the model: relative to the root, with forward slashes."""
        rel = real.relative_to(self.root).as_posix()
        return rel if rel else "."

    async def run(self, cmd: str, timeout: float = 60, output_cap: int = 12_000) -> CommandResult:
        """Run `cmd` in a shell at the root, in the sandbox; stdout and stderr merged, capped, killed as a
        group on timeout."""
        start = time.monotonic()
        tmp = self.root / TMP_DIR
        tmp.mkdir(exist_ok=True)
        try:
            return await self._run(cmd, timeout, output_cap, start)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    async def _run(self, cmd: str, timeout: float, output_cap: int, start: float) -> CommandResult:
        proc = await asyncio.create_subprocess_exec(
            *self.sandbox.argv(cmd, self.root),
            cwd=self.root,
            env=self.sandbox.environ(self.root),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        assert proc.stdout is not None
        out = _Capped(output_cap)

        async def pump() -> int:
            while chunk := await proc.stdout.read(65536):
                out.feed(chunk)
            return await proc.wait()

        exit_code: int | None = None
        timed_out = False
        try:
            exit_code = await asyncio.wait_for(pump(), timeout)
        except asyncio.TimeoutError:
            timed_out = True
            _kill_group(proc.pid)
            await proc.wait()
            try:  # whatever was written just before the kill is still in the pipe
                out.feed(await asyncio.wait_for(proc.stdout.read(), 1.0))
            except asyncio.TimeoutError:
                pass
        except BaseException:
            _kill_group(proc.pid)
            raise
        finally:
            # Background children left behind by a finished command go too.
            _kill_group(proc.pid)
        output, truncated = out.result()
        return CommandResult(exit_code, output, timed_out, truncated, time.monotonic() - start)
