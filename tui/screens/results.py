"""An ablation's results beside its runs: per reflection setting, the success rate with its Wilson 95%
interval and the tokens per run, drawn with textual-plotext, over the numbers they come from.

It reads only the folder's `summary.json` (its `settings`, written by agent.run.summary), so what it shows
is what `ablate` printed; a folder without one (not an ablation, or an older one) shows no panel.
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

from agent.run.summary import interval

MUTED = "$text-muted"


def load_settings(folder: Path) -> list[dict[str, Any]] | None:
    """summary.json's per-setting statistics, or None when the folder has none (or they are unreadable)."""
    try:
        data = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    settings = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(settings, list) or not settings:
        return None
    good = [s for s in settings if isinstance(s, dict) and isinstance(s.get("setting"), str)
            and isinstance(s.get("runs"), int) and isinstance(s.get("ci95"), list) and len(s["ci95"]) == 2]
    return good or None


def results_text(settings: list[dict[str, Any]]) -> Content:
    """One line per setting: successes/runs, interval, and against off: wins/losses/ties and McNemar p (in the
    theme's colours)."""
    parts: list[str | tuple[str, str]] = []
    width = max(len(s["setting"]) for s in settings)
    for s in settings:
        parts.append((f"{s['setting']:<{width}}  ", "bold"))
        parts.append((f"{s.get('successes', 0)}/{s['runs']} ", "$text-success"))
        parts.append((interval(s["ci95"]), MUTED))
        versus = s.get("versus")
        if isinstance(versus, dict):
            parts.append(f"  vs {versus.get('baseline', 'off')} {versus.get('wins', 0)}/{versus.get('losses', 0)}/"
                         f"{versus.get('ties', 0)}")
            parts.append((f" p={versus.get('p_value', 1):.3g}", MUTED))
        tokens = s.get("total_tokens")
        if isinstance(tokens, (int, float)):
            parts.append((f"  {tokens:,.0f} tok/run", MUTED))
        parts.append("\n")
    parts.append(("W/L/T: pairs with the same task and repeat where only this setting passed / only off / both "
                  "or neither; p: exact McNemar", MUTED))
    return Content.assemble(*parts)


class RateChart(PlotextPlot):
    """Success rate per setting (bars) with its Wilson 95% interval (the line through each bar)."""

    def __init__(self, settings: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    def on_mount(self) -> None:
        plt = self.plt
        names = [s["setting"] for s in self.settings]
        xs = list(range(1, len(names) + 1))
        plt.bar(xs, [100 * s.get("success_rate", 0) for s in self.settings], width=0.4, color="green")
        for x, s in zip(xs, self.settings):
            low, high = s["ci95"]
            plt.plot([x, x], [100 * low, 100 * high], color="red", marker="┃")
        plt.xticks(xs, names)
        plt.ylim(0, 100)
        plt.title("success rate % (Wilson 95% interval)")


class TokensChart(PlotextPlot):
    """Mean tokens per run, per setting."""

    def __init__(self, settings: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    def on_mount(self) -> None:
        plt = self.plt
        names = [s["setting"] for s in self.settings]
        plt.bar(names, [float(s.get("total_tokens") or 0) for s in self.settings], width=0.4, color="cyan")
        plt.title("tokens per run (prompt + completion, reflection included)")


class ResultsPanel(Vertical):
    """The charts over the numbers, for the right-hand side of `agent-tui open DIR` on an ablation."""

    DEFAULT_CSS = """
    ResultsPanel {
        width: 1fr;
        border-left: solid $panel-lighten-2;
        padding: 0 1;
    }
    ResultsPanel > RateChart { height: 3fr; }
    ResultsPanel > TokensChart { height: 2fr; }
    ResultsPanel > #results-numbers { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, settings: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield RateChart(self.settings, id="rate-chart")
        yield TokensChart(self.settings, id="tokens-chart")
        yield Static(results_text(self.settings), id="results-numbers")
