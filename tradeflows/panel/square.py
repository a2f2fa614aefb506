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


def square(pairs: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """Expand ``pairs`` (``tradeflows.panel.mirror.reconcile``) to all ordered pairs per year.

    ``reports``: the chosen reports (for the countries of each year and the zero rule).
    Adds ``domestic`` (exporter == importer). Sorted by year, exporter, importer.
    """
    names = pd.Index(sorted(set(reports["exporter"].unique())
                            | set(reports["importer"].unique())))
    n = len(names)
    r_year = reports["year"].to_numpy().astype("int64")
    r_exp = names.get_indexer(reports["exporter"])
    r_imp = names.get_indexer(reports["importer"])
    years = np.unique(r_year)
    y_pos = np.searchsorted(years, r_year)
    present = np.zeros((len(years), n), dtype=bool)
    present[y_pos, r_exp] = True
    present[y_pos, r_imp] = True
    side = reports["reporter_side"].to_numpy()
    reports_exports = np.zeros((len(years), n), dtype=bool)
    reports_imports = np.zeros((len(years), n), dtype=bool)
    reports_exports[y_pos[side == "exporter"], r_exp[side == "exporter"]] = True
    reports_imports[y_pos[side == "importer"], r_imp[side == "importer"]] = True
    domestic_years = set(r_year[r_exp == r_imp])

    parts = []
    for k, year in enumerate(years):
        codes = np.flatnonzero(present[k])
        exporter = np.repeat(codes, len(codes))
        importer = np.tile(codes, len(codes))
        keep = (exporter != importer) | (year in domestic_years)
        parts.append((np.full(int(keep.sum()), k), exporter[keep], importer[keep]))
    g_year = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=int)
    g_exp = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=int)
    g_imp = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, dtype=int)

    def key(year_pos: np.ndarray, exp: np.ndarray, imp: np.ndarray) -> np.ndarray:
        return (year_pos.astype("int64") * n + exp) * n + imp

    p_year = pairs["year"].to_numpy().astype("int64")
    p_key = key(np.searchsorted(years, p_year), names.get_indexer(pairs["exporter"]),
                names.get_indexer(pairs["importer"]))
    values = pairs.drop(columns=PAIR).set_axis(p_key).reindex(key(g_year, g_exp, g_imp))
    panel = pd.DataFrame({"year": years[g_year],
                          "exporter": names.to_numpy(dtype=object)[g_exp],
                          "importer": names.to_numpy(dtype=object)[g_imp]})
    panel = pd.concat([panel, values.reset_index(drop=True)], axis=1)
    listed_elsewhere = reports_exports[g_year, g_exp] | reports_imports[g_year, g_imp]
    zero = panel["trade"].isna().to_numpy() & listed_elsewhere
    panel.loc[zero, "trade"] = 0.0
    panel["trade_basis"] = np.where(zero, "zero_not_listed",
                                    panel["trade_basis"].fillna("none").to_numpy())
    panel["domestic"] = g_exp == g_imp
    return panel


def keep_interval(panel: pd.DataFrame, interval: int | None) -> pd.DataFrame:
    """Keep every ``interval``-th year counted from the first year (None or 1: all years)."""
    if interval is None or interval == 1:
        return panel
    if interval < 1:
        raise ValueError(f"interval must be a positive number of years, got {interval}")
    first = int(panel["year"].min())
    return panel[(panel["year"] - first) % interval == 0].reset_index(drop=True)
