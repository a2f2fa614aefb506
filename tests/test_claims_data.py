"""A small synthetic project tree (panel, flows, investment, counterfactual, raw reported
sets) for the claims and report tests, and the checks of each claim design against hand
computations and known answers."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradeflows.config import paths as project_paths
from tradeflows.policy.events import load_events
from tradeflows.studies.azerbaijan.claims.catalog import load_catalog
from tradeflows.studies.azerbaijan.claims.descriptive import bilateral_trade, partner_hhi
from tradeflows.studies.azerbaijan.claims.documentary import documentary_evidence, timed_evidence
from tradeflows.studies.azerbaijan.claims.event_study import event_study_evidence
from tradeflows.studies.azerbaijan.claims.evidence import Untestable
from tradeflows.studies.azerbaijan.claims.reported import (
    cargo_series,
    cbar_fdi,
    fdi_reported_evidence,
    fdi_share_bounds,
    reported_series_evidence,
)
from tradeflows.studies.azerbaijan.claims.ri_gravity import (
    indicator,
    ri_gravity_evidence,
    start_years,
)
from tradeflows.studies.azerbaijan.claims.routes import route_alternatives_evidence
from tradeflows.studies.azerbaijan.claims.rules import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    decide,
)
from tradeflows.studies.azerbaijan.claims.single_reporter import (
    single_reporter_evidence,
    triple_difference,
)

REPO = Path(__file__).resolve().parents[1]
CA = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
COUNTRIES = ["AZE", "ARM", "GEO", *CA, "TUR", "RUS", "CHN", "IRN"]
YEARS = list(range(2000, 2024))
PARTNERS = [f"P{k:02d}" for k in range(40)]


def hash_code(code: str) -> int:
    """A deterministic small integer from a country code (stands in for distance)."""
    return sum((k + 1) * ord(ch) for k, ch in enumerate(code))


def synthetic_panel(seed: int = 7) -> pd.DataFrame:
    """Square gravity-shaped panel (USD) of the region, IMF DOTS as the source."""
    rng = np.random.default_rng(seed)
    size = {c: rng.uniform(1, 5) for c in COUNTRIES}
    rows = []
    for y in YEARS:
        for e in COUNTRIES:
            for i in COUNTRIES:
                dist = 1.0 + (abs(hash_code(e) - hash_code(i)) % 17)
                base = np.exp(size[e] + size[i] - 0.8 * np.log(dist) + 0.02 * (y - 2000))
                rows.append((y, e, i, base * rng.lognormal(0, 0.1) * 1e6, e == i))
    df = pd.DataFrame(rows, columns=["year", "exporter", "importer", "trade", "domestic"])
    df["trade_source"] = "imf_dots"
    df.loc[(df["year"] == 2005) & (df["exporter"] == "AZE") & (df["importer"] == "TJK"),
           ["trade", "trade_source"]] = [np.nan, None]
    return df


def synthetic_flows(effect: float = 1.0, seed: int = 3, noise: float = 0.05) -> pd.DataFrame:
    """Flows reported by KAZ, KGZ, UZB (national, both directions) and the EU27 (Eurostat
    exports) with AZE and 40 other partners, 2018-2023. AZE's trade with the Central Asian
    reporters is multiplied by exp(effect) from 2022; every flow gets log-normal noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for rep, src, flows in (("KAZ", "national", ("export", "import")),
                            ("KGZ", "national", ("export", "import")),
                            ("UZB", "national", ("export", "import")),
                            ("EUU", "eurostat", ("export",))):
        for partner in ["AZE", *PARTNERS]:
            level = 50e6 if partner == "AZE" else rng.uniform(10e6, 200e6)
            for year in range(2018, 2024):
                for flow in flows:
                    v = level * rng.lognormal(0, noise)
                    if partner == "AZE" and rep != "EUU" and year >= 2022:
                        v *= np.exp(effect)
                    side = "exporter" if flow == "export" else "importer"
                    e, i = (rep, partner) if flow == "export" else (partner, rep)
                    rows.append((year, e, i, v, side, flow, src, False))
    return pd.DataFrame(rows, columns=["year", "exporter", "importer", "value_usd",
                                       "reporter_side", "flow", "source", "estimated"])


def synthetic_investment() -> pd.DataFrame:
    rows = []
    for y in range(2001, 2013):
        rows.append((y, "KAZ", "AZE", "flow", 1e6 * (y - 2000), "unctad"))
        rows.append((y, "TUR", "AZE", "flow", 50e6, "unctad"))
    return pd.DataFrame(rows, columns=["year", "investor", "host", "measure", "value_usd",
                                       "source"])


def synthetic_draws(countries: list[str], point: list[float], draws: int = 100,
                    seed: int = 2) -> pd.DataFrame:
    """Per-draw GE results: each country's point change plus independent N(0, 0.02) noise."""
    rng = np.random.default_rng(seed)
    rows = [(d, c, v + rng.normal(0, 0.02)) for d in range(draws)
            for c, v in zip(countries, point, strict=True)]
    return pd.DataFrame(rows, columns=["draw", "country", "real_gdp"])


def synthetic_tree(root: Path) -> Path:
    """Write a tiny project under ``root`` (data/raw + data/processed); returns ``root``."""
    p = project_paths(root)
    (p.raw / "demo").mkdir(parents=True, exist_ok=True)
    (p.raw / "demo" / "PROVENANCE.md").write_text("synthetic test data\n")
    for name in ("cbar_fdi_by_country_press", "corridor_port_volumes_press"):
        shutil.copytree(REPO / "data" / "raw" / name, p.raw / name, dirs_exist_ok=True)
    p.processed.mkdir(parents=True, exist_ok=True)
    synthetic_panel().to_parquet(p.panel, index=False)
    synthetic_flows().to_parquet(p.flows, index=False)
    synthetic_investment().to_parquet(p.investment, index=False)
    p.counterfactuals.mkdir(parents=True, exist_ok=True)
    countries = ["AZE", "ARM", "KAZ", "KGZ", "TJK", "TKM", "UZB", "TUR"]
    point = [0.5, 0.8, 0.1, 0.05, 0.04, 0.02, 0.06, 0.01]
    pd.DataFrame({"country": countries, "real_gdp": point, "level": 0.95,
                  "baseline_year": 2019}).to_parquet(
        p.counterfactuals / "zangezur_full.parquet", index=False)
    synthetic_draws(countries, point).to_parquet(
        p.counterfactuals / "zangezur_full_draws.parquet", index=False)
    return root


@pytest.fixture(scope="module")
def claims():
    return {c.id: c for c in load_catalog()}


# --- C1: single-reporter comparison -------------------------------------------------------
def test_triple_difference_matches_hand_computation(claims):
    flows = synthetic_flows(effect=1.0)
    table = triple_difference(flows, claims["C1"]).set_index("partner")

    def share_change(reporters: list[str], partner: str) -> float:
        f = flows[(flows["exporter"].isin(reporters) | flows["importer"].isin(reporters))]
        pre, post = f[f["year"] <= 2021], f[f["year"] >= 2022]

        def share(d: pd.DataFrame) -> float:
            own = d[(d["exporter"] == partner) | (d["importer"] == partner)]
            return own["value_usd"].sum() / d["value_usd"].sum()

        return np.log(share(post)) - np.log(share(pre))

    for partner in ("AZE", "P03"):
        expected = share_change(["KAZ", "KGZ", "UZB"], partner) - share_change(["EUU"], partner)
        assert table.loc[partner, "h"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("effect", "noise", "verdict"), [
    (1.0, 0.02, SUPPORTED),       # a large effect, precise placebo distribution
    (0.0, 0.02, NOT_SUPPORTED),   # no effect, precise enough to exclude the 0.1 margin
    (0.0, 0.6, INCONCLUSIVE),     # no effect, noisy partners: MDE above the margin
])
def test_single_reporter_known_answers(claims, effect, noise, verdict):
    ev = single_reporter_evidence(synthetic_flows(effect=effect, noise=noise), claims["C1"])
    assert decide(claims["C1"].rule, ev.estimate, ev.conf_low, ev.conf_high) == verdict
    assert ev.mde is not None and ev.mde > 0
    assert (ev.mde < claims["C1"].rule.margin) == (noise < 0.1)
    if effect:
        # AZE's share with the CA reporters rose by about the effect (diluted by its share)
        assert ev.estimate == pytest.approx(effect, abs=0.1)
        assert ev.extra["rank"] == 1
        assert ev.extra["permutation p-value"] == pytest.approx(1 / (1 + ev.nobs - 1))


def test_single_reporter_without_control_reporter_is_untestable(claims):
    flows = synthetic_flows()
    with pytest.raises(Untestable, match="EUU"):
        single_reporter_evidence(flows[flows["source"] != "eurostat"], claims["C1"])


def test_level_growth_matches_hand_computation(claims):
    flows = synthetic_flows(effect=0.5)
    ev = single_reporter_evidence(flows, claims["C1D"])
    aze = flows[(flows["exporter"] == "AZE") | (flows["importer"] == "AZE")]
    aze = aze[aze["source"] == "national"].groupby("year")["value_usd"].sum()
    expected = np.log(aze.loc[2022:2023].mean() / aze.loc[2018:2021].mean())
    assert ev.estimate == pytest.approx(expected, rel=1e-12)


# --- C2: randomization inference ----------------------------------------------------------
def ots_panel(effect: float, seed: int = 11) -> pd.DataFrame:
    """Panel of 12 countries 2000-2011 with 4 members from 2006 and a known effect."""
    rng = np.random.default_rng(seed)
    countries = [f"C{k:02d}" for k in range(12)]
    members = set(countries[:4])
    size = {c: rng.uniform(1, 3) for c in countries}
    rows = []
    for y in range(2000, 2012):
        for e in countries:
            for i in countries:
                if e == i:
                    continue
                both = float(e in members and i in members and y >= 2006)
                mu = np.exp(size[e] + size[i] + 0.03 * (y - 2000) + effect * both)
                rows.append((y, e, i, mu * rng.lognormal(0, 0.05) * 1e6, both, 0.0))
    df = pd.DataFrame(rows, columns=["year", "exporter", "importer", "trade", "both_ots",
                                     "fta"])
    return df.assign(trade_source="imf_dots")


def ots_claim(claims):
    c = claims["C2"]
    inputs = {**c.inputs, "countries": [f"C{k:02d}" for k in range(12)],
              "members": ["C00", "C01", "C02", "C03"], "controls": [], "draws": 19}
    return dataclasses.replace(c, window=(2000, 2011), inputs=inputs)


def test_indicator_reproduces_membership():
    df = ots_panel(0.0)
    starts = start_years(df, "both_ots", ["C00", "C01", "C02", "C03"])
    assert starts == {"C00": 2006, "C01": 2006, "C02": 2006, "C03": 2006}
    assert np.array_equal(indicator(df, starts), df["both_ots"].to_numpy())


def test_randomization_inference_known_answers(claims):
    claim = ots_claim(claims)
    strong = ri_gravity_evidence(claim, ots_panel(0.8))
    assert strong.estimate == pytest.approx(0.8, abs=0.05)
    assert decide(claim.rule, strong.estimate, strong.conf_low, strong.conf_high) == SUPPORTED
    assert strong.extra["treated undirected pairs"] == 6
    again = ri_gravity_evidence(claim, ots_panel(0.8))
    assert (again.conf_low, again.conf_high, again.mde) == (strong.conf_low, strong.conf_high,
                                                            strong.mde)
    none = ri_gravity_evidence(claim, ots_panel(0.0))
    assert none.conf_low < 0 < none.conf_high


def test_randomization_needs_one_source_family(claims):
    claim = ots_claim(claims)
    with pytest.raises(Untestable, match="no trade reported in imf_dots"):
        ri_gravity_evidence(claim, ots_panel(0.0).assign(trade_source="national"))


# --- C3: event study -----------------------------------------------------------------------
def btk_panel(effect: float, pre_trend: float = 0.0, seed: int = 5) -> pd.DataFrame:
    """Region panel 2010-2020: origin-TUR pairs (uses_btk from 2018) gain ``effect`` after
    2017; ``pre_trend`` adds a linear pre-2017 trend to them."""
    rng = np.random.default_rng(seed)
    countries = ["AZE", "GEO", "KAZ", "UZB", "TUR", "RUS", "CHN", "IRN", "DEU", "FRA"]
    origins = {"AZE", "GEO", "KAZ", "UZB"}
    size = {c: rng.uniform(1, 3) for c in countries}
    rows = []
    for y in range(2010, 2021):
        for e in countries:
            for i in countries:
                if e == i:
                    continue
                served = ({e, i} & origins) and "TUR" in {e, i}
                k = y - 2017
                mu = np.exp(size[e] + size[i] + 0.02 * (y - 2010)
                            + (effect * (k > 0) + pre_trend * min(k, 0) if served else 0.0))
                rows.append((y, e, i, mu * rng.lognormal(0, 0.03) * 1e6,
                             float(bool(served)) if y >= 2018 else 0.0))
    df = pd.DataFrame(rows, columns=["year", "exporter", "importer", "trade", "uses_btk"])
    return df.assign(trade_source="imf_dots")


def btk_claim(claims):
    c = claims["C3"]
    inputs = {**c.inputs, "countries": ["AZE", "GEO", "KAZ", "UZB", "TUR", "RUS", "CHN",
                                        "IRN", "DEU", "FRA"], "ri_draws": 19}
    return dataclasses.replace(c, inputs=inputs)


