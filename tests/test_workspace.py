"""Workspace confinement and command running."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from agent.tools.sandbox import Sandbox
from agent.tools.workspace import ToolError, Workspace, cap_text


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Workspace, Path]:
    """A workspace `ws/` next to a folder `outside/` it must not reach."""
    root = tmp_path / "ws"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "b" / "f.txt").write_text("inside\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    return Workspace(root), outside


# --- resolve --------------------------------------------------------------------------------------------


def test_resolve_inside_paths(tree: tuple[Workspace, Path]) -> None:
    ws, _ = tree
    assert ws.resolve("b/f.txt") == ws.root / "b" / "f.txt"
    assert ws.resolve("a/../b/f.txt") == ws.root / "b" / "f.txt"
    assert ws.resolve("./b/./f.txt") == ws.root / "b" / "f.txt"
    assert ws.resolve("new/dir/file.py") == ws.root / "new" / "dir" / "file.py"
    assert ws.resolve(".") == ws.root
    assert ws.resolve("") == ws.root
    assert ws.relative(ws.resolve("a/../b/f.txt")) == "b/f.txt"
    assert ws.relative(ws.resolve(".")) == "."


@pytest.mark.parametrize("path", ["..", "../x", "a/../../x", "b/../../outside/secret.txt"])
def test_resolve_refuses_dotdot_escapes(tree: tuple[Workspace, Path], path: str) -> None:
    ws, _ = tree
    with pytest.raises(ToolError) as exc:
        ws.resolve(path)
    assert str(exc.value) == f"path {path!r} leaves the workspace"


@pytest.mark.parametrize("path", ["/etc/passwd", "~/notes.txt"])
def test_resolve_refuses_absolute_paths(tree: tuple[Workspace, Path], path: str) -> None:
    ws, _ = tree
    with pytest.raises(ToolError) as exc:
        ws.resolve(path)
    assert str(exc.value) == f"path {path!r} is absolute; use a path relative to the workspace"


def test_resolve_refuses_file_symlink_pointing_out(tree: tuple[Workspace, Path]) -> None:
    ws, outside = tree
    (ws.root / "leak.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(ToolError) as exc:
        ws.resolve("leak.txt")
    assert "'leak.txt'" in str(exc.value) and "points outside the workspace" in str(exc.value)


def test_resolve_refuses_directory_symlink_anywhere_in_the_path(tree: tuple[Workspace, Path]) -> None:
    ws, outside = tree
    (ws.root / "a" / "out").symlink_to(outside, target_is_directory=True)
    for path in ["a/out", "a/out/secret.txt", "a/out/new.txt", "a/out/../x"]:
        with pytest.raises(ToolError) as exc:
            ws.resolve(path)
        assert "symlink 'a/out'" in str(exc.value), path


def test_resolve_refuses_dangling_symlink_pointing_out(tree: tuple[Workspace, Path]) -> None:
    ws, outside = tree
    (ws.root / "later.txt").symlink_to(outside / "does-not-exist-yet.txt")
    with pytest.raises(ToolError):
        ws.resolve("later.txt")


def test_resolve_allows_symlink_that_stays_inside(tree: tuple[Workspace, Path]) -> None:
    ws, _ = tree
    (ws.root / "alias").symlink_to(ws.root / "b", target_is_directory=True)
    assert ws.resolve("alias/f.txt") == ws.root / "b" / "f.txt"


def test_root_given_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    ws = Workspace(tmp_path / "link")
    assert ws.resolve("x.py") == (tmp_path / "real" / "x.py")


def test_workspace_root_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Workspace(tmp_path / "missing")


# --- run ------------------------------------------------------------------------------------------------


async def test_run_merges_output_in_the_root(tree: tuple[Workspace, Path]) -> None:
    ws, _ = tree
    result = await ws.run("pwd; echo out; echo err >&2; exit 3")
    assert result.exit_code == 3
    assert not result.timed_out and not result.truncated and not result.ok
    assert result.output.splitlines() == [str(ws.root), "out", "err"]
    assert result.duration_s >= 0


async def test_run_success_is_ok(tree: tuple[Workspace, Path]) -> None:
    ws, _ = tree
    result = await ws.run("cat b/f.txt")
    assert (result.exit_code, result.output, result.ok) == (0, "inside\n", True)


async def test_run_does_not_wait_for_stdin(tree: tuple[Workspace, Path]) -> None:
    ws, _ = tree
    result = await ws.run("cat", timeout=5)
    assert result.exit_code == 0 and not result.timed_out


def _alive(pid: int) -> bool:
    """True while `pid` runs; a zombie waiting to be reaped counts as dead."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


