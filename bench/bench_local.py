"""How fast the local model runs here, and what its prompt cache saves: prompt and decode tokens per second
and the share of prompt tokens the server found in its cache, for a recorded run's requests sent again.

    .venv/bin/python bench/bench_local.py --model models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \\
        [--runs docs/results/runs/humanevalfix-4__system__r1.jsonl ...] [--no-write]

For each recorded run it sends, in the run's order, every agent turn's request (as agent-tui puts it on the
wire for the `local` profile: tools and calls as text) and every reflection call's request, each asking for
as many tokens as the recording's reply had, at temperature 0. Twice: with the reflection calls on the
actor's server (one llama-cpp-python server, as agent-tui ran before), then on a second server of their
own (as it runs now). Figures come from the servers' logs: llama-cpp-python prints, per request, how many
prompt tokens matched its cache (`prefix-match hit`) and how many it evaluated, and llama.cpp its prompt
and decode timings. Unless `--no-write`, the second figures are written beside the model as
`<model>.speed.json`, which `ablate --plan` and `sweep --plan` read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.events import ReflectionNote  # noqa: E402
from agent.models.chat import ChatModel  # noqa: E402
from agent.models.local import LocalServer  # noqa: E402
from agent.models.profiles import resolve_profile  # noqa: E402
from agent.experiments.planner import speed_file  # noqa: E402
from agent.transcripts.importers import open_transcript  # noqa: E402

DEFAULT_RUNS = [ROOT / "docs/results/runs/humanevalfix-4__system__r1.jsonl",
                ROOT / "docs/results/runs/humanevalfix-56__system__r1.jsonl"]
HIT = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens to eval")
PROMPT_EVAL = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
EVAL = re.compile(r"(?<!prompt )eval time =\s*([\d.]+) ms /\s*(\d+) runs")


@dataclass
class Request:
    """One request of a recorded run, as it goes on the wire."""

    kind: str
    """agent or reflection"""
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    max_tokens: int


def recorded_requests(path: Path) -> list[Request]:
    """The run's requests in the order it sent them: each agent turn, then the note written after it."""
    transcript = open_transcript(path)
    model = ChatModel(None, "local", profile=resolve_profile("local", None), stream=False)
    out = []
    for iteration in transcript.iterations:
        if iteration.assistant is None:
            continue
        messages, _ = transcript.request_at(iteration.number)
        wire = model.request(messages, transcript.header.tools)
        usage = iteration.assistant.usage
        out.append(Request("agent", wire.messages, {k: v for k, v in wire.params.items() if k != "stream"},
                           max(1, usage.completion_tokens if usage else 64)))
        note: ReflectionNote | None = iteration.reflection
        if note is not None and note.request:
            out.append(Request("reflection", note.request, {},
                               max(1, note.usage.completion_tokens if note.usage else 64)))
    return out


@dataclass
class Figures:
    requests: int = 0
    prompt_tokens: int = 0
    evaluated: int = 0
    prompt_ms: float = 0.0
    prompt_evals: int = 0
    decode_ms: float = 0.0
    decoded: int = 0
    wall_s: float = 0.0

    @property
    def hit_rate(self) -> float:
        return 1 - self.evaluated / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def prompt_tps(self) -> float:
        return 1000 * self.prompt_evals / self.prompt_ms if self.prompt_ms else 0.0

    @property
    def decode_tps(self) -> float:
        return 1000 * self.decoded / self.decode_ms if self.decode_ms else 0.0


