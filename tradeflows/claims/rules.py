"""The one function that turns an estimate and its interval into a verdict."""

from __future__ import annotations

import math

from tradeflows.claims.catalog import Rule

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

    For ``direction="positive"``: supported if ``conf_low > null``, not supported if
    ``conf_high < null``, else inconclusive; mirrored for ``"negative"``. A rule without an
    interval (``level=None``) compares the estimate itself. No estimate: not testable.
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
    above = conf_low > rule.null
    below = conf_high < rule.null
    if rule.direction == "positive":
        return SUPPORTED if above else NOT_SUPPORTED if below else INCONCLUSIVE
    if rule.direction == "negative":
        return SUPPORTED if below else NOT_SUPPORTED if above else INCONCLUSIVE
    raise ValueError(f"rule direction {rule.direction!r} is not 'positive' or 'negative'")
