"""vcov specifications, small-sample conventions and FE parameter counting."""

from __future__ import annotations

import numpy as np
import pytest

from tradeflows.errors import SpecificationError
from tradeflows.estimation.vcov import SSC, as_ssc, fixef_dof, parse_vcov, ssc, ssc_stata


def test_parse_vcov_defaults_follow_fixest():
    assert parse_vcov(None, ("pair", "year")).clusters == ("pair",)
    assert parse_vcov(None, ()).kind == "iid"
    assert parse_vcov("twoway", ("exp", "imp")).clusters == ("exp", "imp")
    assert parse_vcov({"CL2": ["a", "b"]}, ()).clusters == ("a", "b")
    assert parse_vcov({"CL1": "a"}, ()).label == "clustered (a)"
    assert parse_vcov("HC1", ()).kind == "hetero"


@pytest.mark.parametrize("bad", ["sandwich", {"CL3": "a"}, {"CL1": ["a", "b", "c"]}, 3])
def test_parse_vcov_rejects(bad):
    with pytest.raises(SpecificationError):
        parse_vcov(bad, ("a",))


def test_ssc_presets_and_validation():
    assert as_ssc(None) == ssc() == SSC(True, "nested", True, "min")
    assert as_ssc("stata") == ssc_stata()
    assert not ssc_stata().adj and ssc_stata().cluster_adj
    with pytest.raises(SpecificationError, match="fixef_k"):
        ssc(fixef_k="some")
    with pytest.raises(SpecificationError):
        as_ssc("R")


def test_fixef_dof_counts():
    rng = np.random.default_rng(0)
    pair = rng.integers(0, 50, 2000)
    year = rng.integers(0, 10, 2000)
    exporter = pair // 5  # pair nested in exporter
    fe = np.column_stack([pair, year])
    assert fixef_dof(fe, [], "none") == 0
    assert fixef_dof(fe, [], "full") == 50 + 10 - 1
    # clustering by pair: the pair FE is nested and counts as one parameter
    assert fixef_dof(fe, [pair], "nested") == 1 + 10 - 1
    assert fixef_dof(fe, [exporter], "nested") == 1 + 10 - 1
    # year is not nested in pair
    assert fixef_dof(fe, [year], "nested") == 50 + 1 - 1
