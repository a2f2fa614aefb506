"""Claim 6: concentration of a country's trade across partners (Herfindahl-Hirschman index)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from tradeflows.claims.catalog import Claim
from tradeflows.claims.evidence import Evidence, Untestable, require, year_span


def partner_hhi(panel: pd.DataFrame, country: str) -> pd.DataFrame:
    """HHI of ``country``'s trade (exports + imports, USD) across partners, by year.

    Returns ``year, hhi`` (0-10000 points), ``partners`` (with positive trade) and
    ``total_usd``. Domestic flows and unreported (NaN) flows are left out.
    """
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
    """OLS ``hhi = a + b t + g (t - kink)+``; returns ``g`` and its classical t-interval."""
    t = series["year"].to_numpy(dtype=float)
    x = np.column_stack([np.ones_like(t), t - kink, np.clip(t - kink, 0, None)])
    fit = sm.OLS(series["hhi"].to_numpy(dtype=float), x).fit()
    lo, hi = fit.conf_int(alpha=1 - level)[2]
    return float(fit.params[2]), float(lo), float(hi)


def concentration_evidence(claim: Claim, panel: pd.DataFrame) -> Evidence:
    """Evidence for a concentration claim: the change in the HHI trend after the kink year."""
    country, kink = claim.inputs["country"], int(claim.inputs["kink"])
    first, last = claim.window
    series = partner_hhi(panel, country)
    series = series[series["year"].between(first, last)].reset_index(drop=True)
    before = int((series["year"] < kink).sum())
    after = int((series["year"] > kink).sum())
    if before < 2 or after < 2 or len(series) < 5:
        raise Untestable(f"{country}'s trade by partner covers {len(series)} year(s) in "
                         f"{first}-{last} ({before} before and {after} after {kink}); "
                         "the trend test needs at least 2 on each side and 5 in all")
    g, lo, hi = kink_trend(series, kink, claim.rule.level or 0.95)
    first_hhi, last_hhi = series["hhi"].iloc[0], series["hhi"].iloc[-1]
    note = (f"HHI {first_hhi:.0f} in {series['year'].iloc[0]} and {last_hhi:.0f} in "
            f"{series['year'].iloc[-1]} (0-10000 points); slope change after {kink} "
            f"{g:+.1f} points/year. Years are few and serially correlated, so the classical "
            "interval is optimistic.")
    return Evidence(estimate=g, conf_low=lo, conf_high=hi, nobs=len(series),
                    years=year_span(series["year"]), sources=claim.sources, note=note,
                    series=series, table="tables/claim_c6_concentration",
                    figure="figures/concentration")
