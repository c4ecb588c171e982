"""Every tool on good and bad input, through `Toolbox.execute` as the loop calls it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.protocols import ToolOutcome
from agent.tools.toolbox import MAX_GREP_HITS, Toolbox
from agent.tools.workspace import MAX_FILE_BYTES, Workspace

NAMES = ["list_files", "read_file", "grep", "write_file", "edit_file", "run_tests", "finish"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "main.py").write_text("import pkg\n\nprint('hello')\n")
    (root / "pkg" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "notes.md").write_text("# Notes\nTODO: more\n")
    for noise in [".git", "__pycache__", "pkg/__pycache__", ".pytest_cache"]:
        (root / noise).mkdir(exist_ok=True)
        (root / noise / "junk").write_text("junk\n")
    (tmp_path / "outside.txt").write_text("secret\n")
    return root


@pytest.fixture
def box(root: Path) -> Toolbox:
    return Toolbox(Workspace(root), "true", test_timeout=10)


async def call(box: Toolbox, name: str, **args: Any) -> ToolOutcome:
    return await box.execute(name, json.dumps(args))


def ok(outcome: ToolOutcome) -> str:
    assert not outcome.is_error, outcome.content
    return outcome.content


def err(outcome: ToolOutcome) -> str:
    assert outcome.is_error, outcome.content
    assert outcome.content.startswith("error: ")
    assert not (outcome.finished or outcome.changed_files or outcome.tests_failed)
    return outcome.content


# --- schemas ------------------------------------------------------------------------------------------


def test_schemas_are_chat_completions_tools(box: Toolbox) -> None:
    schemas = box.schemas()
    assert box.names == NAMES
    assert [s["function"]["name"] for s in schemas] == NAMES
    for s in schemas:
        assert s["type"] == "function"
        assert s["function"]["description"]
        params = s["function"]["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert '"title"' not in json.dumps(params)
        for prop in params["properties"].values():
            assert prop["description"] and prop["type"] in ("string", "integer")
    by_name = {s["function"]["name"]: s["function"]["parameters"] for s in schemas}
    assert by_name["read_file"]["required"] == ["path"]
    assert list(by_name["read_file"]["properties"]) == ["path", "start_line", "end_line"]
    assert by_name["read_file"]["properties"]["start_line"]["type"] == "integer"
    assert "required" not in by_name["list_files"] and by_name["list_files"]["properties"]["path"]["default"] == "."
    assert by_name["grep"]["required"] == ["pattern"]
    assert by_name["write_file"]["required"] == ["path", "content"]
    assert by_name["edit_file"]["required"] == ["path", "old", "new"]
    assert by_name["run_tests"]["properties"] == {}
    assert by_name["finish"]["required"] == ["summary"]
    json.dumps(schemas)  # serialisable as a request body


# --- argument handling ------------------------------------------------------------------------------------


async def test_malformed_json(box: Toolbox) -> None:
    out = await box.execute("read_file", "{path: quicksort.py")
    assert err(out).startswith("error: arguments for read_file are not valid JSON: ")
    out = await box.execute("read_file", "nope")
    assert out.content == ('error: arguments for read_file are not valid JSON: Expecting value at line 1 column 1 '
                           '(char 0). Send a JSON object such as {"path": "quicksort.py"}')


@pytest.mark.parametrize("arguments, kind", [("[]", "an array"), ('"main.py"', "a string"), ("3", "a number"),
                                             ("null", "null")])
async def test_arguments_must_be_an_object(box: Toolbox, arguments: str, kind: str) -> None:
    content = err(await box.execute("read_file", arguments))
    assert f"must be a JSON object, got {kind}" in content and '{"path": "quicksort.py"}' in content


async def test_double_encoded_arguments_are_explained(box: Toolbox) -> None:
    content = err(await box.execute("read_file", json.dumps(json.dumps({"path": "main.py"}))))
    assert "encoded twice" in content


async def test_missing_argument(box: Toolbox) -> None:
    content = err(await box.execute("read_file", "{}"))
    assert content == ("error: invalid arguments for read_file: missing required argument 'path'. Expected "
                       "arguments: path (string, required), start_line (integer, optional), "
                       "end_line (integer, optional)")


async def test_wrong_type_and_extra_argument(box: Toolbox) -> None:
    content = err(await call(box, "read_file", path=3, file="main.py"))
    assert "argument 'path': input should be a valid string (got 3)" in content
    assert "unexpected argument 'file'" in content
    content = err(await call(box, "read_file", path="main.py", start_line="two"))
    assert "argument 'start_line'" in content and '"two"' in content
    content = err(await call(box, "read_file", path="main.py", start_line=0))
    assert "argument 'start_line'" in content and "greater than or equal to 1" in content
    content = err(await call(box, "run_tests", verbose=True))
    assert "unexpected argument 'verbose'" in content and "Expected arguments: no arguments" in content


async def test_numeric_strings_are_accepted_for_integers(box: Toolbox) -> None:
    assert ok(await call(box, "read_file", path="main.py", start_line="3")).startswith("   3| print")


async def test_empty_arguments_mean_no_arguments(box: Toolbox) -> None:
    assert "main.py" in ok(await box.execute("list_files", ""))
    assert ok(await box.execute("run_tests", "")).startswith("tests passed")
    assert "missing required argument 'summary'" in err(await box.execute("finish", "  "))


async def test_unknown_tool(box: Toolbox) -> None:
    out = await box.execute("frobnicate", "{}")
    assert out.content == ("error: unknown tool 'frobnicate'; available tools: list_files, read_file, grep, "
                           "write_file, edit_file, run_tests, finish")
    assert out.is_error


# --- list_files ------------------------------------------------------------------------------------------


async def test_list_files(box: Toolbox) -> None:
    assert ok(await call(box, "list_files")) == "main.py\nnotes.md\npkg/__init__.py"
    assert ok(await call(box, "list_files", path="pkg")) == "pkg/__init__.py"


async def test_list_files_errors(box: Toolbox, root: Path) -> None:
    assert "no such folder 'missing'" in err(await call(box, "list_files", path="missing"))
    assert "is a file, not a folder" in err(await call(box, "list_files", path="main.py"))
    assert "leaves the workspace" in err(await call(box, "list_files", path=".."))
    (root / "empty").mkdir()
    assert ok(await call(box, "list_files", path="empty")) == "no files under 'empty'"


async def test_list_files_is_capped(box: Toolbox, root: Path) -> None:
    (root / "many").mkdir()
    for i in range(600):
        (root / "many" / f"f{i:03}.txt").write_text("")
    lines = ok(await call(box, "list_files", path="many")).splitlines()
    assert lines[0] == "many/f000.txt" and len(lines) == 501
    assert lines[-1] == "... and 100 more files; list a subfolder to see them"


# --- read_file -------------------------------------------------------------------------------------------


async def test_read_file_numbers_lines(box: Toolbox) -> None:
    assert ok(await call(box, "read_file", path="main.py")) == "   1| import pkg\n   2|\n   3| print('hello')"
    assert ok(await call(box, "read_file", path="pkg/../main.py", start_line=2, end_line=3)) == (
        "   2|\n   3| print('hello')\n(pkg/../main.py: lines 2-3 of 3)")
    assert ok(await call(box, "read_file", path="main.py", start_line=3, end_line=99)).startswith("   3| print")


async def test_read_file_errors(box: Toolbox, root: Path) -> None:
    assert "no such file 'nope.py'" in err(await call(box, "read_file", path="nope.py"))
    assert "'pkg' is a folder" in err(await call(box, "read_file", path="pkg"))
    assert "start_line 9 is past the end of 'main.py', which has 3 lines" in err(
        await call(box, "read_file", path="main.py", start_line=9))
    assert "end_line 1 is before start_line 2" in err(
        await call(box, "read_file", path="main.py", start_line=2, end_line=1))
    (root / "blob.bin").write_bytes(b"\x89PNG\x00\x01\x02")
    assert "'blob.bin' is a binary file" in err(await call(box, "read_file", path="blob.bin"))
    (root / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    assert "not UTF-8 text" in err(await call(box, "read_file", path="latin1.txt"))
    assert "is absolute" in err(await call(box, "read_file", path="/etc/passwd"))
    assert "leaves the workspace" in err(await call(box, "read_file", path="../outside.txt"))
    (root / "link.txt").symlink_to(root.parent / "outside.txt")
    assert "points outside the workspace" in err(await call(box, "read_file", path="link.txt"))


async def test_read_file_empty_and_long(box: Toolbox, root: Path) -> None:
    (root / "empty.txt").write_text("")
    assert ok(await call(box, "read_file", path="empty.txt")) == "empty.txt is empty (0 lines)"
    (root / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 5001)))
    small = Toolbox(Workspace(root), "true", output_cap=200)
    content = ok(await call(small, "read_file", path="long.txt"))
    assert content.startswith("   1| line 1\n") and len(content) < 400
    assert content.splitlines()[-1].endswith("output limit reached; call read_file with start_line=15]")


# --- grep -----------------------------------------------------------------------------------------------


async def test_grep(box: Toolbox, root: Path) -> None:
    assert ok(await call(box, "grep", pattern=r"def \w+")) == "pkg/__init__.py:1: def add(a, b):"
    assert ok(await call(box, "grep", pattern="import|TODO")) == "main.py:1: import pkg\nnotes.md:2: TODO: more"
    assert ok(await call(box, "grep", pattern="TODO", path="notes.md")) == "notes.md:2: TODO: more"
    assert ok(await call(box, "grep", pattern="junk")) == "no matches for 'junk' under '.'"  # noise folders skipped
    (root / "blob.bin").write_bytes(b"hello\x00")
    assert ok(await call(box, "grep", pattern="hello")) == "main.py:3: print('hello')"


async def test_grep_errors_and_cap(box: Toolbox, root: Path) -> None:
    assert "invalid regular expression 'def (': missing ), unterminated subpattern" in err(
        await call(box, "grep", pattern="def ("))
    assert "no such file or folder 'nope'" in err(await call(box, "grep", pattern="x", path="nope"))
    assert "leaves the workspace" in err(await call(box, "grep", pattern="x", path="../"))
    (root / "big.txt").write_text("match\n" * (MAX_GREP_HITS + 50))
    lines = ok(await call(box, "grep", pattern="match", path="big.txt")).splitlines()
    assert len(lines) == MAX_GREP_HITS + 1 and lines[-1].startswith("... 50 more matches not shown")


# --- hostile files: every tool reads and writes only regular files of the workspace, bounded ---------------


@pytest.fixture
def fifo(root: Path) -> Any:
    """A FIFO in the workspace. Should a test open it for reading by mistake, opening the other end at
    teardown unblocks it instead of hanging the run."""
    path = root / "pipe"
    os.mkfifo(path)
    yield path
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # nobody is blocked on it: as it should be
        pass


async def test_a_fifo_is_refused_by_every_tool_without_hanging(box: Toolbox, fifo: Path) -> None:
    assert "'pipe' is a FIFO; only regular files can be read" in err(await call(box, "read_file", path="pipe"))
    assert "'pipe' is a FIFO" in err(await call(box, "edit_file", path="pipe", old="a", new="b"))
    assert "'pipe' is a FIFO; only regular files can be written" in err(
        await call(box, "write_file", path="pipe", content="x"))
    assert "'pipe' is a FIFO" in err(await call(box, "grep", pattern="x", path="pipe"))
    found = ok(await call(box, "grep", pattern="hello"))
    assert found.startswith("main.py:3: print('hello')") and "skipped 1 file that read_file refuses" in found


async def test_grep_follows_no_symlink_out_of_the_workspace(box: Toolbox, root: Path) -> None:
    """`grep .` printed /etc/shadow through a symlink read_file refused, and read /dev/zero without end."""
    (root.parent / "outside.txt").write_text("root:$6$hash:19000:0:99999:7:::\n")
    (root / "shadow").symlink_to(root.parent / "outside.txt")
    (root / "zero").symlink_to("/dev/zero")
    (root / "pkg" / "up").symlink_to(root.parent, target_is_directory=True)
    found = ok(await call(box, "grep", pattern="."))
    assert "$6$hash" not in found and "secret" not in found
    assert "skipped 2 files that read_file refuses" in found and "shadow" in found and "zero" in found
    for path in ("shadow", "zero"):
        assert "points outside the workspace" in err(await call(box, "read_file", path=path))
        assert "points outside the workspace" in err(await call(box, "grep", pattern=".", path=path))


async def test_a_hard_link_made_after_the_workspace_opened_is_refused(root: Path) -> None:
    secret = root.parent / "outside.txt"
    (root / "old-link.txt").hardlink_to(root / "notes.md")  # there when the workspace was opened: fine
    box = Toolbox(Workspace(root), "true")
    (root / "linked.txt").hardlink_to(secret)  # made later, as a command could
    for outcome in [await call(box, "read_file", path="linked.txt"),
                    await call(box, "edit_file", path="linked.txt", old="secret", new="changed"),
                    await call(box, "write_file", path="linked.txt", content="changed\n")]:
        assert "'linked.txt' has 2 hard links made since the workspace was opened" in err(outcome)
    assert secret.read_text() == "secret\n"  # neither read nor written through the link
    found = ok(await call(box, "grep", pattern="secret|Notes"))
    assert "secret" not in found.split("(skipped")[0] and "linked.txt" in found
    assert "old-link.txt:1: # Notes" in found and ok(await call(box, "read_file", path="old-link.txt"))


async def test_files_are_read_up_to_the_size_cap(box: Toolbox, root: Path) -> None:
    (root / "huge.txt").write_text("x" * (MAX_FILE_BYTES + 1))
    assert f"'huge.txt' is too large to read ({MAX_FILE_BYTES + 1} bytes" in err(
        await call(box, "read_file", path="huge.txt"))
    assert "skipped 1 file that read_file refuses" in ok(await call(box, "grep", pattern="hello"))


async def test_write_file_has_a_size_cap(box: Toolbox, root: Path) -> None:
    content = "x" * (MAX_FILE_BYTES + 1)
    assert f"a file may hold at most {MAX_FILE_BYTES} bytes" in err(
        await call(box, "write_file", path="big.txt", content=content))
    assert not (root / "big.txt").exists()
    (root / "grow.txt").write_text("x" * (MAX_FILE_BYTES - 10) + "END")
    assert "a file may hold at most" in err(await call(box, "edit_file", path="grow.txt", old="END", new="END" * 9))
    assert (root / "grow.txt").read_text().endswith("xEND")  # left as it was


GREP_IN_A_CHILD = """
import asyncio, json, sys
from agent.tools.sandbox import Sandbox
from agent.tools.toolbox import Toolbox
from agent.tools.workspace import MAX_FILE_BYTES, Workspace

