"""The square pair-year panel: every ordered pair of the countries present in each year.

Countries of a year: every country that appears as exporter or importer in a chosen report
of that year (and exists in that year, see ``tradeflows.countries.exists_in_year``).

Zeros versus missing
--------------------
* a reported zero stays 0 (its basis says which report);
* a pair nobody reported is **0** (basis ``"zero_not_listed"``) if the exporter reported its
  exports to some partner in that year or the importer reported its imports from some partner
  in that year: a reporter that lists partners but not this one is read as reporting no
  trade with it (DOTS and national tables list partners with trade and leave the others out);
* otherwise it is **missing** (NaN, basis ``"none"``): neither side reported anything that
  year.

Domestic (intra-national) flows: a pair (i, i) is included only in years in which some source
reports exporter == importer; the bundled IMF DOTS and national data have none, so the panel
built from them has no domestic rows (``domestic`` is False throughout).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeflows.panel.mirror import PAIR


def active_reporters(reports: pd.DataFrame) -> pd.DataFrame:
    """``year, country, reports_exports, reports_imports``: who reported each side in a year."""
    exp = reports.loc[reports["reporter_side"] == "exporter", ["year", "exporter"]]
    imp = reports.loc[reports["reporter_side"] == "importer", ["year", "importer"]]
    exp = exp.drop_duplicates().rename(columns={"exporter": "country"})
    imp = imp.drop_duplicates().rename(columns={"importer": "country"})
    out = exp.assign(reports_exports=True).merge(imp.assign(reports_imports=True),
                                                  on=["year", "country"], how="outer")
    return out.fillna({"reports_exports": False, "reports_imports": False}).astype(
        {"reports_exports": bool, "reports_imports": bool})


def square(pairs: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """Expand ``pairs`` (``tradeflows.panel.mirror.reconcile``) to all ordered pairs per year.

    ``reports``: the chosen reports (for the countries of each year and the zero rule).
    Adds ``domestic`` (exporter == importer). Sorted by year, exporter, importer.
    """
    frames = []
    has_domestic = set(reports.loc[reports["exporter"] == reports["importer"], "year"])
    for year, grp in reports.groupby("year", sort=True):
        countries = np.array(sorted(set(grp["exporter"].unique()) | set(grp["importer"].unique())),
                             dtype=object)
        n = len(countries)
        exporter = np.repeat(countries, n)
        importer = np.tile(countries, n)
        keep = exporter != importer if year not in has_domestic else np.ones(n * n, bool)
        frames.append(pd.DataFrame({"year": np.int64(year), "exporter": exporter[keep],
                                    "importer": importer[keep]}))
    grid = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PAIR)
    for col in ("exporter", "importer"):
        if isinstance(reports[col].dtype, pd.CategoricalDtype):
            grid[col] = pd.Categorical(grid[col], dtype=reports[col].dtype)
    panel = grid.merge(pairs, on=PAIR, how="left")
    active = active_reporters(reports)
    panel = panel.merge(
        active[["year", "country", "reports_exports"]].rename(columns={"country": "exporter"}),
        on=["year", "exporter"], how="left")
    panel = panel.merge(
        active[["year", "country", "reports_imports"]].rename(columns={"country": "importer"}),
        on=["year", "importer"], how="left")
    listed_elsewhere = (panel["reports_exports"].fillna(False).astype(bool)
                        | panel["reports_imports"].fillna(False).astype(bool))
    unreported = panel["trade"].isna()
    zero = (unreported & listed_elsewhere).to_numpy()
    panel.loc[zero, "trade"] = 0.0
    panel["trade_basis"] = np.where(zero, "zero_not_listed",
                                    panel["trade_basis"].fillna("none").to_numpy())
    panel["domestic"] = (panel["exporter"] == panel["importer"]).to_numpy()
    panel = panel.drop(columns=["reports_exports", "reports_imports"])
    return panel.sort_values(PAIR, kind="stable").reset_index(drop=True)


def keep_interval(panel: pd.DataFrame, interval: int | None) -> pd.DataFrame:
    """Keep every ``interval``-th year counted from the first year (None or 1: all years)."""
    if interval is None or interval == 1:
        return panel
    if interval < 1:
        raise ValueError(f"interval must be a positive number of years, got {interval}")
    first = int(panel["year"].min())
    return panel[(panel["year"] - first) % interval == 0].reset_index(drop=True)
