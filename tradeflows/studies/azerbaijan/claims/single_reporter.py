"""Single-reporter comparison: a partner's share in what a group of reporters reports.

Reporters that publish their trade with every partner before and after a date (here the
national statistics of KAZ, KGZ, UZB and Eurostat's EU27 exports) let one compare their
trade with one partner with their trade with all others, in one source family per reporter,
without relying on the partner's own reports (which may be missing after the date).

For reporter group G, partner p and periods pre/post:
``S_G(p, period)`` = sum over the group's reporters and the period's years of the trade
reported with p / the same sum over all partners; ``g_G(p) = ln S_G(p, post) - ln S_G(p, pre)``;
the triple difference against control reporters C is ``h(p) = g_G(p) - g_C(p)``. Placebo
partners (comparable in size) give the null distribution of ``h``: the partner's rank, a
one-sided permutation p-value, the minimum detectable effect and the inverted-test interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeflows.studies.azerbaijan.claims.catalog import Claim
from tradeflows.studies.azerbaijan.claims.evidence import (
    Evidence,
    Untestable,
    claim_figure,
    require,
)
from tradeflows.studies.azerbaijan.claims.power import (
    interval_from_null,
    mde_from_null,
    permutation_pvalue,
)

SERIES_TABLE, PLACEBO_FIGURE = "tables/claim_c1_placebo", "figures/claim_c1_placebo"


def reported_by(flows: pd.DataFrame, reporters: list[str], source: str) -> pd.DataFrame:
    """Trade reported by ``reporters`` in ``source``, both directions summed:
    ``reporter, partner, year, value_usd`` (USD)."""
    require(flows, ["year", "exporter", "importer", "value_usd", "reporter_side", "source"],
            "flows.parquet")
    rows = flows[flows["source"] == source]
    reporter = rows["exporter"].where(rows["reporter_side"] == "exporter", rows["importer"])
    partner = rows["importer"].where(rows["reporter_side"] == "exporter", rows["exporter"])
    out = pd.DataFrame({"reporter": reporter, "partner": partner, "year": rows["year"],
                        "value_usd": rows["value_usd"]})
    out = out[out["reporter"].isin(reporters) & (out["reporter"] != out["partner"])
              & out["value_usd"].notna()]
    return (out.groupby(["reporter", "partner", "year"], as_index=False)["value_usd"].sum()
            .sort_values(["reporter", "partner", "year"]).reset_index(drop=True))


def period_totals(rep: pd.DataFrame, years: tuple[int, int]) -> pd.Series:
    """Trade by partner summed over the group's reporters and the years (USD)."""
    sub = rep[rep["year"].between(*years)]
    return sub.groupby("partner")["value_usd"].sum()


def log_share_change(rep: pd.DataFrame, pre: tuple[int, int], post: tuple[int, int]
                     ) -> pd.DataFrame:
    """Per partner: ``pre_usd, post_usd`` (period sums) and ``g`` = change of the log share
    in the group's reported trade (NaN where a period is zero)."""
    a, b = period_totals(rep, pre), period_totals(rep, post)
    out = pd.concat({"pre_usd": a, "post_usd": b}, axis=1).fillna(0.0)
    share_pre = out["pre_usd"] / a.sum()
    share_post = out["post_usd"] / b.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(share_post) - np.log(share_pre)
    out["g"] = g.where((out["pre_usd"] > 0) & (out["post_usd"] > 0))
    return out


def _years_reported(rep: pd.DataFrame, reporters: list[str], years: tuple[int, int]) -> str:
    missing = [(r, y) for r in reporters for y in range(years[0], years[1] + 1)
               if rep[(rep["reporter"] == r) & (rep["year"] == y)].empty]
    return ", ".join(f"{r} {y}" for r, y in missing)


def triple_difference(flows: pd.DataFrame, claim: Claim) -> pd.DataFrame:
    """Per partner: the treated group's and the controls' log share changes and ``h``.

    Columns ``partner, pre_usd, post_usd, g_treated, g_control, h``; partners with positive
    trade in both periods for both groups only."""
    inp = claim.inputs
    pre, post = tuple(inp["pre"]), tuple(inp["post"])
    treated = reported_by(flows, list(inp["reporters"]), inp["reporter_source"])
    control = reported_by(flows, list(inp["controls"]), inp["control_source"])
    if treated.empty or control.empty:
        raise Untestable("flows.parquet has no trade reported by "
                         f"{'/'.join(inp['reporters'] if treated.empty else inp['controls'])}")
    gt, gc = log_share_change(treated, pre, post), log_share_change(control, pre, post)
    out = gt.join(gc[["g"]].rename(columns={"g": "g_control"}), how="inner")
    out = out.rename(columns={"g": "g_treated"})
    out["h"] = out["g_treated"] - out["g_control"]
    return out[out["h"].notna()].rename_axis("partner").reset_index()


