"""The table of the runs screen: Textual's DataTable, with vi keys."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class RunsTable(DataTable):
    """One row per run; enter opens the run at the cursor."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", tooltip="open the run at the cursor"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]
