"""Claims read from other stages' outputs: GE counterfactuals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tradeflows.config import Paths
from tradeflows.studies.azerbaijan.claims.catalog import Claim
from tradeflows.studies.azerbaijan.claims.evidence import (
    Evidence,
    Untestable,
    claim_figure,
    read_parquet_or_untestable,
    require,
)
from tradeflows.studies.azerbaijan.claims.power import mde_analytic


def within_draw_minimum(by_draw: pd.DataFrame, countries: list[str], measure: str
                        ) -> np.ndarray:
    """For each draw, the minimum over ``countries`` of ``measure`` (draws missing a country
    are left out): the distribution of the statistic 'worst-off country'."""
    rows = by_draw[by_draw["country"].isin(countries)]
    wide = rows.pivot_table(index="draw", columns="country", values=measure)
    wide = wide.reindex(columns=countries).dropna()
    return wide.min(axis=1).to_numpy(float)


def sensitivity(by_draw: pd.DataFrame, countries: list[str], measure: str) -> str:
    """How the within-draw minimum moves with each drawn coefficient (``coef_<term>``
    columns): its mean over the draws in the lowest and highest tenth of the coefficient."""
    parts = []
    for col in [c for c in by_draw.columns if c.startswith("coef_")]:
        rows = by_draw[by_draw["country"].isin(countries)]
        wide = rows.pivot_table(index="draw", columns="country", values=measure)
        wide = wide.reindex(columns=countries).dropna()
        coef = rows.groupby("draw")[col].first().reindex(wide.index)
        lo, hi = coef.quantile([0.1, 0.9])
        mins = wide.min(axis=1)
        parts.append(f"{col[5:]} drawn in [{coef.min():.2f}, {coef.max():.2f}]; worst-off "
                     f"change {mins[coef <= lo].mean():+.4f}% where it is at most {lo:.2f} "
                     f"and {mins[coef >= hi].mean():+.4f}% where it is at least {hi:.2f}")
    return ("Sensitivity: " + "; ".join(parts) + ".") if parts else ""


def _baseline_note(notes: list[str]) -> str:
    """What the scenario's notes say of its baseline (fitted with a lifted blockade, or the
    observed flows)."""
    said = [n for n in notes if n.startswith(("fitted baseline", "blockade:"))]
    if said:
        return " ".join(f"{n[0].upper()}{n[1:]}." for n in said)
    return "Baseline: observed flows (a zero stays zero; no blockade is lifted)."


def counterfactual_evidence(claim: Claim, paths: Paths) -> Evidence:
    """The minimum over countries of a GE change (percent), with the percentile interval of
    that minimum computed within each draw of the partial effects
    (``counterfactuals/<scenario>_draws.parquet``)."""
    scenario, measure = claim.inputs["scenario"], claim.inputs["measure"]
    countries = list(claim.inputs["countries"])
    file = paths.counterfactuals / f"{scenario}.parquet"
    cf = read_parquet_or_untestable(file, f"the {scenario!r} counterfactual",
                                    f"simulate {scenario}")
    require(cf, ["country", measure], file.name)
    draws_file = paths.counterfactuals / f"{scenario}_draws.parquet"
    by_draw = read_parquet_or_untestable(draws_file, f"the draws of {scenario!r}",
                                         f"simulate {scenario}")
    require(by_draw, ["draw", "country", measure], draws_file.name)
    rows = cf[cf["country"].isin(countries)].set_index("country")
    missing = [c for c in countries if c not in rows.index]
    if missing:
        raise Untestable(f"{file.name} has no result for {missing}")
    point = rows.loc[countries, measure].astype(float)
    mins = within_draw_minimum(by_draw, countries, measure)
    if mins.size < 20:
        raise Untestable(f"only {mins.size} converged draws with every country")
    level = claim.rule.level or 0.95
    lo, hi = np.quantile(mins, [(1 - level) / 2, (1 + level) / 2])
    target = claim.power.target if claim.power is not None else 0.8
    worst = point.idxmin()
    share_worst = {c: float((by_draw[by_draw["country"].isin(countries)]
                             .pivot_table(index="draw", columns="country", values=measure)
                             .reindex(columns=countries).dropna().idxmin(axis=1) == c).mean())
                   for c in countries}
    listed = "; ".join(f"{c} {v:+.4f}" for c, v in point.items())
    meta_file = paths.counterfactuals / f"{scenario}.json"
    notes = json.loads(meta_file.read_text())["notes"] if meta_file.is_file() else []
    cited = next((n for n in notes if "published estimate" in n), "")
    base = cf["baseline_year"].dropna() if "baseline_year" in cf.columns else pd.Series()
    note = (f"{measure} change (%) by country at the point estimate: {listed}. Worst off: "
            f"{worst}. Interval: percentiles of the minimum over countries within each of "
            f"{mins.size} draws (share of draws in which each country is the worst off: "
            + ", ".join(f"{c} {s:.2f}" for c, s in share_worst.items() if s > 0)
            + "). " + (f"{cited}. " if cited else "")
            + (f"{sens} " if (sens := sensitivity(by_draw, countries, measure)) else "")
            + _baseline_note(notes))
    series = pd.DataFrame({"draw": np.arange(mins.size), "minimum": mins})
    return Evidence(estimate=float(point.min()), conf_low=float(lo), conf_high=float(hi),
                    nobs=mins.size, years=f"baseline {int(base.iloc[0])}" if len(base) else "",
                    sources=claim.sources, note=note, series=series,
                    table=f"tables/ge_{scenario}", figure=claim_figure(claim, "minimum"),
                    mde=mde_analytic(float(np.std(mins, ddof=1)), level, target),
                    mde_note=("analytic, from the dispersion of the within-draw minimum "
                              "(draws of the partial effects)"))
