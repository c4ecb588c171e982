"""What the main views look like (pytest-textual-snapshot). Regenerate with `--snapshot-update` after a
deliberate change, and look at the SVGs in tests/__snapshots__/ before committing them."""

from __future__ import annotations

from pathlib import Path

from tests.tui_helpers import quicksort_transcript, transcript_app
from tui.app import AgentTuiApp

DATA = Path(__file__).parent / "data"
SIZE = (120, 40)


def quicksort_app() -> AgentTuiApp:
    return transcript_app(transcript=quicksort_transcript(), title="quicksort.jsonl", source="runs/quicksort.jsonl")[0]


def test_snapshot_call_linked_to_result(snap_compare) -> None:
    # tab: the cursor on the first call; its result is marked with the same colour.
    assert snap_compare(quicksort_app(), press=["tab"], terminal_size=SIZE)


def test_snapshot_request_view(snap_compare) -> None:
    # n: the second iteration; v: what the model saw there, the 4 new messages marked.
    assert snap_compare(quicksort_app(), press=["n", "v"], terminal_size=SIZE)


def test_snapshot_ordering_violation(snap_compare) -> None:
    from agent.transcripts.importers import open_transcript

    app, _ = transcript_app(transcript=open_transcript(DATA / "bad_order.json"), title="bad_order.json",
                            source="tests/data/bad_order.json")
    assert snap_compare(app, terminal_size=SIZE)


def test_snapshot_reflection_and_error(snap_compare) -> None:
    # The second iteration: a failing tool result and the reflection note it triggered.
    assert snap_compare(quicksort_app(), press=["n"], terminal_size=SIZE)


def test_snapshot_light_theme(snap_compare) -> None:
    # textual-light: the second iteration (an error, a reflection note) and a call linked to its result,
    # every label, link and badge readable on a light background.
    async def light(pilot) -> None:
        pilot.app.theme = "textual-light"

    assert snap_compare(quicksort_app(), press=["n", "tab"], run_before=light, terminal_size=SIZE)
