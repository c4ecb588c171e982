"""The statistics an ablation reports, as pure functions of counts and numbers.

- `wilson`: a 95% interval for a success rate that stays inside [0, 1] and is honest at 0/n and n/n
  (the normal approximation gives [0, 0] for 0/6).
- `mcnemar`: the exact McNemar test for two settings run on the same (task, repeat) pairs: only the
  discordant pairs (one passed, the other not) carry information; under "no difference" each is a fair
  coin, so the p-value is a two-sided binomial tail.
- `pass_at_k`: the unbiased estimator of Chen et al. 2021 (HumanEval): the chance that at least one of k
  runs drawn from n, c of them successful, succeeds.
- `paired_bootstrap`: a percentile interval for a mean paired difference (tokens, seconds), resampling
  pairs with a fixed seed so the same data gives the same interval.
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Sequence

Z95 = 1.959963984540054
"""The standard normal quantile of 0.975."""


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for successes/n; (0, 1) when there are no runs."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0/n and n/n a bound is exactly 0 or 1 (centre and half are equal); say so without rounding error.
    return (0.0 if successes == 0 else centre - half, 1.0 if successes == n else centre + half)


def mcnemar(wins: int, losses: int) -> float:
    """Exact two-sided McNemar p-value from the discordant pairs: wins (only the setting passed) and
    losses (only the baseline passed). 1.0 when there are none."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k): at least one success among k of n runs, c of which succeeded."""
    if not 0 < k <= n:
        raise ValueError(f"pass@{k} needs at least {k} runs, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def paired_bootstrap(diffs: Sequence[float], resamples: int = 2000, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean of the paired differences and its percentile bootstrap interval."""
    if not diffs:
        raise ValueError("no pairs to resample")
    mean = statistics.fmean(diffs)
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(statistics.fmean(rng.choices(diffs, k=n)) for _ in range(resamples))
    alpha = (1 - level) / 2
    low = means[int(math.floor(alpha * resamples))]
    high = means[min(resamples - 1, int(math.ceil((1 - alpha) * resamples)) - 1)]
    return (mean, low, high)
