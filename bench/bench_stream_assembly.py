"""How long putting a streamed reply back together takes: it must stay linear in the number of chunks.

    python bench/bench_stream_assembly.py

Feeds `StreamAccumulator` the SDK's own chunk objects, as a stream brings them, with the limits raised out
of the way: one call whose arguments come 8 characters at a time, then many calls of a chunk each, then
content 8 characters at a time. Prints the time per chunk at 3 sizes; a cost per chunk that stays flat
as the size grows is linear assembly.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openai.types.chat import ChatCompletionChunk  # noqa: E402

from agent.models.limits import ReplyLimits  # noqa: E402
from agent.models.streaming import StreamAccumulator  # noqa: E402

NO_LIMIT = ReplyLimits(max_chars=10**12, max_tool_calls=10**9)


def chunk(delta: dict) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate({"id": "c", "object": "chat.completion.chunk", "created": 0,
                                               "model": "m", "choices": [{"index": 0, "delta": delta}]})


def one_long_call(n: int) -> list[ChatCompletionChunk]:
    head = chunk({"tool_calls": [{"index": 0, "id": "a", "type": "function",
                                  "function": {"name": "write_file", "arguments": ""}}]})
    piece = chunk({"tool_calls": [{"index": 0, "function": {"arguments": "abcdefgh"}}]})
    return [head] + [piece] * (n - 1)


def many_calls(n: int) -> list[ChatCompletionChunk]:
    return [chunk({"tool_calls": [{"index": i, "id": f"c{i}", "type": "function",
                                   "function": {"name": "list_files", "arguments": "{}"}}]}) for i in range(n)]


def long_text(n: int) -> list[ChatCompletionChunk]:
    return [chunk({"content": "abcdefgh"})] * n


def assemble(chunks: list[ChatCompletionChunk]) -> float:
    started = time.perf_counter()
    acc = StreamAccumulator(limits=NO_LIMIT)
    for c in chunks:
        acc.add(c)
    acc.message()
    return time.perf_counter() - started


def main() -> None:
    print(f"{'stream':<22} {'chunks':>9}  {'assembly':>9}  {'per chunk':>10}")
    for name, make in (("one call's arguments", one_long_call), ("a call per chunk", many_calls),
                       ("content", long_text)):
        for n in (25_000, 50_000, 100_000):
            chunks = make(n)
            took = assemble(chunks)
            print(f"{name:<22} {n:>9,}  {took:>8.2f}s  {took / n * 1e6:>8.1f}us")


if __name__ == "__main__":
    main()
