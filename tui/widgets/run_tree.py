"""The run column of the runs screen drawn as a tree: every fork under its parent, with guides.

`agent.transcripts.runs.fork_tree` orders the runs (each fork right after its parent, depth-first) and
gives each its place (`RunEntry.tree`: for itself and each ancestor below the top, whether it is the last
fork of its parent); this draws that place as `├─` / `└─` / `│` guides, then the name, then where the fork
branched and what became of the note there.
"""

from __future__ import annotations

from pathlib import Path

from rich.style import Style
from rich.text import Text

from agent.display.terminal import inert
from agent.transcripts.runs import RunEntry

GUIDE = Style(color="#5c6370")
FORK = Style(color="#c678dd", bold=True)
MUTED = Style(color="#8b949e")


def tree_guides(tree: tuple[bool, ...]) -> str:
    """`│  ` or blanks for each ancestor level, then `├─ ` or `└─ ` for the run itself."""
    if not tree:
        return ""
    *above, last = tree
    return "".join("   " if done else "│  " for done in above) + ("└─ " if last else "├─ ")


def run_label(entry: RunEntry, name: str | None = None) -> Text:
    """The run cell: guides, the name (`name`: as the table shows it, maybe cut), and `⎇K note dropped`
    for a fork (`of NAME` when its parent is not in the folder). What comes from the file is shown inert."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(tree_guides(entry.tree), GUIDE)
    t.append(inert(entry.name) if name is None else name, Style(bold=True))
    if entry.fork_at is not None:
        t.append(f"  ⎇{entry.fork_at}", FORK)
        if entry.fork_note and entry.fork_note != "none":
            t.append(f" note {inert(entry.fork_note)}", MUTED)
        if not entry.tree and entry.fork_parent:
            t.append(f" of {inert(Path(entry.fork_parent).name)}", MUTED)
    return t
