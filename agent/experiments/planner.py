"""What a grid will cost and what it can find, said before it runs (`ablate --plan`, `sweep --plan`).

Cost: the jobs still to run, times tokens and seconds per run. Tokens per run come from runs already made
with the same model: this folder's finished jobs, else `--plan-from DIR`, else the newest grid under `runs/`
with the same provider and model (a sweep's from its parents, iteration by iteration after each fork point).
Seconds come from the model's measured speed when there is one (`bench/bench_local.py` writes
`<model>.speed.json` beside a local GGUF: prompt and decode tokens per second and the prompt cache hit
rate), else from the wall time of those runs. One local server answers one request at a time, so a local
grid's time is the sum of its runs'.

What it can find: the exact power of the sign test over units that the summary runs (agent.experiments.stats), for
a base rate: the smallest rise it detects with 80% power at the grid's size, or with `--target-effect`,
the units needed for that rise at several repeats per unit.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from agent.display.wording import plural, text_table
from agent.experiments.jobs import ResultRow, all_records
from agent.experiments.stats import ALPHA, POWER, min_detectable_effect, sign_test, units_needed
from agent.experiments.summary import BASELINES, counted

SPEED_SUFFIX = ".speed.json"
REPEAT_CHOICES = (1, 2, 3, 5, 10)
DEFAULT_BASE_RATE = 0.5
"""When nothing says what the baseline's rate is: where a pass/fail outcome varies most."""


@dataclass
class Speed:
    """A local model's measured speed on this machine."""

    prompt_tps: float
    decode_tps: float
    cache_hit_rate: float
    """The share of prompt tokens the server found in its cache (not processed again)."""
    source: str


def speed_file(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + SPEED_SUFFIX)


