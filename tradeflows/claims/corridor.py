"""Claim 4: did Central Asia/China-Europe trade shift from the Northern to the Middle Corridor?

Trade statistics do not record the route of a shipment. The test compares the trade growth
of pairs whose (pre-2022) cheapest route uses the Middle Corridor with that of pairs routed
through Russia, and reads it against the Middle Corridor cargo series (tonnes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.claims.catalog import Claim
from tradeflows.claims.evidence import Evidence, Untestable, require
from tradeflows.config import PACKAGE_DATA

CARGO_FILE = PACKAGE_DATA / "corridor_cargo.csv"
PREFERRED_REPORTER = "Ministry of Transport of Kazakhstan"
CORRIDOR_TABLE, CARGO_FIGURE = "tables/claim_c4_corridor", "figures/corridor_cargo"


def cargo_series(file: Path = CARGO_FILE) -> pd.DataFrame:
    """The preferred Middle Corridor series: ``year, cargo_mt`` (million tonnes, full years,
    Kazakhstan Ministry of Transport). Empty if the file is absent."""
    if not file.exists():
        return pd.DataFrame({"year": pd.Series(dtype="int64"),
                             "cargo_mt": pd.Series(dtype="float64")})
    raw = pd.read_csv(file, dtype={"period": str, "metric": str, "reported_by": str})
    keep = ((raw["period"] == "FY") & (raw["metric"] == "cargo")
            & raw["reported_by"].str.startswith(PREFERRED_REPORTER, na=False))
    out = raw.loc[keep, ["year", "value"]].rename(columns={"value": "cargo_mt"})
    return out.astype({"year": "int64", "cargo_mt": "float64"}).sort_values("year") \
        .reset_index(drop=True)


def _log_growth(trade: np.ndarray, post: np.ndarray, n_pre: int, n_post: int) -> float:
    """ln(mean annual total, post) - ln(mean annual total, pre) for rows of pairs x years."""
    return float(np.log(trade[:, post].sum() / n_post) - np.log(trade[:, ~post].sum() / n_pre))


def corridor_pairs(panel: pd.DataFrame, claim: Claim) -> pd.DataFrame:
    """Balanced pair-year trade of origin-Europe pairs with their pre-period route group."""
    require(panel, ["year", "exporter", "importer", "trade", "uses_middle_corridor",
                    "uses_northern"], "the panel")
    origin, europe = set(claim.inputs["origin"]), set(claim.inputs["europe"])
    (pre0, pre1), post1 = claim.inputs["pre"], claim.inputs["post"][1]
    pairs = panel[((panel["exporter"].isin(origin) & panel["importer"].isin(europe))
                   | (panel["exporter"].isin(europe) & panel["importer"].isin(origin)))
                  & panel["year"].between(pre0, post1)]
    years = list(range(pre0, post1 + 1))
    ok = pairs[pairs["trade"].notna()].groupby(["exporter", "importer"])["year"].nunique()
    balanced = ok[ok == len(years)].index
    pairs = pairs.set_index(["exporter", "importer"]).loc[lambda d: d.index.isin(balanced)]
    route = pairs[pairs["year"] == pre1][["uses_middle_corridor", "uses_northern"]]
    route = route.eq(True)  # missing route information counts as "not on that route"
    group = np.where(route["uses_middle_corridor"], "middle",
                     np.where(route["uses_northern"], "northern", "other"))
    groups = pd.Series(group, index=route.index, name="group")
    return pairs.join(groups).reset_index()[["exporter", "importer", "year", "trade", "group"]]


def corridor_evidence(claim: Claim, panel: pd.DataFrame,
                      cargo_file: Path = CARGO_FILE) -> Evidence:
    """Difference in log trade growth (Middle minus Northern pairs), pair-bootstrap interval."""
    (pre0, pre1), (post0, post1) = claim.inputs["pre"], claim.inputs["post"]
    if int(panel["year"].max()) < post1:
        raise Untestable(f"the panel ends in {int(panel['year'].max())}; the test needs "
                         f"trade to {post1}")
    long = corridor_pairs(panel, claim)
    counts = long.drop_duplicates(["exporter", "importer"])["group"].value_counts()
    n_mid, n_north = int(counts.get("middle", 0)), int(counts.get("northern", 0))
    if n_mid < 2 or n_north < 2:
        raise Untestable(f"pairs with trade reported every year {pre0}-{post1}: {n_mid} "
                         f"routed via the Middle Corridor and {n_north} via Russia; the "
                         "test needs at least 2 in each group")
    years = np.arange(pre0, post1 + 1)
    post = years >= post0
    n_pre, n_post = int((~post).sum()), int(post.sum())
    wide = {g: long[long["group"] == g].pivot_table(index=["exporter", "importer"],
                                                     columns="year", values="trade")
            .reindex(columns=years).to_numpy() for g in ("middle", "northern")}
    estimate = (_log_growth(wide["middle"], post, n_pre, n_post)
                - _log_growth(wide["northern"], post, n_pre, n_post))
    rng = np.random.default_rng(int(claim.inputs["seed"]))
    draws = np.empty(int(claim.inputs["draws"]))
    for b in range(draws.size):
        stats = []
        for g in ("middle", "northern"):
            m = wide[g][rng.integers(0, len(wide[g]), len(wide[g]))]
            stats.append(_log_growth(m, post, n_pre, n_post))
        draws[b] = stats[0] - stats[1]
    level = claim.rule.level or 0.95
    lo, hi = np.quantile(draws[np.isfinite(draws)], [(1 - level) / 2, (1 + level) / 2])
    cargo = cargo_series(cargo_file)
    pre_c = cargo[cargo["year"].between(pre0, pre1)]["cargo_mt"]
    post_c = cargo[cargo["year"].between(post0, post1)]["cargo_mt"]
    cargo_text = "The Middle Corridor cargo series is not available."
    if len(pre_c) == n_pre and len(post_c) == n_post:
        cargo_growth = float(np.log(post_c.mean() / pre_c.mean()))
        cargo_text = (f"Middle Corridor cargo (Kazakhstan Ministry of Transport): "
                      f"{pre_c.mean():.2f} Mt a year in {pre0}-{pre1}, {post_c.mean():.2f} Mt "
                      f"in {post0}-{post1} (log growth {cargo_growth:+.2f}).")
    note = (f"{n_mid} Middle-Corridor and {n_north} Northern-route pairs (route of {pre1}). "
            f"{cargo_text} Trade data do not record routes: the groups are assigned routes, "
            "so a shift of the same pair's shipments between routes is not observed.")
    series = (long.groupby(["year", "group"])["trade"].sum().reset_index())
    series = pd.concat([series, cargo.assign(group="cargo_mt")
                        .rename(columns={"cargo_mt": "trade"})], ignore_index=True)
    return Evidence(estimate=estimate, conf_low=float(lo), conf_high=float(hi),
                    nobs=len(long), years=f"{pre0}-{post1}", sources=claim.sources, note=note,
                    series=series, table=CORRIDOR_TABLE, figure=CARGO_FIGURE)
