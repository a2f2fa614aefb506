"""Product-level checks of claims, run on BACI when the user has built it.

A claim asks for one with ``product_check`` in its ``[claim.inputs]``:

* ``"net_of_gold_energy"`` (pairs ``side_a`` x ``side_b``): the same pairs' trade net of
  energy (HS 27) and non-monetary gold (HS 7108), from the ``energy_gold`` level: growth of
  the post-``start`` mean over the pre-``start`` mean, next to all products, and the share
  of energy and gold;
* ``"non_oil_diversification"`` (``country``, ``kink``): the partner HHI of the country's
  trade excluding oil and gas (HS 2709-2711, the ``oil_gas`` level) and its change of trend
  after ``kink`` (as the claim's own test).

The check's sentence is appended to the claim's note; it never changes the verdict, which
follows the catalog's pre-stated rule. Without ``data/processed/sectors`` (``tradeflows
sectors build``) the note says which check could not run and what it needs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tradeflows.sectors.etl import read_level
from tradeflows.studies.azerbaijan.claims.catalog import Claim

CHECKS = ("net_of_gold_energy", "non_oil_diversification")
_NEEDS = {"net_of_gold_energy": ("energy_gold", "trade net of energy (HS 27) and "
                                 "non-monetary gold (HS 7108)"),
          "non_oil_diversification": ("oil_gas", "partner concentration of trade "
                                      "excluding oil and gas (HS 2709-2711)")}


def product_note(claim: Claim, sectors_dir: Path) -> str:
    """The sentence for ``claim``'s product-level check ("" if it asks for none)."""
    check = claim.inputs.get("product_check")
    if check is None:
        return ""
    if check not in CHECKS:
        return f"Product-level check {check!r} unknown (known: {', '.join(CHECKS)})."
    level, what = _NEEDS[check]
    path = sectors_dir / f"{level}.parquet"
    if not path.exists():
        return (f"Product-level check not run: {what} needs CEPII BACI built with "
                f"`tradeflows sectors build <BACI zip>` (level '{level}'); the bundled data "
                "have no product detail.")
    flows = read_level(sectors_dir, level)
    first, last = claim.window
    flows = flows[flows["year"].between(first, last)]
    if check == "net_of_gold_energy":
        return _net_of_gold_energy(claim, flows)
    return _non_oil_diversification(claim, flows)


def _net_of_gold_energy(claim: Claim, flows: pd.DataFrame) -> str:
    a, b = set(claim.inputs["side_a"]), set(claim.inputs["side_b"])
    start = int(claim.inputs["start"])
    pairs = flows[(flows["exporter"].isin(a) & flows["importer"].isin(b))
                  | (flows["exporter"].isin(b) & flows["importer"].isin(a))]
    by_year = pairs.pivot_table(index="year", columns="sector", values="value_usd",
                                aggfunc="sum", fill_value=0.0)
    pre, post = by_year[by_year.index < start], by_year[by_year.index >= start]
    if pre.empty or post.empty or "other" not in by_year.columns:
        years = f"{by_year.index.min()}-{by_year.index.max()}" if len(by_year) else "none"
        return (f"Product-level check (BACI) not possible: the pairs' BACI trade covers "
                f"years {years}; it needs years before and from {start}.")
    total_pre, total_post = pre.sum(axis=1).mean(), post.sum(axis=1).mean()
    net_pre, net_post = pre["other"].mean(), post["other"].mean()
    share = 1.0 - by_year["other"].sum() / by_year.to_numpy().sum()
    return (f"Product-level check (BACI): trade of these pairs net of energy (HS 27) and gold "
            f"(HS 7108) changed {_growth(net_pre, net_post)} from the {pre.index.min()}-"
            f"{pre.index.max()} mean to the {post.index.min()}-{post.index.max()} mean "
            f"(all products {_growth(total_pre, total_post)}); energy and gold are "
            f"{100 * share:.0f}% of the pairs' trade over {by_year.index.min()}-"
            f"{by_year.index.max()}.")


def _non_oil_diversification(claim: Claim, flows: pd.DataFrame) -> str:
    from tradeflows.studies.azerbaijan.claims.descriptive import kink_trend, partner_hhi

    country, kink = claim.inputs["country"], int(claim.inputs["kink"])
    rest = flows[flows["sector"] == "other"].rename(columns={"value_usd": "trade"})
    series = partner_hhi(rest, country)
    before, after = int((series["year"] < kink).sum()), int((series["year"] > kink).sum())
    if before < 2 or after < 2 or len(series) < 5:
        return (f"Product-level check (BACI) not possible: {country}'s non-oil trade covers "
                f"{len(series)} year(s) ({before} before and {after} after {kink}).")
    level = claim.rule.level or 0.95
    g, lo, hi = kink_trend(series, kink, level)
    return (f"Product-level check (BACI): the partner HHI of {country}'s trade excluding oil "
            f"and gas (HS 2709-2711) went from {series['hhi'].iloc[0]:.0f} in "
            f"{series['year'].iloc[0]} to {series['hhi'].iloc[-1]:.0f} in "
            f"{series['year'].iloc[-1]}; slope change after {kink} {g:+.1f} points/year "
            f"({100 * level:g}% interval {lo:+.1f} to {hi:+.1f}).")


def _growth(old: float, new: float) -> str:
    if not old > 0:
        return "from zero"
    return f"{100 * (new / old - 1):+.0f}%"