def test_event_study_known_effect_and_pretrends(claims):
    claim = btk_claim(claims)
    ev = event_study_evidence(claim, btk_panel(0.4))
    assert ev.estimate == pytest.approx(0.4, abs=0.05)
    assert decide(claim.rule, ev.estimate, ev.conf_low, ev.conf_high) == SUPPORTED
    assert ev.blocks_support == "" and ev.extra["pre-trend p-value"] > 0.05
    assert ev.extra["treated undirected pairs"] == 4
    assert ev.extra["randomization p-value"] == pytest.approx(1 / 20)
    assert ev.mde is not None and ev.mde < 0.4
    trend = event_study_evidence(claim, btk_panel(0.4, pre_trend=0.1))
    assert trend.blocks_support.startswith("the pre-trend test rejects")


# --- reported statistics, documentary record, routes ---------------------------------------
def test_fdi_share_bounds_by_hand(claims):
    fdi = cbar_fdi(REPO / "data" / "raw")
    bounds = fdi_share_bounds(fdi, CA).set_index("year")
    # 2024: no Central Asian state in the top ten; the 10th entry is NOR 136.7 of 7,000
    assert bounds.loc[2024, "tenth_usd_mn"] == pytest.approx(136.7)
    assert bounds.loc[2024, "share_high"] == pytest.approx(100 * 5 * 136.7 / 7000)
    assert bounds.loc[2024, "share_low"] == 0.0
    ev = fdi_reported_evidence(claims["C7F"], REPO / "data" / "raw")
    assert (ev.conf_low, ev.conf_high) == (0.0, pytest.approx(100 * 5 * 136.7 / 7000))


def test_reported_series_growth_by_hand(claims):
    ev = reported_series_evidence(claims["C4"], REPO / "data" / "raw")
    s = cargo_series().set_index("year")["value"]
    assert ev.estimate == pytest.approx(np.log(s.loc[2022:2024].mean() / s.loc[2019:2021].mean()))
    port = reported_series_evidence(claims["C11"], REPO / "data" / "raw")
    assert port.nobs == 8 and "approximate figures" in port.note
    with pytest.raises(Untestable, match="missing input"):
        reported_series_evidence(claims["C11"], Path("/nonexistent"))


def test_documentary_record(claims):
    events = load_events()
    c7 = documentary_evidence(claims["C7"], events)
    assert c7.estimate == 4.0 and "INV-KAZ-FUZULI" in c7.note
    c14 = documentary_evidence(claims["C14"], events)
    assert "Turkic Investment Fund" in c14.note and "Karabakh" not in c14.note
    with pytest.raises(Untestable, match="documents no event"):
        documentary_evidence(claims["C9"], events)


def test_timed_claims_after_the_data(claims):
    events = load_events()
    with pytest.raises(Untestable, match="in force from 2025; the trade data end in 2023"):
        timed_evidence(claims["C8"], events, 2023)
    with pytest.raises(Untestable, match="no event"):
        timed_evidence(dataclasses.replace(claims["C8"], inputs={"events": ["NOPE"],
                                                                 "min_years_after": 2}),
                       events, 2023)


def test_alternative_route_value(claims):
    ev = route_alternatives_evidence(claims["C13"])
    t = ev.series.set_index("origin")
    assert (t["cost_closed"] >= t["cost_open"]).all()
    assert (t["cost_closed_no_alternative"] >= t["cost_closed"]).all()
    assert ev.estimate > 0


def test_descriptive_trade_and_hhi():
    df = pd.DataFrame({
        "year": [2010] * 5,
        "exporter": ["AZE", "AZE", "KAZ", "AZE", "AZE"],
        "importer": ["KAZ", "TUR", "AZE", "RUS", "AZE"],
        "trade": [10.0, 30.0, 10.0, np.nan, 99.0],
        "trade_source": ["imf_dots", "imf_dots", "national", None, None],
    })
    out = partner_hhi(df, "AZE")
    assert out["hhi"].iloc[0] == pytest.approx(10000 * (0.4**2 + 0.6**2))
    t = bilateral_trade(df, "AZE", ["KAZ"], 2010).iloc[0]
    assert t["trade_usd_mn"] == pytest.approx(20e-6) and t["source"] == "imf_dots+national"
    assert t["directions"] == 2 and t["share_of_partner_total_pct"] == pytest.approx(100.0)


