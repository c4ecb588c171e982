"""The line above the comparison: where the two runs part, and how much differs."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from agent.transcripts.compare import Alignment


def divergence_text(alignment: Alignment) -> Content:
    """Where the runs part, and how many shared iterations' calls differ."""
    muted = "$text-muted"
    shared = sum(r.only_in is None for r in alignment.rows)
    parts: list[str | tuple[str, str]] = [(" COMPARE ", "bold $background on $primary"), "  "]
    fork = alignment.fork
    if fork is not None:
        other = "A" if fork.side == "b" else "B"
        parts.append((f"⎇ {fork.side.upper()} forks {other} at iteration {fork.at}", "bold $text-secondary"))
        if fork.note and fork.note != "none":
            parts.append((f" (note {fork.note})", muted))
        parts.append(" · ")
    sent_at = alignment.sent_divergence
    if alignment.divergence is None:
        same = "requests" if sent_at is None else "histories"
        parts.append((f"≡ same {same} in all {shared} shared iterations", "bold $text-success"))
        only = [r.only_in for r in alignment.rows if r.only_in is not None]
        if only:
            parts.append((f" · {len(only)} more in {only[0].upper()}", muted))
    else:
        parts.append((f"⟂ requests diverge at iteration {alignment.divergence}", "bold $link-4"))
        if alignment.diff is not None:
            parts.append((f": {alignment.diff.describe()}", muted))
    if sent_at is not None:
        parts += [" · ", (f"⟂ sent differently from iteration {sent_at}", "bold $link-4"),
                  (f": {alignment.sent_detail}", muted)]
    n = alignment.calls_differ_count
    parts += [" · ", (f"≠ calls differ in {n} of {shared} iteration{'s' if shared != 1 else ''}",
                      "bold $text-warning" if n else muted)]
    return Content.assemble(*parts)


class CompareBar(Static):
    """One line: `divergence_text` of the alignment."""

    DEFAULT_CSS = """
    CompareBar {
        height: 1;
        background: $panel;
        padding: 0 1 0 0;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """
