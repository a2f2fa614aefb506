"""Scenario files -> GE results with intervals, tables and figures, on a small synthetic panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.config import paths as make_paths
from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity.scenarios import (
    N_MOVERS,
    SCENARIOS,
    baseline_cross_section,
    load_scenario,
    run_scenario,
    scenario_costs,
)
from tradeflows.io import sha256_file
from tradeflows.studies.azerbaijan.config import FOCUS

COUNTRIES = ["AZE", "KAZ", "TKM", "HUN", "TUR", "DEU", "USA", "CHN", "GEO"]
MEMBERS = {"AZE", "KAZ", "TUR"}
B_OTS, B_DIST = 0.6, -1.0

SCENARIO = """
title = "Synthetic OTS deepening"
formula = "trade ~ both_ots + ln_dist | exporter^year + importer^year"
vcov = "hetero"
sigma = 6.0
reference = "USA"
draws = 30

[[change]]
variable = "both_ots"
value = 1
exporters = ["TKM", "HUN"]
importers = ["AZE", "KAZ", "TUR"]
"""


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    xy = {c: rng.uniform(0, 40, 2) for c in COUNTRIES}
    size = {c: rng.uniform(1, 10) for c in COUNTRIES}
    rows = []
    for year in (2017, 2018, 2019):
        for e in COUNTRIES:
            for i in COUNTRIES:
                d = float(np.hypot(*(xy[e] - xy[i]))) + 1.0
                ots = float(e != i and e in MEMBERS and i in MEMBERS)
                mu = 1e8 * size[e] * size[i] * np.exp(B_OTS * ots + B_DIST * np.log(d))
                trade = np.nan if e == i else mu * rng.gamma(50, 1 / 50)
                rows.append((year, e, i, trade, e == i, d, np.log(d), ots))
    p = pd.DataFrame(rows, columns=["year", "exporter", "importer", "trade", "domestic", "dist",
                                    "ln_dist", "both_ots"])
    exports = p[~p["domestic"]].groupby(["year", "exporter"])["trade"].transform("sum")
    p["gdp_exporter"] = p.groupby(["year", "exporter"])["trade"].transform("sum") * 4.0
    p.loc[p["exporter"] == "GEO", "gdp_exporter"] = exports[p["exporter"] == "GEO"].max() * 0.5
    p.loc[(p["exporter"] == "USA") & (p["importer"] == "CHN") & (p["year"] == 2019),
          "trade"] = np.nan
    return p


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    paths = make_paths(root)
    paths.processed.mkdir(parents=True)
    _panel().to_parquet(paths.panel)
    scn = root / "synthetic_ots.toml"
    scn.write_text(SCENARIO, encoding="utf-8")
    written = run_scenario(scn, paths, draws=30, seed=5, progress=False, workers=1, focus=FOCUS)
    return paths, scn, written


def test_bundled_scenarios_parse() -> None:
    assert set(SCENARIOS) == {"zangezur", "zangezur_full", "ots_deepening", "northern_disruption",
                              "northern_disruption_no_middle"}
    for name in SCENARIOS:
        scn = load_scenario(name)
        assert scn.changes and scn.shock_terms[0] in scn.formula


def test_bad_scenario_file(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\nformula = "trade ~ a"\ncolour = 1\n[[change]]\nvariable="a"\n'
                   "value = 1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.toml: unknown key\(s\) \['colour'\]"):
        load_scenario(bad)
    bad.write_text('title = "x"\nformula = "trade ~ a"\n[[change]]\nvariable="a"\nvalue = 1\n'
                   "multiply = 2\n", encoding="utf-8")
    with pytest.raises(DataError, match="exactly one of value, multiply"):
        load_scenario(bad)
    with pytest.raises(SpecificationError, match="unknown scenario 'nope'"):
        load_scenario("nope")


def test_cross_section_builds_domestic_flows() -> None:
    panel = _panel()
    xs, year, notes = baseline_cross_section(panel, None, ["both_ots"])
    assert year == 2019
    kept = sorted(set(xs["exporter"]))
    assert "GEO" not in kept and any("GEO" in n for n in notes)  # exports exceed GDP
    assert any("1 unreported international flows set to 0" in n for n in notes)
    p = panel[(panel["year"] == 2019) & panel["exporter"].isin(kept) & panel["importer"].isin(kept)]
    intl = p[p["exporter"] != p["importer"]]
    aze = xs[(xs["exporter"] == "AZE") & (xs["importer"] == "AZE")]["trade"].item()
    gdp = p.loc[p["exporter"] == "AZE", "gdp_exporter"].iloc[0]
    assert aze == pytest.approx(gdp - intl.loc[intl["exporter"] == "AZE", "trade"].sum(), rel=1e-12)
    assert len(xs) == len(kept) ** 2


def test_scenario_changes_only_listed_pairs(tmp_path) -> None:
    xs, year, _ = baseline_cross_section(_panel(), None, ["both_ots"])
    f = tmp_path / "s.toml"
    f.write_text(SCENARIO, encoding="utf-8")
    scn = load_scenario(f)
    new = scenario_costs(scn, xs, year)
    changed = new[new["both_ots"] != xs["both_ots"]]
    got = set(zip(changed["exporter"], changed["importer"], strict=True))
    want = {(a, b) for a in ("TKM", "HUN") for b in MEMBERS} | {
        (b, a) for a in ("TKM", "HUN") for b in MEMBERS}
    assert got == want


def test_run_scenario_outputs(project) -> None:
    paths, _, written = project
    names = sorted(p.name for p in written)
    assert names == sorted(["synthetic_ots.parquet", "synthetic_ots_pairs.parquet",
                            "synthetic_ots_draws.parquet",
                            "synthetic_ots.json", "ge_synthetic_ots.md", "ge_synthetic_ots.tex",
                            "ge_synthetic_ots.html", "ge_synthetic_ots.png",
                            "ge_synthetic_ots.svg"])
    t = pd.read_parquet(paths.counterfactuals / "synthetic_ots.parquet")
    for col in ("scenario", "country", "real_gdp", "real_gdp_lower", "real_gdp_upper",
                "producer_price", "exports", "draws", "draws_failed", "domestic_constructed"):
        assert col in t.columns
    assert (t["draws"] == 30).all() and (t["draws_failed"] == 0).all()
    assert t["domestic_constructed"].all()
    c = t.set_index("country")
    # the new members gain real income; intervals bracket the point estimate
    assert c.loc["TKM", "real_gdp"] > 0 and c.loc["HUN", "real_gdp"] > 0
    assert (c["real_gdp_lower"] <= c["real_gdp"] + 1e-12).all()
    assert (c["real_gdp"] <= c["real_gdp_upper"] + 1e-12).all()
    meta = pd.read_json(paths.counterfactuals / "synthetic_ots.json", typ="series")
    est = meta["partial_effects"][0]
    assert est["term"] == "both_ots" and abs(est["estimate"] - B_OTS) < 4 * est["std_error"]


def test_table_and_figure_share_one_country_order(project) -> None:
    """The figure's countries (focus + largest other changes) come first, sorted by real-GDP
    change; the tables list countries in the parquet's order, with names."""
    from tradeflows.countries import country_name

    paths, _, _ = project
    t = pd.read_parquet(paths.counterfactuals / "synthetic_ots.parquet")
    shown = t[t["shown"] != ""]
    assert list(t.index[: len(shown)]) == list(shown.index)
    assert shown["real_gdp"].is_monotonic_decreasing
    assert set(shown.loc[shown["shown"] == "focus", "country"]) == set(FOCUS) & set(t["country"])
    assert (shown["shown"] == "largest other change").sum() == min(
        N_MOVERS, len(t) - (shown["shown"] == "focus").sum())
    md = (paths.reports / "tables" / "ge_synthetic_ots.md").read_text()
    rows = [line.split(" | ")[0].lstrip("| ") for line in md.splitlines()
            if line.startswith("| ") and "(" in line.split(" | ")[0]]
    assert rows == [f"{country_name(c)} ({c})" for c in t["country"]]
    assert "| 0.000 " not in md


