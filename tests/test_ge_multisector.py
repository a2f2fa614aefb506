"""Multi-sector Armington GE: reduces to the one-sector GE, clears markets, decomposes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity.ge import GEModel
from tradeflows.gravity.ge_multisector import MultiSectorGE, simulate_draws

COEFS = {"ln_dist": -0.8, "fta": 0.4}
COMPARED = ["exports", "imports", "domestic", "output", "expenditure", "producer_price",
            "consumer_price", "real_gdp", "welfare"]


def _data(n: int = 7, sectors: int = 1, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = [f"C{i}" for i in range(n)]
    rows = []
    dist = rng.uniform(500, 9000, size=(n, n))
    fta = rng.random((n, n)) < 0.3
    for s in range(sectors):
        for a in range(n):
            for b in range(n):
                rows.append({"exporter": names[a], "importer": names[b], "sector": f"s{s}",
                             "trade": rng.lognormal(3, 1) * (20 if a == b else 1),
                             "ln_dist": 0.0 if a == b else float(np.log(dist[a, b])),
                             "fta": float(fta[a, b] and a != b)})
    return pd.DataFrame(rows)


def _all_fta(df: pd.DataFrame) -> dict[str, np.ndarray]:
    return {"fta": np.where(df["exporter"] != df["importer"], 1.0, 0.0)}


def test_one_sector_equals_the_one_sector_ge():
    df = _data()
    one = GEModel(df, cost_terms=list(COEFS), sigma=5.0, coefs=COEFS, baseline="observed")
    ref = one.counterfactual(_all_fta(df), method="fixed_point", tol=1e-13).country
    res = MultiSectorGE(df, list(COEFS), COEFS, 5.0).counterfactual(_all_fta(df))
    assert res.converged
    for col in COMPARED:
        np.testing.assert_allclose(res.country[col], ref[col], rtol=1e-9, atol=1e-9,
                                   err_msg=col)


def test_identical_sectors_equal_one_sector_and_markets_clear():
    base = _data(seed=3)
    shares = {"s0": 0.5, "s1": 0.3, "s2": 0.2}
    split = pd.concat([base.assign(sector=s, trade=base["trade"] * a)
                       for s, a in shares.items()], ignore_index=True)
    one = MultiSectorGE(base, list(COEFS), COEFS, 4.0).counterfactual(_all_fta(base))
    many = MultiSectorGE(split, list(COEFS), COEFS, 4.0).counterfactual(_all_fta(split))
    for col in COMPARED:
        np.testing.assert_allclose(many.country[col], one.country[col], rtol=1e-9, atol=1e-9)


def test_heterogeneous_sectors_solve_the_equilibrium_conditions():
    df = _data(n=6, sectors=3, seed=5)
    sigma = {"s0": 3.0, "s1": 6.0, "s2": 9.0}
    coefs = {"s0": {"ln_dist": -1.2, "fta": 0.6}, "s1": {"ln_dist": -0.7, "fta": 0.1},
             "s2": {"ln_dist": -0.3, "fta": 0.9}}
    model = MultiSectorGE(df, list(COEFS), coefs, sigma, reference="C5")
    res = model.counterfactual(_all_fta(df))
    assert res.converged and res.iterations < 20
    # independent check of the conditions from the data and w_hat (no solver internals)
    w = res.w_hat
    x = model.x
    t_hat = model.t_hat(_all_fta(df))
    sig = np.array([3.0, 6.0, 9.0])[:, None, None]
    e_s = x.sum(axis=1)
    lam = x / e_s[:, None, :]
    terms = lam * w[None, :, None] ** (1 - sig) * t_hat
    lam1 = terms / terms.sum(axis=1, keepdims=True)
    y, e = x.sum(axis=(0, 2)), x.sum(axis=(0, 1))
    e1 = (e / y) * w * y
    e1 *= (w * y).sum() / e1.sum()
    sales = (lam1 * ((e_s / e) * e1)[:, None, :]).sum(axis=(0, 2))
    np.testing.assert_allclose(sales, w * y, rtol=1e-10)
    p_s = terms.sum(axis=1) ** (1 / (1 - sig[:, :, 0]))
    p_ref = np.prod(p_s[:, 5] ** (e_s[:, 5] / e[5]))
    assert p_ref == pytest.approx(1.0, abs=1e-12)
    # the sector terms of the real-wage decomposition multiply up to real GDP
    terms_by = res.country_sector.pivot(index="country", columns="sector",
                                        values="real_wage_term")
    prod = np.prod(1 + terms_by.to_numpy() / 100, axis=1)
    np.testing.assert_allclose(100 * (prod - 1), res.country["real_gdp"], rtol=1e-8,
                               atol=1e-10)


def test_draws_serial_equal_local_cluster():
    df = _data(n=5, sectors=2, seed=2)
    model = MultiSectorGE(df, list(COEFS), COEFS, 5.0)
    rng = np.random.default_rng(1)
    draws = np.array([[[-0.8, 0.4]] * 2]) + rng.normal(0, 0.05, size=(6, 2, 2))
    serial, failed = simulate_draws(model, _all_fta(df), draws, serial=True)
    local, failed_local = simulate_draws(model, _all_fta(df), draws, workers=1)
    assert failed == failed_local == 0
    np.testing.assert_allclose(local, serial, rtol=1e-12, atol=0)
    point = model.counterfactual(_all_fta(df), coefs=draws[0]).country["real_gdp"]
    np.testing.assert_allclose(serial[0, :, 0], point, rtol=1e-12)


def test_bad_inputs():
    df = _data(n=4)
    with pytest.raises(DataError, match="not square"):
        MultiSectorGE(df.iloc[1:], list(COEFS), COEFS, 5.0)
    with pytest.raises(SpecificationError, match="sigma"):
        MultiSectorGE(df, list(COEFS), COEFS, 0.5)
    with pytest.raises(SpecificationError, match="no coefficient"):
        MultiSectorGE(df, list(COEFS), {"ln_dist": -1.0}, 5.0)
    with pytest.raises(SpecificationError, match="not a cost term"):
        MultiSectorGE(df, list(COEFS), COEFS, 5.0).counterfactual({"rta": 1.0})
