"""What the agent changed: each iteration whose tools changed files records them, as a capped diff."""

from __future__ import annotations

import os
from pathlib import Path

from agent.events import WorkspaceChanged
from agent.run.runner import RunOptions, build_run
from agent.tools import changes
from agent.tools.changes import ChangeTracker
from agent.tools.workspace import Workspace
from agent.transcripts.importers import open_transcript
from tests.conftest import call, collect, reply, write_script


def test_tracker_reports_added_modified_deleted_and_binary(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\ny = 2\n")
    (tmp_path / "gone.txt").write_text("bye\n")
    (tmp_path / "__pycache__").mkdir()
    tracker = ChangeTracker(Workspace(tmp_path))
    tracker.snapshot()
    assert tracker.changes(1) is None
    (tmp_path / "a.py").write_text("x = 1\ny = 3\n")
    (tmp_path / "new.md").write_text("# notes\n")
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2")
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"cache")  # never tracked
    event = tracker.changes(2)
    assert event is not None and event.iteration == 2
    assert [(f.path, f.status, f.added, f.removed, f.binary) for f in event.files] == [
        ("a.py", "modified", 1, 1, False), ("blob.bin", "added", 0, 0, True), ("gone.txt", "deleted", 0, 1, False),
        ("new.md", "added", 1, 0, False)]
    assert "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n" in event.diff
    assert "--- /dev/null\n+++ b/new.md\n" in event.diff and "+++ /dev/null" in event.diff
    assert "Binary or large file blob.bin added" in event.diff and event.cut == 0
    assert tracker.changes(3) is None  # the snapshot moved on
    os.utime(tmp_path / "a.py", ns=(1, 1))  # touched, same content
    assert tracker.changes(4) is None


def test_undo_puts_an_iterations_files_back(tmp_path: Path) -> None:
    """`resample` takes a turn back: its files as they were before it (the last iteration looked at only)."""
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "gone.txt").write_text("bye\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1")
    tracker = ChangeTracker(Workspace(tmp_path))
    tracker.snapshot()
    (tmp_path / "a.py").write_text("x = 2\n")
    (tmp_path / "new.md").write_text("# notes\n")
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "blob.bin").write_bytes(b"\0\2")
    assert tracker.changes(1) is not None
    assert tracker.undo(2) == ([], True)  # not the iteration it last looked at: nothing to undo
    restored, whole = tracker.undo(1)
    assert restored == ["a.py", "gone.txt", "new.md"] and not whole  # a binary file's old bytes were not kept
    assert (tmp_path / "a.py").read_text() == "x = 1\n" and (tmp_path / "gone.txt").read_text() == "bye\n"
    assert not (tmp_path / "new.md").exists()
    assert tracker.changes(2) is None  # what it put back is the new snapshot


def test_a_huge_change_is_capped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(changes, "DIFF_CAP", 1000)
    tracker = ChangeTracker(Workspace(tmp_path))
    tracker.snapshot()
    (tmp_path / "data.csv").write_text("".join(f"{i},{i * i}\n" for i in range(5000)))
    event = tracker.changes(1)
    assert event is not None and len(event.diff) <= 1000 and event.cut > 40_000
    assert event.files[0].added == 5000 and event.diff.endswith("\n")


async def test_a_run_records_what_each_iteration_changed(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", [
        reply("Reading.", call("c1", "read_file", path="quicksort.py")),
        reply("Fixing.", call("c2", "edit_file", path="quicksort.py", old="    return quicksort(smaller) + [pivot]",
                              new="    equal = [x for x in items if x == pivot]\n    return quicksort(smaller) + equal"),
              call("c3", "write_file", path="NOTES.md", content="kept duplicates\n")),
        reply("Done.", call("c4", "finish", summary="done")),
    ])
    out = tmp_path / "run.jsonl"
    run = build_run(RunOptions(task="quicksort", script=script, out=out, reflection="off"))
    await collect(run)
    transcript = open_transcript(out)
    assert transcript.header.workspace == str(run.workspace) and Path(transcript.header.workspace).is_dir()
    changed = [e for e in transcript.events if isinstance(e, WorkspaceChanged)]
    assert [e.iteration for e in changed] == [2]  # reading and finishing change nothing
    [event] = changed
    assert [(f.path, f.status, f.added, f.removed) for f in event.files] == [
        ("NOTES.md", "added", 1, 0), ("quicksort.py", "modified", 2, 1)]
    assert "+    equal = [x for x in items if x == pivot]" in event.diff and "+kept duplicates" in event.diff
    assert transcript.messages() == run.loop.messages  # a record, not a message: the history is untouched


def test_a_file_hard_linked_from_outside_is_not_diffed(tmp_path: Path) -> None:
    """A command could link a file from outside into the workspace; its text must not reach the transcript."""
    root, outside = tmp_path / "ws", tmp_path / "outside.txt"
    root.mkdir()
    outside.write_text("password=hunter2\n")
    tracker = ChangeTracker(Workspace(root))
    tracker.snapshot()
    (root / "linked.txt").hardlink_to(outside)
    event = tracker.changes(1)
    assert event is not None and [(f.path, f.binary) for f in event.files] == [("linked.txt", True)]
    assert "hunter2" not in event.diff
