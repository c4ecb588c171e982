"""How long the ordering check takes on long histories: it must stay linear in the number of messages.

    python bench/bench_ordering.py

Prints the time to check a clean history of about 8k, 40k and 80k messages, and the time per message.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.ordering import check_messages  # noqa: E402


def history(iterations: int) -> list[dict]:
    """System, user, then per iteration an assistant message with two calls, their results, a note."""
    out: list[dict] = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    for k in range(iterations):
        calls = [{"id": f"c{k}{x}", "type": "function", "function": {"name": "f", "arguments": "{}"}} for x in "ab"]
        out += [{"role": "assistant", "content": None, "tool_calls": calls},
                {"role": "tool", "tool_call_id": f"c{k}b", "content": "r"},
                {"role": "tool", "tool_call_id": f"c{k}a", "content": "r"},
                {"role": "system", "content": "note"}]
    return out


def main() -> None:
    print(f"{'messages':>9}  {'check':>9}  {'per message':>12}")
    for iterations in (2_000, 10_000, 20_000):
        messages = history(iterations)
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            assert check_messages(messages) == []
            best = min(best, time.perf_counter() - t)
        print(f"{len(messages):>9,}  {best * 1000:>7.1f}ms  {best / len(messages) * 1e6:>10.2f}us")


if __name__ == "__main__":
    main()
