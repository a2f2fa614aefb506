"""GE API: tf.GEModel at top level, costs from a given matrix, and the two-stage cost
estimation from a panel with pair fixed effects (noise-free panel from known costs: the
counterfactual equals the one built from the true costs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tradeflows as tf
from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity.ge import GEModel

COUNTRIES = [f"C{k}" for k in range(6)]
YEARS = [2000, 2004, 2008]


def _truth(seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A noise-free panel: trade = exp(a_it + m_jt + eta_ij + 0.4 rta), domestic flows
    included, eta_ij = -0.9 ln_dist + 0.5 cntg + 2 home; and the true
    log-cost matrix of 2008 (eta + 0.4 rta)."""
    rng = np.random.default_rng(seed)
    n = len(COUNTRIES)
    xy = rng.uniform(0, 10, (n, 2))
    rows = []
    a = rng.normal(size=(n, len(YEARS)))
    m = rng.normal(size=(n, len(YEARS)))
    for t, year in enumerate(YEARS):
        for i, e in enumerate(COUNTRIES):
            for j, d in enumerate(COUNTRIES):
                dist = 0.5 if i == j else float(np.hypot(*(xy[i] - xy[j]))) + 1
                cntg = float(abs(i - j) == 1)
                rta = float(i != j and (i + j) % 3 == 0 and year >= 2004)
                eta = -0.9 * np.log(dist) + 0.5 * cntg + (2.0 if i == j else 0.0)
                rows.append((e, d, year, np.log(dist), cntg, float(i == j), rta, eta,
                             np.exp(a[i, t] + m[j, t] + eta + 0.4 * rta)))
    df = pd.DataFrame(rows, columns=["exporter", "importer", "year", "ln_dist", "cntg", "home",
                                     "rta", "eta", "trade"])
    last = df[df.year == 2008]
    costs = (last.assign(c=last.eta + 0.4 * last.rta)
             .pivot(index="exporter", columns="importer", values="c"))
    return df, costs


def test_top_level_export() -> None:
    assert tf.GEModel is GEModel


def test_from_costs_equals_cost_terms() -> None:
    df, _ = _truth()
    xs = df[df.year == 2008].reset_index(drop=True)
    direct = GEModel(xs, cost_terms=["ln_dist", "cntg", "rta"],
                     coefs={"ln_dist": -0.9, "cntg": 0.5, "rta": 0.4}, reference="C0")
    matrix = (xs.assign(c=-0.9 * xs.ln_dist + 0.5 * xs.cntg + 0.4 * xs.rta)
              .pivot(index="exporter", columns="importer", values="c"))
    given = GEModel.from_costs(xs, matrix, reference="C0")
    new = matrix - 0.4 * xs.pivot(index="exporter", columns="importer", values="rta")
    a = direct.counterfactual({"rta": 0.0}, method="fixed_point").country
    b = given.counterfactual({"ln_cost": new}, method="fixed_point").country
    pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=1e-9)
    with pytest.raises(DataError, match="no value for C0->C1"):
        GEModel.from_costs(xs, matrix.drop(columns="C1"))


def test_two_stage_costs_reproduce_true_costs() -> None:
    df, costs = _truth()
    # two pairs never trade in the panel: their pair effect comes from stage 2
    gone = df.exporter.isin(["C1", "C2"]) & df.importer.isin(["C4"])
    panel = df.assign(trade=df.trade.where(~gone, 0.0))
    model = GEModel.from_panel(panel, 2008, policy_terms=["rta"],
                               gravity_terms=["ln_dist", "cntg", "home"], reference="C0")
    assert model.coefs["rta"] == pytest.approx(0.4, abs=1e-8)
    assert model.stage2 is not None and model.stage2.coef["ln_dist"] == pytest.approx(-0.9,
                                                                                      abs=1e-6)
    xs = panel[panel.year == 2008].reset_index(drop=True)  # same margins (zeros included)
    truth = GEModel.from_costs(xs, costs, reference="C0")
    no_rta = costs - 0.4 * xs.pivot(index="exporter", columns="importer", values="rta")
    expected = truth.counterfactual({"ln_cost": no_rta}, method="fixed_point").country
    got = model.counterfactual({"rta": 0.0}, method="fixed_point").country
    cols = ["exports", "imports", "real_gdp", "consumer_price"]
    np.testing.assert_allclose(got[cols], expected[cols], rtol=1e-5, atol=1e-6)


def test_two_stage_needs_gravity_terms_for_missing_pairs() -> None:
    df, _ = _truth()
    gone = (df.exporter == "C1") & (df.importer == "C4")
    with pytest.raises(SpecificationError, match="gravity_terms"):
        GEModel.from_panel(df.assign(trade=df.trade.where(~gone, 0.0)), 2008,
                           policy_terms=["rta"])
