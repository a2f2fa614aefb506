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

The source family and side of a zero (``trade_source``, ``trade_side``) are those of the
listing that makes it a zero: the importer's (its best-ranked source that year) if the importer
lists imports, else the exporter's. Sources in ``PARTIAL_SOURCES`` (figures quoted in the
press) list only some partners: they never make an unlisted partner a zero.

Domestic (intra-national) flows: a pair (i, i) is included only in years in which some source
reports exporter == importer; the bundled IMF DOTS and national data have none, so the panel
built from them has no domestic rows (``domestic`` is False throughout).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeflows.panel.mirror import PAIR, source_rank

#: Sources that do not list every partner (no zero is inferred from their silence).
PARTIAL_SOURCES = ("reported_press",)


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
    complete = ~reports["source"].isin(PARTIAL_SOURCES).to_numpy()
    ranks = source_rank(reports["source"]).to_numpy()
    s_idx, uniques = pd.factorize(reports["source"])
    sources = np.array([str(u) for u in uniques] or [""], dtype=object)
    # best-ranked listing source of each (year, country, side); -1 = lists nothing
    listing_exports = np.full((len(years), n), -1, dtype=np.int64)
    listing_imports = np.full((len(years), n), -1, dtype=np.int64)
    for grid, which, country in ((listing_exports, "exporter", r_exp),
                                 (listing_imports, "importer", r_imp)):
        sel = (side == which) & complete
        for rank in sorted(set(ranks[sel]), reverse=True):  # the best rank is written last
            hit = sel & (ranks == rank)
            grid[y_pos[hit], country[hit]] = s_idx[hit]
    reports_exports = listing_exports >= 0
    reports_imports = listing_imports >= 0
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
    by_importer = reports_imports[g_year, g_imp]
    listed_elsewhere = reports_exports[g_year, g_exp] | by_importer
    zero = panel["trade"].isna().to_numpy() & listed_elsewhere
    panel.loc[zero, "trade"] = 0.0
    panel["trade_basis"] = np.where(zero, "zero_not_listed",
                                    panel["trade_basis"].fillna("none").to_numpy())
    zero_source = np.where(by_importer, listing_imports[g_year, g_imp],
                           listing_exports[g_year, g_exp])
    if "trade_source" in panel.columns:
        panel["trade_source"] = np.where(zero, sources[np.maximum(zero_source, 0)],
                                         panel["trade_source"].to_numpy(dtype=object))
    if "trade_side" in panel.columns:
        panel["trade_side"] = np.where(zero, np.where(by_importer, "importer", "exporter"),
                                       panel["trade_side"].to_numpy(dtype=object))
    if "trade_other_rule" in panel.columns:
        panel.loc[zero, "trade_other_rule"] = 0.0
        panel["rule_moved"] = panel["rule_moved"].astype("boolean").fillna(False).astype(bool)
        panel["mirror_case"] = panel["mirror_case"].fillna("none")
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