async def main():
    box = Toolbox(Workspace(sys.argv[1], Sandbox("none")), "true", grep_timeout=float(sys.argv[2]))
    grep = asyncio.ensure_future(box.execute("grep", json.dumps({"pattern": "(a+)+$"})))
    proc = await asyncio.create_subprocess_exec("true")  # the event loop goes on while grep works
    await proc.wait()
    print("loop ran while grep worked:", not grep.done())
    print((await grep).content)

asyncio.run(main())
"""


def test_a_catastrophic_regex_is_stopped_and_the_loop_keeps_running(root: Path) -> None:
    """`(a+)+$` on 40 a's and a b held the interpreter lock for good: the event loop (and SIGTERM) froze.
    Run in a child, so that a regression fails here instead of hanging the test session."""
    (root / "evil.txt").write_text("a" * 40 + "b\n")
    done = subprocess.run([sys.executable, "-c", GREP_IN_A_CHILD, str(root), "1"], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()[:2]
    assert first == "loop ran while grep worked: True"
    assert second.startswith("error: grep stopped after 1 s: the pattern '(a+)+$' takes too long")


# --- write_file -----------------------------------------------------------------------------------------


async def test_write_file(box: Toolbox, root: Path) -> None:
    out = await call(box, "write_file", path="src/new/mod.py", content="a = 1\nb = 2\n")
    assert (out.content, out.changed_files, out.is_error) == ("wrote 2 lines to src/new/mod.py", True, False)
    assert (root / "src/new/mod.py").read_text() == "a = 1\nb = 2\n"
    assert ok(await call(box, "write_file", path="main.py", content="x")) == "wrote 1 line to main.py"
    assert (root / "main.py").read_text() == "x"


async def test_write_file_errors(box: Toolbox, root: Path) -> None:
    assert "leaves the workspace" in err(await call(box, "write_file", path="../evil.py", content=""))
    assert "is absolute" in err(await call(box, "write_file", path="/tmp/evil.py", content=""))
    (root / "out").symlink_to(root.parent, target_is_directory=True)
    assert "symlink 'out'" in err(await call(box, "write_file", path="out/evil.py", content=""))
    assert not (root.parent / "evil.py").exists()
    assert "'pkg' is a folder" in err(await call(box, "write_file", path="pkg", content=""))
    content = err(await call(box, "write_file", path="main.py/child.py", content=""))  # an OSError
    assert content.startswith("error: write_file failed: ")


# --- edit_file ------------------------------------------------------------------------------------------


async def test_edit_file(box: Toolbox, root: Path) -> None:
    out = await call(box, "edit_file", path="pkg/__init__.py", old="    return a + b\n", new="    return b + a\n")
    assert out.changed_files and not out.is_error
    assert out.content.startswith("edited pkg/__init__.py: replaced 1 line at line 2 with 1 line. Now:\n")
    assert "   2|     return b + a" in out.content
    assert (root / "pkg/__init__.py").read_text() == "def add(a, b):\n    return b + a\n"


async def test_edit_file_zero_matches(box: Toolbox, root: Path) -> None:
    content = err(await call(box, "edit_file", path="main.py", old="print('bye')", new="x"))
    assert content.startswith("error: 'old' text not found in main.py.")
    content = err(await call(box, "edit_file", path="pkg/__init__.py", old="def add(a, b):\n  return a + b",
                             new="x"))
    assert "Its first line 'def add(a, b):' is at line 1" in content
    content = err(await call(box, "edit_file", path="main.py", old="   3| print('hello')", new="x"))
    assert "line-number prefixes" in content
    assert (root / "main.py").read_text() == "import pkg\n\nprint('hello')\n"


async def test_edit_file_several_matches(box: Toolbox, root: Path) -> None:
    (root / "dup.py").write_text("x = 1\ny = 2\nx = 1\n")
    content = err(await call(box, "edit_file", path="dup.py", old="x = 1", new="x = 3"))
    assert content == ("error: 'old' text matches 2 times in dup.py (at lines 1, 3); include more surrounding "
                       "lines so that it matches exactly once")
    assert ok(await call(box, "edit_file", path="dup.py", old="x = 1\ny", new="x = 3\ny"))
    assert (root / "dup.py").read_text() == "x = 3\ny = 2\nx = 1\n"


async def test_edit_file_other_cases(box: Toolbox, root: Path) -> None:
    assert "'old' is empty" in err(await call(box, "edit_file", path="main.py", old="", new="x"))
    assert "no such file" in err(await call(box, "edit_file", path="nope.py", old="a", new="b"))
    assert "leaves the workspace" in err(await call(box, "edit_file", path="../outside.txt", old="s", new="t"))
    out = await call(box, "edit_file", path="main.py", old="import pkg", new="import pkg")
    assert not out.is_error and not out.changed_files and out.content.startswith("no change")
    (root / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    assert ok(await call(box, "edit_file", path="crlf.txt", old="one\ntwo", new="1\n2"))
    assert (root / "crlf.txt").read_bytes() == b"1\r\n2\r\n"


# --- run_tests ------------------------------------------------------------------------------------------


def python_cmd(code: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


async def test_run_tests_pass_and_fail(root: Path) -> None:
    passing = Toolbox(Workspace(root), python_cmd("print('3 passed')"))
    out = await call(passing, "run_tests")
    assert out.content == "tests passed (exit 0)\n3 passed"
    assert not (out.is_error or out.tests_failed)
    failing = Toolbox(Workspace(root), python_cmd("import sys; print('1 failed'); sys.exit(1)"))
    out = await call(failing, "run_tests")
    assert out.content == "tests failed (exit 1)\n1 failed"
    assert out.tests_failed and not out.is_error
    silent = Toolbox(Workspace(root), "exit 2")
    assert (await call(silent, "run_tests")).content == "tests failed (exit 2)\n(no output)"


async def test_run_tests_without_a_test_command(root: Path) -> None:
    box = Toolbox(Workspace(root), "  ")
    assert "no test command is configured" in err(await call(box, "run_tests"))


async def test_run_tests_timeout(root: Path) -> None:
    box = Toolbox(Workspace(root), "echo starting; sleep 30", test_timeout=0.5)
    out = await call(box, "run_tests")
    assert out.content.startswith("tests timed out after 0.5s\nstarting")
    assert out.tests_failed and not out.is_error


async def test_run_tests_output_cap(root: Path) -> None:
    box = Toolbox(Workspace(root), python_cmd("print('HEAD'); print('x' * 50000); print('TAIL')"), output_cap=1000)
    out = await call(box, "run_tests")
    assert out.content.startswith("tests passed (exit 0)\nHEAD")
    assert out.content.endswith("TAIL") and "characters cut] ..." in out.content
    assert len(out.content) < 1200


async def test_run_tests_hides_api_key(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    box = Toolbox(Workspace(root), "env")
    assert "sk-do-not-leak" not in (await call(box, "run_tests")).content


# --- finish ---------------------------------------------------------------------------------------------


async def test_finish(box: Toolbox) -> None:
    out = await call(box, "finish", summary="fixed it")
    assert (out.content, out.finished, out.summary, out.is_error) == ("finished: fixed it", True, "fixed it", False)
    assert "argument 'summary'" in err(await call(box, "finish", summary=["a"]))
