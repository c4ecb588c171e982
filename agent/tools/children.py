"""The processes agent-tui starts for its own work (grep's regex worker, the local model's server, the app
processes of `serve`): what they hold that a command the model wrote could steal.

Outside bubblewrap (`--sandbox none`, or no bwrap) a command the model wrote runs as our user and may leave
a daemon behind; such a process reads `/proc/<pid>/environ` and the memory of every dumpable process of the
user. So a helper gets the allow-listed environment (agent.tools.sandbox.allowed_environ, plus the names it
needs), never a copy of ours, and makes itself non-dumpable as it starts. The latter must happen inside the
helper after exec: exec makes a process dumpable again, so a `preexec_fn` cannot do it.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from agent.tools.sandbox import allowed_environ, make_undumpable, python_paths

CODE_ROOT = str(Path(__file__).resolve().parents[2])
"""The folder holding the `agent` package, for a helper started with `python -I` (no site-packages)."""

_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from agent.tools.children import run_module; run_module(sys.argv[2:])"

PR_SET_PDEATHSIG = 1


def helper_argv(module: str, *args: str, isolated: bool = False) -> list[str]:
    """The command that runs `module` as `__main__` in a non-dumpable Python process. `isolated`: with
    `python -I -S` (no site-packages, no PYTHON* variables), for helpers that need only the standard library."""
    flags = ["-I", "-S"] if isolated else []
    return [sys.executable, *flags, "-c", _BOOT, CODE_ROOT, module, *args]


def helper_environ(*names: str) -> dict[str, str]:
    """A helper's whole environment: the allow-list, `names`, and where the interpreter finds its packages
    (never an API key: a helper has no use for one, and what it holds a same-user process may read)."""
    return {**allowed_environ(names), **python_paths().env}


def die_with_parent() -> None:
    """For `preexec_fn`: ask Linux to SIGKILL the child when agent-tui dies, even by SIGKILL (no orphan).
    SIGKILL, not SIGTERM: on SIGTERM llama-cpp's server waits for the request in flight, which on a busy CPU
    went on generating for minutes for a client that was gone (seen)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def run_module(argv: list[str]) -> None:
    """In the helper: become non-dumpable, then run module `argv[0]` with `argv` as its command line."""
    make_undumpable()
    sys.argv = list(argv)
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
