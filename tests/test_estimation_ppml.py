"""PPML against statsmodels GLM Poisson with explicit dummies (coefficients and SE to 1e-8)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.sandwich_covariance import cov_cluster

from tradeflows.errors import ConvergenceError, SpecificationError
from tradeflows.estimation import ppml, ssc, ssc_stata

RTOL = 1e-8
FORMULA = "y ~ x1 + x2 | a + b"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 700
    df = pd.DataFrame({"a": rng.integers(0, 14, n), "b": rng.integers(0, 10, n),
                       "x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "c": rng.integers(0, 35, n), "w": rng.uniform(0.5, 2.0, n),
                       "off": rng.normal(0, 0.3, n)})
    eta = 0.4 * df.x1 - 0.25 * df.x2 + rng.normal(size=14)[df.a] + rng.normal(size=10)[df.b]
    df["y"] = rng.poisson(np.exp(eta)) * rng.uniform(0.5, 1.5, n)
    return df


def _design(df: pd.DataFrame, slopes=("x1", "x2")) -> pd.DataFrame:
    D = pd.get_dummies(df[["a", "b"]].astype(str)).astype(float).drop(columns="b_0")
    return pd.concat([df[list(slopes)], D], axis=1)


@pytest.fixture(scope="module")
def glm(data):
    X = _design(data)
    model = sm.GLM(data.y, X, family=sm.families.Poisson())
    return model, model.fit(tol=1e-13, maxiter=200), X.shape[1]


@pytest.fixture(scope="module")
def fits(data):
    return {v: ppml(data, FORMULA, vcov=v, tol=1e-12)
            for v in ("iid", "hetero")}


def test_coefficients(glm, fits):
    _, m, _ = glm
    for r in fits.values():
        np.testing.assert_allclose(r.coef.to_numpy(), m.params[["x1", "x2"]], rtol=RTOL)


def test_iid_and_hetero_se(data, glm, fits):
    model, m, K = glm
    n = len(data)
    iid = fits["iid"]
    assert iid.df_k == K  # 2 slopes + 14 + 10 - 1 FE parameters
    np.testing.assert_allclose(iid.se.to_numpy(),
                               m.bse[["x1", "x2"]] * np.sqrt((n - 1) / (n - K)), rtol=RTOL)
    hc0 = model.fit(tol=1e-13, maxiter=200, cov_type="HC0")
    np.testing.assert_allclose(fits["hetero"].se.to_numpy(),
                               hc0.bse[["x1", "x2"]] * np.sqrt(n / (n - K)), rtol=RTOL)


def _cluster_se(fit, groups, use_correction: bool) -> np.ndarray:
    """statsmodels' clustered SE of x1, x2 (the first two columns) from a fitted GLM."""
    codes = pd.factorize(pd.Series(groups))[0]
    return np.sqrt(np.diag(cov_cluster(fit, codes, use_correction=use_correction))[:2])


def _cluster_cov(fit, groups) -> np.ndarray:
    codes = pd.factorize(pd.Series(groups))[0]
    return cov_cluster(fit, codes, use_correction=False)[:2, :2]


def test_clustered_se_not_nested(data, glm):
    # no FE nested in c: fixest's K = statsmodels' number of columns, corrections identical
    _, m, _ = glm
    r = ppml(data, FORMULA, vcov={"CL1": "c"}, tol=1e-12)
    np.testing.assert_allclose(r.se.to_numpy(), _cluster_se(m, data.c, True), rtol=RTOL)
    assert r.vcov_type == "clustered (c)"


def test_clustered_se_nested_fixef_k(data, glm):
    # default vcov clusters by the first FE 'a', which is nested in itself: counted as 1
    _, m, _ = glm
    n, G = len(data), data.a.nunique()
    r = ppml(data, FORMULA, tol=1e-12)
    assert r.vcov_type == "clustered (a)"
    K = 2 + data.b.nunique()
    assert r.df_k == K
    raw = _cluster_se(m, data.a, False)
    np.testing.assert_allclose(r.se.to_numpy(), raw * np.sqrt(G / (G - 1) * (n - 1) / (n - K)),
                               rtol=RTOL)
    stata = ppml(data, FORMULA, ssc=ssc_stata(), tol=1e-12)
    np.testing.assert_allclose(stata.se.to_numpy(), raw * np.sqrt(G / (G - 1)), rtol=RTOL)
    full = ppml(data, FORMULA, ssc=ssc(fixef_k="full"), tol=1e-12)
    K_full = 2 + 14 + 10 - 1
    np.testing.assert_allclose(full.se.to_numpy(),
                               raw * np.sqrt(G / (G - 1) * (n - 1) / (n - K_full)), rtol=RTOL)


