"""CEPII BACI: reconciled bilateral trade by HS6 product, one CSV per year.

Published layout (releases V202401, V202401b, V202501, V202601 — the current one, 1995-2024 —
e.g. ``BACI_HS92_Y2021_V202601.csv``; release names may carry a letter suffix): columns
``t,i,j,k,v,q`` = year, exporter code, importer code, HS6 product, value in **thousands of
current USD** (FOB), quantity in metric tons. ``i``/``j`` are CEPII's numeric country codes
(UN Comtrade style: 842 = USA, 251 = France, 490 = "Other Asia, nes" = Taiwan), decoded by
``country_codes_V202601.csv`` shipped in the same archive (``country_code, country_name,
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
    KeyTracker,
    check_integer,
    check_nonnegative,
    check_year,
    extract_member,
    finish_trade,
    iter_csv,
    read_csv_text,
    require_present,
    zip_members,
)
from tradeflows.sources.archive import is_zip

UNIT = 1_000.0  # BACI values are thousands of USD
SOURCE = "baci"
_VERSION = re.compile(r"_(V\d{6}[a-z]?)(?![a-z0-9])", re.IGNORECASE)
RELEASE = r"V\d{6}[a-z]?"  # V202601, V202401b
_ISO3_COLUMNS = ("country_iso3", "iso_3digit_alpha")
# CEPII pseudo-ISO codes that stand for a country (CEPII documents 490/S19 as Taiwan).
_PSEUDO_ISO3 = {"S19": "TWN"}


#: Yearly data files and country-code tables of a release (suffixes such as V202401b allowed).
YEAR_FILE = rf"^BACI_.*_Y\d{{4}}_{RELEASE}\.csv$"
CODES_FILE = rf"^country_codes_{RELEASE}\.csv$"


def same_release(candidates: list[str], data_name: str) -> list[str]:
    """The country-code names (sorted) of ``candidates`` from the release of ``data_name``
    (``BACI_HS92_Y2023_V202401b.csv`` -> ``country_codes_V202401b.csv``), else all."""
    version = _VERSION.search(Path(data_name).name)
    if version:
        same = [c for c in candidates
                if Path(c).name.lower() == f"country_codes_{version.group(1)}.csv".lower()]
        return same or candidates
    return candidates


def find_country_codes(path: str | Path) -> Path:
    """The ``country_codes_V*.csv`` beside a BACI file (same release if several)."""
    path = Path(path)
    names = sorted(c.name for c in path.parent.glob("country_codes_V*.csv")
                   if re.fullmatch(CODES_FILE, c.name))
    candidates = [path.parent / n for n in same_release(names, path.name)]
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
    bad = ~np.isfinite(codes.to_numpy(dtype=float, na_value=np.nan)) | (codes % 1 != 0)
    if bad.any():
        pos = int(np.flatnonzero(np.asarray(bad))[0])
        raise DataError(f"country_code {table['country_code'].iloc[pos]!r} is not a whole number",
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
              keep_product: bool = False, years: list[int] | None = None,
              progress: bool = False) -> pd.DataFrame:
    """Read a BACI yearly CSV, or the release zip, into the canonical trade table (USD,
    summed over products).

    ``path``: ``BACI_HS92_Y2021_V202601.csv`` or the downloaded ``BACI_HS92_V202601.zip``,
    told apart by content (``years``: which yearly files of the zip to read, default all;
    the zip's own country codes are used). ``country_codes``: the release's ``country_codes_V*.csv`` (default:
    found beside ``path``). ``keep_product=True`` keeps one row per HS6 product.
    The file is read in chunks (summed as it goes), so a full yearly file (~11 million
    lines) fits in memory. ``attrs["drops"]``: ``aggregate_exporter``,
    ``aggregate_importer`` (input lines).
    """
    path = Path(path)
    if is_zip(path):
        return _read_zip(path, country_codes, keep_product, years, progress)
    codes = read_country_codes(country_codes or find_country_codes(path))
    keys = KeyTracker(["t", "i", "j", "k"])
    parts = []
    for chunk in iter_csv(path, {"t": "number", "i": "number", "j": "number", "k": "text",
                                 "v": "number"}, progress=progress):
        require_present(chunk, ["t", "i", "j", "k", "v"], path)
        for col in ("t", "i", "j"):
            check_integer(chunk, col, path)
            chunk[col] = chunk[col].astype("int64")
        check_year(chunk, "t", path)
        check_nonnegative(chunk, "v", path)
        for col in ("i", "j"):
            known = chunk[col].isin(list(codes))
            if not known.all():
                pos = int(np.flatnonzero(~known.to_numpy())[0])
                raise DataError(f"unknown BACI country code {int(chunk[col].iloc[pos])}; "
                                "expected a code listed in the country-code file",
                                file=path, row=int(chunk["_line"].iloc[pos]), column=col)
        keys.add(chunk)
        by = ["t", "i", "j", *(["k"] if keep_product else [])]
        parts.append(chunk.groupby(by, as_index=False).agg(v=("v", "sum"), n=("v", "size")))
    keys.check(path)
    by = ["t", "i", "j", *(["k"] if keep_product else [])]
    flows = pd.concat(parts, ignore_index=True).groupby(by, as_index=False)[["v", "n"]].sum()
    flows["exporter"] = flows["i"].map(codes)
    flows["importer"] = flows["j"].map(codes)
    agg_i = flows["exporter"].isna()
    agg_j = flows["importer"].isna() & ~agg_i
    drops = {"aggregate_exporter": int(flows.loc[agg_i, "n"].sum()),
             "aggregate_importer": int(flows.loc[agg_j, "n"].sum())}
    flows = flows[~(agg_i | agg_j)]
    out = pd.DataFrame({"year": flows["t"], "exporter": flows["exporter"],
                        "importer": flows["importer"], "value_usd": flows["v"] * UNIT,
                        "reporter_side": "exporter", "flow": "export", "source": SOURCE,
                        "estimated": False})
    if keep_product:
        out["product"] = flows["k"].str.zfill(6)
        return finish_trade(out, path, drops, extra=("product",))
    # Two BACI codes for one country (e.g. a renumbering) are summed into the ISO3 pair.
    out = out.groupby(["year", "exporter", "importer", "reporter_side", "flow", "source",
                       "estimated"], as_index=False)["value_usd"].sum()
    return finish_trade(out, path, drops)


def _read_zip(path: Path, country_codes: str | Path | None, keep_product: bool,
              years: list[int] | None, progress: bool) -> pd.DataFrame:
    """Read the yearly files of a BACI release zip (extracted beside it) and stack them."""
    members = {int(m.group(1)): name
               for name in zip_members(path, YEAR_FILE)
               if (m := re.search(r"_Y(\d{4})_", name))}
    wanted = sorted(members) if years is None else list(years)
    missing = [y for y in wanted if y not in members]
    if not members or missing:
        raise DataError(f"no BACI yearly file for {missing or 'any year'} in the archive "
                        f"(found {sorted(members)})", file=path)
    if country_codes is None:
        found = zip_members(path, CODES_FILE)
        if not found:
            raise DataError("no country_codes_V*.csv in the archive", file=path)
        country_codes = extract_member(path, same_release(found, members[wanted[0]])[-1])
    tables = [read_baci(extract_member(path, members[y]), country_codes,
                        keep_product=keep_product, progress=progress) for y in wanted]
    drops = {k: sum(t.attrs["drops"][k] for t in tables) for k in tables[0].attrs["drops"]}
    out = pd.concat(tables, ignore_index=True)
    out.attrs["drops"] = drops
    return out
