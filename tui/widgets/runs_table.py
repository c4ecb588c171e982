"""The table of the runs screen: Textual's DataTable, with vi keys and cell colours from the theme."""

from __future__ import annotations

from rich.style import Style
from textual.binding import Binding
from textual.widgets import DataTable

from tui.render.palette import foreground


class RunsTable(DataTable):
    """One row per run; enter opens the run at the cursor."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", tooltip="open the run at the cursor"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    COMPONENT_CLASSES = {
        "runs-table--good", "runs-table--bad", "runs-table--warning", "runs-table--muted",
        "runs-table--reflection", "runs-table--mark-a", "runs-table--mark-b", "runs-table--fork",
    }
    """What a cell's colour means: tests pass, a failure, no ending, a dash, reflection; the A and B marks;
    where a fork branched from its parent."""

    DEFAULT_CSS = """
    RunsTable > .runs-table--good { color: $text-success; }
    RunsTable > .runs-table--bad { color: $text-error; }
    RunsTable > .runs-table--warning { color: $text-warning; }
    RunsTable > .runs-table--muted { color: $text-muted; }
    RunsTable > .runs-table--reflection { color: $reflection; }
    RunsTable > .runs-table--mark-a { color: $background; background: $primary; text-style: bold; }
    RunsTable > .runs-table--mark-b { color: $background; background: $accent; text-style: bold; }
    RunsTable > .runs-table--fork { color: $text-secondary; text-style: bold; }
    """

    def cell_style(self, meaning: str) -> Style:
        """The style of a cell that means `meaning` (good, bad, warning, muted, reflection, fork, mark-a, mark-b):
        a colour over the row's background, or for a mark its own background."""
        style = self.get_component_rich_style(f"runs-table--{meaning}")
        return style if meaning.startswith("mark") else foreground(style)
