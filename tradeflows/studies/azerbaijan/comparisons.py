"""Scenario comparisons: the GE value of an alternative route when another route is closed.

Two scenarios with the same specification, sample, draws and seed (so the same draws of the
partial effects) differ only in their route scenario: the Northern route closed to European
cargo (``northern_disruption``) and the same with the Middle Corridor's Trans-Caspian links
closed too (``northern_disruption_no_middle``). The value of the Middle Corridor for a country
is the change under the first minus the change under the second (percentage points of real
GDP etc.): what the country keeps because the alternative exists. Its interval comes from
the difference computed within each draw (draws that converged in both runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.config import Paths
from tradeflows.report import figures as fg
from tradeflows.report.tables import write_table
from tradeflows.studies.azerbaijan.config import FOCUS

MEASURES = {"real_gdp": "Real GDP", "exports": "Exports", "consumer_price": "Consumer price"}


@dataclass(frozen=True)
class RouteValue:
    """``with_alternative`` and ``without_alternative`` are scenario names."""

    name: str
    title: str
    with_alternative: str
    without_alternative: str


COMPARISONS = (RouteValue(
    "route_value_middle_corridor",
    "GE value of the Middle Corridor when the Northern route is closed",
    "northern_disruption", "northern_disruption_no_middle"),)


def route_value(counterfactuals: Path, comparison: RouteValue, level: float = 0.95
                ) -> pd.DataFrame | None:
    """Per country: the value of the alternative for each measure (point: difference of the
    two scenarios' point results; ``<measure>_lower/_upper``: percentiles of the within-draw
    differences), and ``draws`` (draws converged in both). None if a scenario has not run."""
    files = [counterfactuals / f"{s}{suffix}.parquet"
             for s in (comparison.with_alternative, comparison.without_alternative)
             for suffix in ("", "_draws")]
    if not all(f.is_file() for f in files):
        return None
    point_with, draws_with, point_without, draws_without = (pd.read_parquet(f) for f in files)
    keys = ["country"]
    point = point_with[keys + list(MEASURES)].merge(
        point_without[keys + list(MEASURES)], on=keys, suffixes=("_with", "_without"))
    both = draws_with[["draw", *keys, *MEASURES]].merge(
        draws_without[["draw", *keys, *MEASURES]], on=["draw", *keys],
        suffixes=("_with", "_without"))
    out = pd.DataFrame({"country": point["country"]})
    q = [(1 - level) / 2, (1 + level) / 2]
    for m in MEASURES:
        out[m] = point[f"{m}_with"] - point[f"{m}_without"]
        diff = both.assign(d=both[f"{m}_with"] - both[f"{m}_without"])
        bounds = diff.groupby("country")["d"].quantile(q).unstack()
        out[f"{m}_lower"] = out["country"].map(bounds[q[0]])
        out[f"{m}_upper"] = out["country"].map(bounds[q[1]])
    out["draws"] = out["country"].map(both.groupby("country")["draw"].nunique()).fillna(0)
    out["draws"] = out["draws"].astype("int64")
    return out.sort_values("real_gdp", ascending=False, kind="stable").reset_index(drop=True)


def comparison_outputs(paths: Paths, reports: Path) -> list[dict[str, str]]:
    """Table and figure of each comparison whose scenarios have run (under ``reports``, the
    report's stage folder); one entry per comparison (title, table, figure, note)."""
    from tradeflows.countries import country_name
    from tradeflows.tabular import number

    items = []
    for comp in COMPARISONS:
        table = route_value(paths.counterfactuals, comp)
        if table is None or table.empty:
            continue
        shown = pd.DataFrame({"Country": [f"{country_name(c)} ({c})" for c in table["country"]],
                              "Focus": np.where(table["country"].isin(FOCUS), "yes", "")})
        for m, label in MEASURES.items():
            shown[f"{label} (pp)"] = [f"{number(v, 2)} [{number(lo, 2)}, {number(hi, 2)}]"
                                      for v, lo, hi in zip(table[m], table[f"{m}_lower"],
                                                           table[f"{m}_upper"], strict=True)]
        draws = int(table["draws"].min())
        caption = (f"{comp.title}: change under '{comp.with_alternative}' minus change under "
                   f"'{comp.without_alternative}' (percentage points), 95% intervals of the "
                   f"difference within {draws} common draws; sorted by real GDP.")
        write_table(shown, reports / "tables" / comp.name, caption)
        rows = table[table["country"].isin(FOCUS)
                     | table.index.isin(range(8))]  # focus countries + the 8 largest values
        fig = fg.interval_figure(pd.DataFrame({
            "label": [fg.country_label(c) for c in rows["country"]],
            "estimate": rows["real_gdp"].to_numpy(float),
            "conf_low": rows["real_gdp_lower"].to_numpy(float),
            "conf_high": rows["real_gdp_upper"].to_numpy(float),
            "highlight": rows["country"].isin(FOCUS).to_numpy()}), null=0.0,
            xlabel="Real GDP: change with the alternative minus change without (pp)",
            title=comp.title, note=("Bold, blue: the study's focus countries; grey: the "
                                    "largest other values. Intervals: the difference "
                                    f"within each of {draws} common draws."),
            highlight_color=fg.FOCUS_COLOR)
        fg.save_figure(fig, reports / "figures" / comp.name)
        items.append({"title": comp.title, "table": f"tables/{comp.name}.html",
                      "figure": f"figures/{comp.name}.svg",
                      "note": caption + " A positive value: the country is better off because "
                      "the alternative route exists."})
    return items
