"""decide(): every branch of the pre-stated decision rule."""

from __future__ import annotations

import math

import pytest

from tradeflows.claims.catalog import Rule
from tradeflows.claims.rules import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    NOT_TESTABLE,
    SUPPORTED,
    VERDICTS,
    decide,
)

POS = Rule("coefficient", "positive", 0.95)
NEG = Rule("slope", "negative", 0.95)


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
])
def test_interval_rules(rule, est, lo, hi, verdict):
    assert decide(rule, est, lo, hi) == verdict


def test_null_other_than_zero():
    ratio = Rule("ratio", "positive", 0.95, null=1.0)
    assert decide(ratio, 1.5, 1.2, 1.8) == SUPPORTED
    assert decide(ratio, 1.5, 0.9, 1.8) == INCONCLUSIVE
    assert decide(ratio, 0.5, 0.2, 0.8) == NOT_SUPPORTED


def test_reported_total_without_interval():
    total = Rule("total", "positive", None)
    assert decide(total, 72.0, math.nan, math.nan) == SUPPORTED
    assert decide(total, -3.0, None, None) == NOT_SUPPORTED
    assert decide(total, 0.0, None, None) == INCONCLUSIVE


def test_missing_estimate_or_interval():
    assert decide(POS, math.nan, 0.1, 0.2) == NOT_TESTABLE
    assert decide(POS, None, None, None) == NOT_TESTABLE
    assert decide(POS, 0.3, math.nan, 0.5) == INCONCLUSIVE


def test_reversed_interval_and_bad_direction_raise():
    with pytest.raises(ValueError, match="reversed"):
        decide(POS, 0.3, 0.5, 0.1)
    with pytest.raises(ValueError, match="direction 'up'"):
        decide(Rule("x", "up", 0.95), 0.3, 0.1, 0.5)


def test_verdict_vocabulary():
    assert VERDICTS == ("supported", "not supported", "inconclusive",
                        "not testable with the bundled data")
