"""Spec helpers on hand data; specs against statsmodels and against noise-free gravity data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import statsmodels.api as sm

from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity import event_study as es
from tradeflows.gravity import specs

pytestmark = pytest.mark.filterwarnings("ignore:collinear regressor")


def _hand_panel() -> pd.DataFrame:
    """3 countries x 2 years incl. domestic flows; trade chosen by hand."""
    rows = []
    trade = iter([10, 2, 3, 4, 20, 5, 1, 6, 30, 12, 3, 4, 5, 22, 6, 2, 7, 33])
    dist = {("A", "B"): 100.0, ("A", "C"): 200.0, ("B", "C"): 400.0}
    for year in (2000, 2004):
        for e, i in itertools.product("ABC", repeat=2):
            d = 10.0 if e == i else dist[tuple(sorted((e, i)))]
            rows.append({"year": year, "exporter": e, "importer": i,
                         "trade": float(next(trade)), "dist": d})
    return pd.DataFrame(rows)


def test_remoteness_matches_hand_computation() -> None:
    df = specs.add_remoteness(_hand_panel())
    y0 = df[df.year == 2000]
    # E_j (2000): A = 10+4+1 = 15, B = 2+20+6 = 28, C = 3+5+30 = 38; world E = 81
    rem_exp_a = 10 / (15 / 81) + 100 / (28 / 81) + 200 / (38 / 81)
    got = y0.loc[y0.exporter == "A", "ln_rem_exp"].unique()
    assert got.size == 1 and got[0] == pytest.approx(np.log(rem_exp_a), rel=1e-12)
    # Y_i (2000): A = 15, B = 29, C = 37; world Y = 81
    rem_imp_c = 200 / (15 / 81) + 400 / (29 / 81) + 10 / (37 / 81)
    got = y0.loc[y0.importer == "C", "ln_rem_imp"].unique()
    assert got.size == 1 and got[0] == pytest.approx(np.log(rem_imp_c), rel=1e-12)
    assert df.loc[(df.exporter == "B") & (df.year == 2004), "ln_y"].iloc[0] == pytest.approx(
        np.log(5 + 22 + 6))


def test_year_interactions_and_domestic_terms() -> None:
    df = _hand_panel()
    df["ln_dist"] = np.log(df["dist"])
    out, names = specs.add_year_interactions(specs.add_domestic_terms(df), "ln_dist")
    assert names == ["ln_dist_2000", "ln_dist_2004"]
    row = out[(out.exporter == "A") & (out.importer == "C") & (out.year == 2004)].iloc[0]
    assert row["ln_dist_2004"] == pytest.approx(np.log(200)) and row["ln_dist_2000"] == 0.0
    dom = out[(out.exporter == "B") & (out.importer == "B") & (out.year == 2000)].iloc[0]
    assert dom["ln_dist_2000"] == 0.0 and dom["smctry"] == 1.0
    assert dom["ln_dist_intra"] == pytest.approx(np.log(10)) and dom["intra_pair"] == "B"
    assert set(out.loc[out.exporter != out.importer, "intra_pair"]) == {"inter"}


def test_border_year_dummies() -> None:
    out, names = specs.add_border_year_dummies(_hand_panel(), [2000])
    assert names == ["intl_brdr_2000"]
    expected = ((out.exporter != out.importer) & (out.year == 2000)).astype(float)
    assert out["intl_brdr_2000"].tolist() == expected.tolist()
    assert out["intl_brdr_2000"].sum() == 6


def test_policy_lags_and_leads_on_four_year_panel() -> None:
    df = pd.DataFrame({"exporter": "A", "importer": "B", "year": [1990, 1994, 1998, 2002],
                       "rta": [0.0, 1.0, 1.0, 1.0]})
    out, names = specs.add_policy_lags(df, "rta", lags=(4, 8), leads=(4,))
    assert names == ["rta_lag4", "rta_lag8", "rta_lead4"]
    assert out["rta_lag4"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert out["rta_lag8"].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert out["rta_lead4"].tolist() == [1.0, 1.0, 1.0, 0.0]
    dup = pd.concat([df, df.iloc[[1]]], ignore_index=True)
    with pytest.raises(DataError, match="row 4.*year"):
        specs.add_policy_lags(dup, "rta", lags=(4,))


def test_group_interactions() -> None:
    df = pd.DataFrame({"x": [1.0, 1.0, 0.0, 1.0], "g": ["a", "b", "a", None]})
    out, names = specs.add_group_interactions(df, "x", "g")
    assert names == ["x_a", "x_b"]
    assert out["x_a"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert out["x_b"].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_spec_states_formula_sample_and_checks_columns() -> None:
    spec = specs.GravitySpec("s", "trade ~ a + b | exp_year + pair", "ppml", "all rows")
    assert spec.regressors == ["a", "b"]
    assert spec.variables == ["trade", "a", "b", "exp_year", "pair"]
    with pytest.raises(SpecificationError, match=r"\['a', 'b', 'exp_year'\]"):
        spec.select(pd.DataFrame({"trade": [1.0], "pair": ["x"]}))
    with pytest.raises(DataError, match="column 'dist'"):
        specs.add_remoteness(pd.DataFrame({"exporter": ["A"], "importer": ["B"],
                                           "year": [1], "trade": [1.0]}))


# --- estimation against independent references ------------------------------------------

def _gravity_panel(seed: int = 7, n: int = 8, years: tuple[int, ...] = (2000, 2004, 2008, 2012),
                   noise: bool = True) -> pd.DataFrame:
    """Pair-year panel from a PPML gravity model with known parameters (incl. domestic)."""
    rng = np.random.default_rng(seed)
    cs = [f"C{i}" for i in range(n)]
    xy = rng.uniform(0, 10, size=(n, 2))
    rows = []
    exp_fe = {(c, y): rng.normal() for c in cs for y in years}
    imp_fe = {(c, y): rng.normal() for c in cs for y in years}
    pair_fe = {(a, b): rng.normal(scale=0.5) for a in cs for b in cs}
    rta_start = {}
    for a, b in itertools.combinations(cs, 2):
        start = rng.choice([1990, 2004, 2008, 2012, 9999])
        rta_start[(a, b)] = rta_start[(b, a)] = start
    for y in years:
        for ia, a in enumerate(cs):
            for ib, b in enumerate(cs):
                d = 0.3 + 0.1 * ia if a == b else float(np.hypot(*(xy[ia] - xy[ib]))) + 1.0
                rows.append({"year": y, "exporter": a, "importer": b, "dist": d,
                             "cntg": float(abs(ia - ib) == 1), "lang": float((ia + ib) % 3 == 0),
                             "clny": float(ia * ib % 5 == 1),
                             "rta": float(a != b and y >= rta_start[(a, b)]),
                             "rta_lag4": float(a != b and y - 4 >= rta_start[(a, b)]),
                             "group": "g1" if ia < n // 2 else "g2",
                             "_fe": exp_fe[(a, y)] + imp_fe[(b, y)], "_pair": pair_fe[(a, b)]})
    df = pd.DataFrame(rows)
    df["ln_dist"] = np.log(df["dist"])
    return df


@pytest.fixture(scope="module")
def gravity_panel() -> pd.DataFrame:
    return _gravity_panel()


def test_traditional_ols_matches_statsmodels(gravity_panel: pd.DataFrame) -> None:
    df = gravity_panel.copy()
    rng = np.random.default_rng(1)
    df["trade"] = np.exp(2 + df["_fe"] - 1.1 * df["ln_dist"] + 0.4 * df["cntg"]
                         + rng.normal(scale=0.8, size=len(df)))
    fit = specs.traditional_ols(df)
    sample = fit.spec.select(specs.add_output_expenditure(specs.ensure_fixed_effect_ids(df)).assign(
        ln_trade=lambda d: np.log(d["trade"])))
    X = sm.add_constant(sample[["ln_dist", "cntg", "lang", "clny", "ln_y", "ln_e"]])
    codes = pd.factorize(sample["pair"])[0]
    ref = sm.OLS(np.log(sample["trade"]), X).fit(cov_type="cluster",
                                                 cov_kwds={"groups": codes})
    assert fit.result.nobs == len(sample) == 8 * 7 * 4
    for name, term in [("const", "Intercept"), ("ln_dist", "ln_dist"), ("ln_y", "ln_y"),
                       ("cntg", "cntg")]:
        assert fit.coef[term] == pytest.approx(ref.params[name], rel=1e-8)
        assert fit.se[term] == pytest.approx(ref.bse[name], rel=1e-6)


def test_ppml_fe_and_domestic_match_glm_with_explicit_dummies(gravity_panel) -> None:
    df = gravity_panel.copy()
    rng = np.random.default_rng(2)
    df["trade"] = rng.poisson(20 * np.exp(df["_fe"] - 0.9 * df["ln_dist"] + 0.3 * df["rta"]))
    fit = specs.ppml_domestic(df, tol=1e-12)
    assert fit.spec.formula == ("trade ~ ln_dist + cntg + lang + clny + rta | exp_year + "
                                "imp_year + intra_pair")
    data = specs.add_domestic_terms(specs.ensure_fixed_effect_ids(df))
    dummies = pd.get_dummies(data[["exp_year", "imp_year", "intra_pair"]], drop_first=True,
                             dtype=float)
    X = sm.add_constant(pd.concat([data[["ln_dist", "cntg", "lang", "clny", "rta"]], dummies],
                                  axis=1))
    # keep a full-rank set of dummies (pivoted QR), so the GLM reference is well defined
    rank = np.linalg.matrix_rank(X.to_numpy())
    pivots = scipy.linalg.qr(X.to_numpy(), pivoting=True, mode="economic")[2]
    X = X.iloc[:, sorted(pivots[:rank])]
    assert {"ln_dist", "cntg", "rta"} <= set(X.columns)
    ref = sm.GLM(data["trade"], X, family=sm.families.Poisson()).fit(tol=1e-12)
    for term in ["ln_dist", "cntg", "rta"]:
        assert fit.coef[term] == pytest.approx(ref.params[term], abs=1e-7)


def test_rta_effects_recovers_known_effects(gravity_panel: pd.DataFrame) -> None:
    df = gravity_panel.copy()
    years = sorted(df.year.unique())
    brdr = {2000: -0.6, 2004: -0.4, 2008: -0.2, 2012: 0.0}
    intl = (df.exporter != df.importer).astype(float)
    df["trade"] = 50 * np.exp(df["_fe"] + df["_pair"] + 0.3 * df["rta"] + 0.2 * df["rta_lag4"]
                              + intl * df["year"].map(brdr))
    fit = specs.rta_effects(df, lags=(4,), globalization=True)
    assert fit.spec.formula.endswith("| exp_year + imp_year + pair")
    truth = {"rta": 0.3, "rta_lag4": 0.2, "intl_brdr_2000": -0.6, "intl_brdr_2004": -0.4,
             "intl_brdr_2008": -0.2}
    assert set(fit.coef.index) == set(truth)
    for term, value in truth.items():
        assert fit.coef[term] == pytest.approx(value, abs=1e-6)
    assert fit.years == (years[0], years[-1])
    built = specs.rta_effects(df.drop(columns="rta_lag4"), lags=(4,), build_lags=True)
    assert built.coef["rta_lag4"] == pytest.approx(0.2, abs=0.15)


def test_distance_puzzle_and_heterogeneous_recover_known_effects(gravity_panel) -> None:
    df = gravity_panel.copy()
    elast = {2000: -1.2, 2004: -1.0, 2008: -0.9, 2012: -0.7}
    intl = df.exporter != df.importer
    g1 = df["group"] == "g1"
    df["trade"] = 50 * np.exp(df["_fe"] + np.where(intl, df["year"].map(elast) * df["ln_dist"],
                                                   -0.5 * df["ln_dist"] + 1.0)
                              + 0.2 * df["cntg"])
    fit = specs.distance_puzzle(df, variant="home")
    for y, v in elast.items():
        assert fit.coef[f"ln_dist_{y}"] == pytest.approx(v, abs=1e-6)
    assert fit.coef["ln_dist_intra"] == pytest.approx(-0.5, abs=1e-6)
    assert fit.coef["smctry"] == pytest.approx(1.0, abs=1e-6)
    df["trade"] = 50 * np.exp(df["_fe"] + df["_pair"] + df["rta"] * np.where(g1, 0.5, 0.1))
    het = specs.heterogeneous(df, "rta", "group")
    assert het.coef["rta_g1"] == pytest.approx(0.5, abs=1e-6)
    assert het.coef["rta_g2"] == pytest.approx(0.1, abs=1e-6)
    with pytest.raises(SpecificationError, match="variant"):
        specs.distance_puzzle(df, variant="bogus")  # type: ignore[arg-type]


# --- event study --------------------------------------------------------------------------

def test_event_time_dummies_design_by_hand() -> None:
    df = pd.DataFrame({"exporter": ["A"] * 7 + ["B"] * 7, "importer": ["B"] * 7 + ["C"] * 7,
                       "year": list(range(2014, 2021)) * 2})
    df["ev"] = es.event_years(df, [("B", "A")], 2017)
    assert df["ev"].iloc[:7].eq(2017).all() and df["ev"].iloc[7:].isna().all()
    out, names = es.event_time_dummies(df, "ev", leads=2, lags=2)
    assert names == ["es_m2", "es_p0", "es_p1", "es_p2"]
    design = out[names].to_numpy()
    # rel. time of pair A-B: -3 -2 -1 0 1 2 3 ; -3 binned into -2, 3 into +2, -1 omitted
    expected = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0],
                         [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1]], dtype=float)
    np.testing.assert_array_equal(design[:7], expected)
    assert not design[7:].any()
    unbinned, _ = es.event_time_dummies(df, "ev", leads=2, lags=2, bin_endpoints=False)
    assert unbinned["es_m2"].tolist()[:7] == [0, 1, 0, 0, 0, 0, 0]
    bad = df.copy()
    bad.loc[3, "ev"] = 2018.0
    with pytest.raises(DataError, match="column 'ev': event year varies within pair A_B"):
        es.event_time_dummies(bad, "ev")
    with pytest.raises(SpecificationError, match="reference"):
        es.event_time_dummies(df, "ev", leads=2, lags=2, reference=-5)


def test_event_study_recovers_dynamic_effects_and_plots(tmp_path) -> None:
    df = _gravity_panel(seed=3, n=6, years=tuple(range(2010, 2020)))
    df = df[df.exporter != df.importer].copy()
    treated = [("C0", "C1"), ("C2", "C3")]
    df["ev"] = es.event_years(df, treated, 2015)
    rel = (df["year"] - df["ev"]).fillna(-99)
    effect = np.select([rel.between(0, 0), rel.between(1, 1), rel >= 2], [0.1, 0.25, 0.4], 0.0)
    df["trade"] = 50 * np.exp(df["_fe"] + df["_pair"] + effect)
    out = es.event_study(df, "ev", leads=3, lags=2)
    t = out.table.set_index("k")
    assert t.loc[-1, "estimate"] == 0.0 and np.isnan(t.loc[-1, "std_error"])
    for k, v in {-3: 0.0, -2: 0.0, 0: 0.1, 1: 0.25, 2: 0.4}.items():
        assert t.loc[k, "estimate"] == pytest.approx(v, abs=1e-6)
    paths = es.plot_event_study(out, tmp_path / "es")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    first = [p.read_bytes() for p in paths]
    again = es.plot_event_study(out, tmp_path / "es")
    assert [p.read_bytes() for p in again] == first
    assert b"<svg" in first[1] and first[0][:4] == b"\x89PNG"
