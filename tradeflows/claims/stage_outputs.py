"""Claims read from other stages' outputs: gravity estimates and GE counterfactuals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tradeflows.claims.catalog import Claim
from tradeflows.claims.evidence import Evidence, Untestable, read_parquet_or_untestable, require
from tradeflows.config import Paths


def _interval(row: pd.Series, level: float | None) -> tuple[float, float]:
    est = float(row["estimate"])
    if level is None:
        return est, est
    if "std_error" in row.index and np.isfinite(row["std_error"]) and not (
            level == 0.95 and {"conf_low", "conf_high"} <= set(row.index)):
        z = stats.norm.ppf(0.5 + level / 2)
        return est - z * float(row["std_error"]), est + z * float(row["std_error"])
    if level != 0.95 or not {"conf_low", "conf_high"} <= set(row.index):
        raise Untestable(f"no standard error to form a {100 * level:g}% interval")
    return float(row["conf_low"]), float(row["conf_high"])


def estimate_evidence(claim: Claim, paths: Paths) -> Evidence:
    """One coefficient from ``estimates/application.parquet`` (term, and spec if given)."""
    file = paths.estimates / "application.parquet"
    est = read_parquet_or_untestable(file, "the gravity estimates", "estimate")
    require(est, ["term", "estimate"], file.name)
    term, spec = claim.inputs["term"], claim.inputs.get("spec")
    rows = est[est["term"] == term]
    if spec is not None and "spec" in rows.columns:
        rows = rows[rows["spec"] == spec]
    label = f"term {term!r}" + (f" of spec {spec!r}" if spec is not None else "")
    if rows.empty:
        raise Untestable(f"{file.name} has no {label}")
    if len(rows) > 1:
        raise Untestable(f"{file.name} has {len(rows)} rows for {label}; the catalog must "
                         "name one")
    row = rows.iloc[0]
    lo, hi = _interval(row, claim.rule.level)
    get = row.get
    years = str(get("years", "")) if pd.notna(get("years", "")) else ""
    nobs = int(get("nobs")) if pd.notna(get("nobs", np.nan)) else None
    note = f"{label} from {file.name}"
    if "std_error" in row.index:
        note += f"; se {float(row['std_error']):.3f}"
    table, figure = claim.inputs.get("table"), claim.inputs.get("figure")
    return Evidence(estimate=float(row["estimate"]), conf_low=lo, conf_high=hi, nobs=nobs,
                    years=years, sources=claim.sources, note=note, table=table, figure=figure)


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
