"""What a grid found, per setting: the numbers of summary.json and the tables `ablate` and `sweep` print
(agent.experiments.stats does the arithmetic).

The unit of analysis is the task (in a sweep, the fork point: `row.task` names it either way). Repeats of
a unit are averaged first: a setting's success rate is the mean of its units' rates, its Wilson interval
counts units, and two settings are compared on the units both ran: the sign test on the units whose rates
differ, the mean per-unit difference with a cluster bootstrap interval (units resampled). pass@k and pass^k
are estimated per unit and averaged. With one unit nothing generalises beyond it, and the summary says so.

Cost sits beside success: tokens (the actor's and the reflection calls' apart), wall time and dollars (a
price per million tokens, `agent.experiments.prices`), per run and per success, and success against the tokens a
run spent (pass@t, Olausson et al. 2024). Notes are counted by trigger, with what the next iteration did.

Runs that say nothing about the agent are left out of every rate and test (`counted`), and counted apart.
"""

from __future__ import annotations

import statistics
from itertools import combinations
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

from agent.display.wording import plural, text_table
from agent.experiments.stats import bootstrap_mean, pass_at_k, pass_hat_k, sign_test, wilson
from agent.transcripts.notes import FOLLOWUPS, read_notes_file

BASELINES = ("off", "none")
"""The setting the others are set against, when the grid has it: `off` in an ablation, `none` in a sweep."""
PASS_AT = (1, 2, 5, 10)
MEASURES = ("total_tokens", "wall_time_s", "reflection_calls")


class Row(Protocol):
    """A finished job as summary needs it (agent.experiments.jobs.ResultRow)."""

    task: str
    setting: str
    repeat: int
    success: bool
    prompt_tokens: int
    completion_tokens: int
    reflection_prompt_tokens: int
    reflection_completion_tokens: int
    wall_time_s: float
    reflection_calls: int
    transcript: str

    @property
    def failed(self) -> bool: ...

    @property
    def total_tokens(self) -> int: ...


def counted(row: Row) -> bool:
    """Whether a run counts in rates and tests: a failed job (the endpoint or the driver failed) measures
    the harness, not the agent."""
    return not row.failed


