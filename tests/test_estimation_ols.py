"""OLS with fixed effects against statsmodels OLS/WLS with explicit dummies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from tradeflows.errors import SpecificationError
from tradeflows.estimation import ols

RTOL = 1e-8
FORMULA = "y ~ x1 + x2 | a + b"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 500
    df = pd.DataFrame({"a": rng.integers(0, 12, n), "b": rng.integers(0, 8, n),
                       "x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "c": rng.integers(0, 30, n), "w": rng.uniform(0.5, 2.0, n)})
    df["y"] = (1.0 * df.x1 - 0.5 * df.x2 + rng.normal(size=12)[df.a] + rng.normal(size=8)[df.b]
               + rng.normal(size=n) * (1 + 0.5 * np.abs(df.x1)))
    return df


@pytest.fixture(scope="module")
def design(data) -> pd.DataFrame:
    D = pd.get_dummies(data[["a", "b"]].astype(str)).astype(float).drop(columns="b_0")
    return pd.concat([data[["x1", "x2"]], D], axis=1)


def test_iid_hetero_cluster(data, design):
    sl = ["x1", "x2"]
    m = sm.OLS(data.y, design)
    iid = m.fit()
    r = ols(data, FORMULA, vcov="iid")
    np.testing.assert_allclose(r.coef.to_numpy(), iid.params[sl], rtol=RTOL)
    np.testing.assert_allclose(r.se.to_numpy(), iid.bse[sl], rtol=RTOL)
    assert r.df_t == iid.df_resid
    np.testing.assert_allclose(r.pvalue.to_numpy(), iid.pvalues[sl], rtol=1e-6)
    np.testing.assert_allclose(r.r2, iid.rsquared, rtol=1e-10)
    hc1 = m.fit(cov_type="HC1")
    np.testing.assert_allclose(ols(data, FORMULA, vcov="hetero").se.to_numpy(), hc1.bse[sl],
                               rtol=RTOL)
    cl = m.fit(cov_type="cluster", cov_kwds={"groups": data.c.to_numpy()})
    rc = ols(data, FORMULA, vcov={"CL": "c"})
    np.testing.assert_allclose(rc.se.to_numpy(), cl.bse[sl], rtol=RTOL)
    # t tests on G - 1 degrees of freedom, as fixest
    G = data.c.nunique()
    np.testing.assert_allclose(rc.pvalue.to_numpy(),
                               2 * stats.t.sf(np.abs(rc.tstat.to_numpy()), G - 1))


def test_weighted(data, design):
    m = sm.WLS(data.y, design, weights=data.w).fit(cov_type="HC1")
    r = ols(data, FORMULA, vcov="hetero", weights="w")
    np.testing.assert_allclose(r.coef.to_numpy(), m.params[["x1", "x2"]], rtol=RTOL)
    np.testing.assert_allclose(r.se.to_numpy(), m.bse[["x1", "x2"]], rtol=RTOL)
    # fitted values of size ~1: absolute agreement at the demeaning tolerance
    np.testing.assert_allclose(r.predict(), m.fittedvalues, rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.predict(data), m.fittedvalues, rtol=0, atol=1e-8)


def test_no_fixed_effects_and_wald_f(data):
    X = sm.add_constant(data[["x1", "x2"]])
    m = sm.OLS(data.y, X).fit()
    r = ols(data, "y ~ x1 + x2")
    np.testing.assert_allclose(r.coef.to_numpy(), m.params.to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(r.se.to_numpy(), m.bse.to_numpy(), rtol=RTOL)
    stat, p, df = r.wald(["x1", "x2"])
    ft = m.f_test("x1 = 0, x2 = 0")
    assert df == 2
    np.testing.assert_allclose(stat, float(np.squeeze(ft.fvalue)), rtol=1e-9)
    np.testing.assert_allclose(p, float(ft.pvalue), rtol=1e-7)


def test_singletons_dropped_and_counted():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6, 7], "x": [0.5, 1, 3, 2, 7, 1, 4],
                       "g": [0, 0, 1, 1, 2, 2, 3]})
    r = ols(df, "y ~ x | g", vcov="iid")
    assert r.drops["singleton"] == 1 and r.nobs == 6


def test_bad_weights_named(data):
    bad = data.assign(w=data.w.where(data.index != 7, -1.0))
    with pytest.raises(SpecificationError, match="negative at row 7"):
        ols(bad, FORMULA, weights="w")
