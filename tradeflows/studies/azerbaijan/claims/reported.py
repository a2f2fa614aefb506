"""Claims read from reported statistics: corridor cargo, Port of Baku, central-bank FDI.

The raw sets (``data/raw/corridor_port_volumes_press``, ``data/raw/cbar_fdi_by_country_press``,
official figures quoted in the press, with PROVENANCE.md) are read here for descriptive
evidence only; they never enter the estimation panel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.config import PACKAGE_DATA
from tradeflows.studies.azerbaijan.claims.catalog import Claim
from tradeflows.studies.azerbaijan.claims.evidence import (
    Evidence,
    Untestable,
    claim_figure,
    require,
)

CARGO_FILE = PACKAGE_DATA / "corridor_cargo.csv"
PREFERRED_REPORTER = "Ministry of Transport of Kazakhstan"
PORT_FILE = "corridor_port_volumes_press/corridor_port_volumes.parquet"
FDI_FILE = "cbar_fdi_by_country_press/cbar_fdi_by_country.parquet"
CARGO_FIGURE = "figures/corridor_cargo"
FDI_TABLE = "tables/cbar_fdi"


def cargo_series(file: Path = CARGO_FILE) -> pd.DataFrame:
    """The preferred Middle Corridor series: ``year, value`` (million tonnes, full years,
    Kazakhstan Ministry of Transport). Empty if the file is absent."""
    empty = pd.DataFrame({"year": pd.Series(dtype="int64"), "value": pd.Series(dtype="float64")})
    if not file.exists():
        return empty
    raw = pd.read_csv(file, dtype={"period": str, "metric": str, "reported_by": str})
    keep = ((raw["period"] == "FY") & (raw["metric"] == "cargo")
            & raw["reported_by"].str.startswith(PREFERRED_REPORTER, na=False))
    out = raw.loc[keep, ["year", "value"]]
    return out.astype({"year": "int64", "value": "float64"}).sort_values("year") \
        .reset_index(drop=True)


def port_volumes(raw_dir: Path) -> pd.DataFrame:
    """Full-year rows of the corridor and port volume set: ``series, year, variable, value,
    unit, approx, derived, publisher, url``. Raises ``Untestable`` if the set is absent."""
    file = raw_dir / PORT_FILE
    if not file.is_file():
        raise Untestable(f"missing input: {PORT_FILE} (data/raw)")
    df = pd.read_parquet(file)
    require(df, ["series", "year", "period", "variable", "value", "unit", "approx", "derived",
                 "publisher", "url"], file.name)
    df = df[df["period"] == "FY"]
    if not np.isfinite(df["value"].to_numpy(float)).all() or (df["value"] < 0).any():
        raise Untestable(f"{file.name}: non-finite or negative values")
    return df[["series", "year", "variable", "value", "unit", "approx", "derived", "publisher",
               "url"]].sort_values(["series", "variable", "year"]).reset_index(drop=True)


def _series(claim: Claim, raw_dir: Path) -> tuple[pd.DataFrame, str]:
    name = claim.inputs["series"]
    if name == "titr_cargo":
        s = cargo_series()
        return s, "million tonnes, Kazakhstan Ministry of Transport"
    df = port_volumes(raw_dir)
    s = df[(df["series"] == name) & (df["variable"] == claim.inputs["variable"])]
    unit = s["unit"].iloc[0] if len(s) else ""
    approx = s.loc[s["approx"].astype(bool), "year"].tolist()
    text = f"{unit}, as reported" + (f"; approximate figures for {approx}" if approx else "")
    return s[["year", "value"]].reset_index(drop=True), text


def reported_series_evidence(claim: Claim, raw_dir: Path,
                             flows: pd.DataFrame | None = None) -> Evidence:
    """Log growth of the mean of a reported annual series between two periods; with
    ``check_destinations`` in the inputs and ``flows``, the trade check of
    :func:`route_group_trade_check` is added to the note."""
    (p0, p1), (q0, q1) = claim.inputs["pre"], claim.inputs["post"]
    s, unit = _series(claim, raw_dir)
    a = s[s["year"].between(p0, p1)]["value"]
    b = s[s["year"].between(q0, q1)]["value"]
    if len(a) < 2 or len(b) < 2:
        raise Untestable(f"the series has {len(a)} year(s) in {p0}-{p1} and {len(b)} in "
                         f"{q0}-{q1}; the comparison needs at least 2 in each")
    est = float(np.log(b.mean() / a.mean()))
    missing = sorted(set(range(p0, q1 + 1)) - set(s["year"]))
    listed = ", ".join(f"{int(y)}: {v:,.3g}" for y, v in zip(s["year"], s["value"],
                                                              strict=True)
                       if p0 <= y <= q1)
    note = (f"Mean {a.mean():,.3g} a year in {p0}-{p1}, {b.mean():,.3g} in {q0}-{q1} ({unit}). "
            f"Series: {listed}." + (f" Years not reported: {missing}." if missing else "")
            + " A volume series, not a comparison with a counterfactual.")
    if flows is not None and "check_destinations" in claim.inputs:
        note += route_group_trade_check(flows, claim)
    return Evidence(estimate=est, conf_low=est, conf_high=est, nobs=len(a) + len(b),
                    years=f"{p0}-{q1}", sources=claim.sources, note=note,
                    series=s[s["year"].between(p0, q1)][["year", "value"]].reset_index(drop=True),
                    figure=claim_figure(claim, "series"))


def cbar_fdi(raw_dir: Path) -> pd.DataFrame:
    """CBAR FDI by country as published: ``direction, partner, year, period, value_usd_mn,
    approx, publisher, url``; raises ``Untestable`` if the set is absent."""
    file = raw_dir / FDI_FILE
    if not file.is_file():
        raise Untestable(f"missing input: {FDI_FILE} (data/raw)")
    df = pd.read_parquet(file)
    require(df, ["direction", "partner_iso3", "year", "period", "value_usd_mn", "approx",
                 "publisher", "url"], file.name)
    if not np.isfinite(df["value_usd_mn"].to_numpy(float)).all():
        raise Untestable(f"{file.name}: non-finite values")
    return df.rename(columns={"partner_iso3": "partner"})[
        ["direction", "partner", "year", "period", "value_usd_mn", "approx", "publisher",
         "url"]]


def fdi_share_bounds(fdi: pd.DataFrame, investors: list[str]) -> pd.DataFrame:
    """Per full year with a published top-10 list of inward FDI: the total, the 10th entry
    and the bounds of the investors' share (percent): lower = listed investors' sum / total,
    upper = (listed sum + unlisted investors x 10th entry) / total."""
    inward = fdi[(fdi["direction"] == "inward") & (fdi["period"] == "FY")]
    rows = []
    for year, g in inward.groupby("year"):
        listed = g[g["partner"] != "WLD"]
        total = g.loc[g["partner"] == "WLD", "value_usd_mn"]
        if len(listed) < 10 or total.empty:
            continue
        tenth = float(listed["value_usd_mn"].nlargest(10).min())
        own = listed[listed["partner"].isin(investors)]
        unlisted = len(set(investors) - set(own["partner"]))
        tot = float(total.iloc[0])
        rows.append({"year": int(year), "total_usd_mn": tot, "tenth_usd_mn": tenth,
                     "listed": ", ".join(own["partner"]) or "none",
                     "share_low": 100 * own["value_usd_mn"].sum() / tot,
                     "share_high": 100 * (own["value_usd_mn"].sum() + unlisted * tenth) / tot})
    return pd.DataFrame(rows)


def fdi_reported_evidence(claim: Claim, raw_dir: Path) -> Evidence:
    """Bounds of the investors' share of gross inward FDI in the latest full year with a
    published top-10 list (see :func:`fdi_share_bounds`)."""
    investors = list(claim.inputs["investors"])
    bounds = fdi_share_bounds(cbar_fdi(raw_dir), investors)
    first, last = claim.window
    bounds = bounds[bounds["year"].between(first, last)]
    if bounds.empty:
        raise Untestable(f"no full year with a published top-10 list in {first}-{last}")
    latest = bounds.iloc[-1]
    listed = "; ".join(f"{int(r.year)}: total {r.total_usd_mn:,.0f}, 10th entry "
                       f"{r.tenth_usd_mn:,.1f}, Central Asian states listed: {r.listed}, share "
                       f"in [{r.share_low:.1f}, {r.share_high:.1f}]%"
                       for r in bounds.itertuples())
    note = (f"USD million, gross inflows (CBAR, as reported in the press). {listed}. The bound "
            "uses the 10th entry as the most an unlisted country can have invested.")
    return Evidence(estimate=float(latest["share_low"]), conf_low=float(latest["share_low"]),
                    conf_high=float(latest["share_high"]), nobs=len(bounds),
                    years=f"{int(bounds['year'].min())}-{int(bounds['year'].max())}",
                    sources=claim.sources, note=note, series=bounds, table=FDI_TABLE,
                    figure=claim_figure(claim, "bounds"))


def route_group_trade_check(flows: pd.DataFrame, claim: Claim) -> str:
    """The trade check of a corridor claim, described beside the rule: growth of the EU27's
    exports (Eurostat, one consistent reporter; Europe's exports carry no gold or energy
    outliers of the Central Asian exporters) to destinations grouped by the modelled route of
    ``check_route_year``, Middle Corridor minus Northern route. Empty text if unavailable."""
    from tradeflows.policy.corridors import route_variables

    inp = claim.inputs
    dests = list(inp["check_destinations"])
    (p0, p1), (q0, q1) = inp["pre"], (inp["post"][0], inp["check_last_year"])
    eu = flows[(flows["source"] == "eurostat") & (flows["exporter"] == "EUU")
               & flows["importer"].isin(dests)]
    if eu.empty:
        return ""
    routes = route_variables([(inp["check_europe_node"], d) for d in dests],
                             [int(inp["check_route_year"])]).set_index("importer")
    groups = {"middle": routes.index[routes["uses_middle_corridor"] == 1].tolist(),
              "northern": routes.index[routes["uses_northern"] == 1].tolist()}
    growth = {}
    for g, members in groups.items():
        rows = eu[eu["importer"].isin(members)].groupby("year")["value_usd"].sum()
        a = rows[rows.index.to_series().between(p0, p1)]
        b = rows[rows.index.to_series().between(q0, q1)]
        if a.empty or b.empty:
            return ""
        growth[g] = float(np.log(b.mean() / a.mean()))
    return (f" Trade check (described, not in the rule): EU27 exports to destinations whose "
            f"{inp['check_route_year']} route uses the Middle Corridor "
            f"({', '.join(groups['middle'])}) grew by {growth['middle']:+.2f} log points from "
            f"{p0}-{p1} to {q0}-{q1}, to those routed through Russia "
            f"({', '.join(groups['northern'])}) by {growth['northern']:+.2f}; difference "
            f"{growth['middle'] - growth['northern']:+.2f}. Groups are modelled routes, not "
            "observed ones.")
