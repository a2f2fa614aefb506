"""tradeflows against pyfixest on a synthetic three-way gravity panel (51,000 rows).

Both sides iterate to 1e-10. Coefficients agree to 1e-8 relative (measured ~2e-14), standard
errors to 1e-6 (measured < 1e-8; the remainder is the inner tolerance of either demeaning)
for iid, hetero, one-way (pair, nested FE) and two-way (exporter, importer) clustering.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tradeflows.estimation import ols, ppml
from tradeflows.estimation.synthetic import gravity_panel

pf = pytest.importorskip("pyfixest")

FML = "flow ~ x1 + x2 | exp_year + imp_year + pair"
VCOVS = [({"CL": "pair"}, {"CRV1": "pair"}),
         ({"CL2": ["exporter", "importer"]}, {"CRV1": "exporter+importer"}),
         ("hetero", "hetero"), ("iid", "iid")]


@pytest.fixture(scope="module")
def panel():
    df = gravity_panel(51, 20, seed=3)
    df["ln_flow"] = np.log(df.flow.where(df.flow > 0))
    assert len(df) == 51_000 and 0.35 < (df.flow == 0).mean() < 0.45
    return df


@pytest.fixture(scope="module")
def pf_pois(panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.fepois(FML, data=panel, vcov={"CRV1": "pair"}, fixef_tol=1e-10,
                         iwls_tol=1e-10, iwls_maxiter=100)


@pytest.mark.slow
@pytest.mark.parametrize(("ours", "theirs"), VCOVS)
def test_ppml_matches_pyfixest(panel, pf_pois, ours, theirs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_se = pf_pois.vcov(theirs).se().to_numpy()
    r = ppml(panel, FML, vcov=ours, tol=1e-10)
    assert r.nobs == pf_pois._N
    np.testing.assert_allclose(r.coef.to_numpy(), pf_pois.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(r.se.to_numpy(), ref_se, rtol=1e-6)
    # the DGP's coefficients are recovered (sanity of the synthetic panel)
    np.testing.assert_allclose(r.coef.to_numpy(), [0.3, -0.15], atol=0.15)


@pytest.mark.slow
def test_ols_matches_pyfixest(panel):
    fml = "ln_flow ~ x1 + x2 | exp_year + imp_year + pair"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols(fml, data=panel, vcov="hetero", fixef_tol=1e-12)
    r = ols(panel, fml, vcov="hetero", tol=1e-12)
    assert r.nobs == ref._N and r.drops["missing"] == int(panel.ln_flow.isna().sum())
    np.testing.assert_allclose(r.coef.to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(r.se.to_numpy(), ref.se().to_numpy(), rtol=1e-6)
