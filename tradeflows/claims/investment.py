"""Claim 7: foreign direct investment from Central Asia into Azerbaijan."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tradeflows.claims.catalog import Claim
from tradeflows.claims.evidence import Evidence, Untestable, require, year_span
from tradeflows.config import PACKAGE_DATA

EVENTS_FILE = PACKAGE_DATA / "events.csv"
FDI_TABLE, FDI_FIGURE = "tables/claim_c7_fdi", "figures/fdi_aze"  # relative to reports/


def investment_events(investors: list[str], file: Path = EVENTS_FILE) -> pd.DataFrame:
    """Dated ``investment`` events involving the given countries (as host or investor);
    empty if the events file is absent."""
    cols = ["event_id", "country_iso3", "partner_iso3", "start_date", "description"]
    if not file.exists():
        return pd.DataFrame(columns=cols)
    events = pd.read_csv(file, dtype=str, keep_default_na=False)
    if not set(cols) | {"kind"} <= set(events.columns):
        return pd.DataFrame(columns=cols)
    involved = events["country_iso3"].isin(investors) | events["partner_iso3"].isin(investors)
    keep = (events["kind"] == "investment") & involved
    return events.loc[keep, cols].sort_values(["start_date", "event_id"]).reset_index(drop=True)


def fdi_into(investment: pd.DataFrame, host: str, measure: str) -> pd.DataFrame:
    """Reported FDI into ``host`` by investor and year (``year, investor, value_usd``)."""
    require(investment, ["year", "investor", "host", "measure", "value_usd"], "investment data")
    rows = investment[(investment["host"] == host) & (investment["measure"] == measure)]
    return (rows[["year", "investor", "value_usd"]].sort_values(["year", "investor"])
            .reset_index(drop=True))


def _other_measure(investment: pd.DataFrame, host: str, investors: list[str], measure: str,
                   first: int, last: int) -> str:
    """What the other measure (stock vs flow) reports, described but outside the rule."""
    other = "stock" if measure == "flow" else "flow"
    rows = fdi_into(investment, host, other)
    rows = rows[rows["investor"].isin(investors) & rows["value_usd"].notna()
                & rows["year"].between(first, last)]
    if rows.empty:
        return ""
    year = int(rows["year"].max())
    last_rows = rows[rows["year"] == year]
    listed = ", ".join(f"{r.investor} {r.value_usd / 1e6:,.1f}"
                       for r in last_rows.itertuples())
    return (f" ({other}s are reported for {year}, USD million: {listed}; the rule stated "
            f"before estimation uses {measure}s, so they are described here, not decided on)")


def investment_evidence(claim: Claim, investment: pd.DataFrame,
                        events_file: Path = EVENTS_FILE) -> Evidence:
    """Total reported FDI from the claim's investors into its host over the window
    (USD million)."""
    host, investors = claim.inputs["host"], list(claim.inputs["investors"])
    measure = claim.inputs.get("measure", "flow")
    first, last = claim.window
    fdi = fdi_into(investment, host, measure)
    fdi = fdi[fdi["year"].between(first, last)]
    from_group = fdi[fdi["investor"].isin(investors) & fdi["value_usd"].notna()]
    if from_group.empty:
        raise Untestable(f"no {measure} of FDI from {', '.join(investors)} into {host} is "
                         f"reported in {first}-{last}"
                         + _other_measure(investment, host, investors, measure, first, last))
    total = float(from_group["value_usd"].sum()) / 1e6
    by_investor = from_group.groupby("investor")["value_usd"].sum()
    listed = ", ".join(f"{k} {v / 1e6:,.1f}" for k, v in by_investor.items())
    events = investment_events(investors, events_file)
    ev_text = (f" {len(events)} dated investment event(s) of these countries "
               f"({', '.join(events['event_id'])}) fall outside the FDI data's years and "
               "are not FDI statistics." if len(events) else "")
    note = (f"USD million by investor: {listed}; {len(from_group)} reported investor-year "
            f"figures ({host} as reporting host). The data end in {last}: they say nothing "
            f"about investment after {last}.{ev_text}")
    return Evidence(estimate=total, conf_low=total, conf_high=total, nobs=len(from_group),
                    years=year_span(from_group["year"]), sources=claim.sources, note=note,
                    table=FDI_TABLE, figure=FDI_FIGURE)
