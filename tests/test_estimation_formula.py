"""Formula parsing, factorization of fixed effects, missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.errors import SpecificationError
from tradeflows.estimation.formula import factorize_fe, model_frame, parse_formula


def test_parse_full_formula():
    f = parse_formula("trade ~ both_ots + fta + a:b | exp_year + imp_year + exporter^year")
    assert f.depvar == "trade"
    assert f.terms == ("both_ots", "fta", "a:b")
    assert f.fixef == ("exp_year", "imp_year", "exporter^year")
    assert not f.intercept
    assert f.variables() == ["trade", "both_ots", "fta", "a", "b", "exp_year", "imp_year",
                             "exporter", "year"]


def test_intercept_only_without_fixed_effects():
    assert parse_formula("y ~ x").intercept
    assert not parse_formula("y ~ x + 0").intercept
    assert not parse_formula("y ~ x - 1").intercept


@pytest.mark.parametrize("bad", ["y x", "y ~ x ~ z", "~ x", "y ~ x + | a", "y ~ x | a | b",
                                 "y ~ os.system(x)", "y ~ x.__class__", "y ~ [x for x in y]",
                                 "y ~ lambda: 1", "y ~ eval(x)"])
def test_bad_formulas_raise(bad):
    with pytest.raises(SpecificationError):
        parse_formula(bad)


def test_unknown_and_non_numeric_columns_are_named():
    df = pd.DataFrame({"y": [1.0, 2.0], "x": ["a", "b"], "g": [1, 2]})
    with pytest.raises(SpecificationError, match="'zz'"):
        model_frame(df, "y ~ zz | g")
    with pytest.raises(SpecificationError, match="'x' is not numeric"):
        model_frame(df, "y ~ x | g")


def test_interaction_codes_and_products():
    df = pd.DataFrame({"y": np.arange(6.0), "a": [1, 1, 2, 2, 3, 3], "b": [0.5, 2, 1, 1, 1, 4],
                       "c": ["u", "v", "u", "u", "v", "v"], "d": [2000, 2000, 2000, 2001, 2001, 2001]})
    codes, levels = factorize_fe(df, "c^d")
    assert list(levels) == ["u^2000", "u^2001", "v^2000", "v^2001"]
    assert list(codes) == [0, 2, 0, 1, 3, 3]
    mf, _ = model_frame(df, "y ~ a:b | c^d")
    np.testing.assert_array_equal(mf.X[:, 0], df.a * df.b)
    assert mf.coefnames == ["a:b"]


def test_missing_values_dropped_and_counted():
    df = pd.DataFrame({"y": [1.0, np.nan, 3.0, 4.0, 5.0], "x": [1.0, 2.0, np.nan, 4.0, 5.0],
                       "g": ["a", "a", "b", None, "b"], "w": [1.0, 1.0, 1.0, 1.0, np.nan]})
    mf, extra = model_frame(df, "y ~ x | g", {"weights": df.w.to_numpy()})
    assert mf.drops["missing"] == 4
    assert list(mf.index) == [0]
    assert extra["weights"].shape == (1,)


def test_three_way_interaction_levels_are_sorted_combinations():
    df = pd.DataFrame({"a": ["x", "y", "x", "x"], "b": [2, 1, 2, 1], "c": [0.5, 0.5, 1.5, 0.5]})
    codes, levels = factorize_fe(df, "a^b^c")
    assert list(levels) == ["x^1^0.5", "x^2^0.5", "x^2^1.5", "y^1^0.5"]
    assert list(codes) == [1, 3, 2, 0]