def read_log(path: str, figures: Figures, start: int, prompt_tokens: int) -> int:
    """Add one request to `figures`: its `prompt_tokens` (the server's count), and what the server logged
    since byte `start` (a request that matched nothing in the cache logs no prefix-match line: all its
    prompt tokens were evaluated); return where the log ends now."""
    with open(path, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
        end = f.tell()
    hits = HIT.findall(text)
    figures.prompt_tokens += prompt_tokens
    figures.evaluated += prompt_tokens - sum(int(hit) for hit, _ in hits)
    for ms, tokens in PROMPT_EVAL.findall(text):
        figures.prompt_ms += float(ms)
        figures.prompt_evals += int(tokens)
    for ms, runs in EVAL.findall(text):
        figures.decode_ms += float(ms)
        figures.decoded += int(runs)
    return end


def send_all(requests: list[Request], actor: LocalServer, reflector: LocalServer) -> tuple[Figures, Figures]:
    """Send the requests one after the other; the figures of the agent's requests and of the notes'."""
    from openai import OpenAI

    clients = {s.base_url: OpenAI(base_url=s.base_url, api_key="not-needed", timeout=900) for s in {actor, reflector}}
    figures = {"agent": Figures(), "reflection": Figures()}
    marks = {s.log.name: Path(s.log.name).stat().st_size for s in {actor, reflector}}
    for request in requests:
        server = actor if request.kind == "agent" else reflector
        t0 = time.perf_counter()
        response = clients[server.base_url].chat.completions.create(
            model="local", messages=request.messages, temperature=0.0, max_tokens=request.max_tokens,
            **{k: v for k, v in request.params.items() if k not in ("temperature", "max_tokens")})
        mine = figures[request.kind]
        mine.wall_s += time.perf_counter() - t0
        mine.requests += 1
        time.sleep(0.2)  # the timings are logged after the answer
        prompt = response.usage.prompt_tokens if response.usage else 0
        marks[server.log.name] = read_log(server.log.name, mine, marks[server.log.name], prompt)
    return figures["agent"], figures["reflection"]


def line(label: str, f: Figures) -> str:
    return (f"{label:<34} {f.requests:>3} req  {f.prompt_tokens:>7,} prompt tok  {f.evaluated:>7,} evaluated  "
            f"hit {100 * f.hit_rate:5.1f}%  prompt {f.prompt_tps:6.1f} tok/s  decode {f.decode_tps:5.1f} tok/s  "
            f"{f.wall_s:7.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--runs", type=Path, nargs="+", default=DEFAULT_RUNS)
    parser.add_argument("--threads", type=int, help="threads per server (default: agent-tui's, all cores but one)")
    parser.add_argument("--no-write", action="store_true", help="do not write <model>.speed.json")
    args = parser.parse_args()
    requests = [r for path in args.runs for r in recorded_requests(path)]
    agents = sum(r.kind == "agent" for r in requests)
    print(f"{len(args.runs)} recorded runs: {agents} agent requests, {len(requests) - agents} reflection requests")
    results: dict[str, tuple[Figures, Figures]] = {}
    for label, separate in (("one server (notes on the actor's)", False), ("two servers (notes on their own)", True)):
        with LocalServer(args.model, threads=args.threads) as actor:
            if separate:
                with LocalServer(args.model, threads=args.threads) as reflector:
                    results[label] = send_all(requests, actor, reflector)
            else:
                results[label] = send_all(requests, actor, actor)
        agent, notes = results[label]
        print(f"\n{label}:")
        print(line("  agent turns", agent))
        print(line("  reflection calls", notes))
    agent, _ = results["two servers (notes on their own)"]
    before, _ = results["one server (notes on the actor's)"]
    print(f"\nagent turns with the notes on their own server: {before.evaluated - agent.evaluated:,} fewer prompt "
          f"tokens evaluated, {before.wall_s - agent.wall_s:.1f} s less")
    if not args.no_write:
        path = speed_file(args.model)
        path.write_text(json.dumps({
            "prompt_tps": round(agent.prompt_tps, 2), "decode_tps": round(agent.decode_tps, 2),
            "cache_hit_rate": round(agent.hit_rate, 4), "measured": time.strftime("%Y-%m-%d"),
            "threads": args.threads or LocalServer(args.model).threads,
            "runs": [str(p) for p in args.runs]}, indent=1) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
