"""decide(): every branch of the pre-stated decision rule, with equivalence margins; and the
verdicts on constructed data whose true answer is known (supported, not supported,
inconclusive) through the same power/interval functions the claims use."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tradeflows.studies.azerbaijan.claims.catalog import Rule
from tradeflows.studies.azerbaijan.claims.power import (
    interval_from_null,
    mde_analytic,
    mde_from_null,
    permutation_pvalue,
)
from tradeflows.studies.azerbaijan.claims.rules import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    NOT_TESTABLE,
    SUPPORTED,
    VERDICTS,
    decide,
)

POS = Rule("coefficient", "positive", 0.95)
NEG = Rule("slope", "negative", 0.95)
POS_M = Rule("coefficient", "positive", 0.95, margin=0.1)
NEG_M = Rule("slope", "negative", 0.95, margin=0.1)


@pytest.mark.parametrize(("rule", "est", "lo", "hi", "verdict"), [
    (POS, 0.3, 0.1, 0.5, SUPPORTED),
    (POS, 0.3, -0.1, 0.7, INCONCLUSIVE),
    (POS, -0.1, -0.3, 0.1, INCONCLUSIVE),
    (POS, -0.3, -0.5, -0.1, NOT_SUPPORTED),
    (POS, 0.2, 0.0, 0.4, INCONCLUSIVE),  # a bound on the null does not exclude it
    (NEG, -0.3, -0.5, -0.1, SUPPORTED),
    (NEG, 0.3, 0.1, 0.5, NOT_SUPPORTED),
    (NEG, 0.0, -0.2, 0.2, INCONCLUSIVE),
    (NEG, -0.2, -0.4, 0.0, INCONCLUSIVE),
    # with an equivalence margin: an interval inside (-m, m) is "not supported"
    (POS_M, 0.01, -0.05, 0.08, NOT_SUPPORTED),
    (POS_M, 0.05, -0.05, 0.15, INCONCLUSIVE),   # cannot exclude an effect of 0.1
    (POS_M, 0.05, 0.01, 0.09, SUPPORTED),       # small but excludes zero
    (POS_M, -0.4, -0.6, -0.2, NOT_SUPPORTED),   # the other side
    (NEG_M, -0.01, -0.08, 0.05, NOT_SUPPORTED),
    (NEG_M, -0.05, -0.15, 0.05, INCONCLUSIVE),
    (NEG_M, -0.3, -0.5, -0.1, SUPPORTED),
])
def test_interval_rules(rule, est, lo, hi, verdict):
    assert decide(rule, est, lo, hi) == verdict


def test_null_other_than_zero():
    ratio = Rule("ratio", "positive", 0.95, null=1.0)
    assert decide(ratio, 1.5, 1.2, 1.8) == SUPPORTED
    assert decide(ratio, 1.5, 0.9, 1.8) == INCONCLUSIVE
    assert decide(ratio, 0.5, 0.2, 0.8) == NOT_SUPPORTED


def test_reported_figure_and_bounds():
    total = Rule("total", "positive", None)
    assert decide(total, 72.0, math.nan, math.nan) == SUPPORTED
    assert decide(total, -3.0, None, None) == NOT_SUPPORTED
    assert decide(total, 0.0, None, None) == INCONCLUSIVE
    share = Rule("share (%)", "positive", 1.0, margin=5.0)  # bounds [0, upper]
    assert decide(share, 0.0, 0.0, 3.2) == NOT_SUPPORTED
    assert decide(share, 0.0, 0.0, 7.5) == INCONCLUSIVE
    assert decide(share, 6.0, 6.0, 9.0) == SUPPORTED
    assert "bounds of the share" in share.describe()


def test_missing_estimate_or_interval():
    assert decide(POS, math.nan, 0.1, 0.2) == NOT_TESTABLE
    assert decide(POS, None, None, None) == NOT_TESTABLE
    assert decide(POS, 0.3, math.nan, 0.5) == INCONCLUSIVE


def test_reversed_interval_bad_direction_and_margin_raise():
    with pytest.raises(ValueError, match="reversed"):
        decide(POS, 0.3, 0.5, 0.1)
    with pytest.raises(ValueError, match="direction 'up'"):
        decide(Rule("x", "up", 0.95), 0.3, 0.1, 0.5)
    with pytest.raises(ValueError, match="negative"):
        decide(Rule("x", "positive", 0.95, margin=-1.0), 0.3, 0.1, 0.5)


def test_verdict_vocabulary():
    assert VERDICTS == ("supported", "not supported", "inconclusive",
                        "not testable with the bundled data")


# --- constructed data with a known answer ----------------------------------------------------
def _mean_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    m, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))
    z = stats.norm.ppf(0.5 + level / 2)
    return m, m - z * se, m + z * se


@pytest.mark.parametrize(("effect", "n", "verdict"), [
    (0.5, 400, SUPPORTED),        # a true effect far above the MDE
    (0.0, 4000, NOT_SUPPORTED),   # no effect, precise enough to exclude the margin
    (0.0, 20, INCONCLUSIVE),      # no effect, too little data: MDE above the margin
])
def test_verdicts_on_constructed_samples(effect, n, verdict):
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 1.0, n)
    x = effect + (noise - noise.mean()) / noise.std(ddof=1)  # sample mean = the true effect
    est, lo, hi = _mean_interval(x)
    assert decide(POS_M, est, lo, hi) == verdict
    mde = mde_analytic(1.0 / np.sqrt(n))
    if verdict == SUPPORTED:
        assert effect > mde            # the design can detect the true effect
    else:                              # "not supported" is reachable only if MDE < margin
        assert (mde < POS_M.margin) == (verdict == NOT_SUPPORTED)


def test_mde_analytic_has_the_stated_power():
    """Simulated power of the two-sided 5% z-test at the analytic MDE is 80%."""
    se = 0.2
    mde = mde_analytic(se, 0.95, 0.8)
    assert mde == pytest.approx((1.959964 + 0.841621) * se, rel=1e-6)
    rng = np.random.default_rng(1)
    est = mde + rng.normal(0, se, 200_000)
    assert np.mean(est - 1.959964 * se > 0) == pytest.approx(0.8, abs=0.005)


def test_placebo_design_known_answers():
    """One treated unit among 199 placebo units with a N(0, 1) null distribution."""
    rng = np.random.default_rng(3)
    null = rng.normal(0, 1, 199)
    mde = mde_from_null(null, 0.95, 0.8)
    assert mde == pytest.approx(1.96 + 0.84, abs=0.35)
    rule = Rule("h", "positive", 0.95, margin=0.1)
    big = 5.0                          # far beyond the MDE: supported, rank 1
    lo, hi = interval_from_null(big, null)
    assert decide(rule, big, lo, hi) == SUPPORTED
    assert permutation_pvalue(big, null) == pytest.approx(1 / 200)
    typical = 0.0                      # an ordinary unit: the interval covers 0 and the margin
    lo, hi = interval_from_null(typical, null)
    assert lo < 0 < 0.1 < hi and decide(rule, typical, lo, hi) == INCONCLUSIVE
    tight = rng.normal(0, 0.01, 199)   # a very precise design and no effect
    lo, hi = interval_from_null(0.0, tight)
    assert decide(rule, 0.0, lo, hi) == NOT_SUPPORTED
    # power check: shifting null draws by the MDE rejects about 80% of the time
    c = np.quantile(null, 0.975)
    shifted = mde + rng.normal(0, 1, 100_000)
    assert np.mean(shifted > c) == pytest.approx(0.8, abs=0.05)


def test_power_helpers_degenerate_inputs():
    assert math.isnan(mde_analytic(float("nan")))
    assert math.isnan(mde_from_null(np.array([1.0])))
    assert all(math.isnan(v) for v in interval_from_null(0.0, np.array([np.nan])))
    assert mde_from_null(-np.arange(100.0), direction="negative") > 0
