"""The line above the comparison: where the two runs part, and how much differs."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from agent.transcripts.compare import Alignment
from tui.widgets.compare_view import S_DIFF_MARK, S_DIVERGE_MARK, S_FORK_MARK, S_MUTED


def divergence_text(alignment: Alignment) -> Text:
    """The line above the header: where the runs part, and how much differs."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(" COMPARE ", Style(color="#1e1e1e", bgcolor="#61afef", bold=True))
    t.append("  ")
    shared = sum(r.only_in is None for r in alignment.rows)
    fork = alignment.fork
    if fork is not None:
        other = "A" if fork.side == "b" else "B"
        t.append(f"⎇ {fork.side.upper()} forks {other} at iteration {fork.at}", S_FORK_MARK)
        if fork.note and fork.note != "none":
            t.append(f" (note {fork.note})", S_MUTED)
        t.append(" · ")
    if alignment.divergence is None:
        t.append(f"≡ same requests in all {shared} shared iterations", Style(color="#98c379", bold=True))
        only = [r for r in alignment.rows if r.only_in is not None]
        if only:
            t.append(f" · {len(only)} more in {only[0].only_in.upper()}", S_MUTED)
    else:
        diff = alignment.diff
        t.append(f"⟂ requests diverge at iteration {alignment.divergence}", S_DIVERGE_MARK)
        if diff is not None:
            t.append(f": {diff.describe()}", S_MUTED)
    n = alignment.calls_differ_count
    t.append(" · ")
    t.append(f"≠ calls differ in {n} of {shared} iteration{'s' if shared != 1 else ''}",
             S_DIFF_MARK if n else S_MUTED)
    return t


class CompareBar(Static):
    """One line: `divergence_text` of the alignment."""

    DEFAULT_CSS = """
    CompareBar {
        height: 1;
        background: $panel;
        padding: 0 1 0 0;
    }
    """