def test_within_draw_minimum_is_not_the_minimum_of_bounds():
    from tradeflows.studies.azerbaijan.claims.stage_outputs import within_draw_minimum

    by_draw = pd.DataFrame({"draw": [0, 0, 1, 1, 2, 2], "country": ["A", "B"] * 3,
                            "real_gdp": [1.0, 3.0, 4.0, 2.0, 0.5, 5.0]})
    assert within_draw_minimum(by_draw, ["A", "B"], "real_gdp").tolist() == [1.0, 2.0, 0.5]
    # a draw without every country is left out
    assert within_draw_minimum(by_draw.iloc[:-1], ["A", "B"], "real_gdp").tolist() == [1.0, 2.0]


def test_cited_elasticity_replaces_an_unidentified_estimate():
    from tradeflows.gravity.scenario_schema import Cited
    from tradeflows.gravity.scenarios import cited_effects, load_scenario

    scn = load_scenario("zangezur_full")
    assert scn.cited == Cited("ln_route_cost", -1.10, 0.41, scn.cited.source)
    coef = pd.Series({"ln_route_cost": -0.2})
    weak = pd.DataFrame([[0.25]], index=coef.index, columns=coef.index)  # se 0.5, |t| 0.4
    b, v, note = cited_effects(scn, coef, weak)
    assert b["ln_route_cost"] == -1.10 and v.loc["ln_route_cost", "ln_route_cost"] == \
        pytest.approx(0.41 ** 2)
    assert "not identified" in note
    strong = pd.DataFrame([[0.0001]], index=coef.index, columns=coef.index)  # se 0.01
    b, v, note = cited_effects(scn, coef, strong)
    assert b["ln_route_cost"] == -0.2 and "not used" in note


@pytest.mark.parametrize(("cited", "key"), [
    ('term = "ln_dist2"\nestimate = -1.0\nstd_error = 0.4\nsource = "x"', "cited.term"),
    ('term = "ln_dist"\nestimate = -1.0\nstd_error = 0\nsource = "x"', "cited.std_error"),
    ('term = "ln_dist"\nestimate = "big"\nstd_error = 0.4\nsource = "x"', "cited.estimate"),
    ('term = "ln_dist"\nestimate = -1.0\nstd_error = 0.4', "cited.source"),
])
def test_cited_schema_errors_name_the_key(tmp_path, cited, key):
    from tradeflows.errors import DataError
    from tradeflows.gravity.scenarios import load_scenario

    f = tmp_path / "bad.toml"
    f.write_text('title = "t"\nformula = "trade ~ ln_dist | exporter^year"\n'
                 f"[cited]\n{cited}\n"
                 '[[change]]\nvariable = "ln_dist"\nadd = 1.0\n')
    with pytest.raises(DataError, match=key.replace(".", r"\.")):
        load_scenario(f)


def test_route_group_trade_check_by_hand(claims):
    from tradeflows.studies.azerbaijan.claims.reported import route_group_trade_check

    rows = []
    for dest, growth in (("KAZ", 1.0), ("KGZ", 1.0), ("CHN", 1.0),   # Northern (2021 route)
                         ("TJK", 2.0), ("TKM", 2.0), ("UZB", 2.0)):  # Middle Corridor
        for year in range(2019, 2024):
            v = 100e6 * (growth if year >= 2022 else 1.0)
            rows.append((year, "EUU", dest, v, "exporter", "export", "eurostat", False))
    flows = pd.DataFrame(rows, columns=["year", "exporter", "importer", "value_usd",
                                        "reporter_side", "flow", "source", "estimated"])
    text = route_group_trade_check(flows, claims["C4"])
    assert f"grew by {np.log(2):+.2f} log points" in text
    assert f"difference {np.log(2) - 0:+.2f}" in text and "(KAZ, KGZ, CHN)" in text


def test_sensitivity_to_the_drawn_elasticity():
    from tradeflows.studies.azerbaijan.claims.stage_outputs import sensitivity

    coef = np.linspace(-2.0, 0.0, 20)
    rows = [(d, c, b, -b * w) for d, b in enumerate(coef) for c, w in (("A", 1.0), ("B", 2.0))]
    by_draw = pd.DataFrame(rows, columns=["draw", "country", "coef_ln_route_cost", "real_gdp"])
    text = sensitivity(by_draw, ["A", "B"], "real_gdp")
    # the minimum is A's change (= -b); lowest tenth of b: -2.0, -1.89 -> mean +1.95
    assert "ln_route_cost drawn in [-2.00, 0.00]" in text
    assert f"{np.mean(-coef[:2]):+.4f}% where it is at most" in text
    assert sensitivity(by_draw.drop(columns="coef_ln_route_cost"), ["A", "B"], "real_gdp") == ""
