"""Formula features (formulaic terms, fixest's i(), multiple estimation, sample splits)
against pyfixest 0.60 on the same data: coefficient names, coefficients and clustered standard
errors to 1e-6 relative (both sides iterate to 1e-10)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tradeflows as tf
from tradeflows.errors import SpecificationError
from tradeflows.estimation import FitCollection
from tradeflows.estimation.formula import expand_formula, parse_formula

pf = pytest.importorskip("pyfixest")

FORMULAS = [
    "y ~ x1 + x2 + x1:x2 | g",
    "y ~ x1*x2 | g + t",
    "y ~ log(z) + sqrt(z) + I(x1**2) | g",
    "y ~ x1 + C(f) | g",
    "y ~ x1 + i(t, ref=2000) | g",
    "y ~ x2 + i(t, x1, ref=2003) | g",
    "y ~ x2 + i(f, x1) | g",
    "y ~ x1 + log(z) + i(t) + C(f)",
]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 600
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "z": rng.uniform(0.5, 3.0, n), "f": rng.choice(["a", "b", "c"], n),
                       "g": rng.integers(0, 12, n), "t": rng.integers(2000, 2006, n)})
    eta = 0.3 * df.x1 - 0.2 * df.x2 + 0.15 * (df.f == "b") + 0.05 * (df.t - 2000) * df.x1
    df["y"] = rng.poisson(np.exp(eta + 0.5 + rng.normal(size=n) * 0.3)).astype(float)
    df["ly"] = np.log1p(df.y) + rng.normal(size=n) * 0.1
    return df


def _pf(fml: str) -> str:
    """The same formula for pyfixest (numpy functions spelled out)."""
    for fn in ("sqrt", "log1p", "exp"):
        fml = fml.replace(f"{fn}(", f"np.{fn}(")
    return fml


def _compare(ours, ref) -> None:
    theirs = ref.coef().rename(lambda name: name.replace("np.", ""))
    se = ref.se().rename(lambda name: name.replace("np.", ""))
    assert sorted(ours.coef.index) == sorted(theirs.index)
    for name in theirs.index:
        assert ours.coef[name] == pytest.approx(theirs[name], rel=1e-6, abs=1e-10), name
        assert ours.se[name] == pytest.approx(se[name], rel=1e-6), name


@pytest.mark.parametrize("fml", FORMULAS)
def test_ppml_formula_terms_match_pyfixest(data, fml) -> None:
    ours = tf.ppml(data, fml, vcov={"CL": "g"}, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois(_pf(fml), data=data, vcov={"CRV1": "g"}, fixef_tol=1e-10, iwls_tol=1e-10)
    _compare(ours, ref)


@pytest.mark.parametrize("fml", [FORMULAS[1], FORMULAS[3], FORMULAS[5],
                                 "log1p(y) ~ x1 + exp(x2 / 4) | g"])
def test_ols_formula_terms_match_pyfixest(data, fml) -> None:
    ours = tf.ols(data, fml, vcov="hetero")
    ref = pf.feols(_pf(fml), data=data, vcov="hetero")
    _compare(ours, ref)


def test_multiple_estimation_and_split_match_pyfixest(data) -> None:
    fits = tf.ols(data, "ly ~ csw(x1, x2) | sw(g, t)", split="f", vcov="iid")
    assert isinstance(fits, FitCollection) and len(fits) == 12
    ref = pf.feols("ly ~ csw(x1, x2) | sw(g, t)", data=data, split="f", vcov="iid")
    for label, theirs in ref.all_fitted_models.items():
        fml, sample = label.split(" (Sample: ")
        key = f"{fml}; {sample.rstrip(')').replace(' = ', '=')}"
        _compare(fits[key], theirs)


def test_zero_step_operators_and_several_outcomes_match_pyfixest(data) -> None:
    for fml in ["ly ~ csw0(x1, x2) | sw0(g, t)", "ly + y ~ x1 + x2 | g"]:
        fits = tf.ols(data, fml, vcov="iid")
        ref = pf.feols(fml, data=data, vcov="iid")
        assert list(fits) == list(ref.all_fitted_models)
        for label, theirs in ref.all_fitted_models.items():
            if len(theirs.coef()):
                _compare(fits[label], theirs)


def test_expansion_order_and_operators() -> None:
    assert expand_formula("y ~ x + sw(a, b) | fe") == ["y ~ x + a | fe", "y ~ x + b | fe"]
    assert expand_formula("y ~ csw0(a, b)") == ["y ~ 1", "y ~ a", "y ~ a + b"]
    assert expand_formula("y ~ x | sw0(e, f)") == ["y ~ x", "y ~ x | e", "y ~ x | f"]
    assert expand_formula("y1 + y2 ~ x | csw(e, f)") == [
        "y1 ~ x | e", "y1 ~ x | e + f", "y2 ~ x | e", "y2 ~ x | e + f"]
    assert expand_formula("y ~ sw(a, b) | sw(e, f)") == [
        "y ~ a | e", "y ~ b | e", "y ~ a | f", "y ~ b | f"]
    with pytest.raises(SpecificationError, match="one sw"):
        expand_formula("y ~ sw(a, b) + csw(c, d)")


def test_fsplit_adds_full_sample_and_collection_helpers(data) -> None:
    fits = tf.ppml(data, "y ~ x1 | g", fsplit="f")
    assert list(fits) == ["y ~ x1 | g", "y ~ x1 | g; f=a", "y ~ x1 | g; f=b", "y ~ x1 | g; f=c"]
    assert fits[0].nobs == len(data) and fits[1].nobs == int((data.f == "a").sum())
    tidy = fits.tidy()
    assert list(tidy.model.unique()) == list(fits) and fits.coef().shape == (1, 4)
    table = tf.etable(fits)
    assert "f=b" in table and "x1" in table and fits.etable() == table
    assert len(fits.coefplot().axes[0].get_legend().get_texts()) == 4
    assert "=== y ~ x1 | g; f=c ===" in fits.summary()


def test_log_of_zero_is_dropped_and_counted(data) -> None:
    d = data.assign(z=data.z.where(data.index % 10 != 0, 0.0))
    r = tf.ols(d, "ly ~ log(z) | g")
    assert r.drops["non_finite"] == int((d.z == 0).sum()) and r.nobs == len(d) - 60


def test_unsafe_or_wrong_terms_fail_with_one_line() -> None:
    for bad in ["y ~ __import__('os')", "y ~ x.real", "y ~ open(x)", "y ~ i(f) : x"]:
        with pytest.raises(SpecificationError):
            parse_formula(bad)
    assert parse_formula("y ~ x1 + i(t, x, ref=[1, 2]) | a^b").variables() == [
        "y", "x1", "t", "x", "a", "b"]


def test_string_regressor_asks_for_c_or_i(data) -> None:
    with pytest.raises(SpecificationError, match=r"C\(f\)"):
        tf.ppml(data, "y ~ f | g")


def test_i_reference_must_exist(data) -> None:
    with pytest.raises(SpecificationError, match="reference level"):
        tf.ppml(data, "y ~ i(t, ref=1999) | g")
