"""Intervals from draws of the partial effects: deterministic, parallel-safe, failures counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.config import paths
from tradeflows.gravity import fixed_point as fp
from tradeflows.gravity.ge import GEModel
from tradeflows.gravity.uncertainty import draw_coefficients, simulate_intervals

TERMS = ["lndist", "contiguity", "pta", "international"]
COEFS = {"lndist": -0.3898623, "contiguity": 0.891577, "pta": 0.4711383, "international": -3.412584}
SE = {"lndist": 0.0729915, "contiguity": 0.1327354, "pta": 0.1076578, "international": 0.2151235}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(paths().raw / "gegravity_sample" / "sample_data_set.csv")


@pytest.fixture(scope="module")
def model(sample: pd.DataFrame) -> GEModel:
    return GEModel(sample, cost_terms=TERMS, sigma=5, reference="DEU", coefs=COEFS)


@pytest.fixture(scope="module")
def vcov() -> pd.DataFrame:
    return pd.DataFrame(np.diag([SE[k] ** 2 for k in TERMS]), index=TERMS, columns=TERMS)


@pytest.fixture(scope="module")
def shock(sample: pd.DataFrame) -> pd.DataFrame:
    """Remove every international border between the PTA members: a large shock."""
    return sample[["exporter", "importer"]].assign(
        international=np.where(sample["pta"] == 1, 0.0, sample["international"]))


@pytest.fixture(scope="module")
def serial(model, vcov, shock):
    return simulate_intervals(model, shock, vcov, draws=24, seed=7, workers=1)


def test_draws_are_the_seeded_normal(vcov: pd.DataFrame) -> None:
    coef = pd.Series(COEFS)[TERMS]
    got = draw_coefficients(coef, vcov, draws=50, seed=11)
    ref = np.random.default_rng(11).multivariate_normal(coef.to_numpy(), vcov.to_numpy(), 50,
                                                        method="eigh")
    np.testing.assert_array_equal(got.to_numpy(), ref)


def test_deterministic_and_parallel_equal(model, vcov, shock, serial) -> None:
    again = simulate_intervals(model, shock, vcov, draws=24, seed=7, workers=2)
    pd.testing.assert_frame_equal(serial.country, again.country)
    other = simulate_intervals(model, shock, vcov, draws=24, seed=8, workers=1)
    assert not np.allclose(other.country["real_gdp_lower"], serial.country["real_gdp_lower"])


def test_intervals_are_percentiles_of_draws(model, shock, serial) -> None:
    assert serial.failed == 0 and serial.draws == 24
    vals = np.array([model.counterfactual(shock, method="fixed_point", coefs=r).country
                     .set_index("country")["real_gdp"].to_numpy()
                     for r in (COEFS | row for row in serial.coefs.to_dict(orient="records"))])
    c = serial.country
    np.testing.assert_allclose(c["real_gdp_lower"], np.quantile(vals, 0.025, axis=0), rtol=1e-10)
    np.testing.assert_allclose(c["real_gdp_upper"], np.quantile(vals, 0.975, axis=0), rtol=1e-10)
    assert (c["real_gdp_lower"] <= c["real_gdp_upper"]).all()


def test_failed_draws_counted(model, vcov, sample) -> None:
    """With a low iteration cap, draws that need more iterations fail and are counted.

    A small shock (a CAN-JPN PTA) with a wide covariance makes the iteration counts vary.
    """
    sel = (((sample["exporter"] == "CAN") & (sample["importer"] == "JPN"))
           | ((sample["exporter"] == "JPN") & (sample["importer"] == "CAN")))
    pta = sample[["exporter", "importer"]].assign(pta=np.where(sel, 1.0, sample["pta"]))
    wide = vcov * 25
    full = simulate_intervals(model, pta, wide, draws=24, seed=7, workers=1)
    assert full.failed == 0
    needed = []
    for row in full.coefs.to_dict(orient="records"):
        t0, t1 = model.costs(pta, COEFS | row)
        eq = fp.solve_full_endowment(t0, t1, model.output, model.expenditure, 5, model.ref,
                                     tol=1e-10)
        needed.append(eq.iterations)
    cap = int(np.median(needed))
    capped = simulate_intervals(model, pta, wide, draws=24, seed=7, workers=1, maxiter=cap)
    expected = sum(n > cap for n in needed)
    assert 0 < expected < 24
    assert capped.failed == expected
    none = simulate_intervals(model, pta, wide, draws=4, seed=7, workers=1, maxiter=1)
    assert none.failed == 4 and none.country["real_gdp_lower"].isna().all()
    assert np.isfinite(none.country["real_gdp"]).all()  # the point estimate is still reported


def test_progress_bar_counts_draws_not_chunks(model, vcov, shock) -> None:
    """The bar's total is the number of draws and it reaches it (9 draws in 4 chunks)."""
    import io

    stream = io.StringIO()
    import tradeflows.gravity.uncertainty as unc

    real = unc.tqdm

    def capture(*args, **kwargs):
        bar = real(*args, **{**kwargs, "file": stream, "disable": False, "mininterval": 0})
        capture.bar = bar
        return bar

    unc.tqdm = capture
    try:
        simulate_intervals(model, shock, vcov, draws=9, seed=7, workers=1, progress=True)
    finally:
        unc.tqdm = real
    assert capture.bar.total == 9 and capture.bar.n == 9 and capture.bar.unit == "draw"
    text = stream.getvalue()
    assert "0/9 " in text and "draw/s" in text and "/2 " not in text  # draws, not chunks
    assert text.endswith("\r")  # the bar is cleared when done (leave=False)