def level_growth_evidence(flows: pd.DataFrame, claim: Claim) -> Evidence:
    """Log growth of the mean annual trade the reporters report with the partner."""
    inp = claim.inputs
    pre, post = tuple(inp["pre"]), tuple(inp["post"])
    rep = reported_by(flows, list(inp["reporters"]), inp["reporter_source"])
    rep = rep[rep["partner"] == inp["partner"]]
    by_year = rep.groupby("year")["value_usd"].sum()
    a = by_year[by_year.index.to_series().between(*pre)]
    b = by_year[by_year.index.to_series().between(*post)]
    if a.empty or b.empty or a.mean() <= 0 or b.mean() <= 0:
        raise Untestable(f"no reported trade of {'/'.join(inp['reporters'])} with "
                         f"{inp['partner']} in {pre[0]}-{pre[1]} or {post[0]}-{post[1]}")
    est = float(np.log(b.mean() / a.mean()))
    rep = rep[rep["year"].between(pre[0], post[1])]
    by_rep = rep.pivot_table(index="year", columns="reporter", values="value_usd",
                             aggfunc="sum") / 1e6
    listed = "; ".join(f"{y}: " + ", ".join(f"{r} {v:,.0f}" for r, v in row.dropna().items())
                       for y, row in by_rep.iterrows())
    gaps = _years_reported(rep, list(inp["reporters"]), (pre[0], post[1]))
    note = (f"Mean {a.mean() / 1e6:,.0f} USD mn a year in {pre[0]}-{pre[1]}, "
            f"{b.mean() / 1e6:,.0f} in {post[0]}-{post[1]}. By reporter (USD mn): {listed}."
            + (f" No report with {inp['partner']} for: {gaps}." if gaps else ""))
    series = by_year.rename("value").rename_axis("year").reset_index()
    return Evidence(estimate=est, conf_low=est, conf_high=est, nobs=len(rep),
                    years=f"{pre[0]}-{post[1]}", sources=claim.sources, note=note,
                    series=series.assign(value=series["value"] / 1e6),
                    figure=claim_figure(claim, "series"))


def single_reporter_evidence(flows: pd.DataFrame, claim: Claim) -> Evidence:
    """Triple difference of log shares for the claim's partner, with its placebo ranking.

    The placebo distribution (comparable partners) and the MDE are computed first; the
    partner's own statistic is read after them."""
    if claim.inputs.get("statistic") == "level_growth":
        return level_growth_evidence(flows, claim)
    inp = claim.inputs
    partner = inp["partner"]
    level = claim.rule.level or 0.95
    table = triple_difference(flows, claim)
    if partner not in set(table["partner"]):
        raise Untestable(f"{partner} lacks positive reported trade in both periods with "
                         "both reporter groups")
    own_pre = float(table.loc[table["partner"] == partner, "pre_usd"].iloc[0])
    lo_band, hi_band = inp["placebo_band"]
    placebo = table[(table["partner"] != partner)
                    & table["pre_usd"].between(lo_band * own_pre, hi_band * own_pre)]
    if len(placebo) < 19:
        raise Untestable(f"only {len(placebo)} placebo partners of comparable size; a 5% "
                         "placebo test needs at least 19")
    draws = placebo["h"].to_numpy()
    target = claim.power.target if claim.power is not None else 0.8
    mde = mde_from_null(draws, level, target, claim.rule.direction)
    own = table[table["partner"] == partner].iloc[0]
    h = float(own["h"])
    lo, hi = interval_from_null(h, draws, level)
    p = permutation_pvalue(h, draws, claim.rule.direction)
    rank = int((draws > h).sum()) + 1
    series = table.assign(role=np.where(table["partner"] == partner, "treated",
                                        np.where(table["partner"].isin(placebo["partner"]),
                                                 "placebo", "outside band")))
    note = (f"{partner}: log share change {own['g_treated']:+.3f} in the trade reported by "
            f"{'/'.join(inp['reporters'])} and {own['g_control']:+.3f} in that reported by "
            f"{'/'.join(inp['controls'])}; h = {h:+.3f}. Rank {rank} of {len(draws) + 1} "
            f"among {len(draws)} placebo partners of comparable size; one-sided permutation "
            f"p = {p:.3f}.")
    mde_note = (f"{100 * target:g}% power at the {100 * (1 - level):g}% level from the "
                f"placebo distribution of {len(draws)} partners (before reading {partner}'s "
                "statistic)")
    return Evidence(estimate=h, conf_low=lo, conf_high=hi, nobs=len(draws) + 1,
                    years=f"{inp['pre'][0]}-{inp['post'][1]}", sources=claim.sources,
                    note=note, series=series, table=SERIES_TABLE, figure=PLACEBO_FIGURE,
                    mde=mde, mde_note=mde_note,
                    extra={"permutation p-value": p, "rank": rank,
                           "placebo partners": len(draws)})
