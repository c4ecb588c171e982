"""The temporary folders agent-tui makes (task workspaces, verdict copies, test reports, fork copies): all
under one folder of the user's, named by the process that made them, so that what a killed run left behind
is found and removed at the next start.

`scratch_folder("quicksort")` is `$TMPDIR/agent-tui-<uid>/quicksort-<pid>-<random>/`. `sweep()` removes the
folders whose process is gone, except those a run was asked to keep (`keep`).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from contextlib import suppress
from pathlib import Path

from agent.tools.trees import remove_tree

KEPT = ".kept"
"""A sibling file `<folder>.kept` says the folder outlives its process (`--keep-workspace`)."""
_NAME = re.compile(r"^[\w.-]+?-(\d+)-[\w]+$")


def scratch_root() -> Path:
    """`$TMPDIR/agent-tui-<uid>`, made private to the user. A path there that is not a folder of ours
    (a link someone planted, another user's folder) is refused, and a private folder is made instead."""
    root = Path(tempfile.gettempdir()) / f"agent-tui-{os.getuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(root)
    except OSError:
        return Path(tempfile.mkdtemp(prefix="agent-tui-"))
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return Path(tempfile.mkdtemp(prefix="agent-tui-"))
    return root


def scratch_folder(kind: str, parent: Path | None = None) -> Path:
    """A new empty folder for `kind` (a task name, "verdict", "report"...), swept once this process is gone."""
    safe = re.sub(r"[^\w.-]+", "-", kind).strip("-") or "run"
    return Path(tempfile.mkdtemp(prefix=f"{safe}-{os.getpid()}-", dir=parent or scratch_root()))


def keep(folder: Path) -> None:
    """Keep `folder` past this process (the user asked for the workspace)."""
    with suppress(OSError):
        folder.with_name(folder.name + KEPT).touch()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(root: Path | None = None) -> int:
    """Remove the folders left by agent-tui processes that are gone; the number removed."""
    root = root or scratch_root()
    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    names = {e.name for e in entries}
    for entry in entries:
        match = _NAME.match(entry.name)
        if (match is None or not entry.is_dir(follow_symlinks=False) or entry.name + KEPT in names
                or int(match.group(1)) == os.getpid() or _alive(int(match.group(1)))):
            continue
        remove_tree(Path(entry.path))
        removed += not os.path.lexists(entry.path)
    return removed