def test_outputs_deterministic(project) -> None:
    paths, scn, written = project
    before = {p.name: sha256_file(p) for p in written}
    again = run_scenario(scn, paths, draws=30, seed=5, progress=False, workers=1, focus=FOCUS)
    assert {p.name: sha256_file(p) for p in again} == before


def test_partial_effects_fit_once_per_panel_file(tmp_path, monkeypatch) -> None:
    """Scenarios with the same formula, vcov and years on one panel file share a fit (as
    the bundled zangezur, zangezur_full and northern_disruption do in `reproduce`); without
    the file, or after the file is rewritten, the effects are fitted again."""
    import tradeflows.estimation
    from tradeflows.gravity import scenarios

    paths = make_paths(tmp_path)
    paths.processed.mkdir(parents=True)
    _panel().to_parquet(paths.panel)
    files = [tmp_path / "a.toml", tmp_path / "b.toml"]
    files[0].write_text(SCENARIO, encoding="utf-8")
    files[1].write_text(SCENARIO.replace("Synthetic OTS", "Another OTS"), encoding="utf-8")
    a, b = (load_scenario(f) for f in files)
    calls = []
    fit = tradeflows.estimation.ppml
    monkeypatch.setattr(tradeflows.estimation, "ppml",
                        lambda *args, **kw: calls.append(1) or fit(*args, **kw))
    panel = scenarios.read_panel(paths.panel, a)
    first = scenarios.estimate_effects(panel, a, paths.panel)
    assert scenarios.estimate_effects(panel, b, paths.panel) is first and len(calls) == 1
    fresh = scenarios.estimate_effects(panel, b)
    assert len(calls) == 2 and fresh is not first
    pd.testing.assert_series_equal(fresh.coef, first.coef)
    pd.testing.assert_frame_equal(fresh.vcov, first.vcov)
    _panel().assign(trade=lambda d: d["trade"] * 2.0).to_parquet(paths.panel)
    again = scenarios.estimate_effects(scenarios.read_panel(paths.panel, a), a, paths.panel)
    assert again is not first and len(calls) == 3


