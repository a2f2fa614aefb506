"""CEPII Gravity database: the wide pair-year file (``Gravity_V202211.csv``).

One row per (year, origin, destination), columns ``year, country_id_o, country_id_d, iso3_o,
iso3_d, iso3num_o, iso3num_d, country_exists_o, country_exists_d, ..., dist, contig,
comlang_off, col_dep_ever, ..., gdp_o, gdp_d, ..., tradeflow_comtrade_o,
tradeflow_comtrade_d, tradeflow_baci, manuf_tradeflow_baci, tradeflow_imf_o,
tradeflow_imf_d``. Trade flows and GDP are in **thousands of current USD**; ``_o`` flows are
reported by the origin (exporter), ``_d`` flows by the destination (importer). The file is
square over every country_id of every year 1948-2021, so most rows carry no trade figure;
``country_exists_*`` = 0 marks a country_id that does not exist that year.

``read_cepii_gravity`` returns the canonical trade table (one row per reported figure);
``read_cepii_gravity_covariates`` the pair-year covariates the panel uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from tradeflows.errors import DataError
from tradeflows.sources._common import (
    check_nonnegative,
    check_unique,
    check_year,
    extract_member,
    finish_trade,
    header_of,
    iter_csv,
    map_country,
    require_present,
    zip_members,
)
from tradeflows.sources.archive import is_zip

UNIT = 1_000.0  # trade flows and GDP are thousands of USD
# column -> (source, reporter_side, flow)
TRADE_FLOWS: dict[str, tuple[str, str, str]] = {
    "tradeflow_comtrade_o": ("cepii_gravity_comtrade", "exporter", "export"),
    "tradeflow_comtrade_d": ("cepii_gravity_comtrade", "importer", "import"),
    "tradeflow_imf_o": ("cepii_gravity_imf", "exporter", "export"),
    "tradeflow_imf_d": ("cepii_gravity_imf", "importer", "import"),
    "tradeflow_baci": ("cepii_gravity_baci", "exporter", "export"),
}
# published column -> panel column (ARCHITECTURE.md) and its unit factor
COVARIATES: dict[str, tuple[str, float]] = {
    "dist": ("dist", 1.0),  # km between most populated cities
    "contig": ("contig", 1.0),
    "comlang_off": ("comlang_off", 1.0),
    "col_dep_ever": ("colony", 1.0),
    "gdp_o": ("gdp_exporter", UNIT),
    "gdp_d": ("gdp_importer", UNIT),
}
DROPS = ("other_year", "country_not_existing", "no_value", "unknown_code",
         "aggregate_exporter", "aggregate_importer")
_KEYS = {"year": "number", "iso3_o": "text", "iso3_d": "text"}
_EXISTS = ("country_exists_o", "country_exists_d")


def _csv_of(path: Path) -> Path:
    """The CSV itself, or the ``Gravity_V*.csv`` extracted from the downloaded zip (told by
    its content, not its name)."""
    if not is_zip(path):
        return path
    found = zip_members(path, r"^Gravity_V\d{6}[a-z]?\.csv$")
    if not found:
        raise DataError("no Gravity_V*.csv in the archive", file=path)
    return extract_member(path, found[-1])


def _read(path: Path, values: list[str], progress: bool, drops: dict[str, int],
          years: Iterable[int] | None, unknown_codes: str) -> pd.DataFrame:
    header = header_of(path)
    exists = [c for c in _EXISTS if c in header]
    columns = {**_KEYS, **{c: "number" for c in (*exists, *values)}}
    parts = []
    for chunk in iter_csv(path, columns, progress=progress):
        require_present(chunk, ["year", "iso3_o", "iso3_d"], path)
        check_year(chunk, "year", path)
        if years is not None:
            other = ~chunk["year"].isin(list(years))
            drops["other_year"] += int(other.sum())
            chunk = chunk[~other]
        if exists:
            gone = (chunk[exists] == 0).any(axis=1)
            drops["country_not_existing"] += int(gone.sum())
            chunk = chunk[~gone]
        has_value = chunk[values].notna().any(axis=1)
        drops["no_value"] += int((~has_value).sum())
        parts.append(chunk[has_value])
    table = pd.concat(parts, ignore_index=True)
    for col, side in (("iso3_o", "exporter"), ("iso3_d", "importer")):
        table = map_country(table, col, "iso3", path, drops, f"aggregate_{side}",
                            unknown=unknown_codes)
    table["year"] = table["year"].astype("int64")
    check_unique(table, ["year", "iso3_o", "iso3_d"], path)
    return table


def read_cepii_gravity(path: str | Path, flows: tuple[str, ...] = tuple(TRADE_FLOWS), *,
                       years: Iterable[int] | None = None, unknown_codes: str = "raise",
                       progress: bool = False) -> pd.DataFrame:
    """Trade figures of a CEPII Gravity file (the CSV or the downloaded
    ``Gravity_csv_V202211.zip``) as the canonical trade table (USD).

    ``flows``: which ``tradeflow_*`` columns to read (default all five); each becomes rows
    with its own ``source``/``reporter_side``/``flow`` (see ``TRADE_FLOWS``). Empty cells
    are missing figures (no row); 0 is a reported zero. ``years``: keep only these years
    (e.g. ``range(1995, 2022)``). ``unknown_codes="drop"`` drops (and counts) codes that
    ``tradeflows.countries`` does not know, e.g. historical entities, instead of raising.
    ``attrs["drops"]``: ``other_year``, ``country_not_existing``, ``no_value`` (rows without
    any figure), ``unknown_code``, ``aggregate_exporter``, ``aggregate_importer``.
    """
    path = Path(path)
    unknown = [f for f in flows if f not in TRADE_FLOWS]
    if unknown:
        raise DataError(f"unknown trade-flow column(s) {unknown}; expected some of "
                        f"{list(TRADE_FLOWS)}", file=path)
    path = _csv_of(path)
    drops = dict.fromkeys(DROPS, 0)
    table = _read(path, list(flows), progress, drops, years, unknown_codes)
    rows = []
    for col in flows:
        check_nonnegative(table, col, path)
        present = table[col].notna().to_numpy()
        source, side, flow = TRADE_FLOWS[col]
        rows.append(pd.DataFrame({
            "year": table["year"].to_numpy()[present],
            "exporter": table["iso3_o"].to_numpy()[present],
            "importer": table["iso3_d"].to_numpy()[present],
            "value_usd": table[col].to_numpy()[present] * UNIT,
            "reporter_side": side, "flow": flow, "source": source, "estimated": False}))
    return finish_trade(pd.concat(rows, ignore_index=True), path, drops)


def read_cepii_gravity_covariates(path: str | Path, *, years: Iterable[int] | None = None,
                                  unknown_codes: str = "raise",
                                  progress: bool = False) -> pd.DataFrame:
    """Pair-year covariates: ``year, exporter, importer, dist (km), contig, comlang_off,
    colony (col_dep_ever), gdp_exporter, gdp_importer (USD)``; options and
    ``attrs["drops"]`` as in ``read_cepii_gravity``."""
    path = _csv_of(Path(path))
    drops = dict.fromkeys(DROPS, 0)
    table = _read(path, list(COVARIATES), progress, drops, years, unknown_codes)
    out = pd.DataFrame({"year": table["year"], "exporter": table["iso3_o"],
                        "importer": table["iso3_d"]})
    for col, (name, factor) in COVARIATES.items():
        check_nonnegative(table, col, path)
        out[name] = table[col].to_numpy() * factor
    out = out.sort_values(["year", "exporter", "importer"]).reset_index(drop=True)
    out.attrs["drops"] = dict(drops)
    return out

