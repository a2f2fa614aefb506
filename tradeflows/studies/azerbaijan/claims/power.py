"""Minimum detectable effects and intervals from a design, computed before the estimate.

Two families:

- analytic: a statistic with standard error ``se`` and a two-sided test at ``level``
  detects an effect ``delta`` with probability ``power`` when
  ``delta = (z_{(1+level)/2} + z_power) * se`` (normal approximation);
- from a null distribution (placebo partners, randomization draws): the claim's statistic is
  ``delta + e`` with ``e`` drawn from the null distribution; the test rejects when it exceeds
  the upper ``(1+level)/2`` quantile ``c`` (positive claims), so ``power = P(e > c - delta)``
  and ``delta = c - q_{1-power}``. The interval is the test inverted under a constant shift:
  ``[stat - q_{(1+level)/2}, stat - q_{(1-level)/2}]``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def mde_analytic(se: float, level: float = 0.95, power: float = 0.8) -> float:
    """Minimum detectable effect of a two-sided normal test (same units as ``se``)."""
    if not np.isfinite(se) or se < 0:
        return float("nan")
    return float((stats.norm.ppf(0.5 + level / 2) + stats.norm.ppf(power)) * se)


def _finite(draws: np.ndarray) -> np.ndarray:
    d = np.asarray(draws, dtype=float)
    return d[np.isfinite(d)]


def mde_from_null(draws: np.ndarray, level: float = 0.95, power: float = 0.8,
                  direction: str = "positive") -> float:
    """Minimum detectable shift of a statistic whose null distribution is ``draws``."""
    d = _finite(draws)
    if d.size < 2:
        return float("nan")
    if direction == "positive":
        return float(np.quantile(d, 0.5 + level / 2) - np.quantile(d, 1 - power))
    return float(np.quantile(d, power) - np.quantile(d, 0.5 - level / 2))


def interval_from_null(stat: float, draws: np.ndarray, level: float = 0.95
                       ) -> tuple[float, float]:
    """Interval for the effect by inverting the placebo/randomization test (constant shift)."""
    d = _finite(draws)
    if d.size < 2:
        return float("nan"), float("nan")
    hi_q, lo_q = np.quantile(d, [0.5 + level / 2, 0.5 - level / 2])
    return float(stat - hi_q), float(stat - lo_q)


def permutation_pvalue(stat: float, draws: np.ndarray, direction: str = "positive") -> float:
    """One-sided p-value ``(1 + #{draws at least as extreme}) / (1 + n)``."""
    d = _finite(draws)
    extreme = d >= stat if direction == "positive" else d <= stat
    return float((1 + int(extreme.sum())) / (1 + d.size))
