"""The one function that turns an estimate and its interval into a verdict."""

from __future__ import annotations

import math

from tradeflows.studies.azerbaijan.claims.catalog import Rule

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable with the bundled data"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NOT_TESTABLE)


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def decide(rule: Rule, estimate: float | None, conf_low: float | None,
           conf_high: float | None) -> str:
    """Apply ``rule`` mechanically.

    For ``direction="positive"`` with null ``h`` and equivalence margin ``m``:

    - supported if ``conf_low > h`` (the interval excludes the null on the claim's side);
    - not supported if ``conf_high < h + m``: every effect of substantive size (at least
      ``m`` in the claim's direction) is excluded. This holds when the interval lies inside
      the equivalence band (-m, m) around the null and when it lies on the other side of it;
    - inconclusive otherwise: the interval is too wide to tell an effect of size ``m`` from
      none.

    Mirrored for ``"negative"``. With ``m = 0`` this is the plain sign test. A rule without
    an interval (``level=None``) uses the estimate as both bounds. No estimate: not testable.
    An interval that could not be formed (NaN bounds): inconclusive.
    """
    if _missing(estimate):
        return NOT_TESTABLE
    if rule.level is None:
        conf_low = conf_high = estimate
    if _missing(conf_low) or _missing(conf_high):
        return INCONCLUSIVE
    if conf_low > conf_high:
        raise ValueError(f"interval [{conf_low}, {conf_high}] has its bounds reversed")
    if rule.margin < 0:
        raise ValueError(f"equivalence margin {rule.margin} is negative")
    if rule.direction == "positive":
        if conf_low > rule.null:
            return SUPPORTED
        return NOT_SUPPORTED if conf_high < rule.null + rule.margin else INCONCLUSIVE
    if rule.direction == "negative":
        if conf_high < rule.null:
            return SUPPORTED
        return NOT_SUPPORTED if conf_low > rule.null - rule.margin else INCONCLUSIVE
    raise ValueError(f"rule direction {rule.direction!r} is not 'positive' or 'negative'")
