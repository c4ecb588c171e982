"""What an ablation grid found, per reflection setting: the numbers of summary.json and the table `ablate`
prints (agent.run.stats does the arithmetic).

For each setting: successes / runs with a Wilson 95% interval; pass@k per task when every task has at
least k runs, averaged over tasks; against `off` on the same (task, repeat) pairs: wins, losses, ties and
the exact McNemar p-value, and the mean paired difference of tokens, wall time and reflection calls with a
bootstrap 95% interval. And the first evidence of whether notes are heeded: how many notes were written,
by trigger, and what the next iteration did (edited a file, ran the tests, repeated a call of the
iteration the note was about), read from the transcripts.

Failed jobs (the endpoint or the driver failed) are left out: they measure the endpoint, not the agent.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

from agent.display.wording import plural
from agent.run.stats import mcnemar, paired_bootstrap, pass_at_k, wilson

BASELINE = "off"
PASS_AT = (1, 2, 5, 10)
MEASURES = ("total_tokens", "wall_time_s", "reflection_calls")
EDIT_TOOLS = ("write_file", "edit_file")
FOLLOWUPS = ("edited_file", "ran_tests", "repeated_call", "run_ended")
"""What the iteration after a note did (a note can be followed by several), or that the run ended."""


class Row(Protocol):
    """A finished job as summary needs it (agent.run.ablate.ResultRow)."""

    task: str
    setting: str
    repeat: int
    success: bool
    wall_time_s: float
    reflection_calls: int
    transcript: str

    @property
    def failed(self) -> bool: ...

    @property
    def total_tokens(self) -> int: ...


def _interval(low: float, high: float, digits: int = 4) -> list[float]:
    return [round(low, digits), round(high, digits)]


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def setting_statistics(rows: Iterable[Row], out_dir: Path | None = None) -> list[dict[str, Any]]:
    """One entry per setting (in first-seen order): rate, interval, pass@k, measures, the comparison
    with `off` and, when `out_dir` holds the transcripts, the notes and what followed them."""
    done = [r for r in rows if not r.failed]
    by_setting: dict[str, list[Row]] = {}
    for row in done:
        by_setting.setdefault(row.setting, []).append(row)
    baseline = {(r.task, r.repeat): r for r in by_setting.get(BASELINE, [])}
    out = []
    for setting, members in by_setting.items():
        successes = sum(r.success for r in members)
        entry: dict[str, Any] = {
            "setting": setting, "runs": len(members), "successes": successes,
            "success_rate": round(successes / len(members), 4), "ci95": _interval(*wilson(successes, len(members))),
            "pass_at_k": _pass_at(members),
            **{name: _mean([float(getattr(r, name)) for r in members]) for name in MEASURES},
        }
        if setting != BASELINE and baseline:
            entry["vs_off"] = _versus(members, baseline)
        if out_dir is not None:
            entry["notes"] = note_counts(out_dir / r.transcript for r in members)
        out.append(entry)
    return out


def _pass_at(members: list[Row]) -> dict[str, float]:
    per_task: dict[str, list[bool]] = {}
    for row in members:
        per_task.setdefault(row.task, []).append(row.success)
    fewest = min(len(v) for v in per_task.values())
    return {str(k): round(statistics.fmean(pass_at_k(len(v), sum(v), k) for v in per_task.values()), 4)
            for k in PASS_AT if k <= fewest}


def _versus(members: list[Row], baseline: dict[tuple[str, int], Row]) -> dict[str, Any]:
    pairs = [(r, baseline[(r.task, r.repeat)]) for r in members if (r.task, r.repeat) in baseline]
    wins = sum(r.success and not b.success for r, b in pairs)
    losses = sum(b.success and not r.success for r, b in pairs)
    result: dict[str, Any] = {"pairs": len(pairs), "wins": wins, "losses": losses,
                              "ties": len(pairs) - wins - losses, "p_value": round(mcnemar(wins, losses), 6)}
    for name in MEASURES:
        if pairs:
            mean, low, high = paired_bootstrap([float(getattr(r, name)) - float(getattr(b, name)) for r, b in pairs])
            result[name] = {"mean_diff": round(mean, 3), "ci95": _interval(low, high, 3)}
    return result


# -- notes and what followed them ----------------------------------------------------------------------


def _calls(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.get("function", {}).get("name", ""), c.get("function", {}).get("arguments", ""))
            for c in message.get("tool_calls") or []]


def note_followups(lines: Iterable[str]) -> list[dict[str, Any]]:
    """For each reflection note of one transcript (its JSONL lines): its triggers and what the next
    iteration did."""
    calls: dict[int, list[tuple[str, str]]] = {}
    notes: list[tuple[int, list[str]]] = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:  # a torn last line of a killed run
            continue
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "assistant_message":
            calls[event.get("iteration", 0)] = _calls(event.get("message") or {})
        elif kind == "reflection_note":
            notes.append((event.get("iteration", 0), [t.get("kind", "") for t in event.get("triggers") or []]))
    out = []
    for iteration, triggers in notes:
        after = calls.get(iteration + 1)
        if after is None:
            followed = ["run_ended"]
        else:
            names = {name for name, _ in after}
            followed = [f for f, hit in (("edited_file", bool(names & set(EDIT_TOOLS))),
                                         ("ran_tests", "run_tests" in names),
                                         ("repeated_call", bool(set(after) & set(calls.get(iteration, [])))))
                        if hit]
        out.append({"iteration": iteration, "triggers": triggers or ["manual"], "followed_by": followed})
    return out


def note_counts(transcripts: Iterable[Path]) -> dict[str, Any]:
    """Notes written by trigger, and how often each follow-up came after one, over these transcripts."""
    written = 0
    by_trigger: dict[str, int] = {}
    followed = dict.fromkeys(FOLLOWUPS, 0)
    for path in transcripts:
        try:
            with path.open(encoding="utf-8") as f:
                found = note_followups(f)
        except OSError:
            continue
        for note in found:
            written += 1
            for trigger in note["triggers"]:
                by_trigger[trigger] = by_trigger.get(trigger, 0) + 1
            for what in note["followed_by"]:
                followed[what] += 1
    return {"written": written, "by_trigger": dict(sorted(by_trigger.items())), "followed_by": followed}


# -- the printed table ----------------------------------------------------------------------------------


def percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def interval(ci95: Sequence[float]) -> str:
    """`[19%, 81%]`: a rate's 95% interval as the tables show it."""
    return f"[{percent(ci95[0])}, {percent(ci95[1])}]"


