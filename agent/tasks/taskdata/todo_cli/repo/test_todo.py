import subprocess
import sys
from pathlib import Path

TODO = Path(__file__).with_name("todo.py")


def todo(tmp_path, *args):
    """Run the CLI the way a user would, against a list file in tmp_path."""
    return subprocess.run([sys.executable, str(TODO), "--file", str(tmp_path / "todo.json"), *args],
                          capture_output=True, text=True, timeout=30)


def test_add_and_list(tmp_path):
    assert todo(tmp_path, "add", "buy milk").stdout == "added 1: buy milk\n"
    todo(tmp_path, "add", "call mum")
    assert todo(tmp_path, "list").stdout == "1. [ ] buy milk\n2. [ ] call mum\n"


def test_done_marks_the_numbered_item(tmp_path):
    todo(tmp_path, "add", "buy milk")
    todo(tmp_path, "add", "call mum")
    result = todo(tmp_path, "done", "1")
    assert result.returncode == 0
    assert result.stdout == "done 1: buy milk\n"
    assert todo(tmp_path, "list").stdout == "1. [x] buy milk\n2. [ ] call mum\n"


def test_done_last_item(tmp_path):
    todo(tmp_path, "add", "buy milk")
    todo(tmp_path, "add", "call mum")
    result = todo(tmp_path, "done", "2")
    assert (result.returncode, result.stderr) == (0, "")
    assert todo(tmp_path, "list").stdout == "1. [ ] buy milk\n2. [x] call mum\n"


def test_done_rejects_numbers_out_of_range(tmp_path):
    todo(tmp_path, "add", "buy milk")
    for number in ("0", "2"):
        result = todo(tmp_path, "done", number)
        assert result.returncode == 1
        assert result.stderr == f"error: no item {number}\n"
    assert todo(tmp_path, "list").stdout == "1. [ ] buy milk\n"
