"""IRLS precision on rows with vanishing fitted values, and results independent of threads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from tradeflows.estimation import ols, ppml
from tradeflows.estimation.demean import demean_coef, fe_index
from tradeflows.estimation.threads import get_threads, set_threads, using_threads


def _tiny_fit_panel() -> pd.DataFrame:
    """Two-way panel (15 x 12) in which one positive flow (y = 1) has a regressor value far
    from the rest: at the maximum of the likelihood its fitted value is about e^-28."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=15), rng.normal(size=12)
    i, j = (v.ravel() for v in np.meshgrid(np.arange(15), np.arange(12), indexing="ij"))
    x = rng.normal(size=i.size)
    x[0] = 15.0
    y = rng.poisson(np.exp(2 + a[i] + b[j] - 2.0 * x)).astype(float)
    y[0] = 1.0
    return pd.DataFrame({"y": y, "x": x, "i": i, "j": j})


def test_positive_flow_with_vanishing_fit_matches_dummy_glm():
    df = _tiny_fit_panel()
    D = pd.get_dummies(df[["i", "j"]].astype(str), drop_first=True).astype(float)
    Z = np.column_stack([df.x.to_numpy(), np.ones(len(df)), D.to_numpy()])
    ref = sm.GLM(df.y.to_numpy(), Z, family=sm.families.Poisson()).fit(tol=1e-14, maxiter=1000)
    mu_ref = np.asarray(ref.fittedvalues)
    assert -31 < np.log(mu_ref[0]) < -25  # the row the defect is about
    res = ppml(df, "y ~ x | i + j", vcov="hetero", separation=())
    assert res.converged
    np.testing.assert_allclose(res.coef["x"], ref.params[0], rtol=1e-8)
    np.testing.assert_allclose(res.deviance, ref.deviance, rtol=1e-10)
    mu = np.exp(res.eta)
    np.testing.assert_allclose(mu[0], mu_ref[0], rtol=1e-6)
    np.testing.assert_allclose(mu, mu_ref, rtol=1e-6)
    # standard errors (heteroskedasticity-robust, no small-sample factor on either side)
    bread = np.linalg.inv(Z.T @ (Z * mu_ref[:, None]))
    scores = Z * (df.y.to_numpy() - mu_ref)[:, None]
    n, k = Z.shape
    se_ref = np.sqrt(np.diag(bread @ scores.T @ scores @ bread) * n / (n - k))
    np.testing.assert_allclose(res.se["x"], se_ref[0], rtol=1e-6)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 20_000
    df = pd.DataFrame({"a": rng.integers(0, 300, n), "b": rng.integers(0, 200, n),
                       "c": rng.integers(0, 900, n), "x1": rng.normal(size=n),
                       "x2": rng.uniform(size=n) < 0.2})
    eta = 0.3 * df.x1 - 0.5 * df.x2 + rng.normal(size=300)[df.a] + rng.normal(size=200)[df.b]
    df["y"] = rng.poisson(np.exp(eta + rng.normal(size=900)[df.c]))
    df["x2"] = df.x2.astype(float)
    return df


@pytest.fixture
def parallel_small(monkeypatch):
    """Share out sweeps among threads even on the small test panel."""
    monkeypatch.setattr("tradeflows.estimation.demean.PARALLEL_MIN_ROWS", 0)


def test_demean_same_for_any_number_of_threads(panel, parallel_small):
    idx = fe_index(panel[["a", "b", "c"]].to_numpy())
    X = panel[["y", "x1", "x2"]].to_numpy(dtype=float)
    w = np.exp(panel.x1.to_numpy() / 3)
    one = demean_coef(X, idx, w, tol=1e-10, threads=1)
    two = demean_coef(X, idx, w, tol=1e-10, threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    assert one[3] == two[3]


def test_ppml_and_ols_same_for_any_number_of_threads(panel, parallel_small):
    fml = "y ~ x1 + x2 | a + b + c"
    p1, p2 = (ppml(panel, fml, threads=t) for t in (1, 2))
    assert p1.fit_stats["threads"] == 1 and p2.fit_stats["threads"] == 2
    np.testing.assert_array_equal(p1.coef_values, p2.coef_values)
    np.testing.assert_array_equal(p1.vcov_matrix, p2.vcov_matrix)
    assert p1.iterations == p2.iterations <= 8
    o1, o2 = (ols(panel, fml, threads=t) for t in (1, 2))
    np.testing.assert_array_equal(o1.coef_values, o2.coef_values)


def test_threads_setting():
    before = get_threads()
    try:
        set_threads(1)
        assert get_threads() == 1
        with using_threads() as used:
            assert used == 1
            with using_threads(None) as inner:  # nested blocks keep the outer number
                assert inner == 1
        with pytest.raises(ValueError, match="positive integer"):
            set_threads(0)
    finally:
        set_threads(None)
    assert get_threads() == before