def _diff(d: dict[str, Any] | None, digits: int) -> str:
    if not d:
        return "-"
    lo, hi = d["ci95"]
    return f"{d['mean_diff']:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def format_statistics(entries: list[dict[str, Any]]) -> str:
    """The per-setting table, then one line per setting on its notes."""
    head = ("setting", "success", "95% CI", "pass@k", f"vs {BASELINE} W/L/T", "McNemar p", "tokens/run",
            "Δ tokens [95% CI]", "Δ wall s [95% CI]", "Δ reflections")
    lines = [head]
    for e in entries:
        versus = e.get("vs_off")
        lines.append((
            e["setting"], f"{e['successes']}/{e['runs']} {percent(e['success_rate'])}", interval(e["ci95"]),
            " ".join(f"@{k} {v:.2f}" for k, v in e["pass_at_k"].items()),
            f"{versus['wins']}/{versus['losses']}/{versus['ties']}" if versus else "-",
            f"{versus['p_value']:.3g}" if versus else "-",
            f"{e['total_tokens']:.0f}", _diff(versus and versus.get("total_tokens"), 0),
            _diff(versus and versus.get("wall_time_s"), 1), _diff(versus and versus.get("reflection_calls"), 1)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    table = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    for e in entries:
        notes = e.get("notes")
        if notes and notes["written"]:
            triggers = ", ".join(f"{k} {v}" for k, v in notes["by_trigger"].items())
            after = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in notes["followed_by"].items())
            table.append(f"{e['setting']}: {plural(notes['written'], 'note')} ({triggers}); "
                         f"the next iteration: {after}")
    return "\n".join(table)
