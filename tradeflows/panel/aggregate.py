"""An aggregate reporter in the panel: the EU27 as one exporter (Eurostat).

Eurostat reports the exports of the EU27 (2020 composition) to every partner, member states
included (intra-EU exports to a member are the other members' exports to it). They enter the
panel as rows whose exporter is the aggregate's code (``tradeflows.sources.bundled.EU_CODE``,
"EUU", the World Bank's code for the EU) with ``eu_aggregate = True``: ``trade`` is the
Eurostat figure (FOB, converted to USD at the ECB annual average rate, see
``data/raw/ecb_eurusd/PROVENANCE.md``; basis ``exporter_fob``, source family ``eurostat``), or 0
(``zero_not_listed``) for a country of that year that Eurostat does not list. There is no
importer report of these flows (importers report by member state), so ``imports_reported`` is
NaN.

The member states' own reports stay in their own rows, so every EU export is in the panel
twice: once by member, once in the aggregate. Estimation samples therefore drop the aggregate
rows by default (``tradeflows.panel.sample.source_consistent``), and any total over
exporters must do the same (``country_rows``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def country_rows(panel: pd.DataFrame) -> pd.DataFrame:
    """``panel`` without the aggregate-reporter rows (``eu_aggregate``), if it has any."""
    if "eu_aggregate" not in panel.columns:
        return panel
    agg = panel["eu_aggregate"].fillna(False).astype(bool).to_numpy()
    return panel[~agg] if agg.any() else panel


def aggregate_exporter_rows(flows: pd.DataFrame, code: str, countries: pd.DataFrame
                            ) -> pd.DataFrame:
    """Panel rows of the aggregate exporter ``code`` from its canonical ``flows``.

    ``countries``: ``year, country`` of the panel's square; in the square's years that the
    aggregate reports, it gets a row for every country (0 if not listed) and every listed
    partner.
    Columns as ``tradeflows.panel.mirror.reconcile`` plus ``domestic`` and ``eu_aggregate``.
    """
    own = flows[(flows["exporter"] == code) & (flows["reporter_side"] == "exporter")
                & flows["year"].isin(countries["year"].unique())]
    years = sorted(own["year"].unique())
    grid = countries[countries["year"].isin(years) & (countries["country"] != code)]
    listed = own[["year", "importer", "value_usd", "estimated", "source"]].rename(
        columns={"importer": "country"})
    rows = grid.merge(listed, on=["year", "country"], how="outer")
    rows = rows.sort_values(["year", "country"]).reset_index(drop=True)
    has = rows["value_usd"].notna().to_numpy()
    est = rows["estimated"].fillna(False).astype(bool).to_numpy()
    src = rows["source"].astype(object).where(has, own["source"].iloc[0] if len(own) else None)
    out = pd.DataFrame({
        "year": rows["year"].to_numpy(dtype="int64"),
        "exporter": code,
        "importer": rows["country"].to_numpy(dtype=object),
        "exports_reported": rows["value_usd"].to_numpy(dtype="float64"),
        "exports_estimated": pd.array(np.where(has, est, pd.NA), dtype="boolean"),
        "exports_source": rows["source"].to_numpy(dtype=object),
        "imports_reported": np.nan,
        "imports_estimated": pd.array([pd.NA] * len(rows), dtype="boolean"),
        "imports_source": None,
        "trade": np.where(has, rows["value_usd"].to_numpy(dtype="float64"), 0.0),
        "trade_basis": np.where(has, np.where(est, "exporter_fob_estimated", "exporter_fob"),
                                "zero_not_listed"),
        "trade_source": src.to_numpy(dtype=object),
        "trade_side": "exporter",
        "trade_rule": np.where(has, "importer_first", None),
        "mirror_ratio": np.nan,
        "mirror_case": np.where(has, "one_report", "none"),
        "trade_other_rule": np.where(has, rows["value_usd"].to_numpy(dtype="float64"), 0.0),
        "rule_moved": False,
        "domestic": False,
        "eu_aggregate": True,
    })
    return out
