"""Event study of a route opening on the pairs it serves, with its pre-trends."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tradeflows.studies.azerbaijan.claims.catalog import Claim
from tradeflows.studies.azerbaijan.claims.evidence import Evidence, Untestable, require, year_span
from tradeflows.studies.azerbaijan.claims.power import (
    interval_from_null,
    mde_analytic,
    mde_from_null,
    permutation_pvalue,
)
from tradeflows.studies.azerbaijan.claims.ri_gravity import gravity_sample

EVENT_TABLE, EVENT_FIGURE = "tables/claim_c3_event_study", "figures/claim_c3_event_study"


def _name(k: int) -> str:
    return f"ev_m{-k}" if k < 0 else f"ev_p{k}"


def event_sample(panel: pd.DataFrame, claim: Claim) -> tuple[pd.DataFrame, list[int]]:
    """Pairs among ``countries`` (the gravity sample of :mod:`ri_gravity`), the treated
    indicator (origin-destination pairs whose route in ``route_year`` uses BTK; unknown
    routes count as not treated) and one dummy per event time except -1."""
    inp = claim.inputs
    require(panel, ["uses_btk"], "the panel")
    df = gravity_sample(panel, claim, [])
    origins, dests = set(inp["origins"]), set(inp["destinations"])
    route = panel.loc[panel["year"] == int(inp["route_year"]),
                      ["exporter", "importer", "uses_btk"]]
    df = df.merge(route.rename(columns={"uses_btk": "route_btk"}), how="left",
                  on=["exporter", "importer"])
    od = ((df["exporter"].isin(origins) & df["importer"].isin(dests))
          | (df["exporter"].isin(dests) & df["importer"].isin(origins)))
    df["treated"] = (od & (df["route_btk"] == 1)).astype(float)
    times = [t for t in range(-int(inp["leads"]), int(inp["lags"]) + 1) if t != -1]
    return _with_events(df, df["treated"], times, int(inp["event_year"])), times


def _with_events(df: pd.DataFrame, treated: pd.Series, times: list[int],
                 event_year: int) -> pd.DataFrame:
    """``df`` with the event dummies of the pairs flagged in ``treated`` (0/1 per row)."""
    k = df["year"] - event_year
    return df.assign(**{_name(t): (treated * (k == t)).astype(float) for t in times})


def _fit(df: pd.DataFrame, names: list[str]):
    from tradeflows import ppml  # estimation core (imported here: heavy)

    return ppml(df, "trade ~ " + " + ".join(names) + " | exp_year + imp_year + pair",
                vcov={"CL1": "upair"}, separation=("fe",))


def _randomization(df: pd.DataFrame, times: list[int], claim: Claim) -> np.ndarray:
    """Mean post coefficient with the treated undirected pairs redrawn at random among the
    sample's undirected pairs (same number), ``ri_draws`` times (seed ``ri_seed``)."""
    inp = claim.inputs
    pairs = sorted(df["upair"].unique())
    k = df.loc[df["treated"] == 1, "upair"].nunique()
    names = [_name(t) for t in times]
    post = [_name(t) for t in times if t > 0]
    rng = np.random.default_rng(int(inp["ri_seed"]))
    out = []
    for _ in range(int(inp["ri_draws"])):
        chosen = set(rng.choice(pairs, size=k, replace=False))
        placebo = _with_events(df, df["upair"].isin(chosen).astype(float), times,
                               int(inp["event_year"]))
        res = _fit(placebo, names)
        if all(n in res.coef.index for n in post):
            out.append(float(res.coef[post].mean()))
    return np.asarray(out)


def event_study_evidence(claim: Claim, panel: pd.DataFrame) -> Evidence:
    """Mean post-event coefficient with a randomization-inference interval (the treated
    pairs redrawn among the sample's pairs; cluster-robust interval alongside); joint
    pre-trend test."""
    df, times = event_sample(panel, claim)
    treated_pairs = df.loc[df["treated"] == 1, "upair"].nunique()
    if treated_pairs == 0:
        raise Untestable("no pair of the sample is served by the route")
    names = [_name(t) for t in times]
    level = claim.rule.level or 0.95
    target = claim.power.target if claim.power is not None else 0.8
    draws = _randomization(df, times, claim)
    if draws.size < 19:
        raise Untestable(f"only {draws.size} randomization draws could be estimated")
    mde = mde_from_null(draws, level, target, claim.rule.direction)  # before the estimate
    res = _fit(df, names)
    post = [_name(t) for t in times if t > 0]
    pre = [_name(t) for t in times if t < -1]
    if any(n not in res.coef.index for n in post):
        raise Untestable("post-event coefficients are not identified")
    a = pd.Series(1.0 / len(post), index=post)
    est = float(res.coef[post].mean())
    se = float(np.sqrt(a @ res.vcov.loc[post, post] @ a))
    z = stats.norm.ppf(0.5 + level / 2)
    lo, hi = interval_from_null(est, draws, level)
    p_ri = permutation_pvalue(est, draws, claim.rule.direction)
    pre_ok = [n for n in pre if n in res.coef.index]
    b = res.coef[pre_ok].to_numpy()
    v = res.vcov.loc[pre_ok, pre_ok].to_numpy()
    wald = float(b @ np.linalg.pinv(v) @ b)
    p_pre = float(stats.chi2.sf(wald, len(pre_ok))) if pre_ok else float("nan")
    coefs = pd.DataFrame({"event_time": [t for t in times if _name(t) in res.coef.index],
                          "estimate": [float(res.coef[n]) for n in names
                                       if n in res.coef.index],
                          "std_error": [float(res.se[n]) for n in names
                                        if n in res.coef.index]})
    coefs["conf_low"] = coefs["estimate"] - z * coefs["std_error"]
    coefs["conf_high"] = coefs["estimate"] + z * coefs["std_error"]
    od = df[df["treated"] == 1][["exporter", "importer"]].drop_duplicates()
    served = ", ".join(f"{e}-{i}" for e, i in od.itertuples(index=False))
    note = (f"{treated_pairs} treated undirected pairs ({served}); "
            f"{df['upair'].nunique()} clusters. Randomization p = {p_ri:.3f} (one-sided, "
            f"{draws.size} draws); cluster-robust (CR1) se {se:.3f}, interval "
            f"[{est - z * se:+.3f}, {est + z * se:+.3f}], analytic MDE "
            f"{mde_analytic(se, level, target):.3f}. Pre-trends: joint Wald "
            f"chi2({len(pre_ok)}) = {wald:.2f}, p = {p_pre:.3f}. Event-time coefficients "
            "(CR1 intervals) in the table.")
    blocks = (f"the pre-trend test rejects at 5% (p = {p_pre:.3f})"
              if np.isfinite(p_pre) and p_pre < 0.05 else "")
    return Evidence(estimate=est, conf_low=lo, conf_high=hi,
                    nobs=int(res.nobs), years=year_span(df["year"]), sources=claim.sources,
                    note=note, series=coefs, table=EVENT_TABLE, figure=EVENT_FIGURE,
                    mde=mde,
                    mde_note=(f"{100 * target:g}% power at the {100 * (1 - level):g}% level "
                              f"from {draws.size} randomization draws"),
                    extra={"pre-trend p-value": p_pre, "treated undirected pairs":
                           treated_pairs, "randomization p-value": p_ri,
                           "cluster-robust se": se},
                    blocks_support=blocks)
