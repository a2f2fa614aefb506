"""Mirror flows: the exporter's and the importer's reports of one flow, and the value used.

Every flow i -> j in year t can be reported twice: by the exporter i (exports, FOB) and by the
importer j (imports, CIF, i.e. including cost, insurance and freight to j's border).

Source precedence (per report slot = year, exporter, importer, reporting side)
-----------------------------------------------------------------------------
``SOURCE_PRECEDENCE``: IMF IMTS (the successor of DOTS, when fetched and added) first, then
IMF DOTS, then national statistics (KAZ, KGZ, UZB, ARM, RUS), then
any added source (alphabetical by name). A national figure is used for a slot only when DOTS
has none: in practice 2021-2023, where the DOTS copy stops in 2020.

Mirror rule (per pair-year)
---------------------------
1. the importer's report, if it is not an estimate, converted to FOB by dividing by
   ``CIF_FOB = 1.06``, the CIF/FOB factor the IMF uses to turn partner-reported imports into
   export estimates (IMF, *Direction of Trade Statistics Yearbook 2017*, introduction:
   "A CIF/FOB factor of 1.06 is currently used"); basis ``"importer_cif"``. Importers' customs records are preferred because imports are
   taxed and recorded by country of origin, exports often by first destination only.
2. else the exporter's report, not an estimate: basis ``"exporter_fob"``;
3. else the importer's report flagged as a publisher's estimate: ``"importer_cif_estimated"``;
4. else the exporter's estimated report: ``"exporter_fob_estimated"``;
5. else no report: ``trade`` is decided by the zero rule of ``tradeflows.panel.square``.

``trade`` is therefore in FOB US dollars. Both raw reports stay in the table
(``exports_reported`` FOB, ``imports_reported`` CIF, USD, NaN = not reported).

Caveat: a pair's basis can change over time, most visibly from 2020 to 2021, when DOTS stops
and only the national statistics of KAZ, KGZ, UZB (and ARM, RUS) remain: e.g. KAZ->AZE is
AZE's import report / 1.06 up to 2020 (2019: USD 194 mn, while KAZ reported 155 mn) and KAZ's
export report from 2021. For a series on one basis across the break, use
``exports_reported`` (or ``imports_reported``) directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CIF_FOB = 1.06
SOURCE_PRECEDENCE = ("imf_imts", "imf_dots", "national")
PAIR = ["year", "exporter", "importer"]

BASES = ("importer_cif", "exporter_fob", "importer_cif_estimated", "exporter_fob_estimated")


def source_rank(sources: pd.Series) -> pd.Series:
    """Rank of each source: ``SOURCE_PRECEDENCE`` first, other sources after, by name."""
    others = sorted(set(sources.unique()) - set(SOURCE_PRECEDENCE))
    order = {s: i for i, s in enumerate([*SOURCE_PRECEDENCE, *others])}
    return sources.map(order).astype("int64")


def select_reports(flows: pd.DataFrame) -> pd.DataFrame:
    """One report per slot (``year, exporter, importer, reporter_side``), by source precedence.

    ``flows``: canonical trade table. Returns the chosen rows (same columns).
    """
    ranked = flows.assign(_rank=source_rank(flows["source"]))
    ranked = ranked.sort_values([*PAIR, "reporter_side", "_rank"], kind="stable")
    chosen = ranked.drop_duplicates([*PAIR, "reporter_side"], keep="first")
    return chosen.drop(columns="_rank").reset_index(drop=True)


def reconcile(reports: pd.DataFrame, cif_fob: float = CIF_FOB) -> pd.DataFrame:
    """Pair-year table from chosen reports (``select_reports``), with the mirror rule applied.

    Columns: ``year, exporter, importer, exports_reported, exports_estimated, exports_source,
    imports_reported, imports_estimated, imports_source, trade, trade_basis, trade_source``.
    Values in USD; ``trade`` in FOB terms; pairs nobody reported are absent.
    """
    if cif_fob <= 0:
        raise ValueError(f"cif_fob must be positive, got {cif_fob}")
    cols = ["value_usd", "estimated", "source"]
    side = reports["reporter_side"]
    exp = reports.loc[side == "exporter", [*PAIR, *cols]].rename(columns={
        "value_usd": "exports_reported", "estimated": "exports_estimated",
        "source": "exports_source"})
    imp = reports.loc[side == "importer", [*PAIR, *cols]].rename(columns={
        "value_usd": "imports_reported", "estimated": "imports_estimated",
        "source": "imports_source"})
    pairs = exp.merge(imp, on=PAIR, how="outer", sort=True)
    has_imp = pairs["imports_reported"].notna().to_numpy()
    has_exp = pairs["exports_reported"].notna().to_numpy()
    imp_est = pairs["imports_estimated"].fillna(False).astype(bool).to_numpy()
    exp_est = pairs["exports_estimated"].fillna(False).astype(bool).to_numpy()
    conditions = [has_imp & ~imp_est, has_exp & ~exp_est, has_imp, has_exp]
    imp_fob = pairs["imports_reported"].to_numpy() / cif_fob
    exp_fob = pairs["exports_reported"].to_numpy()
    pairs["trade"] = np.select(conditions, [imp_fob, exp_fob, imp_fob, exp_fob], np.nan)
    pairs["trade_basis"] = np.select(conditions, list(BASES), "none")
    pairs["trade_source"] = np.select(
        conditions, [pairs["imports_source"], pairs["exports_source"],
                     pairs["imports_source"], pairs["exports_source"]], None)
    for col in ("exports_estimated", "imports_estimated"):
        pairs[col] = pairs[col].astype("boolean")
    return pairs.reset_index(drop=True)