def _interval(low: float, high: float, digits: int = 4) -> list[float]:
    return [round(low, digits), round(high, digits)]


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def _by_unit(rows: Iterable[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(row.task, []).append(row)
    return out


def _rate(rows: Sequence[Row]) -> float:
    return sum(r.success for r in rows) / len(rows)


def baseline_of(settings: Iterable[str]) -> str | None:
    """`off`, else `none`, when the grid has it."""
    present = set(settings)
    return next((b for b in BASELINES if b in present), None)


# -- per setting ------------------------------------------------------------------------------------------


def setting_statistics(rows: Iterable[Row], out_dir: Path | None = None, *, baseline: str | None = None,
                       price: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One entry per setting (in first-seen order): its rate over units with a Wilson interval, pass@k and
    pass^k, the measures and costs, pass@t, the comparison with the baseline (default: `baseline_of`) and,
    when `out_dir` holds the transcripts, the notes by trigger and what followed them."""
    done = [r for r in rows if counted(r)]
    by_setting: dict[str, list[Row]] = {}
    for row in done:
        by_setting.setdefault(row.setting, []).append(row)
    baseline = baseline or baseline_of(by_setting)
    out = []
    for setting, members in by_setting.items():
        units = _by_unit(members)
        rate = statistics.fmean(_rate(u) for u in units.values())
        entry: dict[str, Any] = {
            "setting": setting, "runs": len(members), "clusters": len(units),
            "successes": sum(r.success for r in members), "success_rate": round(rate, 4),
            "ci95": _interval(*wilson(rate * len(units), len(units))),
            "pass_at_k": _per_unit_k(units, pass_at_k), "pass_hat_k": _per_unit_k(units, pass_hat_k),
            **{name: _mean([float(getattr(r, name)) for r in members]) for name in MEASURES},
            "cost": cost(members, price), "pass_at_t": pass_at_t(units),
        }
        if setting != baseline and baseline in by_setting:
            entry["versus"] = compare(members, by_setting[baseline], baseline)
        if out_dir is not None:
            entry["notes"] = note_counts(out_dir / r.transcript for r in members)
        out.append(entry)
    return out


def _per_unit_k(units: dict[str, list[Row]], estimator: Any) -> dict[str, float]:
    fewest = min(len(v) for v in units.values())
    return {str(k): round(statistics.fmean(estimator(len(v), sum(r.success for r in v), k) for v in units.values()), 4)
            for k in PASS_AT if k <= fewest}


def dollars(row: Row, price: dict[str, Any] | None) -> float | None:
    """What a run's tokens cost at `price` (dollars per million prompt and completion tokens)."""
    if price is None:
        return None
    return (row.prompt_tokens * price["prompt"] + row.completion_tokens * price["completion"]) / 1e6


def cost(rows: Sequence[Row], price: dict[str, Any] | None) -> dict[str, Any]:
    """Tokens (the actor's and the reflection calls' apart), wall time and dollars, per run and per
    success (None: no success to divide by, or no price)."""
    n, wins = len(rows), sum(r.success for r in rows)
    reflection = sum(r.reflection_prompt_tokens + r.reflection_completion_tokens for r in rows)
    totals = {"tokens": float(sum(r.total_tokens for r in rows)), "wall_s": sum(r.wall_time_s for r in rows)}
    if price is not None:
        totals["dollars"] = sum(dollars(r, price) or 0.0 for r in rows)
    out: dict[str, Any] = {"actor_tokens_per_run": round((totals["tokens"] - reflection) / n, 1),
                           "reflection_tokens_per_run": round(reflection / n, 1)}
    for name, total in totals.items():
        digits = 6 if name == "dollars" else 1
        out[f"{name}_per_run"] = round(total / n, digits)
        out[f"{name}_per_success"] = round(total / wins, digits) if wins else None
    return out


def pass_at_t(units: dict[str, list[Row]]) -> list[list[float]]:
    """Success against tokens spent: for each budget t (the token counts of the successful runs, ascending),
    the share of runs that succeeded within t tokens, per unit, averaged over units."""
    budgets = sorted({r.total_tokens for rows in units.values() for r in rows if r.success})
    return [[t, round(statistics.fmean(sum(r.success and r.total_tokens <= t for r in rows) / len(rows)
                                       for rows in units.values()), 4)] for t in budgets]


def compare(rows: Sequence[Row], others: Sequence[Row], baseline: str) -> dict[str, Any]:
    """`rows` (one setting) against `others` (another) on the units both ran: per unit, the success rate
    over its repeats and the mean of each measure; the sign test on the units whose rates differ; the mean
    per-unit difference of each with a cluster bootstrap 95% interval."""
    mine, theirs = _by_unit(rows), _by_unit(others)
    units = [u for u in mine if u in theirs]
    diffs = [_rate(mine[u]) - _rate(theirs[u]) for u in units]
    wins, losses = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    out: dict[str, Any] = {"baseline": baseline, "units": len(units), "wins": wins, "losses": losses,
                           "ties": len(units) - wins - losses, "p_value": round(sign_test(wins, losses), 6)}
    if not units:
        return out
    out["success_rate"] = _diff(diffs)
    for name in MEASURES:
        out[name] = _diff([statistics.fmean(float(getattr(r, name)) for r in mine[u])
                           - statistics.fmean(float(getattr(r, name)) for r in theirs[u]) for u in units])
    return out


def _diff(values: list[float]) -> dict[str, Any]:
    mean, low, high = bootstrap_mean(values)
    return {"mean_diff": round(mean, 4), "ci95": _interval(low, high)}


def pairwise(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """Every setting against every other, each pair once (the later against the earlier, and anything
    against a baseline): the pooled effect over the units both ran."""
    by_setting: dict[str, list[Row]] = {}
    for row in rows:
        if counted(row):
            by_setting.setdefault(row.setting, []).append(row)
    pairs = [(b, a) if a in BASELINES else (a, b) for b, a in combinations(by_setting, 2)]  # later against earlier
    return [{"setting": a, **compare(by_setting[a], by_setting[b], b)} for a, b in pairs]


def grid_statistics(rows: Sequence[Row], out_dir: Path | None = None, *, unit: str = "task",
                    price: dict[str, Any] | None = None) -> dict[str, Any]:
    """What summary.json holds besides the runs: the unit, how many there are, the baseline, the
    per-setting statistics, every pair of settings, and a caveat when there is only one unit."""
    done = [r for r in rows if counted(r)]
    clusters = len({r.task for r in done})
    baseline = baseline_of(r.setting for r in done)
    out: dict[str, Any] = {"unit": unit, "clusters": clusters, "baseline": baseline, "price": price,
                           "excluded": len(rows) - len(done),
                           "settings": setting_statistics(done, out_dir, baseline=baseline, price=price),
                           "pairwise": pairwise(done)}
    if clusters == 1:
        out["caveat"] = one_unit_caveat(unit)
    return out


def one_unit_caveat(unit: str) -> str:
    return (f"one {unit}: the repeats say how this {unit} varies from run to run; nothing here generalises "
            f"beyond it")


# -- notes and what followed them ----------------------------------------------------------------------


def note_counts(transcripts: Iterable[Path]) -> dict[str, Any]:
    """Notes written, by trigger with what the iteration after them did, over these transcripts (a fork's
    replayed notes are its parent's and are not counted)."""
    written = 0
    by_trigger: dict[str, dict[str, Any]] = {}
    followed = dict.fromkeys(FOLLOWUPS, 0)
    for path in transcripts:
        found = read_notes_file(path)
        for note in found.notes if found else []:
            written += 1
            for what in note.followed_by:
                followed[what] += 1
            for trigger in note.triggers:
                slot = by_trigger.setdefault(trigger, {"fired": 0, "followed_by": dict.fromkeys(FOLLOWUPS, 0)})
                slot["fired"] += 1
                for what in note.followed_by:
                    slot["followed_by"][what] += 1
    return {"written": written, "followed_by": followed, "by_trigger": dict(sorted(by_trigger.items()))}


# -- the printed tables ---------------------------------------------------------------------------------


def percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def interval(ci95: Sequence[float]) -> str:
    """`[19%, 81%]`: a rate's 95% interval as the tables show it."""
    return f"[{percent(ci95[0])}, {percent(ci95[1])}]"


def signed_diff(d: dict[str, Any] | None, digits: int, scale: float = 1.0, unit: str = "") -> str:
    """`+12 [+3, +20]`: a mean difference with its interval ('-' when there is none)."""
    if not d:
        return "-"
    lo, hi = d["ci95"]
    return (f"{scale * d['mean_diff']:+.{digits}f}{unit} [{scale * lo:+.{digits}f}{unit}, "
            f"{scale * hi:+.{digits}f}{unit}]")


def _money(x: float | None) -> str:
    return "-" if x is None else f"${x:.4f}"


def _count(x: float | None, unit: str = "") -> str:
    return "-" if x is None else f"{x:,.0f}{unit}"


def format_statistics(entries: list[dict[str, Any]], unit: str = "task") -> str:
    """The per-setting success table, the cost table, then one line per setting on its notes."""
    units = unit + "s"
    base = next((e["versus"]["baseline"] for e in entries if e.get("versus")), None)
    head: tuple[str, ...] = ("setting", "success", f"95% CI ({units})", "pass@k", "pass^k",
            f"vs {base or '-'}: {units} W/L/T", "sign p", "Δ success [95% CI]")
    lines: list[tuple[str, ...]] = []
    for e in entries:
        versus = e.get("versus")
        lines.append((
            e["setting"],
            f"{percent(e['success_rate'])} ({e['successes']}/{e['runs']} runs, {plural(e['clusters'], unit)})",
            interval(e["ci95"]), " ".join(f"@{k} {v:.2f}" for k, v in e["pass_at_k"].items()),
            " ".join(f"^{k} {v:.2f}" for k, v in e["pass_hat_k"].items()),
            f"{versus['wins']}/{versus['losses']}/{versus['ties']}" if versus else "-",
            f"{versus['p_value']:.3g}" if versus else "-",
            signed_diff(versus and versus.get("success_rate"), 0, 100, "pt")))
    table = text_table(head, lines).splitlines()
    head = ("setting", "tokens/run", "of which reflection", "wall s/run", "$/run", "tokens/success",
            "wall s/success", "$/success", "Δ tokens [95% CI]", "Δ wall s [95% CI]")
    lines = []
    for e in entries:
        c, versus = e["cost"], e.get("versus") or {}
        lines.append((e["setting"], _count(c["tokens_per_run"]), _count(c["reflection_tokens_per_run"]),
                      f"{c['wall_s_per_run']:.0f}", _money(c.get("dollars_per_run")), _count(c["tokens_per_success"]),
                      _count(c["wall_s_per_success"]), _money(c.get("dollars_per_success")),
                      signed_diff(versus.get("total_tokens"), 0), signed_diff(versus.get("wall_time_s"), 0)))
    table += ["", *text_table(head, lines).splitlines()]
    notes = [e for e in entries if e.get("notes") and e["notes"]["written"]]
    for e in notes:
        n = e["notes"]
        triggers = ", ".join(f"{k} {v['fired']}" for k, v in n["by_trigger"].items())
        after = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in n["followed_by"].items())
        table.append(f"{e['setting']}: {plural(n['written'], 'note')} ({triggers}); the next iteration: {after}")
    if notes:  # which triggers earn their cost: what the iteration after each trigger's notes did
        head = ("notes of", "trigger", "fired", *(f.replace("_", " ") for f in FOLLOWUPS))
        lines = [(e["setting"], trigger, str(t["fired"]), *(str(t["followed_by"][f]) for f in FOLLOWUPS))
                 for e in notes for trigger, t in e["notes"]["by_trigger"].items()]
        table += ["", *text_table(head, lines).splitlines()]
    return "\n".join(table)


def format_pairwise(pairs: list[dict[str, Any]], unit: str = "task") -> str:
    """Each setting against each other: units won, lost and tied, the sign test, the mean difference."""
    head = ("setting", "against", f"{unit}s W/L/T", "sign p", "Δ success [95% CI]")
    return text_table(head, [(p["setting"], p["baseline"], f"{p['wins']}/{p['losses']}/{p['ties']}",
                                    f"{p['p_value']:.3g}", signed_diff(p.get("success_rate"), 0, 100, "pt"))
                                   for p in pairs])


def format_report(stats: dict[str, Any]) -> str:
    """`grid_statistics` as printed at the end of a grid: what the unit is, the tables, each setting against
    each other when there are more than two, where the dollars come from, and the caveat of one unit."""
    unit, clusters, baseline = stats["unit"], stats["clusters"], stats["baseline"]
    settings = stats["settings"]
    if not settings:
        return "no finished run to summarise"
    against = (f"; against {baseline}: the sign test on the {unit}s whose rates differ and the mean difference "
               f"per {unit} with a cluster bootstrap 95% CI" if baseline else "")
    lines = [f"per setting, over {plural(clusters, unit)} (a {unit}'s repeats averaged first; Wilson 95% CI "
             f"over {unit}s{against}):", format_statistics(settings, unit)]
    if len(settings) > 2:
        lines += ["", "each setting against each other (pooled over every " + unit + " both ran):",
                  format_pairwise(stats["pairwise"], unit)]
    price = stats.get("price")
    lines.append("dollars: " + (f"{price['prompt']:g} / {price['completion']:g} $ per million prompt / completion "
                                f"tokens ({price['source']})" if price else
                                "no price known for this model (give --price IN,OUT dollars per million tokens)"))
    if stats["excluded"]:
        lines.append(f"left out: {plural(stats['excluded'], 'run')} that failed for the harness, not the agent")
    if stats.get("caveat"):
        lines.append(f"note: {stats['caveat']}")
    return "\n".join(lines)
