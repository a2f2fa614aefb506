"""CEPII BACI: reconciled bilateral trade by HS6 product, one CSV per year.

Published layout (release V202401, e.g. ``BACI_HS92_Y2021_V202401.csv``): columns
``t,i,j,k,v,q`` = year, exporter code, importer code, HS6 product, value in **thousands of
current USD** (FOB), quantity in metric tons. ``i``/``j`` are CEPII's numeric country codes
(UN Comtrade style: 842 = USA, 251 = France, 490 = "Other Asia, nes" = Taiwan), decoded by
``country_codes_V202401.csv`` shipped in the same archive (``country_code, country_name,
country_iso2, country_iso3``; releases before 2023 used ``iso_3digit_alpha``).

BACI is CEPII's reconciliation of the exporter's and the importer's declarations, with CIF
costs removed: one FOB value per flow. We file it as ``reporter_side="exporter"``,
``flow="export"`` (the valuation is FOB) with ``source="baci"``; there is no mirror row.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.countries import is_aggregate, to_iso3
from tradeflows.errors import DataError
from tradeflows.sources._common import (
    check_integer,
    check_nonnegative,
    check_unique,
    finish_trade,
    iter_csv,
    read_csv_text,
    require_present,
)

UNIT = 1_000.0  # BACI values are thousands of USD
SOURCE = "baci"
_VERSION = re.compile(r"_(V\d{6})")
_ISO3_COLUMNS = ("country_iso3", "iso_3digit_alpha")
# CEPII pseudo-ISO codes that stand for a country (CEPII documents 490/S19 as Taiwan).
_PSEUDO_ISO3 = {"S19": "TWN"}


def find_country_codes(path: str | Path) -> Path:
    """The ``country_codes_V*.csv`` beside a BACI file (same release if several)."""
    path = Path(path)
    candidates = sorted(path.parent.glob("country_codes_V*.csv"))
    version = _VERSION.search(path.name)
    if version:
        same = [c for c in candidates if version.group(1) in c.name]
        candidates = same or candidates
    if not candidates:
        raise DataError("BACI country-code file (country_codes_V*.csv) not found beside the "
                        "data file; pass country_codes=", file=path)
    return candidates[-1]


def read_country_codes(path: str | Path) -> dict[int, str | None]:
    """BACI numeric code -> ISO3 (None for an aggregate such as "Europe EFTA, nes")."""
    table = read_csv_text(path)
    table.columns = [c.strip() for c in table.columns]
    iso_col = next((c for c in _ISO3_COLUMNS if c in table.columns), None)
    if "country_code" not in table.columns or iso_col is None:
        raise DataError(f"missing column(s): need 'country_code' and one of {_ISO3_COLUMNS}; "
                        f"found {list(table.columns)}", file=path)
    codes = pd.to_numeric(table["country_code"].str.strip(), errors="coerce")
    if codes.isna().any():
        pos = int(np.flatnonzero(codes.isna().to_numpy())[0])
        raise DataError(f"country_code {table['country_code'].iloc[pos]!r} is not a number",
                        file=path, row=pos + 2, column="country_code")
    iso = table[iso_col].str.strip().str.upper().replace(_PSEUDO_ISO3)
    numeric = codes.astype("int64")
    # A published ISO3 is used as is; pseudo codes (digits, blank, N/A) fall back to the
    # numeric code's meaning (aggregate or country) in tradeflows.countries.
    valid = ~is_aggregate(iso, "iso3") & iso.str.fullmatch(r"[A-Z]{3}")
    mapping: dict[int, str | None] = {}
    for code, iso3, ok in zip(numeric, iso, valid, strict=True):
        if ok:
            try:
                mapping[int(code)] = str(to_iso3(pd.Series([iso3]), "iso3").iloc[0])
                continue
            except DataError:
                pass
        agg = bool(is_aggregate(pd.Series([code]), "m49").iloc[0])
        if agg:
            mapping[int(code)] = None
        else:
            try:
                mapping[int(code)] = str(to_iso3(pd.Series([code]), "m49").iloc[0])
            except DataError as exc:
                raise DataError(f"country {code} ({iso3!r}) has no known ISO3 code", file=path,
                                column=iso_col) from exc
    return mapping


def read_baci(path: str | Path, country_codes: str | Path | None = None, *,
              keep_product: bool = False, progress: bool = False) -> pd.DataFrame:
    """Read one BACI yearly CSV into the canonical trade table (USD, summed over products).

    ``country_codes``: the release's ``country_codes_V*.csv`` (default: found beside
    ``path``). ``keep_product=True`` keeps one row per HS6 product (column ``product``).
    ``attrs["drops"]``: ``aggregate_exporter``, ``aggregate_importer`` (input rows).
    """
    path = Path(path)
    codes = read_country_codes(country_codes or find_country_codes(path))
    drops = {"aggregate_exporter": 0, "aggregate_importer": 0}
    parts = []
    for chunk in iter_csv(path, {"t": "number", "i": "number", "j": "number", "k": "text",
                                 "v": "number"}, progress=progress):
        require_present(chunk, ["t", "i", "j", "k", "v"], path)
        for col in ("t", "i", "j"):
            check_integer(chunk, col, path)
        check_nonnegative(chunk, "v", path)
        for col, side in (("i", "exporter"), ("j", "importer")):
            known = chunk[col].astype("int64").isin(list(codes))
            if not known.all():
                pos = int(np.flatnonzero(~known.to_numpy())[0])
                raise DataError(f"unknown BACI country code {int(chunk[col].iloc[pos])}; "
                                "expected a code listed in the country-code file",
                                file=path, row=int(chunk["_line"].iloc[pos]), column=col)
            chunk[side] = chunk[col].astype("int64").map(codes)
        agg_i = chunk["exporter"].isna()
        agg_j = chunk["importer"].isna() & ~agg_i
        drops["aggregate_exporter"] += int(agg_i.sum())
        drops["aggregate_importer"] += int(agg_j.sum())
        chunk = chunk[~(agg_i | agg_j)]
        parts.append(pd.DataFrame({
            "_line": chunk["_line"], "year": chunk["t"].astype("int64"),
            "exporter": chunk["exporter"], "importer": chunk["importer"],
            "product": chunk["k"].str.zfill(6), "value_usd": chunk["v"] * UNIT}))
    flows = pd.concat(parts, ignore_index=True)
    check_unique(flows, ["year", "exporter", "importer", "product"], path)
    by = ["year", "exporter", "importer", *(["product"] if keep_product else [])]
    out = flows.groupby(by, as_index=False, sort=True)["value_usd"].sum()
    out = out.assign(reporter_side="exporter", flow="export", source=SOURCE, estimated=False)
    return finish_trade(out, path, drops, extra=("product",) if keep_product else ())
