"""Walking and removing the folder trees of a workspace, which a command may have made hostile: thousands
of folders deep (deeper than a recursive walk or PATH_MAX allow), unreadable, full of links, FIFOs and
sockets. Both work from open folder descriptors, one level at a time, and never follow a link.
"""

from __future__ import annotations

import os
import shutil
import stat
from contextlib import suppress
from pathlib import Path
from typing import Iterator

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)

CACHES = frozenset({"__pycache__", ".pytest_cache"})
"""Folders a copy of a workspace leaves out: Python's and pytest's caches, remade by the next run."""
MAX_DEPTH = 64
"""The deepest folder `walk_files` looks into: a repository is rarely a tenth as deep."""


def walk_files(root: Path, skip: frozenset[str] = frozenset(), max_depth: int = MAX_DEPTH
               ) -> Iterator[tuple[str, os.stat_result]]:
    """Everything but folders under `root` (regular files, links, FIFOs...: `stat.S_ISREG(info.st_mode)`
    tells) as (relative path with forward slashes, its lstat), in sorted order, skipping the folders named
    in `skip` and anything deeper than `max_depth` folders."""
    stack: list[str] = [""]
    while stack:
        rel = stack.pop()
        try:
            entries = sorted(os.scandir(os.path.join(root, rel) if rel else root), key=lambda e: e.name)
        except OSError:  # gone, unreadable, or a path too long to name
            continue
        folders = []
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if entry.name not in skip and path.count("/") < max_depth:
                    folders.append(path)
            else:
                yield path, info
        stack.extend(reversed(folders))


def copy_tree(source: Path, dest: Path, skip: frozenset[str] = frozenset()) -> None:
    """Copy the regular files and links under `source` into `dest` (links as links, never followed;
    FIFOs, sockets and devices left out; the folders in `skip` and `*.pyc` files too)."""
    for rel, info in walk_files(source, skip=skip):
        target = dest / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(source / rel), target)
            elif stat.S_ISREG(info.st_mode) and not rel.endswith(".pyc"):
                shutil.copyfile(source / rel, target, follow_symlinks=False)
        except OSError:
            continue  # a file that went, or a name that cannot be made here


def remove_tree(top: Path | str) -> None:
    """Remove `top` and everything in it, however deep; what cannot be removed is left (as with
    `shutil.rmtree(ignore_errors=True)`). It descends by descriptor, holding one open at a time."""
    top = os.fspath(top)
    try:
        info = os.lstat(top)
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode):
        with suppress(OSError):
            os.unlink(top)
        return
    try:
        fd = os.open(top, _DIR_FLAGS)
    except OSError:
        return
    names: list[str] = []  # the path from `top` to the folder `fd` is open on
    stuck: set[tuple[int, int]] = set()  # folders that could not be entered or removed: left as they are
    while True:
        child = _empty_files(fd, stuck)
        if child is not None:
            try:
                inner = os.open(child, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                with suppress(OSError):
                    os.chmod(child, stat.S_IRWXU, dir_fd=fd)
                try:
                    inner = os.open(child, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    stuck.add(_key(child, fd))
                    continue
            os.close(fd)
            fd = inner
            names.append(child)
            continue
        if not names:
            os.close(fd)
            with suppress(OSError):
                os.rmdir(top)
            return
        parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
        os.close(fd)
        fd = parent
        name = names.pop()
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            stuck.add(_key(name, fd))


def _empty_files(fd: int, stuck: set[tuple[int, int]]) -> str | None:
    """Unlink everything but folders in the folder open on `fd`; the name of a subfolder still to empty."""
    with suppress(OSError):
        os.chmod(fd, stat.S_IRWXU)  # a folder the command made unwritable
    try:
        with os.scandir(fd) as it:
            entries = list(it)
    except OSError:
        return None
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if _key(entry.name, fd) not in stuck:
                return entry.name
        else:
            with suppress(OSError):
                os.unlink(entry.name, dir_fd=fd)
    return None


def _key(name: str, fd: int) -> tuple[int, int]:
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return (-1, hash(name))
    return (info.st_dev, info.st_ino)
