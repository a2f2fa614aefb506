"""World Bank World Development Indicators: the bulk CSV and the DataBank CSV export.

* Bulk download (``api.worldbank.org/v2/en/indicator/NY.GDP.MKTP.CD?downloadformat=csv``,
  file ``API_NY.GDP.MKTP.CD_DS2_en_csv_v2_*.csv``): four lines before the header
  (``"Data Source","World Development Indicators",`` / blank / ``"Last Updated Date",...`` /
  blank), then ``"Country Name","Country Code","Indicator Name","Indicator Code","1960",
  ...,"2023",``; every line ends with a comma. The zip also holds
  ``Metadata_Country_API_*.csv`` whose ``Region`` is empty for aggregates.
* DataBank export: ``Country Name,Country Code,Series Name,Series Code,2019 [YR2019],...``,
  ``..`` for missing values and a few footer lines (``Data from database: ...``).

Values are kept in the indicator's own unit (``NY.GDP.MKTP.CD``: current US dollars).
Aggregates (World, regions, income groups: codes that are not ISO3 countries) are dropped
and counted; the World Bank's ``XKX`` (Kosovo) is kept, ``CHI`` (Channel Islands, no ISO3)
is dropped as ``non_iso_economy``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.errors import DataError
from tradeflows.sources._common import (
    check_nonnegative,
    check_unique,
    extract_member,
    map_country,
    read_csv_text,
    zip_members,
)
from tradeflows.sources.archive import is_zip
from tradeflows.sources.base import require_columns, to_number

# World Bank aggregate codes (regions, income and lending groups, demographic groups).
WDI_AGGREGATES = frozenset({
    "AFE", "AFW", "ARB", "CEB", "CSS", "EAP", "EAR", "EAS", "ECA", "ECS", "EMU", "EUU",
    "FCS", "HIC", "HPC", "IBD", "IBT", "IDA", "IDB", "IDX", "INX", "LAC", "LCN", "LDC",
    "LIC", "LMC", "LMY", "LTE", "MEA", "MIC", "MNA", "NAC", "OED", "OSS", "PRE", "PSS",
    "PST", "SAS", "SSA", "SSF", "SST", "TEA", "TEC", "TLA", "TMN", "TSA", "TSS", "UMC",
    "WLD"})
NON_ISO = frozenset({"CHI"})
_DATABANK_YEAR = re.compile(r"(\d{4}) \[YR\d{4}\]")


def _bulk_skiprows(path: Path) -> int:
    """Lines before the header: 4 in the bulk download, 0 in other exports."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            head = [fh.readline() for _ in range(5)]
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from exc
    for n, line in enumerate(head):
        if line.lstrip('"').startswith("Country Name"):
            return n
    raise DataError("header line starting with 'Country Name' not found in the first five "
                    "lines; expected the WDI CSV layout", file=path)


def _aggregates_beside(path: Path) -> set[str]:
    """Aggregate codes listed in a ``Metadata_Country_*.csv`` next to the data (empty Region)."""
    found: set[str] = set()
    for meta in path.parent.glob("Metadata_Country_*.csv"):
        table = read_csv_text(meta)
        if {"Country Code", "Region"} <= set(table.columns):
            found |= set(table.loc[table["Region"].str.strip() == "", "Country Code"])
    return found


def _load(path: Path) -> tuple[Path, pd.DataFrame, str, dict[str, int]]:
    """(data file, table with ``_line``, indicator code column, year columns) of a WDI CSV
    or bulk-download zip (told apart by content)."""
    if is_zip(path):  # the bulk download (whatever its name): data + Metadata_Country file
        found = zip_members(path, r"^API_.*\.csv$")
        if not found:
            raise DataError("no API_*.csv data file in the archive", file=path)
        for meta in zip_members(path, r"^Metadata_Country_.*\.csv$"):
            extract_member(path, meta)
        path = extract_member(path, found[0])
    skip = _bulk_skiprows(path)
    table = read_csv_text(path, skiprows=skip)
    table.columns = [c.strip() for c in table.columns]
    table = table.loc[:, [c for c in table.columns if c and not c.startswith("Unnamed")]]
    code_col = "Indicator Code" if "Indicator Code" in table.columns else "Series Code"
    require_columns(table, ["Country Name", "Country Code", code_col], path)
    table["_line"] = np.arange(skip + 2, skip + 2 + len(table))
    table = table[table["Country Code"].str.strip() != ""]  # DataBank footer lines
    years = {}
    for col in table.columns:
        match = re.fullmatch(r"\d{4}", col) or _DATABANK_YEAR.fullmatch(col)
        if match:
            years[col] = int(match.group(1) if match.lastindex else match.group(0))
    if not years:
        raise DataError("no year columns; expected '1960', ... or '2019 [YR2019]'", file=path)
    return path, table, code_col, years


