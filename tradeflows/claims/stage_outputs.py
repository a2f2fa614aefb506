"""Claims read from other stages' outputs: GE counterfactuals."""

from __future__ import annotations

import pandas as pd

from tradeflows.claims.catalog import Claim
from tradeflows.claims.evidence import Evidence, Untestable, read_parquet_or_untestable, require
from tradeflows.config import Paths


def counterfactual_evidence(claim: Claim, paths: Paths) -> Evidence:
    """The minimum over countries of a GE change (percent) and of its interval bounds, from
    ``counterfactuals/<scenario>.parquet`` (columns country, q, q_lower, q_upper, level)."""
    scenario, measure = claim.inputs["scenario"], claim.inputs["measure"]
    countries = list(claim.inputs["countries"])
    file = paths.counterfactuals / f"{scenario}.parquet"
    cf = read_parquet_or_untestable(file, f"the {scenario!r} counterfactual",
                                    f"simulate {scenario}")
    low, high = f"{measure}_lower", f"{measure}_upper"
    require(cf, ["country", measure, low, high], file.name)
    levels = set(cf["level"].dropna().astype(float)) if "level" in cf.columns else set()
    if claim.rule.level is not None and levels and levels != {claim.rule.level}:
        raise Untestable(f"{file.name} has intervals at level {sorted(levels)}, the rule "
                         f"needs {claim.rule.level}")
    base = cf["baseline_year"].dropna() if "baseline_year" in cf.columns else pd.Series()
    years = f"baseline {int(base.iloc[0])}" if len(base) else ""
    rows = cf[cf["country"].isin(countries)].set_index("country")
    missing = [c for c in countries if c not in rows.index]
    if missing:
        raise Untestable(f"{file.name} has no result for {missing}")
    rows = rows.loc[countries, [measure, low, high]].astype(float)
    listed = "; ".join(f"{c} {r[measure]:+.3g} [{r[low]:+.3g}, {r[high]:+.3g}]"
                       for c, r in rows.iterrows())
    note = f"{measure} change (%) by country, with interval: {listed}"
    series = rows.reset_index()
    return Evidence(estimate=float(rows[measure].min()), conf_low=float(rows[low].min()),
                    conf_high=float(rows[high].min()), nobs=len(rows), years=years,
                    sources=claim.sources, note=note, series=series,
                    table=f"tables/ge_{scenario}", figure=f"figures/ge_{scenario}")
