"""Claim 1: trade of a group of pairs after a date, beyond the structural-gravity prediction.

PPML with exporter-year, importer-year and pair fixed effects plus one indicator for the
treated pairs in the post-period; its coefficient is the log gap between their trade and the
gravity prediction (exp(b) - 1 in proportion).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tradeflows.claims.catalog import Claim
from tradeflows.claims.evidence import Evidence, Untestable, require, year_span

TERM = "treated_post"


def gap_sample(panel: pd.DataFrame, claim: Claim) -> pd.DataFrame:
    """International pairs touching ``focus`` in the window with reported trade (USD million)
    and positive total trade, with the ``treated_post`` indicator and the fixed-effect
    identifiers ``exp_year, imp_year, pair``. Pairs whose trade is zero in every year carry no
    information on a coefficient once the pair fixed effect is in."""
    require(panel, ["year", "exporter", "importer", "trade"], "the panel")
    first, last = claim.window
    focus = set(claim.inputs["focus"])
    a, b = set(claim.inputs["side_a"]), set(claim.inputs["side_b"])
    df = panel[panel["year"].between(first, last) & panel["trade"].notna()
               & (panel["exporter"] != panel["importer"])
               & (panel["exporter"].isin(focus) | panel["importer"].isin(focus))]
    df = df[["year", "exporter", "importer", "trade"]].copy()
    positive = df.groupby(["exporter", "importer"])["trade"].transform("sum") > 0
    df = df[positive]
    df["trade"] = df["trade"] / 1e6  # USD million (PPML coefficients are scale-free)
    treated = ((df["exporter"].isin(a) & df["importer"].isin(b))
               | (df["exporter"].isin(b) & df["importer"].isin(a)))
    df[TERM] = (treated & (df["year"] >= int(claim.inputs["start"]))).astype("float64")
    year = df["year"].astype(str)
    df["exp_year"] = df["exporter"] + "_" + year
    df["imp_year"] = df["importer"] + "_" + year
    df["pair"] = df["exporter"] + "_" + df["importer"]
    return df.reset_index(drop=True)


def _check_identified(df: pd.DataFrame, claim: Claim, start: int) -> None:
    """The indicator is absorbed by side A's exporter-year and importer-year effects when, in
    some post year, side A's observed trade is only with side B: then raise ``Untestable``."""
    a = set(claim.inputs["side_a"])
    post = df[df["year"] >= start]
    touches_a = post["exporter"].isin(a) | post["importer"].isin(a)
    for year in sorted(post.loc[post[TERM] == 1, "year"].unique()):
        controls = post[touches_a & (post["year"] == year) & (post[TERM] == 0)]
        if controls.empty:
            raise Untestable(
                f"in {year} the panel observes {'/'.join(sorted(a))}'s trade only with "
                f"{'/'.join(claim.inputs['side_b'])}, so its exporter-year and importer-year "
                "fixed effects absorb the post-period indicator (not identified)")


def gravity_gap_evidence(claim: Claim, panel: pd.DataFrame) -> Evidence:
    """The PPML coefficient of ``treated_post`` with a pair-clustered normal interval."""
    from tradeflows import ppml  # estimation core (imported here: heavy)

    df = gap_sample(panel, claim)
    start, last = int(claim.inputs["start"]), claim.window[1]
    treated_post = df[df[TERM] == 1]
    if treated_post.empty:
        raise Untestable(f"the panel has no reported trade of the treated pairs in "
                         f"{start}-{last}")
    treated_pairs = set(treated_post["pair"])
    pre = df[(df["year"] < start) & df["pair"].isin(treated_pairs)]
    if pre.empty:
        raise Untestable(f"the treated pairs have no reported trade before {start}")
    _check_identified(df, claim, start)
    res = ppml(df, f"trade ~ {TERM} | exp_year + imp_year + pair", vcov={"CL1": "pair"})
    if TERM not in res.coef.index:
        raise Untestable(f"{TERM} is collinear with the fixed effects (not identified)")
    b, se = float(res.coef[TERM]), float(res.se[TERM])
    z = stats.norm.ppf(0.5 + (claim.rule.level or 0.95) / 2)
    note = (f"Gap {100 * np.expm1(b):+.0f}% relative to the gravity prediction "
            f"(se {se:.3f}, clustered by pair); {len(treated_post)} treated pair-years from "
            f"{len(treated_pairs)} pairs in {start}-{last}. After 2020 only the national "
            "statistics of KAZ, KGZ and UZB report, so the basis of the series changes.")
    return Evidence(estimate=b, conf_low=b - z * se, conf_high=b + z * se, nobs=int(res.nobs),
                    years=year_span(df["year"]), sources=claim.sources, note=note)
