"""Counts as a person reads them: singular and plural agree, thousands are separated, a number that was
never recorded is not shown as 0, and names with numbers in them sort by those numbers."""

from __future__ import annotations

import re
from typing import Sequence

from agent.events import Usage

NOT_RECORDED = "tokens not recorded"
NOT_REPORTED = "tokens not reported"


def natural_key(name: str) -> list[tuple[int, int, str]]:
    """Sorts `humanevalfix-4` before `humanevalfix-42`, `#10_epoch_1` after `#9_epoch_1`."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 iteration`, `2 iterations`, `1,234 lines` (`many`: the plural when it is not `word` + s)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def tokens(usage: Usage | None, *, split: bool = True, unreported: int = 0) -> str:
    """`1,234 tokens (1,000 in / 234 out)`; `tokens not recorded` when the source had no counts, `tokens not
    reported` when the endpoint gave none. `unreported`: calls whose tokens the endpoint did not report,
    so that a total of the others is never read as the whole (`1,038 tokens reported (...); 6 calls not
    reported`)."""
    if usage is None:
        return NOT_REPORTED if unreported else NOT_RECORDED
    total = plural(usage.total_tokens, "token")
    if unreported:
        if not split:
            return f"≥{total} ({plural(unreported, 'call')} not reported)"
        return (f"{total} reported ({usage.prompt_tokens:,} in / {usage.completion_tokens:,} out); "
                f"{plural(unreported, 'call')} not reported")
    if not split:
        return total
    return f"{total} ({usage.prompt_tokens:,} in / {usage.completion_tokens:,} out)"


def short_tokens(usage: Usage | None, unreported: int = 0) -> str:
    """`1,234 tok` for a title line (`≥1,234 tok` when some calls' tokens were not reported); '' when the
    source had no counts (the title says nothing rather than 0)."""
    if usage is None:
        return "tok not reported" if unreported else ""
    return f"{'≥' if unreported else ''}{usage.total_tokens:,} tok"


def text_table(head: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    """Rows of cells in columns as wide as their widest cell, two spaces apart, the head first."""
    rows = [tuple(head), *(tuple(line) for line in lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