def test_twoway_clustered(data, glm):
    _, m, _ = glm
    n = len(data)
    r = ppml(data, FORMULA, vcov={"CL2": ["c", "b"]}, tol=1e-12)
    inter = data.c.astype(str) + "_" + data.b.astype(str)
    V = _cluster_cov(m, data.c) + _cluster_cov(m, data.b) - _cluster_cov(m, inter)
    G = min(data.c.nunique(), data.b.nunique())
    K = 2 + (14 + 10 - 1) - (10 - 1)  # 'b' is nested in the cluster b: counted as one
    V *= G / (G - 1) * (n - 1) / (n - K)
    np.testing.assert_allclose(r.vcov_matrix, V, rtol=RTOL)


def test_weights_and_offset(data):
    X = _design(data)
    m = sm.GLM(data.y, X, family=sm.families.Poisson(), var_weights=data.w,
               offset=data.off).fit(tol=1e-13, maxiter=200)
    r = ppml(data, FORMULA, weights="w", offset="off", vcov="iid", tol=1e-12)
    np.testing.assert_allclose(r.coef.to_numpy(), m.params[["x1", "x2"]], rtol=RTOL)
    n, K = len(data), X.shape[1]
    np.testing.assert_allclose(r.se.to_numpy(), m.bse[["x1", "x2"]] * np.sqrt((n - 1) / (n - K)),
                               rtol=RTOL)
    np.testing.assert_allclose(r.predict(), m.fittedvalues, rtol=1e-9)


def test_fixed_coefs_equal_glm_offset(data):
    X = _design(data, slopes=("x1",))
    m = sm.GLM(data.y, X, family=sm.families.Poisson(),
               offset=-0.25 * data.x2).fit(tol=1e-13, maxiter=200)
    r = ppml(data, FORMULA, fixed_coefs={"x2": -0.25}, vcov="hetero", tol=1e-12)
    assert r.coefnames == ["x1"] and r.fixed_coefs == {"x2": -0.25}
    np.testing.assert_allclose(r.coef.to_numpy(), m.params[["x1"]], rtol=RTOL)
    np.testing.assert_allclose(r.predict(), m.fittedvalues, rtol=1e-9)
    # predictions on the same rows through newdata include the held coefficient
    np.testing.assert_allclose(r.predict(data), m.fittedvalues, rtol=1e-9)


def test_fixef_and_predict_reconstruct_fit(data, glm, fits):
    _, m, _ = glm
    r = fits["hetero"]
    fx = r.fixef()
    assert set(fx) == {"a", "b"} and fx["b"].iloc[0] == 0.0
    # with b_0 the reference, the dummy coefficients are the FE values
    np.testing.assert_allclose(fx["a"].to_numpy(), m.params[[f"a_{i}" for i in range(14)]],
                               rtol=1e-7, atol=1e-9)
    eta = r.coef["x1"] * data.x1 + r.coef["x2"] * data.x2 + fx["a"][data.a].to_numpy() \
        + fx["b"][data.b].to_numpy()
    np.testing.assert_allclose(np.exp(eta), r.predict(), rtol=1e-9)
    np.testing.assert_allclose(r.predict(data, type="link"), np.log(m.fittedvalues), rtol=1e-9)
    new = data.head(3).copy()
    new.loc[new.index[0], "a"] = 99  # level not estimated -> NaN
    pred = r.predict(new)
    assert np.isnan(pred[0]) and np.isfinite(pred[1:]).all()


def test_no_fixed_effects_has_intercept(data):
    X = sm.add_constant(data[["x1", "x2"]])
    m = sm.GLM(data.y, X, family=sm.families.Poisson()).fit(tol=1e-13)
    r = ppml(data, "y ~ x1 + x2", tol=1e-12)
    assert r.coefnames == ["Intercept", "x1", "x2"] and r.vcov_type == "iid"
    np.testing.assert_allclose(r.coef.to_numpy(), m.params.to_numpy(), rtol=RTOL)
    n = len(data)
    np.testing.assert_allclose(r.se.to_numpy(), m.bse.to_numpy() * np.sqrt((n - 1) / (n - 3)),
                               rtol=RTOL)
    np.testing.assert_allclose(r.deviance, m.deviance, rtol=1e-10)
    np.testing.assert_allclose(r.loglik, m.llf, rtol=1e-10)
    np.testing.assert_allclose(r.loglik_null, m.llnull, rtol=1e-10)