def read_wdi(path: str | Path, indicator: str = "NY.GDP.MKTP.CD", *,
             nonnegative: bool = True) -> pd.DataFrame:
    """One WDI indicator as a long table ``year, country (ISO3), indicator, value``.

    ``path``: the CSV or the bulk-download zip (``tradeflows fetch wdi``), told apart by
    content: ``...?downloadformat=csv`` answers a zip.
    Missing cells give no row. ``nonnegative`` (default, right for levels such as GDP or
    population) rejects negative values; pass False for rates and balances. ``attrs["drops"]``: ``aggregate_country``,
    ``non_iso_economy``. A file without ``indicator`` raises ``DataError``.
    """
    return _indicator(_load(Path(path)), indicator, nonnegative)


#: WDI indicators the panel uses -> column of the covariate table
COVARIATES = {"NY.GDP.MKTP.CD": "gdp_usd", "SP.POP.TOTL": "population"}


def read_wdi_covariates(path: str | Path) -> pd.DataFrame:
    """The panel covariates a WDI file holds: ``iso3, year, gdp_usd, population`` (current
    USD; persons), NaN for an indicator the file lacks (``attrs["indicators"]``: those it
    has). A file with neither GDP (``NY.GDP.MKTP.CD``) nor population (``SP.POP.TOTL``)
    raises ``DataError``."""
    loaded = _load(Path(path))
    _, table, code_col, _ = loaded
    present = [i for i in COVARIATES if (table[code_col].str.strip() == i).any()]
    if not present:
        found = sorted(table[code_col].str.strip().unique())[:10]
        raise DataError(f"neither GDP (NY.GDP.MKTP.CD) nor population (SP.POP.TOTL) in the "
                        f"file (found {found})", file=path)
    parts, drops = [], {}
    for indicator in present:
        long = _indicator(loaded, indicator, True)
        for k, v in long.attrs["drops"].items():
            drops[k] = drops.get(k, 0) + v
        parts.append(long.set_index(["country", "year"])["value"].rename(COVARIATES[indicator]))
    out = pd.concat(parts, axis=1).reindex(columns=list(COVARIATES.values()))
    out = out.rename_axis(["iso3", "year"]).reset_index()
    out.attrs.update(file=str(path), drops=drops, indicators=present)
    return out


def _indicator(loaded: tuple[Path, pd.DataFrame, str, dict[str, int]], indicator: str,
               nonnegative: bool) -> pd.DataFrame:
    path, table, code_col, years = loaded
    rows = table[table[code_col].str.strip() == indicator]
    if rows.empty:
        found = sorted(table[code_col].unique())[:10]
        raise DataError(f"indicator {indicator!r} not in the file (found {found})", file=path)
    long = rows.melt(id_vars=["Country Code", "_line"], value_vars=list(years),
                     var_name="year", value_name="text")
    long["text"] = long["text"].str.strip().replace("..", "")
    long = long[long["text"] != ""].reset_index(drop=True)
    long["value"] = to_number(long["text"], column="value", file=path, rows=long["_line"])
    long["year"] = long["year"].map(years)
    if nonnegative:
        check_nonnegative(long, "value", path)
    drops = {"aggregate_country": 0, "non_iso_economy": 0}
    code = long["Country Code"].str.strip().str.upper()
    aggregate = code.isin(WDI_AGGREGATES | _aggregates_beside(path))
    drops["aggregate_country"] = int(aggregate.sum())
    non_iso = code.isin(NON_ISO) & ~aggregate
    drops["non_iso_economy"] = int(non_iso.sum())
    long = long[~(aggregate | non_iso)].assign(country=code[~(aggregate | non_iso)])
    long = map_country(long, "country", "iso3", path, drops, "aggregate_country")
    check_unique(long, ["country", "year"], path)
    out = pd.DataFrame({"year": long["year"].astype("int64").to_numpy(),
                        "country": long["country"].to_numpy(), "indicator": indicator,
                        "value": long["value"].to_numpy()})
    out = out.sort_values(["country", "year"]).reset_index(drop=True)
    out.attrs["drops"] = drops
    return out
