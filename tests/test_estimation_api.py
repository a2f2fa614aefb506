"""Public API: exports, held coefficients, interacted fixed effects, table compatibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import tradeflows
from tradeflows.estimation import ols, ppml


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = [(e, i, t) for e in range(8) for i in range(8) for t in range(4) if e != i]
    df = pd.DataFrame(rows, columns=["exporter", "importer", "year"])
    df["exporter"] = "C" + df.exporter.astype(str)
    df["importer"] = "C" + df.importer.astype(str)
    df["x"] = rng.normal(size=len(df))
    df["ln_dist"] = rng.normal(size=len(df))
    mu = np.exp(0.3 * df.x - 0.8 * df.ln_dist + rng.normal(size=len(df)) * 0.2)
    df["trade"] = rng.poisson(5 * mu).astype(float)
    return df


def test_top_level_exports():
    assert tradeflows.ppml is ppml and tradeflows.ols is ols
    from tradeflows.estimation import ssc, ssc_stata

    assert ssc().fixef_k == "nested" and ssc_stata().adj is False


def test_interacted_fixed_effects_match_dummies(panel):
    r = ppml(panel, "trade ~ x + ln_dist | exporter^year + importer^year", vcov="hetero",
             tol=1e-12)
    assert r.fixef_vars == ["exporter^year", "importer^year"]
    ey = panel.exporter + "_" + panel.year.astype(str)
    iy = panel.importer + "_" + panel.year.astype(str)
    # one redundant level per year: drop importer C0's dummies (full-rank design)
    Di = pd.get_dummies(iy, prefix="i")
    Di = Di.loc[:, ~Di.columns.str.startswith("i_C0_")]
    D = pd.concat([pd.get_dummies(ey, prefix="e"), Di], axis=1).astype(float)
    m = sm.GLM(panel.trade, pd.concat([panel[["x", "ln_dist"]], D], axis=1),
               family=sm.families.Poisson()).fit(tol=1e-13, maxiter=100)
    np.testing.assert_allclose(r.coef.to_numpy(), m.params[["x", "ln_dist"]], rtol=1e-8)
    np.testing.assert_allclose(r.predict(), m.fittedvalues, rtol=1e-9)
    fx = r.fixef()["exporter^year"]
    assert fx.index[0] == "C0^0"


def test_all_coefficients_held_fixed(panel):
    r = ppml(panel, "trade ~ x + ln_dist | exporter^year + importer^year",
             fixed_coefs={"x": 0.3, "ln_dist": -0.8}, tol=1e-12)
    assert r.coefnames == [] and r.vcov_matrix.shape == (0, 0) and r.converged
    # the FE-only model with the offset: its first-order conditions hold exactly
    resid = panel.trade.to_numpy() - r.predict()
    by_ey = pd.Series(resid).groupby([panel.exporter, panel.year]).sum()
    np.testing.assert_allclose(by_ey.to_numpy(), 0.0, atol=1e-7)
    assert "Held fixed: x = 0.3, ln_dist = -0.8" in r.summary()


def test_twoway_string_and_ols_on_logs(panel):
    df = panel[panel.trade > 0].assign(ln_trade=lambda d: np.log(d.trade))
    r = ols(df, "ln_trade ~ x + ln_dist | exporter + importer", vcov="twoway")
    assert r.vcov_type == "clustered (exporter, importer)"
    D = pd.get_dummies(df[["exporter", "importer"]]).astype(float).iloc[:, :-1]
    m = sm.OLS(df.ln_trade, pd.concat([df[["x", "ln_dist"]], D], axis=1)).fit()
    np.testing.assert_allclose(r.coef.to_numpy(), m.params[["x", "ln_dist"]], rtol=1e-8)


def test_etable_accepts_results(panel):
    etable = pytest.importorskip("tradeflows.estimation.table").etable
    a = ppml(panel, "trade ~ x | exporter + importer")
    b = ppml(panel, "trade ~ x + ln_dist | exporter + importer")
    text = tradeflows.etable([a, b], format="markdown")
    assert etable is tradeflows.etable
    assert f"{b.coef['x']:.3f}" in text and f"{a.nobs:,}" in text


def test_three_way_fixef_reconstruct_predictions():
    from tradeflows.estimation.synthetic import gravity_panel

    df = gravity_panel(12, 6, seed=4)
    r = ppml(df, "flow ~ x1 + x2 | exp_year + imp_year + pair", tol=1e-12)
    fx = r.fixef()
    assert [len(fx[k]) for k in ("exp_year", "imp_year", "pair")] == [72, 72, 132]
    kept = df.iloc[r.sample_index]
    eta = (r.coef["x1"] * kept.x1 + r.coef["x2"] * kept.x2
           + fx["exp_year"][kept.exp_year].to_numpy() + fx["imp_year"][kept.imp_year].to_numpy()
           + fx["pair"][kept.pair].to_numpy())
    np.testing.assert_allclose(np.exp(eta.to_numpy()), r.predict(), rtol=1e-9)
    np.testing.assert_allclose(r.predict(kept), r.predict(), rtol=1e-9)
