"""Descriptive evidence shown before any test: trade levels and shares with their sources,
partner shares, corridor and port cargo, FDI positions.

Every function returns a tidy frame; the report draws the tables and figures from them.
Each trade point carries the source (and reporting side) it comes from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.studies.azerbaijan.claims.evidence import Untestable, require
from tradeflows.studies.azerbaijan.claims.reported import cargo_series, cbar_fdi, port_volumes

PRESS_TRADE = "press_bilateral_trade_2019_2025/press_bilateral_trade.parquet"
MIN_COVERAGE = 0.5


def _pair_rows(panel: pd.DataFrame, country: str, partners: list[str]) -> pd.DataFrame:
    own = panel[((panel["exporter"] == country) & panel["importer"].isin(partners))
                | ((panel["importer"] == country) & panel["exporter"].isin(partners))]
    return own.assign(partner=own["importer"].where(own["exporter"] == country,
                                                    own["exporter"]))


def bilateral_trade(panel: pd.DataFrame, country: str, partners: list[str],
                    first: int) -> pd.DataFrame:
    """``country``'s trade (exports + imports, USD million) with each partner by year from
    ``first``, as the panel holds it, with the source of each point (``trade_source`` of the
    two directions, e.g. ``imf_dots`` or ``national``), ``directions`` (how many of the two
    directions are reported) and its share in the partner's total trade in the panel
    (percent; only in years in which at least ``MIN_COVERAGE`` of the partner's best-covered
    year's pairs are reported, so that the total is known)."""
    require(panel, ["year", "exporter", "importer", "trade", "trade_source"], "the panel")
    p = panel[(panel["year"] >= first) & (panel["exporter"] != panel["importer"])]
    rows = _pair_rows(p, country, partners)
    rows = rows[rows["trade"].notna()]
    agg = rows.groupby(["partner", "year"]).agg(
        trade_usd_mn=("trade", lambda s: s.sum() / 1e6), directions=("trade", "size"),
        source=("trade_source", lambda s: "+".join(sorted(set(s.dropna().astype(str))))))
    total, coverage = {}, {}
    for c in partners:
        own = p[((p["exporter"] == c) | (p["importer"] == c)) & p["trade"].notna()]
        total[c] = own.groupby("year")["trade"].sum() / 1e6
        n = own.groupby("year").size()
        coverage[c] = n / n.max()
    tot = pd.concat(total, names=["partner", "year"]).rename("partner_total_usd_mn")
    cov = pd.concat(coverage, names=["partner", "year"]).rename("coverage")
    out = agg.join(tot, how="left").join(cov, how="left").reset_index()
    # the partner's total is known only where most of its pairs are reported
    known = out["coverage"] >= MIN_COVERAGE
    out["partner_total_usd_mn"] = out["partner_total_usd_mn"].where(known)
    out["share_of_partner_total_pct"] = 100 * out["trade_usd_mn"] / out["partner_total_usd_mn"]
    out = out.drop(columns="coverage")
    return out.sort_values(["partner", "year"]).reset_index(drop=True)


def press_turnover(raw_dir: Path, country: str, partners: list[str]) -> pd.DataFrame:
    """Full-year turnover that ``country``'s statistics report with each partner, as quoted in
    the press (``partner, year, trade_usd_mn, source``); empty if the set is absent."""
    file = raw_dir / PRESS_TRADE
    cols = ["partner", "year", "trade_usd_mn", "source"]
    if not file.is_file():
        return pd.DataFrame(columns=cols)
    df = pd.read_parquet(file)
    require(df, ["reporter_iso3", "partner_iso3", "year", "period", "period_months", "flow",
                 "value_usd_mn", "source_agency"], file.name)
    keep = ((df["reporter_iso3"] == country) & df["partner_iso3"].isin(partners)
            & (df["period"] == "FY") & (df["period_months"] == 12) & (df["flow"] == "turnover"))
    out = df[keep]
    return pd.DataFrame({"partner": out["partner_iso3"], "year": out["year"].astype(int),
                         "trade_usd_mn": out["value_usd_mn"].astype(float),
                         "source": "press: " + out["source_agency"].astype(str)
                         }).reset_index(drop=True)


def partner_shares(panel: pd.DataFrame, country: str, years: list[int],
                   top: int = 8) -> pd.DataFrame:
    """Shares (percent) of ``country``'s trade by partner in the given years (the ``top``
    partners of the last year plus the rest as 'other'): ``partner, year, share_pct``."""
    p = panel[panel["year"].isin(years) & (panel["exporter"] != panel["importer"])]
    rows = _pair_rows(p, country, sorted(set(p["exporter"]) | set(p["importer"])))
    rows = rows[rows["trade"].notna()]
    by = rows.groupby(["year", "partner"])["trade"].sum()
    shares = 100 * by / by.groupby(level="year").transform("sum")
    last = shares.loc[max(shares.index.get_level_values("year"))].nlargest(top).index
    shares = shares.reset_index(name="share_pct")
    shares["partner"] = shares["partner"].where(shares["partner"].isin(last), "other")
    return (shares.groupby(["partner", "year"], as_index=False)["share_pct"].sum()
            .sort_values(["year", "share_pct"], ascending=[True, False]).reset_index(drop=True))


def partner_hhi(panel: pd.DataFrame, country: str) -> pd.DataFrame:
    """HHI of ``country``'s trade (exports + imports) across partners by year: ``year, hhi``
    (0-10000 points), ``partners`` (with positive trade), ``total_usd``."""
    require(panel, ["year", "exporter", "importer", "trade"], "the panel")
    own = panel[(panel["exporter"] == country) ^ (panel["importer"] == country)]
    own = own[own["trade"].notna()]
    partner = own["importer"].where(own["exporter"] == country, own["exporter"])
    by = (own.assign(partner=partner).groupby(["year", "partner"], sort=True)["trade"]
          .sum().reset_index())
    by = by[by["trade"] > 0]
    total = by.groupby("year")["trade"].transform("sum")
    by["share2"] = (by["trade"] / total) ** 2
    out = by.groupby("year").agg(hhi=("share2", "sum"), partners=("partner", "size"),
                                 total_usd=("trade", "sum")).reset_index()
    out["hhi"] = 10000.0 * out["hhi"]
    return out


def kink_trend(series: pd.DataFrame, kink: int, level: float) -> tuple[float, float, float]:
    """OLS ``hhi = a + b t + g (t - kink)+``; returns ``g`` (points per year) and its
    classical t-interval at ``level``."""
    import statsmodels.api as sm

    t = series["year"].to_numpy(dtype=float)
    x = np.column_stack([np.ones_like(t), t - kink, np.clip(t - kink, 0, None)])
    fit = sm.OLS(series["hhi"].to_numpy(dtype=float), x).fit()
    lo, hi = fit.conf_int(alpha=1 - level)[2]
    return float(fit.params[2]), float(lo), float(hi)


def cargo_table(raw_dir: Path) -> pd.DataFrame:
    """Middle Corridor cargo (Kazakhstan Ministry of Transport, Mt) and Port of Baku cargo
    handled and transit cargo (thousand t, as reported) by year: ``year, series, value,
    unit``."""
    titr = cargo_series().assign(series="Middle Corridor (TITR) cargo", unit="million t")
    frames = [titr]
    try:
        port = port_volumes(raw_dir)
    except Untestable:  # descriptive: an absent set leaves its rows out
        port = None
    if port is not None:
        for var, label in (("cargo_handled", "Port of Baku cargo handled"),
                           ("transit_cargo", "Port of Baku transit cargo")):
            s = port[(port["series"] == "port_of_baku") & (port["variable"] == var)]
            frames.append(pd.DataFrame({"year": s["year"].astype(int), "value": s["value"] / 1e3,
                                        "series": label, "unit": "million t"}))
    out = pd.concat(frames, ignore_index=True)
    return out[["year", "series", "value", "unit"]].sort_values(["series", "year"]) \
        .reset_index(drop=True)


def fdi_positions(investment: pd.DataFrame | None, raw_dir: Path, host: str,
                  investors: list[str]) -> pd.DataFrame:
    """FDI into ``host``: UNCTAD flows and stocks from ``investors`` (host-reported,
    2001-2012) and the CBAR gross inflows by country as published (top-10 lists, 2021-2024):
    ``source, measure, year, investor, value_usd_mn``."""
    frames = []
    if investment is not None and not investment.empty:
        require(investment, ["year", "investor", "host", "measure", "value_usd"],
                "investment data")
        un = investment[(investment["host"] == host) & investment["investor"].isin(investors)
                        & investment["value_usd"].notna()]
        frames.append(pd.DataFrame({"source": "UNCTAD (host-reported)",
                                    "measure": un["measure"], "year": un["year"].astype(int),
                                    "investor": un["investor"],
                                    "value_usd_mn": un["value_usd"] / 1e6}))
    try:
        cb = cbar_fdi(raw_dir)
    except Untestable:  # descriptive: an absent set leaves its rows out
        cb = None
    if cb is not None:
        cb = cb[(cb["direction"] == "inward") & (cb["period"] == "FY")]
        frames.append(pd.DataFrame({"source": "CBAR gross inflows (press)",
                                    "measure": "flow", "year": cb["year"].astype(int),
                                    "investor": cb["partner"].replace({"WLD": "total"}),
                                    "value_usd_mn": cb["value_usd_mn"].astype(float)}))
    if not frames:
        return pd.DataFrame(columns=["source", "measure", "year", "investor", "value_usd_mn"])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["source", "measure", "year", "investor"]).reset_index(drop=True)


def latest_year(df: pd.DataFrame) -> int | None:
    """The last year of a frame with a ``year`` column (None if empty)."""
    return int(np.max(df["year"])) if len(df) else None
