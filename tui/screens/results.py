"""An ablation's results beside its runs: per setting, the success rate over units (tasks, or a sweep's fork
points) with its Wilson 95% interval, and success against the tokens spent (pass@t), drawn with
textual-plotext, over the numbers: rates, the comparison with the baseline, tokens and dollars per run and
per success.

It reads only the folder's `summary.json` (written by agent.experiments.summary), so what it shows is what the
grid printed; a folder without one (not an ablation, or an older one) shows no panel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static
from textual_plotext import PlotextPlot

from agent.display.terminal import inert
from agent.experiments.summary import interval

MUTED = "$text-muted"
LINE_COLOURS = ("green", "cyan", "magenta", "orange", "blue", "red", "yellow")


def load_results(folder: Path) -> dict[str, Any] | None:
    """summary.json's statistics (unit, clusters, caveat, settings), or None when the folder has none (or they
    are unreadable)."""
    try:
        data = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    settings = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(settings, list) or not settings:
        return None
    good = [s for s in settings if isinstance(s, dict) and isinstance(s.get("setting"), str)
            and isinstance(s.get("runs"), int) and isinstance(s.get("ci95"), list) and len(s["ci95"]) == 2]
    if not good:
        return None
    unit = data.get("unit") if isinstance(data.get("unit"), str) else "task"
    clusters = data.get("clusters") if isinstance(data.get("clusters"), int) else None
    caveat = data.get("caveat") if isinstance(data.get("caveat"), str) else None
    return {"unit": unit, "clusters": clusters, "caveat": caveat, "settings": good}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _tokens(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:,.1f}k" if value >= 1000 else f"{value:,.0f}"


def results_text(results: dict[str, Any]) -> Content:
    """One line per setting: the rate over units, its interval, the comparison with the baseline (units won,
    lost, tied; the sign test), tokens per run and per success, dollars per success; for a single unit, that
    nothing generalises (in the theme's colours)."""
    settings = results["settings"]
    parts: list[str | tuple[str, str]] = []
    width = max(len(s["setting"]) for s in settings)
    for s in settings:
        parts.append((f"{inert(s['setting']):<{width}}  ", "bold"))
        rate = _number(s.get("success_rate"))
        parts.append((f"{100 * rate:.0f}% " if rate is not None else "", "$text-success"))
        parts.append((f"{s.get('successes', 0)}/{s['runs']} ", MUTED))
        parts.append((interval(s["ci95"]), MUTED))
        versus = s.get("versus")
        if isinstance(versus, dict):
            parts.append(f"  vs {inert(str(versus.get('baseline', '')))} {versus.get('wins', 0)}/"
                         f"{versus.get('losses', 0)}/{versus.get('ties', 0)}")
            parts.append((f" p={versus.get('p_value', 1):.3g}", MUTED))
        cost = s.get("cost") if isinstance(s.get("cost"), dict) else {}
        parts.append((f"  tokens {_tokens(_number(cost.get('tokens_per_run')))}/run", MUTED))
        parts.append(f" {_tokens(_number(cost.get('tokens_per_success')))}/success")
        dollars = _number(cost.get("dollars_per_success"))
        if dollars:
            parts.append((f"  ${dollars:.4f}/success", MUTED))
        parts.append("\n")
    if results.get("caveat"):
        parts.append((inert(results["caveat"]), "$text-warning"))
        return Content.assemble(*parts)
    return Content.assemble(*parts[:-1])


def legend(results: dict[str, Any]) -> str:
    """Under the numbers, wrapped to the panel's width (a line this long was cut in a 220-column terminal)."""
    unit, clusters = results["unit"], results.get("clusters")
    over = f"over {clusters} {unit}{'s' if clusters != 1 else ''}" if clusters else f"over {unit}s"
    return (f"rates {over}, a {unit}'s repeats averaged; W/L/T: {unit}s where this setting did better / worse / "
            f"the same; p: exact sign test on the {unit}s that differ")


class RateChart(PlotextPlot):
    """Success rate per setting (bars) with its Wilson 95% interval over units (the line through each bar)."""

    def __init__(self, results: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results = results

    def on_mount(self) -> None:
        plt = self.plt
        settings = self.results["settings"]
        names = [s["setting"] for s in settings]
        xs = list(range(1, len(names) + 1))
        plt.bar(xs, [100 * (_number(s.get("success_rate")) or 0) for s in settings], width=0.4, color="green")
        for x, s in zip(xs, settings):
            low, high = s["ci95"]
            plt.plot([x, x], [100 * low, 100 * high], color="red", marker="┃")
        plt.xticks(xs, names)  # type: ignore[arg-type]  # plotext's stub asks for list[float]; ints are numbers
        plt.ylim(0, axis_top(max(100 * s["ci95"][1] for s in settings)))
        plt.title(f"success % over {self.results['unit']}s (Wilson 95%)")


class PassAtTChart(PlotextPlot):
    """Success against tokens spent (pass@t): per setting, the share of runs that had succeeded within t
    tokens, a step up at each success."""

    def __init__(self, results: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results = results

    def on_mount(self) -> None:
        plt = self.plt
        settings = self.results["settings"]
        highest = 0.0
        top = max([_number(s.get("total_tokens")) or 0 for s in settings]
                  + [float(p[0]) for s in settings for p in s.get("pass_at_t") or [] if _valid(p)] or [1.0])
        for k, s in enumerate(settings):
            xs, ys = [0.0], [0.0]
            for point in s.get("pass_at_t") or []:
                if _valid(point):
                    xs += [point[0] / 1000, point[0] / 1000]
                    ys += [ys[-1], 100 * point[1]]
            xs.append(top / 1000)
            ys.append(ys[-1])
            highest = max(highest, ys[-1])
            plt.plot(xs, ys, label=s["setting"], color=LINE_COLOURS[k % len(LINE_COLOURS)])
        plt.ylim(0, axis_top(highest))
        plt.xlabel("thousand tokens spent")
        plt.title("pass@t: success % within t tokens")


def axis_top(highest: float) -> float:
    """The top of a percent axis: 100, or for small values the next ten above them (10 at least), so that a
    grid of low rates is not drawn as a flat line at the bottom."""
    return 100.0 if highest > 60 else max(10.0, 10 * (int(highest * 1.2) // 10 + 1))


def _valid(point: Any) -> bool:
    return isinstance(point, list) and len(point) == 2 and all(_number(v) is not None for v in point)


class ResultsPanel(Vertical):
    """The charts over the numbers, for the right-hand side of `agent-tui open DIR` on an ablation."""

    DEFAULT_CSS = """
    ResultsPanel {
        width: 1fr;
        border-left: solid $panel-lighten-2;
        padding: 0 1;
    }
    ResultsPanel > RateChart { height: 1fr; }
    ResultsPanel > PassAtTChart { height: 1fr; }
    ResultsPanel > #results-numbers { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    ResultsPanel > #results-legend { height: auto; color: $text-muted; }
    """

    def __init__(self, results: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results = results

    def compose(self) -> ComposeResult:
        yield RateChart(self.results, id="rate-chart")
        yield PassAtTChart(self.results, id="pass-at-t-chart")
        yield Static(results_text(self.results), id="results-numbers")
        yield Static(legend(self.results), id="results-legend", markup=False)