def test_missing_panel(tmp_path) -> None:
    with pytest.raises(DataError, match="panel not found"):
        run_scenario("ots_deepening", make_paths(tmp_path), draws=2, progress=False)


def test_route_change_uses_route_year(tmp_path) -> None:
    """A route scenario adds the log change of route cost in ``route_year`` (the corridor network of tradeflows.policy)
    to the baseline value; pairs the scenario does not touch keep theirs."""
    corridors = pytest.importorskip("tradeflows.policy.corridors")
    f = tmp_path / "z.toml"
    f.write_text('title = "z"\nformula = "trade ~ ln_route_cost | exporter^year + importer^year"\n'
                 '[[change]]\nvariable = "ln_route_cost"\nroute_scenario = "zangezur_open"\n'
                 "route_year = 2026\n", encoding="utf-8")
    scn = load_scenario(f)
    c = ["AZE", "ARM", "GEO", "TUR"]
    xs = pd.DataFrame([(a, b) for a in c for b in c], columns=["exporter", "importer"])
    xs["ln_route_cost"] = np.where(xs["exporter"] == xs["importer"], 0.0, 7.0)
    new = scenario_costs(scn, xs, 2019)
    keys = xs[["exporter", "importer"]]
    base = keys.merge(corridors.route_variables(keys, [2026]), how="left")
    alt = keys.merge(corridors.route_variables(keys, [2026], scenario="zangezur_open"),
                     how="left")
    delta = np.log(alt["route_cost"] / base["route_cost"]).fillna(0.0).to_numpy().copy()
    delta[(xs["exporter"] == xs["importer"]).to_numpy()] = 0.0
    np.testing.assert_allclose(new["ln_route_cost"], 7.0 * (xs["exporter"] != xs["importer"])
                               + delta, rtol=1e-12)
    assert delta.min() < 0  # the corridor shortens at least one of these routes
    unchanged = scenario_costs(
        load_scenario(_rewrite(f, "route_year = 2026\n", "route_year = 2020\n")), xs, 2019)
    np.testing.assert_array_equal(unchanged["ln_route_cost"], xs["ln_route_cost"])


def _rewrite(path, old: str, new: str):
    out = path.with_name("r_" + path.name)
    out.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return out
