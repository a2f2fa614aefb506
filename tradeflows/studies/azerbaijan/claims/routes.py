"""Value of an alternative route when another closes, from the corridor network."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tradeflows.policy.corridors import LINKS_FILE, load_route_scenario, route_variables
from tradeflows.studies.azerbaijan.claims.catalog import Claim
from tradeflows.studies.azerbaijan.claims.evidence import Evidence, Untestable, claim_figure


def links_tagged(tag: str) -> list[str]:
    """Ids of the network links carrying ``tag``."""
    links = pd.read_csv(LINKS_FILE, dtype=str, keep_default_na=False)
    return sorted(links.loc[links["tags"].str.split(";").map(lambda t: tag in t), "link_id"])


def route_alternatives_evidence(claim: Claim) -> Evidence:
    """Mean over origin-destination pairs of ln(route cost | route closed and the alternative
    also closed) - ln(route cost | route closed): what the alternative saves."""
    inp = claim.inputs
    year = int(inp["year"])
    closed = load_route_scenario(inp["closed_scenario"])
    alt_links = links_tagged(inp["alternative_tag"])
    if not alt_links:
        raise Untestable(f"no network link carries the tag {inp['alternative_tag']!r}")
    both = dataclasses.replace(closed, name=f"{closed.name}_without_{inp['alternative_tag']}",
                               closes=closed.closes + tuple((lk, year) for lk in alt_links))
    pairs = [(o, inp["destination"]) for o in inp["origins"]]
    base = route_variables(pairs, [year])
    one = route_variables(pairs, [year], scenario=closed)
    two = route_variables(pairs, [year], scenario=both)
    table = pd.DataFrame({"origin": base["exporter"], "cost_open": base["route_cost"],
                          "cost_closed": one["route_cost"],
                          "cost_closed_no_alternative": two["route_cost"]})
    if table["cost_closed"].isna().any():
        raise Untestable("some origin has no route once the first route is closed")
    no_route = table["cost_closed_no_alternative"].isna()
    with np.errstate(divide="ignore"):
        gap = np.log(table["cost_closed_no_alternative"] / table["cost_closed"])
    gap = gap.where(~no_route, np.inf)
    table["log_value_of_alternative"] = gap
    est = float(gap.mean())
    listed = "; ".join(f"{r.origin}: {r.cost_open:,.0f} -> {r.cost_closed:,.0f} -> "
                       + ("no route" if not np.isfinite(r.log_value_of_alternative)
                          else f"{r.cost_closed_no_alternative:,.0f}")
                       for r in table.itertuples())
    note = (f"Route cost to {inp['destination']} (rail-km equivalents) open -> "
            f"{closed.name} -> also without the links tagged {inp['alternative_tag']!r} "
            f"({', '.join(alt_links)}), {year}: {listed}. A modelled cost, not observed "
            "freight rates.")
    return Evidence(estimate=est, conf_low=est, conf_high=est, nobs=len(table),
                    years=str(year), sources=claim.sources, note=note, series=table,
                    table="tables/claim_c13_routes", figure=claim_figure(claim, "routes"))
