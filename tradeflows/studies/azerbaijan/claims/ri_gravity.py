"""A membership effect in structural gravity with randomization inference.

With few treated clusters (about ten undirected pairs), cluster-robust intervals are
unreliable. Randomization inference reassigns the members' start years at random among the
sample's countries, recomputes the membership indicator and refits the same PPML; the
distribution of the placebo coefficients is the null distribution, from which the minimum
detectable effect (before the estimate is read), the p-value and the inverted-test interval
follow (:mod:`tradeflows.studies.azerbaijan.claims.power`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tradeflows.errors import SpecificationError
from tradeflows.studies.azerbaijan.claims.catalog import Claim
from tradeflows.studies.azerbaijan.claims.evidence import Evidence, Untestable, require, year_span
from tradeflows.studies.azerbaijan.claims.power import (
    interval_from_null,
    mde_analytic,
    mde_from_null,
    permutation_pvalue,
)

RI_FIGURE = "figures/claim_c2_randomization"


def gravity_sample(panel: pd.DataFrame, claim: Claim, columns: list[str]) -> pd.DataFrame:
    """International pairs among the claim's countries in its window with trade reported in
    the claim's source family (``inputs.source``; rows of other families are left out and
    counted in ``attrs["dropped_other_source"]``), trade in USD million, with the
    fixed-effect ids and the undirected pair ``upair``."""
    require(panel, ["year", "exporter", "importer", "trade", "trade_source", *columns],
            "the panel")
    first, last = claim.window
    c = set(claim.inputs["countries"])
    df = panel[panel["year"].between(first, last) & panel["exporter"].isin(c)
               & panel["importer"].isin(c) & (panel["exporter"] != panel["importer"])
               & panel["trade"].notna()]
    same = df["trade_source"] == claim.inputs["source"]
    dropped = int((~same).sum())
    df = df[same]
    if df.empty:
        raise Untestable(f"no trade reported in {claim.inputs['source']} in the sample")
    df = df[["year", "exporter", "importer", "trade", *columns]].copy()
    for col in columns:
        df[col] = df[col].astype(float)
    df["trade"] = df["trade"] / 1e6
    year = df["year"].astype(str)
    df["exp_year"] = df["exporter"] + "_" + year
    df["imp_year"] = df["importer"] + "_" + year
    df["pair"] = df["exporter"] + "_" + df["importer"]
    lo = np.minimum(df["exporter"].to_numpy(), df["importer"].to_numpy())
    hi = np.maximum(df["exporter"].to_numpy(), df["importer"].to_numpy())
    df["upair"] = pd.Series(lo, index=df.index) + "_" + pd.Series(hi, index=df.index)
    out = df.reset_index(drop=True)
    out.attrs["dropped_other_source"] = dropped
    return out


def start_years(df: pd.DataFrame, term: str, members: list[str]) -> dict[str, int]:
    """First year in which each member has the indicator on with some partner."""
    on = df[df[term] == 1]
    first = pd.concat([on[["exporter", "year"]].rename(columns={"exporter": "c"}),
                       on[["importer", "year"]].rename(columns={"importer": "c"})])
    years = first.groupby("c")["year"].min()
    missing = [m for m in members if m not in years.index]
    if missing:
        raise Untestable(f"{term} is never on for {missing} in the sample")
    return {m: int(years[m]) for m in members}


def indicator(df: pd.DataFrame, starts: dict[str, int]) -> np.ndarray:
    """1 where both countries are members in the year (start year <= year)."""
    s = pd.Series(starts, dtype=float)
    e = df["exporter"].map(s).to_numpy(float)
    i = df["importer"].map(s).to_numpy(float)
    y = df["year"].to_numpy(float)
    return ((e <= y) & (i <= y)).astype(float)


def ri_gravity_evidence(claim: Claim, panel: pd.DataFrame) -> Evidence:
    """PPML coefficient of the membership indicator with randomization inference."""
    inp = claim.inputs
    term, controls = inp["term"], list(inp["controls"])
    members = list(inp["members"])
    df = gravity_sample(panel, claim, [term, *controls])
    starts = start_years(df, term, members)
    own = indicator(df, starts)
    if not np.array_equal(own, df[term].to_numpy()):
        raise Untestable(f"{term} in the panel is not 'both members by start year'; the "
                         "randomization design does not apply")
    countries = sorted(set(df["exporter"]) | set(df["importer"]))
    level = claim.rule.level or 0.95
    target = claim.power.target if claim.power is not None else 0.8
    start_list = list(starts.values())

    def placebo(rng: np.random.Generator) -> np.ndarray:
        """The members' start years given to as many countries drawn at random."""
        chosen = rng.choice(countries, size=len(start_list), replace=False)
        return indicator(df, dict(zip(chosen, start_list, strict=True)))

    from tradeflows.estimation.inference import randomization_inference  # heavy: imported here

    rhs = " + ".join([term, *controls])
    try:
        ri = randomization_inference(
            df, f"trade ~ {rhs} | exp_year + imp_year + pair", term, statistic="coef",
            draws=int(inp["draws"]), seed=int(inp["seed"]), assign=placebo,
            vcov={"CL1": "upair"}, separation=("fe",))
    except SpecificationError as exc:
        raise Untestable(f"{term} is collinear with the fixed effects (not identified)") \
            from exc
    draws_arr = ri.permuted[np.isfinite(ri.permuted)]
    if draws_arr.size < 19:
        raise Untestable(f"only {draws_arr.size} randomization draws could be estimated")
    mde = mde_from_null(draws_arr, level, target, claim.rule.direction)  # before the estimate
    res = ri.result
    b, se = float(res.coef[term]), float(res.se[term])
    lo, hi = interval_from_null(b, draws_arr, level)
    p = permutation_pvalue(b, draws_arr, claim.rule.direction)
    z = stats.norm.ppf(0.5 + level / 2)
    treated = df.loc[df[term] == 1, "upair"].nunique()
    note = (f"PPML coefficient {b:+.3f}; randomization p = {p:.3f} (one-sided, "
            f"{draws_arr.size} draws). Cluster-robust (undirected pair, "
            f"{df['upair'].nunique()} clusters, {treated} treated) se {se:.3f}, interval "
            f"[{b - z * se:+.3f}, {b + z * se:+.3f}]; analytic MDE from it "
            f"{mde_analytic(se, level, target):.3f}. Start years {starts}. "
            f"{df.attrs['dropped_other_source']} pair-years reported in another source "
            "family left out.")
    series = pd.DataFrame({"draw": np.arange(draws_arr.size), "coefficient": draws_arr})
    return Evidence(estimate=b, conf_low=lo, conf_high=hi, nobs=int(res.nobs),
                    years=year_span(df["year"]), sources=claim.sources, note=note,
                    series=series, figure=RI_FIGURE, mde=mde,
                    mde_note=(f"{100 * target:g}% power at the {100 * (1 - level):g}% level "
                              f"from {draws_arr.size} randomization draws"),
                    extra={"randomization p-value": p, "treated undirected pairs": treated,
                           "cluster-robust se": se})
