"""The sector-pair-year panel: one row per (year, exporter, importer, sector), square over the
countries of each year, with the aggregate panel's covariates and policy variables.

Zeros: BACI lists every positive flow it reconciles, so an ordered pair of two countries
present in a year (as exporter or importer of anything) with no line for a sector traded
**0** in that sector (``trade_basis = "zero_not_listed"``); a listed flow is
``"baci_fob"``. Countries that did not exist in a year (``tradeflows.countries``) are
dropped and counted. Covariates (``tradeflows.panel.covariates``) and policy variables
(``tradeflows.policy.add_policy_variables``) are computed once per pair-year and repeated
over sectors, so every sector sees exactly the aggregate panel's values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tradeflows.countries import exists_in_year
from tradeflows.errors import DataError
from tradeflows.panel.covariates import add_covariates

LEVEL_COLUMNS = ["year", "exporter", "importer", "sector", "value_usd", "n_products"]


def sector_panel(flows: pd.DataFrame, geodist: pd.DataFrame, wdi: pd.DataFrame, *,
                 countries: Sequence[str] | None = None, years: Sequence[int] | None = None,
                 sectors: Sequence[str] | None = None, policy: bool = True
                 ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Square sector panel from an aggregate level (``tradeflows.sectors.etl.read_level``:
    ``year, exporter, importer, sector, value_usd, n_products``). Returns (panel, drops).

    ``countries`` / ``years`` / ``sectors`` restrict it (the full BACI square, 230
    countries and 21 sections, is about 11 million rows per decade). Columns: ``year, exporter, importer,
    sector, trade`` (USD), ``n_products``, ``trade_basis``, ``trade_source``, ``domestic``,
    the covariates and (``policy=True``) the policy variables; sorted by year, exporter,
    importer, sector.
    """
    missing = [c for c in LEVEL_COLUMNS if c not in flows.columns]
    if missing:
        raise DataError(f"sector flows lack column(s) {missing}", column=missing[0])
    df = flows[LEVEL_COLUMNS]
    drops: dict[str, int] = {}
    keep = pd.Series(True, index=df.index)
    if years is not None:
        keep &= df["year"].isin(list(years))
    if countries is not None:
        keep &= df["exporter"].isin(list(countries)) & df["importer"].isin(list(countries))
    if sectors is not None:
        keep &= df["sector"].isin(list(sectors))
    drops["outside_selection"] = int((~keep).sum())
    df = df[keep.to_numpy()]
    exists = (exists_in_year(df["exporter"], df["year"])
              & exists_in_year(df["importer"], df["year"])).to_numpy()
    drops["country_not_existing_in_year"] = int((~exists).sum())
    df = df[exists].reset_index(drop=True)
    if df.empty:
        raise DataError("no sector flows left after the selection")

    names = pd.Index(sorted(set(df["exporter"]) | set(df["importer"])))
    sector_names = pd.Index(sorted(df["sector"].unique()) if sectors is None
                            else [s for s in sectors if s in set(df["sector"])])
    year_values = np.sort(df["year"].unique())
    pair_parts = []
    for year in year_values:
        sub = df[df["year"] == year]
        present = np.unique(names.get_indexer(pd.concat([sub["exporter"], sub["importer"]])))
        e = np.repeat(present, len(present))
        i = np.tile(present, len(present))
        off = e != i
        pair_parts.append(pd.DataFrame({"year": year, "e": e[off], "i": i[off]}))
    pairs = pd.concat(pair_parts, ignore_index=True)
    pairs["exporter"] = names.to_numpy(dtype=object)[pairs["e"].to_numpy()]
    pairs["importer"] = names.to_numpy(dtype=object)[pairs["i"].to_numpy()]
    pair_year = pairs[["year", "exporter", "importer"]].astype({"year": "int64"})
    pair_year = add_covariates(pair_year, geodist, wdi)
    if policy:
        from tradeflows.policy import add_policy_variables

        pair_year = add_policy_variables(pair_year)

    n_s = len(sector_names)
    n_c = len(names)
    y_pos = np.searchsorted(year_values, pairs["year"].to_numpy())
    pair_key = (y_pos.astype(np.int64) * n_c + pairs["e"].to_numpy()) * n_c + pairs["i"].to_numpy()
    rows = np.repeat(np.arange(len(pair_year)), n_s)
    panel = pair_year.iloc[rows].reset_index(drop=True)
    panel.insert(3, "sector", np.tile(sector_names.to_numpy(dtype=object), len(pair_year)))
    key = (np.repeat(pair_key, n_s) * n_s) + np.tile(np.arange(n_s), len(pair_year))

    f_key = ((np.searchsorted(year_values, df["year"].to_numpy()).astype(np.int64) * n_c
              + names.get_indexer(df["exporter"])) * n_c + names.get_indexer(df["importer"]))
    f_key = f_key * n_s + sector_names.get_indexer(df["sector"])
    domestic_rows = (df["exporter"] == df["importer"]).to_numpy()
    drops["domestic_flow"] = int(domestic_rows.sum())
    f_key = f_key[~domestic_rows]
    pos = np.searchsorted(key, f_key)  # key is sorted: year, exporter, importer, sector
    trade = np.zeros(len(panel))
    n_products = np.zeros(len(panel), dtype=np.int64)
    trade[pos] = df["value_usd"].to_numpy()[~domestic_rows]
    n_products[pos] = df["n_products"].to_numpy()[~domestic_rows]
    listed = np.zeros(len(panel), dtype=bool)
    listed[pos] = True
    panel.insert(4, "trade", trade)
    panel.insert(5, "n_products", n_products)
    panel.insert(6, "trade_basis", np.where(listed, "baci_fob", "zero_not_listed"))
    panel.insert(7, "trade_source", "baci")
    panel.insert(8, "domestic", False)
    return panel, drops
