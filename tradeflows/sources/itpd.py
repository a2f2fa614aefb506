"""USITC International Trade and Production Database for Estimation (ITPD-E).

Published as ``ITPDE_R03.zip`` (release 3, the current one, under
``usitc.gov/data/gravity/itpd_e/r03/``) holding ``ITPDE_R03.csv``; release 2 was
``ITPD_E_R02.csv``. Every release has the columns: ``exporter_iso3, exporter_name,
importer_iso3, importer_name, year, industry_id, industry_descr, broad_sector, trade,
flag_mirror, flag_zero`` (R02 adds ``*_dynamic_code``, R03 ``*_iso3_dynamic`` columns, not
used). ``trade`` is in **millions of current USD**; exporter = importer rows are domestic
trade (kept). ``flag_mirror`` = 1 when USITC used the mirror (exporter-reported) figure
instead of the importer's; ``flag_zero``: ``p`` positive, ``r`` zero in the raw data, ``u``
unknown (missing, filled with zero by USITC).

Convention here: an industry row is filed ``reporter_side="importer"``, ``flow="import"``,
or, when ``flag_mirror`` = 1, ``"exporter"``/``"export"``. Summed over industries (the
default) a pair-year is one ``importer``/``import`` row with ``estimated=True`` when any
industry used a mirror figure. ``u`` rows are missing data, not zeros: they are dropped
(``unknown_zero``) unless ``keep_unknown_zeros=True``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tradeflows.errors import DataError
from tradeflows.sources._common import (
    KeyTracker,
    check_integer,
    check_nonnegative,
    check_year,
    extract_member,
    finish_trade,
    iter_csv,
    map_country,
    require_present,
    zip_members,
)
from tradeflows.sources.archive import is_zip

UNIT = 1e6  # millions of USD
SOURCE = "itpd"
COLUMNS = {"exporter_iso3": "text", "importer_iso3": "text", "year": "number",
           "industry_id": "number", "trade": "number", "flag_mirror": "number",
           "flag_zero": "text"}


def _csv_of(path: Path) -> Path:
    """The CSV itself, or the ``ITPDE_R*.csv`` / ``ITPD_E_R*.csv`` extracted from a zip."""
    if not is_zip(path):
        return path
    found = zip_members(path, r"^ITPD_?E_R\d{2}\.csv$")
    if not found:
        raise DataError("no ITPDE_R*.csv (or ITPD_E_R*.csv) in the archive", file=path)
    return extract_member(path, found[-1])


def read_itpd(path: str | Path, *, keep_industry: bool = False,
              keep_unknown_zeros: bool = False, unknown_codes: str = "raise",
              progress: bool = False) -> pd.DataFrame:
    """Read an ITPD-E CSV, or the release zip (told by its content, the CSV extracted
    beside it), into the canonical trade table (USD).

    ``keep_industry=True`` keeps one row per industry (column ``industry_id``).
    ``unknown_codes="drop"`` drops (and counts) country codes ``tradeflows.countries`` does
    not know instead of raising. ``attrs["drops"]``: ``unknown_zero``, ``unknown_code``,
    ``aggregate_exporter``, ``aggregate_importer``.
    """
    path = _csv_of(Path(path))
    drops = {"unknown_zero": 0, "unknown_code": 0, "aggregate_exporter": 0,
             "aggregate_importer": 0}
    keys = KeyTracker(["year", "exporter_iso3", "importer_iso3", "industry_id"])
    parts = []
    for chunk in iter_csv(path, COLUMNS, progress=progress):
        require_present(chunk, list(COLUMNS), path)
        for col in ("year", "industry_id"):
            check_integer(chunk, col, path)
        check_year(chunk, "year", path)
        check_nonnegative(chunk, "trade", path)
        for col, allowed in (("flag_mirror", {0.0, 1.0}), ("flag_zero", {"p", "r", "u"})):
            bad = ~chunk[col].isin(allowed)
            if bad.any():
                first = chunk[bad].iloc[0]
                raise DataError(f"flag {first[col]!r}; expected one of {sorted(allowed)}",
                                file=path, row=int(first["_line"]), column=col)
        keys.add(chunk)
        for col, side in (("exporter_iso3", "exporter"), ("importer_iso3", "importer")):
            chunk = map_country(chunk, col, "iso3", path, drops, f"aggregate_{side}",
                                unknown=unknown_codes)
        zero_u = chunk["flag_zero"] == "u"
        if not keep_unknown_zeros:
            drops["unknown_zero"] += int(zero_u.sum())
            chunk = chunk[~zero_u]
        chunk = chunk.assign(year=chunk["year"].astype("int64"), exporter=chunk["exporter_iso3"],
                             importer=chunk["importer_iso3"], mirror=chunk["flag_mirror"] == 1,
                             value_usd=chunk["trade"] * UNIT)
        if keep_industry:
            parts.append(chunk.assign(industry_id=chunk["industry_id"].astype("int64")))
        else:
            parts.append(chunk.groupby(["year", "exporter", "importer"], as_index=False)
                         .agg(value_usd=("value_usd", "sum"), mirror=("mirror", "any")))
    keys.check(path)
    rows = pd.concat(parts, ignore_index=True)
    if keep_industry:
        out = rows.assign(reporter_side=rows["mirror"].map({True: "exporter", False: "importer"}),
                          flow=rows["mirror"].map({True: "export", False: "import"}),
                          source=SOURCE, estimated=False)
        return finish_trade(out, path, drops, extra=("industry_id",))
    out = (rows.groupby(["year", "exporter", "importer"], as_index=False)
           .agg(value_usd=("value_usd", "sum"), estimated=("mirror", "any")))
    out = out.assign(reporter_side="importer", flow="import", source=SOURCE)
    return finish_trade(out, path, drops)
