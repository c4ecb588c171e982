"""What an iteration changed in the workspace, from snapshots of its files before and after the tools ran.

The tools' own reports say what a call asked for; the files say what happened (an edit that applied twice,
a test run that wrote a file, a write_file that changed nothing). `ChangeTracker` keeps the text of every
tracked file, re-reads only the files whose size or modification time moved, and turns the differences
into a `WorkspaceChanged` event: the files with their line counts and one unified diff, capped so that a
rewritten data file cannot bloat the transcript.
"""

from __future__ import annotations

import difflib
import stat
from dataclasses import dataclass

from agent.events import FileChange, WorkspaceChanged
from agent.tools.toolbox import SKIP_DIRS
from agent.tools.trees import walk_files
from agent.tools.workspace import ToolError, Workspace

MAX_FILE_BYTES = 512_000
"""Larger files are tracked by size and time only: changed, but not diffed."""
MAX_KEPT_BYTES = 32_000_000
"""Texts kept in memory across the whole workspace; past this, further files are tracked without text."""
MAX_FILES = 20_000
"""Files tracked at most (a workspace with more is a checkout of something big: the rest are not watched)."""
DIFF_CAP = 24_000
"""Characters of diff recorded per iteration."""


@dataclass
class _Seen:
    stamp: tuple[int, int]
    """(size, mtime_ns) when the text was read."""
    text: str | None
    """None: binary, or too large to keep."""


class ChangeTracker:
    """The files of a workspace as the last snapshot saw them; `changes(iteration)` says what moved since."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        """Files are read through it, by the tools' rules: a file hard-linked from outside is not diffed
        into the transcript."""
        self.root = workspace.root
        self._seen: dict[str, _Seen] = {}
        self._kept = 0
        self._before: dict[str, _Seen | None] = {}
        """The files the last `changes()` found changed, as they were before (None: it added them)."""
        self._before_iteration: int | None = None

    def snapshot(self) -> None:
        """Read the workspace as it is now (before the first iteration)."""
        self._seen = {}
        self._kept = 0
        for rel, stamp in self._walk().items():
            self._seen[rel] = self._read(rel, stamp)

    def changes(self, iteration: int) -> WorkspaceChanged | None:
        """What changed since the last snapshot (which this call replaces); None when nothing did."""
        now = self._walk()
        files: list[FileChange] = []
        hunks: list[str] = []
        self._before, self._before_iteration = {}, iteration
        for rel in sorted(set(now) | set(self._seen)):
            before, stamp = self._seen.get(rel), now.get(rel)
            if stamp is None:  # deleted
                assert before is not None
                self._forget(before)
                del self._seen[rel]
                self._before[rel] = before
                files.append(self._describe(rel, "deleted", before.text, None, hunks))
                continue
            if before is not None and before.stamp == stamp:
                continue
            after = self._read(rel, stamp, replacing=before)
            self._seen[rel] = after
            if before is not None and before.text is not None and before.text == after.text:
                continue  # touched, same content
            self._before[rel] = before
            status = "added" if before is None else "modified"
            files.append(self._describe(rel, status, before.text if before else "", after.text, hunks))
        if not files:
            return None
        diff = "".join(hunks)
        cut = max(0, len(diff) - DIFF_CAP)
        if cut:
            diff = diff[:DIFF_CAP].rsplit("\n", 1)[0] + "\n"
        return WorkspaceChanged(iteration=iteration, files=files, diff=diff, cut=cut)

    def undo(self, iteration: int) -> tuple[list[str], bool]:
        """Put the files that `iteration`'s tools changed back as they were before it (when it is the last
        iteration `changes()` looked at): those it added are removed. Returns the files put back, and whether
        all of them could be (a binary file, or one too large to have been kept, cannot)."""
        if self._before_iteration != iteration:
            return [], True
        restored: list[str] = []
        whole = True
        for rel, before in sorted(self._before.items()):
            try:
                if before is None:
                    real = self.workspace.resolve(rel)
                    if real.is_file() and not real.is_symlink():
                        real.unlink()
                elif before.text is None or "\ufffd" in before.text:  # not kept, or not kept exactly
                    whole = False
                    continue
                else:
                    self.workspace.write_file(rel, before.text.encode("utf-8"))
            except (ToolError, OSError):
                whole = False
                continue
            restored.append(rel)
        self._before, self._before_iteration = {}, None
        self.snapshot()
        return restored, whole

    # -- reading -----------------------------------------------------------------------------------------

    def _walk(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for rel, info in walk_files(self.root, skip=SKIP_DIRS):
            if stat.S_ISREG(info.st_mode):  # only regular files: a symlink may point anywhere
                found[rel] = (info.st_size, info.st_mtime_ns)
                if len(found) >= MAX_FILES:
                    break
        return found

    def _read(self, rel: str, stamp: tuple[int, int], replacing: _Seen | None = None) -> _Seen:
        if replacing is not None:
            self._forget(replacing)
        size = stamp[0]
        if size > MAX_FILE_BYTES or self._kept + size > MAX_KEPT_BYTES:
            return _Seen(stamp, None)
        try:
            _, data = self.workspace.read_file(rel, limit=MAX_FILE_BYTES)
        except (ToolError, OSError):  # gone, no longer a regular file, linked from outside, grown past the cap
            return _Seen(stamp, None)
        if b"\0" in data[:8192]:
            return _Seen(stamp, None)
        self._kept += len(data)
        return _Seen(stamp, data.decode("utf-8", errors="replace"))

    def _forget(self, seen: _Seen) -> None:
        if seen.text is not None:
            self._kept -= len(seen.text.encode("utf-8", errors="replace"))

    @staticmethod
    def _describe(rel: str, status: str, old: str | None, new: str | None, hunks: list[str]) -> FileChange:
        if (status != "added" and old is None) or (status != "deleted" and new is None):
            hunks.append(f"Binary or large file {rel} {status}\n")
            return FileChange(path=rel, status=status, binary=True)  # type: ignore[arg-type]
        a, b = (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True)
        added = removed = 0
        lines = []
        for line in difflib.unified_diff(a, b, f"a/{rel}" if status != "added" else "/dev/null",
                                         f"b/{rel}" if status != "deleted" else "/dev/null"):
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
            lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        hunks.append("".join(lines))
        return FileChange(path=rel, status=status, added=added, removed=removed)  # type: ignore[arg-type]