def test_inference_helpers(fits):
    from scipy import stats

    r = fits["hetero"]
    b, V = r.coef.to_numpy(), r.vcov_matrix
    ci = r.confint(0.9)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(ci["conf_low"], b - z * np.sqrt(np.diag(V)), rtol=1e-12)
    stat, p, df = r.wald(["x1", "x2"])
    W = b @ np.linalg.solve(V, b)
    assert df == 2 and stat == pytest.approx(W / 2) and p == pytest.approx(stats.chi2.sf(W, 2))
    stat1, p1, _ = r.wald(np.array([[1.0, 1.0]]), 0.1)
    d = b.sum() - 0.1
    assert stat1 == pytest.approx(d**2 / V.sum())
    tidy = r.tidy()
    assert list(tidy.columns) == ["term", "estimate", "std_error", "statistic", "p_value",
                                  "conf_low", "conf_high"]
    np.testing.assert_allclose(tidy.p_value, 2 * stats.norm.sf(np.abs(b / np.sqrt(np.diag(V)))))
    text = r.summary()
    assert "x1" in text and "hetero" in text and "Observations: 700" in text
    with pytest.raises(SpecificationError, match="unknown coefficient"):
        r.wald(["nope"])


def test_drops_by_reason():
    df = pd.DataFrame({"y": [0.0, 0, 0, 1, 2, 3, 1, 5, 4, 2, np.nan],
                       "x": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1],
                       "g": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 1]})
    r = ppml(df, "y ~ x | g", vcov="hetero")
    # row 10: missing; rows 0-2: group g=0 all zero (separated); row 9: singleton
    assert r.drops["missing"] == 1
    assert r.drops["separation_fe"] == 3
    assert r.drops["singleton"] == 1
    assert r.nobs == 6 and r.nobs_original == 11


def test_nonconvergence_warns_or_raises(data):
    with pytest.warns(RuntimeWarning, match="did not converge"):
        r = ppml(data, FORMULA, maxiter=2)
    assert not r.converged
    with pytest.raises(ConvergenceError):
        ppml(data, FORMULA, maxiter=2, strict=True)


def test_bad_input_named(data):
    bad = data.copy()
    bad.loc[5, "y"] = -1.0
    with pytest.raises(SpecificationError, match="'y' is negative at row 5"):
        ppml(bad, FORMULA)
    with pytest.raises(SpecificationError, match="not in data"):
        ppml(data, FORMULA, weights="nope")
    with pytest.raises(SpecificationError, match="not a regressor"):
        ppml(data, FORMULA, fixed_coefs={"x9": 1.0})
    with pytest.raises(SpecificationError, match="vcov"):
        ppml(data, FORMULA, vcov="sandwich")


def test_collinear_regressor_dropped_with_warning(data):
    df = data.assign(x3=2 * data.x1 - data.x2)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = ppml(df, "y ~ x1 + x2 + x3 | a + b", tol=1e-12)
    assert any("x3" in str(w.message) for w in rec)
    assert r.coefnames == ["x1", "x2"] and r.collinear == ["x3"]


def test_underflowed_fitted_values_stay_finite_and_warn():
    """A zero flow whose fitted value underflows to 0 (eta < -745) gets z = eta - 1 and a
    vanishing weight instead of a division by zero, and the fit warns about it."""
    from tradeflows.estimation.ppml import _warn_vanishing_fit, _working

    y = np.array([0.0, 2.0])
    eta = np.array([-800.0, np.log(2.0)])
    mu = np.exp(eta)
    assert mu[0] == 0.0
    M, W = np.empty((2, 1)), np.empty(2)
    _working(eta, np.zeros(2), y, np.ones(2), M, W)
    assert np.all(np.isfinite(M)) and M[0, 0] == -801.0 and W[0] < 1e-300
    with pytest.warns(RuntimeWarning, match="1 zero observation"):
        _warn_vanishing_fit(y, mu)
    with warnings.catch_warnings():  # small but not vanishing: 1e-9 of the smallest flow
        warnings.simplefilter("error")
        _warn_vanishing_fit(y, np.array([2e-9, 2.0]))
