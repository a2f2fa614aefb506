"""Results conventions: Wald tests by name / hypothesis / regex, delta method, predict and
resid on the data's index, summary display, argument order, and one-cluster vcov."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tradeflows as tf
from tradeflows.errors import SpecificationError
from tradeflows.estimation import WaldTest
from tradeflows.estimation.hypotheses import Expression, hypothesis_matrix


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 500
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "g": rng.integers(0, 15, n), "t": rng.integers(0, 5, n)},
                      index=pd.Index([f"r{j}" for j in range(n)], name="row"))
    df["y"] = rng.poisson(np.exp(0.4 * df.x1 - 0.3 * df.x2 + 0.2)).astype(float)
    df.loc[df.index[:7], "x2"] = np.nan
    return df


@pytest.fixture(scope="module")
def fit(data):
    return tf.ppml(data, "y ~ x1 + x2 + i(t, ref=0) | g", vcov="hetero")


def test_wald_by_hypothesis_matches_matrix_form(fit) -> None:
    b, V = fit.coef.to_numpy(), fit.vcov_matrix
    R, q, texts = hypothesis_matrix(["x1 + x2 = 0.1", "2*x1 = -x2"], fit.coefnames)
    d = R @ b - q
    W = d @ np.linalg.solve(R @ V @ R.T, d)
    res = fit.wald(["x1 + x2 = 0.1", "2*x1 = -x2"])
    assert isinstance(res, WaldTest) and res.df1 == 2 and res.df2 is None
    assert res.statistic == pytest.approx(W / 2, rel=1e-12)
    assert res.pvalue == pytest.approx(stats.chi2.sf(W, 2), rel=1e-12)
    assert texts == ["x1 + x2 = 0.1", "2*x1 = -x2"] and "x1 + x2 = 0.1" in str(res)
    stat, p, df = fit.wald(["t::1", "t::2", "t::3", "t::4"])
    assert fit.wald(regex=r"^t::").statistic == pytest.approx(stat) and df == 4


def test_wald_f_for_ols(data) -> None:
    r = tf.ols(data, "y ~ x1 + x2 | g")
    res = r.wald("x1 = x2")
    assert res.df2 == r.df_t and res.distribution == "F"
    d = r.coef["x1"] - r.coef["x2"]
    var = r.vcov.loc["x1", "x1"] + r.vcov.loc["x2", "x2"] - 2 * r.vcov.loc["x1", "x2"]
    assert res.statistic == pytest.approx(d**2 / var, rel=1e-12)
    assert res.pvalue == pytest.approx(stats.f.sf(d**2 / var, 1, r.df_t), rel=1e-10)


def test_nonlinear_or_unknown_hypotheses_are_rejected(fit) -> None:
    with pytest.raises(SpecificationError, match="not linear"):
        fit.wald("x1 * x2 = 0")
    with pytest.raises(SpecificationError, match="unknown coefficient"):
        fit.wald("x3 = 0")
    with pytest.raises(SpecificationError, match="no coefficient matches"):
        fit.wald(regex="^zz")
    for bad in ["__import__('os').system('x')", "x1.real", "[x1]", "x1 if x2 else 0"]:
        with pytest.raises(SpecificationError):
            Expression(bad, fit.coefnames)


def test_delta_method_against_analytic_gradients(fit) -> None:
    b, V = fit.coef, fit.vcov
    out = fit.delta_method(["100 * (exp(x1) - 1)", "x1 / x2", "t::2 - t::1"])
    se1 = 100 * np.exp(b["x1"]) * np.sqrt(V.loc["x1", "x1"])
    g = np.array([1 / b["x2"], -b["x1"] / b["x2"] ** 2])
    se2 = np.sqrt(g @ V.loc[["x1", "x2"], ["x1", "x2"]].to_numpy() @ g)
    se3 = np.sqrt(V.loc["t::2", "t::2"] + V.loc["t::1", "t::1"] - 2 * V.loc["t::1", "t::2"])
    assert out.estimate.tolist() == pytest.approx(
        [100 * (np.exp(b["x1"]) - 1), b["x1"] / b["x2"], b["t::2"] - b["t::1"]], rel=1e-12)
    np.testing.assert_allclose(out.std_error, [se1, se2, se3], rtol=1e-7)
    np.testing.assert_allclose(out.p_value, 2 * stats.norm.sf(np.abs(out.estimate / out.std_error)))


def test_predict_and_resid_on_the_data_index(data, fit) -> None:
    pred, res = fit.predict(), fit.resid()
    assert pred.index.equals(data.index) and res.index.equals(data.index)
    assert pred.iloc[:7].isna().all() and pred.notna().sum() == fit.nobs == len(data) - 7
    np.testing.assert_allclose(res.dropna(), (data.y - pred).dropna(), rtol=1e-12)
    new = data.iloc[10:20]
    np.testing.assert_allclose(fit.predict(new), pred.iloc[10:20], rtol=1e-9)
    assert fit.predict(new).index.equals(new.index)


def test_summary_displays_as_text(fit) -> None:
    s = fit.summary()
    assert isinstance(s, str) and repr(s) == str(s) and "x1" in s
    assert fit._repr_html_().startswith("<pre>")


def test_swapped_arguments_give_one_line_without_the_data(data) -> None:
    for fn in (tf.ppml, tf.ols):
        with pytest.raises(SpecificationError) as err:
            fn("y ~ x1 | g", data)
        msg = str(err.value)
        assert "wrong order" in msg and "\n" not in msg and "r499" not in msg
    from tradeflows.estimation.ppml import ppml as bare
    with pytest.raises(SpecificationError, match="wrong order"):
        bare("y ~ x1 | g", data)


def test_one_cluster_left_is_a_clear_error() -> None:
    # Two groups; the second is all zeros and is separated away, leaving one cluster.
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 0.0, 0.0, 0.0], "x": [0.1, 0.5, 0.9, 0.3, 0.2, 0.7],
                       "g": ["a", "a", "a", "b", "b", "b"]})
    with pytest.raises(SpecificationError, match="at least 2 clusters; 1 left"):
        tf.ppml(df, "y ~ x | g")
    assert np.isfinite(tf.ppml(df, "y ~ x | g", vcov="hetero").se["x"])


def test_predict_unseen_levels_are_nan_not_reference(data) -> None:
    d = data.assign(f=np.where(data.x1 > 0, "a", "b"))
    r = tf.ppml(d, "y ~ x1 + C(f) + i(t, ref=0)", vcov="hetero")
    new = pd.DataFrame({"x1": [0.1, 0.1, 0.1, 0.1], "x2": 0.0, "f": ["a", "zz", "b", "a"],
                        "t": [1, 2, 9, 0]}, index=list("pqrs"))
    pred = r.predict(new)
    assert pred.index.tolist() == list("pqrs")
    assert pred[["q", "r"]].isna().all() and pred[["p", "s"]].notna().all()
    b = r.coef
    assert pred["s"] == pytest.approx(np.exp(b["Intercept"] + 0.1 * b["x1"]), rel=1e-12)


def test_hostile_formulas_and_expressions_fail_cleanly(data, fit) -> None:
    deep = "y ~ " + "-" * 1500 + "x1"
    for formula in ["y ~ x1\x00", deep, "y ~ " + "(" * 400 + "x1" + ")" * 400]:
        with pytest.raises(SpecificationError):
            tf.ppml(data, formula)
    for expr in ["x1\x00", "-" * 1000 + "x1", "(" * 400 + "x1" + ")" * 400]:
        with pytest.raises(SpecificationError):
            fit.delta_method(expr)
