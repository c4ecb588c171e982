"""The statistics an ablation reports, as pure functions of counts and numbers.

The unit of analysis is the task (in a sweep, the fork point): runs of one task are repeats of one draw
from the population of tasks, not draws of their own, so every test and interval below is computed on
per-unit values (a success rate averaged over the unit's repeats, a mean difference), never on runs.

- `wilson`: a 95% interval for a success rate that stays inside [0, 1] and is honest at 0/n and n/n
  (the normal approximation gives [0, 0] for 0/6); `successes` may be fractional (a sum of unit rates).
- `sign_test`: the exact two-sided sign test on the units where two settings differ: under "no
  difference" each is a fair coin. With one run per unit it is the exact McNemar test.
- `bootstrap_mean`: a percentile interval for a mean, resampling its values (units: a cluster bootstrap)
  with a fixed seed, so the same data gives the same interval.
- `pass_at_k` (Chen et al. 2021): the chance that at least one of k runs drawn from n, c of them
  successful, succeeds; `pass_hat_k` (pass^k, Yao et al. 2024): the chance that all k succeed.
- `sign_test_power`, `min_detectable_effect`, `units_needed`: the exact power of that sign test for a grid
  of units x repeats, when every unit has the base rate under the baseline and the rate plus the effect under
  the setting (independent runs): what `ablate --plan` prints.
"""

from __future__ import annotations

import math
import random
import statistics
from functools import lru_cache
from typing import Sequence

Z95 = 1.959963984540054
"""The standard normal quantile of 0.975."""
ALPHA = 0.05
POWER = 0.8


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for successes/n; (0, 1) when there are no runs."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n)) / denom
    # At 0/n and n/n a bound is exactly 0 or 1 (centre and half are equal); say so without rounding error.
    return (0.0 if successes <= 0 else centre - half, 1.0 if successes >= n else centre + half)


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided p-value of the sign test: `wins` units where the setting did better, `losses` where
    the baseline did (ties carry no information). 1.0 when there are none."""
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


def pass_hat_k(n: int, c: int, k: int) -> float:
    """C(c, k) / C(n, k): all of k runs drawn from n, c of which succeeded, succeed (pass^k)."""
    if not 0 < k <= n:
        raise ValueError(f"pass^{k} needs at least {k} runs, got {n}")
    return math.comb(c, k) / math.comb(n, k)


def bootstrap_mean(values: Sequence[float], resamples: int = 2000, seed: int = 0,
                   level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean of `values` and its percentile bootstrap interval."""
    if not values:
        raise ValueError("no values to resample")
    mean = statistics.fmean(values)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(statistics.fmean(rng.choices(values, k=n)) for _ in range(resamples))
    alpha = (1 - level) / 2
    low = means[int(math.floor(alpha * resamples))]
    high = means[min(resamples - 1, int(math.ceil((1 - alpha) * resamples)) - 1)]
    return (mean, low, high)


# -- power of the sign test on units --------------------------------------------------------------------


def _binom_pmf(n: int, k: int, p: float) -> float:
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0 if k == n else 0.0
    return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                    + k * math.log(p) + (n - k) * math.log1p(-p))


def unit_outcomes(repeats: int, base: float, effect: float) -> tuple[float, float, float]:
    """(win, loss, tie): the chances that a unit's mean success over `repeats` runs is higher under the
    setting (rate base + effect) than under the baseline (rate base), lower, or equal."""
    p1 = min(1.0, max(0.0, base + effect))
    a = [_binom_pmf(repeats, k, p1) for k in range(repeats + 1)]
    b = [_binom_pmf(repeats, k, base) for k in range(repeats + 1)]
    win = sum(a[x] * b[y] for x in range(repeats + 1) for y in range(x))
    tie = sum(a[x] * b[x] for x in range(repeats + 1))
    return win, max(0.0, 1.0 - win - tie), tie


def _mass(m: int, p: float, lo: int, hi: int) -> float:
    """P(lo <= W <= hi) for W ~ Binomial(m, p), summed only where the mass is (12 sd around m·p)."""
    sd = math.sqrt(m * p * (1 - p))
    lo, hi = max(lo, 0, math.floor(m * p - 12 * sd) - 1), min(hi, m, math.ceil(m * p + 12 * sd) + 1)
    return sum(_binom_pmf(m, k, p) for k in range(lo, hi + 1))


@lru_cache(maxsize=None)
def _lower_critical(m: int, alpha: float) -> int:
    """The largest count j such that j wins (or j losses) out of m discordant units make the sign test
    reject at `alpha`: 2·P(Bin(m, 1/2) <= j) <= alpha; -1 when no count can (m too small)."""
    j, cdf = -1, 0.0
    while j + 1 < m and 2 * (cdf + _binom_pmf(m, j + 1, 0.5)) <= alpha * (1 + 1e-9):
        j += 1
        cdf += _binom_pmf(m, j, 0.5)
    return j


def sign_test_power(units: int, repeats: int, base: float, effect: float, alpha: float = ALPHA) -> float:
    """The chance that the sign test on `units` units of `repeats` runs per setting rejects "no difference"
    at `alpha`, when each unit's rate is `base` under the baseline and `base + effect` under the setting."""
    win, loss, tie = unit_outcomes(repeats, base, effect)
    if win + loss <= 0:
        return 0.0
    q = win / (win + loss)
    differ = 1.0 - tie
    sd = math.sqrt(units * differ * tie)
    power = 0.0
    low, high = max(0, math.floor(units * differ - 12 * sd) - 1), min(units, math.ceil(units * differ + 12 * sd) + 1)
    for m in range(low, high + 1):
        j = _lower_critical(m, alpha)  # m units differ, the others tie
        if j >= 0:
            power += _binom_pmf(units, m, differ) * (_mass(m, q, 0, j) + _mass(m, q, m - j, m))
    return min(1.0, power)


def min_detectable_effect(units: int, repeats: int, base: float, power: float = POWER,
                          alpha: float = ALPHA) -> float | None:
    """The smallest rise of the success rate above `base` that the grid detects with `power`, to 0.01;
    None when even a rise to 100% is not detected that often (too few units)."""
    top = round(1.0 - base, 2)
    if top <= 0 or sign_test_power(units, repeats, base, top, alpha) < power:
        return None
    low, high = 0, int(round(top * 100))  # in hundredths: power(low) < power <= power(high)
    while high - low > 1:
        mid = (low + high) // 2
        if sign_test_power(units, repeats, base, mid / 100, alpha) >= power:
            high = mid
        else:
            low = mid
    return high / 100


def units_needed(effect: float, repeats: int, base: float, power: float = POWER, alpha: float = ALPHA,
                 limit: int = 5000) -> int | None:
    """The fewest units (of `repeats` runs per setting) whose sign test detects a rise of `effect` above
    `base` with `power`; None past `limit`. The exact test's power is not quite monotone in the units
    (its levels are discrete): this is the first count found by doubling and halving."""
    if sign_test_power(limit, repeats, base, effect, alpha) < power:
        return None
    high = 1
    while sign_test_power(high, repeats, base, effect, alpha) < power:
        high *= 2
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        if sign_test_power(mid, repeats, base, effect, alpha) >= power:
            high = mid
        else:
            low = mid
    return high
