"""Plots (coefplot, iplot) return Figures; the general event study recovers known dynamic
effects on a unit-time panel, matches pyfixest's i() event study, and agrees with the gravity
application's pair-event version."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import tradeflows as tf
from tradeflows.errors import DataError, SpecificationError
from tradeflows.estimation.event_study import event_study, relative_time
from tradeflows.estimation.plots import coefplot, iplot

EFFECT = {0: 0.1, 1: 0.25, 2: 0.4}


def _panel(noise: float, seed: int = 5) -> pd.DataFrame:
    """40 units x 10 periods; 16 units treated at 2014 or 2016, the rest never."""
    rng = np.random.default_rng(seed)
    units, years = np.arange(40), np.arange(2010, 2020)
    df = pd.DataFrame([(u, t) for u in units for t in years], columns=["unit", "year"])
    start = {u: (2014 if u < 8 else 2016) if u < 16 else np.nan for u in units}
    df["treat_year"] = df.unit.map(start)
    rel = (df.year - df.treat_year).fillna(-99).clip(upper=2)
    effect = rel.map(EFFECT).fillna(0.0)
    ua, ta = rng.normal(size=40), rng.normal(scale=0.3, size=10)
    mu = 20 * np.exp(ua[df.unit] + ta[df.year - 2010] + effect)
    df["y"] = rng.poisson(mu).astype(float) if noise else mu
    df["x"] = rng.normal(size=len(df))
    return df


def test_event_study_recovers_effects_exactly_without_noise() -> None:
    es = event_study(_panel(0.0), "y", "unit", "year", "treat_year", leads=3, lags=2)
    t = es.table.set_index("k")
    assert t.loc[-1, "estimate"] == 0.0 and np.isnan(t.loc[-1, "std_error"])
    for k in (-3, -2):
        assert t.loc[k, "estimate"] == pytest.approx(0.0, abs=1e-7)
    for k, v in EFFECT.items():
        assert t.loc[k, "estimate"] == pytest.approx(v, abs=1e-7)
    fig = es.plot(title="known effects")
    assert isinstance(fig, Figure) and fig.axes[0].get_title() == "known effects"


def test_event_study_matches_pyfixest_i_with_reference() -> None:
    pf = pytest.importorskip("pyfixest")
    df = _panel(1.0)
    es = event_study(df, "y", "unit", "year", "treat_year", leads=3, lags=2,
                     vcov={"CL": "unit"}, tol=1e-10)
    data = df.assign(rel_time=relative_time(df, "unit", "year", "treat_year", leads=3, lags=2,
                                            reference=-1).astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois("y ~ i(rel_time, ref=-1.0) | unit + year", data=data,
                        vcov={"CRV1": "unit"}, fixef_tol=1e-10, iwls_tol=1e-10)
    for k in (-3, -2, 0, 1, 2):
        row = es.table.set_index("k").loc[k]
        assert row.estimate == pytest.approx(ref.coef()[f"rel_time::{float(k)}"], rel=1e-6)
        assert row.std_error == pytest.approx(ref.se()[f"rel_time::{float(k)}"], rel=1e-6)


def test_event_study_agrees_with_gravity_application_version() -> None:
    from tradeflows.gravity import event_study as gravity_es
    from tradeflows.gravity.specs import PAIR_FE, ensure_fixed_effect_ids

    rng = np.random.default_rng(2)
    cs = [f"C{i}" for i in range(6)]
    rows = [(a, b, y) for a in cs for b in cs if a != b for y in range(2010, 2020)]
    df = pd.DataFrame(rows, columns=["exporter", "importer", "year"])
    df["ev"] = gravity_es.event_years(df, [("C0", "C1"), ("C2", "C3")], 2015)
    df["trade"] = rng.poisson(30 * np.exp(rng.normal(size=len(df)) * 0.2)).astype(float)
    old = gravity_es.event_study(df, "ev", leads=3, lags=2, vcov="hetero")
    new = event_study(ensure_fixed_effect_ids(df), "trade", ["exporter", "importer"], "year",
                      "ev", PAIR_FE, leads=3, lags=2, vcov="hetero")
    np.testing.assert_allclose(new.table.estimate, old.table.estimate, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(new.table.std_error, old.table.std_error, rtol=1e-6)


def test_relative_time_checks() -> None:
    df = _panel(0.0)
    bad = df.copy()
    bad.loc[3, "treat_year"] = 2015.0
    with pytest.raises(DataError, match="varies within unit 0"):
        relative_time(bad, "unit", "year", "treat_year", leads=2, lags=2, reference=-1)
    with pytest.raises(SpecificationError, match="reference"):
        relative_time(df, "unit", "year", "treat_year", leads=2, lags=2, reference=-4)
    unbinned = relative_time(df, "unit", "year", "treat_year", leads=2, lags=1, reference=-1,
                             bin_endpoints=False)
    treated = df.treat_year.notna()
    assert unbinned[treated].isna().sum() == int(
        ((df.year - df.treat_year < -2) | (df.year - df.treat_year > 1))[treated].sum())
    assert (unbinned[~treated] == -1).all()


def test_coefplot_and_iplot_return_figures() -> None:
    df = _panel(1.0)
    with pytest.warns(UserWarning, match="collinear"):  # year FE absorb i(t) in model 2
        fits = tf.ppml(df.assign(t=df.year), "y ~ x + i(t, ref=2013) | sw(unit, unit + year)")
    fig = coefplot(fits, keep="^x$")
    assert isinstance(fig, Figure) and len(fig.axes[0].get_legend().get_texts()) == 2
    one = fits[0]
    fig2 = iplot(one)
    ax = fig2.axes[0]
    assert ax.get_xlabel() == "t" and any(ln.get_linestyle() == "--" for ln in ax.get_lines())
    assert isinstance(coefplot(one), Figure) and isinstance(iplot(fits), Figure)
    with pytest.raises(SpecificationError, match="no i\\(\\) term"):
        iplot(tf.ppml(df, "y ~ x | unit"))
    with pytest.raises(SpecificationError, match="nothing|no coefficient"):
        coefplot(one, keep="^zzz")