async def test_run_timeout_kills_the_whole_process_group(tree: tuple[Workspace, Path]) -> None:
    ws = Workspace(tree[0].root, Sandbox("none"))  # pids as the host sees them (bwrap: tests/test_sandbox.py)
    start = time.monotonic()
    result = await ws.run("sleep 30 & echo $! > bg.pid; echo started; sleep 30", timeout=0.5)
    assert time.monotonic() - start < 10
    assert result.timed_out and result.exit_code is None and not result.ok
    assert "started" in result.output
    background = int((ws.root / "bg.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(background) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(background)


async def test_run_caps_output_keeping_head_and_tail(tree: tuple[Workspace, Path]) -> None:
    ws, _ = tree
    result = await ws.run("echo FIRST; yes middle | head -n 20000; echo LAST", output_cap=1000)
    assert result.truncated and result.exit_code == 0
    assert result.output.startswith("FIRST\n")
    assert result.output.rstrip().endswith("LAST")
    total = len("FIRST\n") + 20000 * len("middle\n") + len("LAST\n")
    assert f"... [{total - 1000} characters cut] ..." in result.output
    assert len(result.output) < 1100


async def test_run_holds_bounded_memory_for_huge_output(tree: tuple[Workspace, Path]) -> None:
    ws, _ = tree
    result = await ws.run("head -c 20000000 /dev/zero | tr '\\0' x", output_cap=500)
    assert result.truncated and "[19999500 characters cut]" in result.output


async def test_run_hides_api_keys_from_commands(tree: tuple[Workspace, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ws, _ = tree
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-123")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fake")
    monkeypatch.setenv("HF_TOKEN", "hf_fake")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8080/v1")
    result = await ws.run("env")
    assert "sk-fake-123" not in result.output
    assert "sk-ant-fake" not in result.output
    assert "ghp_fake" not in result.output and "hf_fake" not in result.output
    assert "OPENAI_BASE_URL" not in result.output  # not on the allow-list either
    assert "PATH=" in result.output


def test_command_environment_is_an_allow_list(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "x", "PGPASSWORD": "x", "MYSQL_PWD": "x", "DATABASE_URL": "x", "GH_PAT": "x",
           "SLACK_WEBHOOK_URL": "x", "SENTRY_DSN": "x", "AUTH": "x", "API_KEYS": "x",
           "PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8", "TERM": "xterm", "TOKENIZERS_PARALLELISM": "false"}
    assert Sandbox().environ(tmp_path, env) == {"PATH": "/bin", "LANG": "C.UTF-8", "TERM": "xterm",
                                                "HOME": str(tmp_path), "TMPDIR": str(tmp_path / ".agent-tui-tmp")}
    passed = Sandbox(pass_env=("TOKENIZERS_PARALLELISM", "GH_PAT", "UNSET")).environ(tmp_path, env)
    assert passed["TOKENIZERS_PARALLELISM"] == "false" and passed["GH_PAT"] == "x" and "UNSET" not in passed
    assert Sandbox().environ(tmp_path, {})["PATH"] == os.defpath


def test_cap_text() -> None:
    assert cap_text("short", 10) == ("short", False)
    text, cut = cap_text("a" * 10 + "b" * 10, 10)
    assert cut and text == "aaaaa\n... [10 characters cut] ...\nbbbbb"
