"""tradeflows against pyfixest on a synthetic three-way gravity panel (49,000 rows).

Coefficients agree to 1e-6 (relative); standard errors to 1e-5 (both sides iterate to
1e-10, so the remaining difference is the inner tolerance of either demeaning).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tradeflows.estimation import ols, ppml
from tradeflows.estimation.synthetic import gravity_panel

pf = pytest.importorskip("pyfixest")

FML = "flow ~ x1 + x2 | exp_year + imp_year + pair"


@pytest.fixture(scope="module")
def panel():
    df = gravity_panel(50, 20, seed=3)
    df["ln_flow"] = np.log(df.flow.where(df.flow > 0))
    assert len(df) == 49_000 and 0.35 < (df.flow == 0).mean() < 0.45
    return df


def _pyfixest(fn, fml, df, vcov):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fn == "fepois":
            return pf.fepois(fml, data=df, vcov=vcov, fixef_tol=1e-10, iwls_tol=1e-10,
                             iwls_maxiter=100)
        return pf.feols(fml, data=df, vcov=vcov, fixef_tol=1e-10)


@pytest.mark.slow
def test_ppml_matches_pyfixest(panel):
    ref = _pyfixest("fepois", FML, panel, {"CRV1": "pair"})
    r = ppml(panel, FML, vcov={"CL": "pair"}, tol=1e-10)
    assert r.nobs == ref._N
    np.testing.assert_allclose(r.coef.to_numpy(), ref.coef().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(r.se.to_numpy(), ref.se().to_numpy(), rtol=1e-5)
    # the DGP's coefficients are recovered (sanity of the synthetic panel)
    np.testing.assert_allclose(r.coef.to_numpy(), [0.3, -0.15], atol=0.15)


@pytest.mark.slow
def test_ols_matches_pyfixest(panel):
    fml = "ln_flow ~ x1 + x2 | exp_year + imp_year + pair"
    ref = _pyfixest("feols", fml, panel, "hetero")
    r = ols(panel, fml, vcov="hetero", tol=1e-12)
    assert r.nobs == ref._N
    np.testing.assert_allclose(r.coef.to_numpy(), ref.coef().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(r.se.to_numpy(), ref.se().to_numpy(), rtol=1e-5)
