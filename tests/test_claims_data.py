"""A small synthetic project tree (panel, investment, estimates, counterfactual) for the
claims and report tests, and the checks of the claims computed from it against hand
computations and statsmodels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from tradeflows.claims.catalog import load_catalog
from tradeflows.claims.concentration import concentration_evidence, partner_hhi
from tradeflows.claims.corridor import cargo_series, corridor_evidence, corridor_pairs
from tradeflows.claims.evidence import Untestable
from tradeflows.claims.investment import investment_evidence
from tradeflows.config import paths as project_paths

CA = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
EUROPE = ["DEU", "FRA", "ITA", "POL"]
COUNTRIES = ["AZE", "ARM", "GEO", *CA, "TUR", "RUS", "CHN", "IRN", *EUROPE]
YEARS = list(range(2000, 2024))


def synthetic_panel(seed: int = 7) -> pd.DataFrame:
    """Square panel with gravity-shaped trade, a +0.3 log-point AZE-Central Asia gap from
    2022, and route variables (Central Asia/China-Europe pairs: via the Middle Corridor if
    the exporter is KAZ or CHN... deterministic by name)."""
    rng = np.random.default_rng(seed)
    size = {c: rng.uniform(1, 5) for c in COUNTRIES}
    rows = []
    for y in YEARS:
        for e in COUNTRIES:
            for i in COUNTRIES:
                dist = 1.0 + (abs(hash_code(e) - hash_code(i)) % 17)
                base = np.exp(size[e] + size[i] - 0.8 * np.log(dist) + 0.02 * (y - 2000))
                if y >= 2022 and {e, i} & {"AZE"} and {e, i} & set(CA) and e != i:
                    base *= np.exp(0.3)
                trade = base * rng.lognormal(0, 0.1) * 1e6
                rows.append((y, e, i, trade, e == i))
    df = pd.DataFrame(rows, columns=["year", "exporter", "importer", "trade", "domestic"])
    origin = set(CA) | {"CHN"}
    mid = df["exporter"].isin(origin) & df["importer"].isin(EUROPE) & (
        df["exporter"].isin(["KAZ", "KGZ", "UZB"]))
    mid |= df["importer"].isin(origin) & df["exporter"].isin(EUROPE) & (
        df["importer"].isin(["KAZ", "KGZ", "UZB"]))
    df["uses_middle_corridor"] = mid
    df["uses_northern"] = ~mid
    # middle-route pairs grow 50% more after 2022
    df.loc[mid & (df["year"] >= 2022), "trade"] *= 1.5
    # an unreported flow
    df.loc[(df["year"] == 2005) & (df["exporter"] == "AZE") & (df["importer"] == "TJK"),
           "trade"] = np.nan
    return df


def hash_code(code: str) -> int:
    """A deterministic small integer from a country code (stands in for distance)."""
    return sum((k + 1) * ord(ch) for k, ch in enumerate(code))


def synthetic_investment() -> pd.DataFrame:
    rows = []
    for y in range(2001, 2013):
        rows.append((y, "KAZ", "AZE", "flow", 1e6 * (y - 2000), "unctad"))
        rows.append((y, "UZB", "AZE", "flow", np.nan if y < 2010 else -2e6, "unctad"))
        rows.append((y, "TUR", "AZE", "flow", 50e6, "unctad"))
        rows.append((y, "RUS", "AZE", "flow", 20e6, "unctad"))
    return pd.DataFrame(rows, columns=["year", "investor", "host", "measure", "value_usd",
                                       "source"])


def synthetic_tree(root: Path) -> Path:
    """Write a tiny project under ``root`` (data/raw + data/processed); returns ``root``."""
    p = project_paths(root)
    (p.raw / "demo").mkdir(parents=True, exist_ok=True)
    (p.raw / "demo" / "PROVENANCE.md").write_text("synthetic test data\n")
    p.processed.mkdir(parents=True, exist_ok=True)
    synthetic_panel().to_parquet(p.panel, index=False)
    synthetic_investment().to_parquet(p.investment, index=False)
    p.estimates.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({
        "term": ["both_ots", "uses_btk", "both_ots", "both_ots"],
        "spec": ["ots", "corridor", "other", "joint"],
        "estimate": [0.20, 0.05, 9.0, -0.3], "std_error": [0.05, 0.10, 1.0, 0.1],
        "conf_low": [0.102, -0.146, 7.04, -0.496], "conf_high": [0.298, 0.246, 10.96, -0.104],
        "p_value": [0.0001, 0.6, 0.0, 0.003], "nobs": [5000, 4000, 10, 5000],
        "years": ["2000-2020"] * 4,
    }).to_parquet(p.estimates / "application.parquet", index=False)
    p.counterfactuals.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({
        "country": ["AZE", "ARM", "KAZ", "KGZ", "TJK", "TKM", "UZB", "TUR"],
        "real_gdp": [0.5, 0.8, 0.1, 0.05, 0.04, 0.02, 0.06, 0.01],
        "real_gdp_lower": [0.3, 0.5, 0.05, -0.01, 0.01, 0.01, 0.02, -0.01],
        "real_gdp_upper": [0.7, 1.1, 0.15, 0.09, 0.07, 0.04, 0.1, 0.03],
        "level": 0.95,
    }).to_parquet(p.counterfactuals / "zangezur.parquet", index=False)
    return root


@pytest.fixture(scope="module")
def claims():
    return {c.id: c for c in load_catalog()}


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


def test_hhi_matches_hand_computation():
    df = pd.DataFrame({
        "year": [2000] * 5,
        "exporter": ["AZE", "AZE", "KAZ", "AZE", "AZE"],
        "importer": ["KAZ", "TUR", "AZE", "RUS", "AZE"],
        "trade": [10.0, 30.0, 10.0, np.nan, 99.0],
    })
    out = partner_hhi(df, "AZE")
    # partners: KAZ 20, TUR 30 (RUS unreported, domestic excluded) -> shares .4, .6
    assert out["hhi"].iloc[0] == pytest.approx(10000 * (0.4**2 + 0.6**2))
    assert out["partners"].iloc[0] == 2


def test_concentration_slope_change_matches_statsmodels(claims, panel):
    ev = concentration_evidence(claims["C6"], panel)
    s = ev.series
    t = s["year"].to_numpy(float)
    X = np.column_stack([np.ones_like(t), t, np.maximum(t - 2017, 0)])
    ref = sm.OLS(s["hhi"].to_numpy(), X).fit()
    assert ev.estimate == pytest.approx(ref.params[2], rel=1e-10)
    assert (ev.conf_low, ev.conf_high) == pytest.approx(tuple(ref.conf_int(0.05)[2]), rel=1e-10)
    assert ev.nobs == 21 and ev.years == "2000-2020"


def test_concentration_too_few_years_is_untestable(claims, panel):
    with pytest.raises(Untestable, match="needs at least 2"):
        concentration_evidence(claims["C6"], panel[panel["year"] <= 2016])


def test_investment_total_and_events(claims, tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("event_id,kind,institution_or_corridor,country_iso3,partner_iso3,"
                      "start_date,end_date,description,source_url,confidence\n"
                      "INV-X,investment,x,AZE,KAZ,2024-03-12,,a school,u,high\n"
                      "OTS-Y,accession,x,UZB,,2019-09-14,,joins,u,high\n")
    ev = investment_evidence(claims["C7"], synthetic_investment(), events_file=events)
    # KAZ 1..12 million, UZB -2 million in 2010-2012
    assert ev.estimate == pytest.approx(sum(range(1, 13)) - 6.0)
    assert ev.nobs == 15 and ev.years == "2001-2012"
    assert "INV-X" in ev.note and "OTS-Y" not in ev.note


def test_investment_nothing_reported_is_untestable(claims):
    inv = synthetic_investment()
    inv = inv[~inv["investor"].isin(CA)]
    with pytest.raises(Untestable, match="no flow of FDI"):
        investment_evidence(claims["C7"], inv)


def test_corridor_shift_matches_hand_computation(claims, panel):
    ev = corridor_evidence(claims["C4"], panel)
    long = corridor_pairs(panel, claims["C4"])

    def growth(group: str) -> float:
        g = long[long["group"] == group]
        pre = g[g["year"] <= 2021]["trade"].sum() / 3
        post = g[g["year"] >= 2022]["trade"].sum() / 2
        return np.log(post / pre)

    assert ev.estimate == pytest.approx(growth("middle") - growth("northern"), rel=1e-12)
    # the synthetic middle-route pairs grew by 1.5x more: the gap is close to ln 1.5
    assert ev.estimate == pytest.approx(np.log(1.5), abs=0.1)
    assert ev.conf_low < ev.estimate < ev.conf_high
    again = corridor_evidence(claims["C4"], panel)
    assert (again.conf_low, again.conf_high) == (ev.conf_low, ev.conf_high)


def test_corridor_without_route_columns_is_untestable(claims, panel):
    with pytest.raises(Untestable, match="uses_middle_corridor"):
        corridor_evidence(claims["C4"], panel.drop(columns=["uses_middle_corridor"]))


def test_cargo_series_preferred_rows(tmp_path):
    f = tmp_path / "cargo.csv"
    f.write_text("corridor,year,period,metric,value,unit,reported_by\n"
                 "TITR,2019,FY,cargo,0.759,Mt,Ministry of Transport of Kazakhstan (Mar 2026)\n"
                 "TITR,2022,Jan-Jul,cargo,0.845,Mt,KTZ Express\n"
                 "TITR,2022,FY,cargo,1.5,Mt,Kazakhstan Railways\n"
                 "TITR,2022,FY,cargo,1.485,Mt,Ministry of Transport of Kazakhstan (Mar 2026)\n")
    s = cargo_series(f)
    assert s["year"].tolist() == [2019, 2022]
    assert s["cargo_mt"].tolist() == [0.759, 1.485]


def test_investment_stocks_only_are_described_not_decided(claims):
    stocks = synthetic_investment().assign(measure="stock")
    with pytest.raises(Untestable) as err:
        investment_evidence(claims["C7"], stocks)
    msg = str(err.value)
    assert "stocks are reported for 2012" in msg and "KAZ 12.0" in msg
    assert "uses flows" in msg
