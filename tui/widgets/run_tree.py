"""The run column of the runs screen drawn as a tree: every fork under its parent, with guides.

`agent.transcripts.runs.fork_tree` orders the runs (each fork right after its parent, depth-first) and
gives each its place (`RunSummary.tree`: for itself and each ancestor below the top, whether it is the last
fork of its parent); this draws that place as `├─` / `└─` / `│` guides, then the name, then where the fork
branched and what became of the note there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rich.style import Style
from rich.text import Text

from agent.display.terminal import inert
from agent.transcripts.runs import RunSummary


def _uncoloured(_meaning: str) -> Style:
    return Style()


def tree_guides(tree: tuple[bool, ...]) -> str:
    """`│  ` or blanks for each ancestor level, then `├─ ` or `└─ ` for the run itself."""
    if not tree:
        return ""
    *above, last = tree
    return "".join("   " if done else "│  " for done in above) + ("└─ " if last else "├─ ")


def run_label(entry: RunSummary, name: str | None = None,
              style: Callable[[str], Style] = _uncoloured) -> Text:
    """The run cell: guides, the name (`name`: as the table shows it, maybe cut), and `⎇K note dropped`
    for a fork (`of NAME` when its parent is not in the folder). What comes from the file is shown inert.
    `style` gives the colour of a meaning (muted, fork: `RunsTable.cell_style`)."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(tree_guides(entry.tree), style("muted"))
    t.append(inert(entry.label) if name is None else name, Style(bold=True))
    if entry.fork_at is not None:
        t.append(f"  ⎇{entry.fork_at}", style("fork"))
        if entry.fork_note and entry.fork_note != "none":
            t.append(f" note {inert(entry.fork_note)}", style("muted"))
        if not entry.tree and entry.fork_parent:
            t.append(f" of {inert(Path(entry.fork_parent).name)}", style("muted"))
    return t