def load_speed(model_path: Path | None) -> Speed | None:
    """The speed `bench/bench_local.py` measured for this GGUF, if it did."""
    if model_path is None:
        return None
    path = speed_file(Path(model_path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        measured = f", measured {data['measured']}" if data.get("measured") else ""
        return Speed(float(data["prompt_tps"]), float(data["decode_tps"]), float(data["cache_hit_rate"]),
                     f"{path.name}{measured}")
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class PerRun:
    """What one run of a setting costs, on average."""

    prompt_tokens: float
    completion_tokens: float
    wall_s: float
    successes: float
    """Its success rate."""
    tool_s: float = 0.0
    """Of `wall_s`, the time its tools and the final test run took (spent whatever the model's speed)."""
    first_prompt: float = 0.0
    """A fork's first live request: its prompt tokens (the replayed history and the note); 0 for a whole run."""
    first_cached: float = 0.0
    """Of those, the tokens the server has in its cache already: the replayed history when the fork before
    was of the same fork point, else only the start every run shares (the system prompt and the tools)."""

    @property
    def tokens(self) -> float:
        return self.prompt_tokens + self.completion_tokens

    def seconds(self, speed: Speed) -> float:
        """The time it takes at `speed`: the prompt tokens not in the server's cache (a fork's first request
        as its cache stands, the other requests at the measured hit rate), the completion, the tools."""
        later = self.prompt_tokens - self.first_prompt
        evaluated = self.first_prompt - self.first_cached + later * (1 - speed.cache_hit_rate)
        return evaluated / speed.prompt_tps + self.completion_tokens / speed.decode_tps + self.tool_s


def earlier_rows(folder: Path) -> list[ResultRow]:
    """The finished runs of a grid folder: its job records, else the runs its summary.json lists."""
    rows = [r for r in all_records(folder) if counted(r)]
    if rows:
        return rows
    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        return [r for r in (ResultRow.from_dict(x) for x in data.get("runs") or []) if counted(r)]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def last_grid(config: dict[str, Any], root: Path = Path("runs")) -> Path | None:
    """The newest grid folder under `root` made with the same provider and model."""
    found = []
    for summary in root.glob("*/summary.json") if root.is_dir() else []:
        try:
            grid = json.loads(summary.read_text(encoding="utf-8")).get("grid") or {}
        except (OSError, ValueError, AttributeError):
            continue
        theirs = grid.get("config") or {}
        if all(theirs.get(k) == config.get(k) for k in ("provider", "model", "model_path")):
            found.append((summary.stat().st_mtime, summary.parent))
    return max(found)[1] if found else None


def per_setting(rows: Iterable[ResultRow]) -> dict[str, PerRun]:
    by: dict[str, list[ResultRow]] = {}
    for row in rows:
        by.setdefault(row.setting, []).append(row)
    return {s: PerRun(statistics.fmean(r.prompt_tokens for r in rs), statistics.fmean(r.completion_tokens for r in rs),
                      statistics.fmean(r.wall_time_s for r in rs), statistics.fmean(r.success for r in rs))
            for s, rs in by.items()}


def for_settings(settings: Sequence[str], known: dict[str, PerRun]) -> dict[str, tuple[PerRun, str]]:
    """Each setting's estimate, and where it comes from: the same setting, else the mean of the others with
    reflection (or without, for a baseline)."""
    out = {}
    for setting in settings:
        if setting in known:
            out[setting] = (known[setting], setting)
            continue
        alike = [s for s in known if (s in BASELINES) == (setting in BASELINES)] or list(known)
        if alike:
            out[setting] = (PerRun(*(statistics.fmean(getattr(known[s], f) for s in alike)
                                     for f in ("prompt_tokens", "completion_tokens", "wall_s", "successes"))),
                            "mean of " + ", ".join(alike))
    return out


def duration(seconds: float) -> str:
    """`2 h 05 min`, `14 min`, `40 s`."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def cost_lines(todo: Sequence[tuple[str, PerRun | None]], speed: Speed | None, concurrency: int, local: bool,
               source: str) -> list[str]:
    """The tokens and time of the jobs still to run (`todo`: each job's setting and its estimate)."""
    known = [(s, e) for s, e in todo if e is not None]
    if not todo:
        return ["nothing to run: every job is finished (the summary is rebuilt from them)"]
    if not known:
        return [f"tokens and time: no earlier runs of this model to estimate from ({source}); "
                "give --plan-from DIR (a grid folder made with it)"]
    scale = len(todo) / len(known)
    tokens = scale * sum(e.tokens for _, e in known)
    if speed is not None:
        seconds = scale * sum(e.seconds(speed) for _, e in known)
        how = (f"at {speed.prompt_tps:.0f} prompt and {speed.decode_tps:.0f} decode tokens/s, "
               f"{100 * speed.cache_hit_rate:.0f}% of prompt tokens from the cache ({speed.source})")
    else:
        seconds = scale * sum(e.wall_s for _, e in known)
        how = "at the wall time of those runs"
    parallel = 1 if local else concurrency
    wall = seconds / parallel
    alone = "one local server answers one request at a time" if local else f"{parallel} at once"
    return [f"tokens: about {tokens:,.0f} ({tokens / len(todo):,.0f} a run; tokens per run from {source})",
            f"time: about {duration(wall)} ({duration(seconds / len(todo))} a run {how}; {alone})"]


def power_lines(units: int, repeats: int, unit: str, base: float, base_source: str,
                target: float | None = None) -> list[str]:
    """What the grid can detect (or, with `target`, what it takes to detect that rise)."""
    units_word = unit + "s"
    head = (f"power: the exact sign test over {units_word} (the summary's), two-sided at {ALPHA:g}, "
            f"{100 * POWER:.0f}% power, a base rate of {100 * base:.0f}% ({base_source}); each {unit} equally likely "
            f"to pass under the baseline, and its runs independent")
    if target is not None:
        rows = []
        for r in REPEAT_CHOICES:
            n = units_needed(target, r, base)
            rows.append((str(r), "more than 5,000" if n is None else f"{n:,}", "-" if n is None else f"{n * r:,}"))
        return [head, f"to detect a rise of {100 * target:.0f} points (to {100 * min(1.0, base + target):.0f}%):",
                text_table(("repeats", f"{units_word} needed", "runs per setting"), rows)]
    mde = min_detectable_effect(units, repeats, base)
    size = f"{plural(units, unit)} x {plural(repeats, 'repeat')}"
    if mde is None:
        best = sign_test(units, 0)
        why = (f"even if every {unit} went one way, the sign test's p-value would be {best:.2g}" if best > ALPHA
               else f"even a rise to 100% would be found less than {100 * POWER:.0f}% of the time")
        return [head, f"{size}: no rise is detectable: {why}; --target-effect E gives the size it takes"]
    return [head, f"{size}: the smallest rise detectable is {100 * mde:.0f} points (from {100 * base:.0f}% to "
                  f"{100 * min(1.0, base + mde):.0f}%); --target-effect E gives the size a smaller one takes"]


def check_flags(target: float | None, base: float | None) -> None:
    from agent.models.presets import UsageError

    if target is not None and not 0 < target < 1:
        raise UsageError(f"--target-effect {target:g}: give a rise of the success rate between 0 and 1 "
                         "(0.1: 10 points)")
    if base is not None and not 0 <= base < 1:
        raise UsageError(f"--base-rate {base:g}: give a success rate from 0 up to (not including) 1")


def earlier(out_dir: Path, plan_from: Path | None, config: dict[str, Any]) -> tuple[list[ResultRow], str]:
    """The runs to estimate from, and where they are: --plan-from, this folder's, or the last grid's."""
    if plan_from is not None:
        return earlier_rows(plan_from), str(plan_from)
    rows = earlier_rows(out_dir)
    if rows:
        return rows, f"this folder's {plural(len(rows), 'finished run')}"
    last = last_grid(config)
    if last is not None:
        return earlier_rows(last), f"the last grid with this model, {last}"
    return [], "no finished run in this folder, no grid with this model under runs/"


def base_rate(given: float | None, known: dict[str, PerRun]) -> tuple[float, str]:
    if given is not None:
        return given, "--base-rate"
    for baseline in BASELINES:
        if baseline in known:
            return known[baseline].successes, f"the earlier runs' rate with {baseline}"
    return DEFAULT_BASE_RATE, "assumed: give --base-rate"


def format_plan(*, head: str, todo_settings: Sequence[str], settings: Sequence[str], rows: list[ResultRow],
                source: str, speed: Speed | None, concurrency: int, local: bool, units: int, repeats: int,
                unit: str, base_given: float | None, target: float | None) -> str:
    """The plan `--plan` prints: the jobs, their cost, and what the grid can detect."""
    known = per_setting(rows)
    estimates = for_settings(settings, known)
    lines = [head]
    for setting in settings:
        if setting in estimates:
            e, whence = estimates[setting]
            lines.append(f"  {setting}: {e.tokens:,.0f} tokens a run ({e.prompt_tokens:,.0f} prompt, "
                         f"{e.completion_tokens:,.0f} completion), {e.wall_s:.0f} s, {100 * e.successes:.0f}% "
                         f"passed" + ("" if whence == setting else f" (no such runs: the {whence})"))
    todo = [(s, estimates[s][0] if s in estimates else None) for s in todo_settings]
    lines += cost_lines(todo, speed, concurrency, local, source)
    base, whence = base_rate(base_given, known)
    lines += power_lines(units, repeats, unit, base, whence, target)
    return "\n".join(lines)


def continuation(transcript: Any, at: int) -> PerRun:
    """What a fork of the parent at `at` costs, from the parent's own iterations: the tokens and request
    time of its replies after `at` (its notes' calls left out: a sweep's arms write none after the fork
    point), the time of every tool call (the replayed ones run again) and of one more test run (the
    verdict), and whether the parent passed."""
    iterations = transcript.iterations
    replies = [i.assistant for i in iterations if i.number > at and i.assistant is not None]
    tools = [r for i in iterations for r in i.results]
    tests = [r.duration_s for r in tools if r.name == "run_tests"]
    tool_s = sum(r.duration_s for r in tools) + (max(tests) if tests else 0.0)
    finished = transcript.finished
    first = replies[0].usage.prompt_tokens if replies and replies[0].usage else 0
    return PerRun(float(sum(r.usage.prompt_tokens for r in replies if r.usage)),
                  float(sum(r.usage.completion_tokens for r in replies if r.usage)),
                  float(sum(r.latency_s for r in replies)) + tool_s, float(bool(finished and finished.tests_passed)),
                  tool_s, float(first))


def first_prompt(transcript: Any) -> float:
    """The prompt tokens of a run's first request."""
    first = next((i.assistant for i in transcript.iterations if i.assistant is not None), None)
    return float(first.usage.prompt_tokens) if first is not None and first.usage else 0.0
