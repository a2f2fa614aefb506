"""UNCTAD Bilateral FDI Statistics (2014 release): the workbook of a reporting economy.

UNCTAD publishes a workbook per economy (``webdiaeia2014d3_AZE.xls``) whose sheets are
"Table 1. FDI flows in the host economy, by geographical origin", "Table 2. FDI flows
abroad, by geographical destination", "Table 3. FDI stock in the host economy, by
geographical origin", "Table 4. FDI stock abroad, by geographical destination". Saved as
CSV, a sheet reads: the economy's name, the title line, ``(Millions of US dollars)``, a
header ``Region / economy, ..., 2001, ..., 2012``, then one line per partner whose name sits
in a label column indented by its depth (World > Developed economies > Europe > European
Union > France), and footer lines ``Source: ...`` / ``Notes: ...``. Cells: ``..`` not
available (no row), ``-`` zero, thousands separated by spaces (``2 012``); flows can be
negative (disinvestment), stocks cannot.

A line with deeper lines under it is a group (aggregate); ``Unspecified`` is an
unallocated remainder: both are dropped and counted. Partner names are matched to ISO3 by
``tradeflows.countries`` (scheme "name"); an unknown name raises ``DataError``. Inward
tables give ``source="unctad"`` (the host's report: investor = partner, host = reporting
economy); outward tables ``source="unctad_outward"`` (investor = reporting economy).

Sheets are found by their title ("Table N.") or, as other public readers of the same files
do, by their name: ``inflows`` (1), ``outflows`` (2), ``instock`` (3), ``outstock`` (4).
A table whose header says ``Reporting economy`` instead of ``Region / economy`` lists the
partners' own reports about this economy (mirror data): on an inward sheet the investor
reported the figure (``source="unctad_outward"``), on an outward sheet the host did
(``source="unctad"``). The workbook is told by its content (OLE2 or zip signature).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from python_calamine import CalamineError

from tradeflows.config import PACKAGE_DATA
from tradeflows.countries import is_aggregate, to_iso3
from tradeflows.errors import DataError
from tradeflows.sources._common import check_unique, read_csv_text
from tradeflows.sources.archive import is_zip
from tradeflows.sources.base import validate_investment

UNIT = 1e6  # millions of USD
UNIT_LINE = "(Millions of US dollars)"
_TITLE = re.compile(r"Table \d+\.\s*FDI (flows|stocks?) (in the host economy|abroad)",
                    re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# sheet names used by the published workbooks -> table number
SHEET_TABLES = {"inflows": 1, "outflows": 2, "instock": 3, "outstock": 4}
TABLES = {1: ("flow", True), 2: ("flow", False), 3: ("stock", True), 4: ("stock", False)}
HEADER_LABELS = ("Region / economy", "Reporting economy")
_FOOTER = re.compile(r"^(Source|Note)", re.IGNORECASE)
# UNCTAD's group labels (the 2014 tables); a group line with no partner under it is still a
# group, not a country.
UNCTAD_GROUPS = frozenset({
    "Africa", "Asia", "CIS", "Caribbean", "Central America", "Developed economies",
    "Developing economies", "East Asia", "Europe", "European Union",
    "International organizations", "Latin America and the Caribbean", "North Africa",
    "North America", "Oceania", "Other Africa", "Other developed Europe",
    "Other developed countries", "South America", "South Asia", "South-East Asia",
    "South-East Europe", "Transition economies", "West Asia", "World"})
# UNCTAD partner names that the general name table does not know (or maps differently):
# data, ``tradeflows/data/countries/unctad_names.csv`` (name, iso3).
UNCTAD_NAMES: dict[str, str] = dict(
    pd.read_csv(PACKAGE_DATA / "countries" / "unctad_names.csv", dtype=str,
                keep_default_na=False).itertuples(index=False, name=None))


def _cell_value(text: str) -> float | None:
    """UNCTAD cell -> millions USD; None for not available; raises ValueError if not a number."""
    text = text.replace("\xa0", " ").strip()
    if text in ("..", ""):
        return None
    if text in ("-", "–"):
        return 0.0
    compact = re.sub(r"(?<=\d)\s+(?=\d)", "", text).replace(" ", "")
    if not _NUMBER.fullmatch(compact):
        raise ValueError(text)
    return float(compact)


def _economy(path: Path, grid: pd.DataFrame, economy: str | None) -> str:
    if economy is not None:
        return str(to_iso3(pd.Series([economy]), "iso3", file=path).iloc[0])
    for token in reversed(re.split(r"[_\W]+", path.stem)):
        if len(token) == 3 and token.isalpha() and token.isupper():
            try:
                return str(to_iso3(pd.Series([token]), "iso3").iloc[0])
            except DataError:
                continue
    first = next((c for c in grid.iloc[0] if c.strip()), "")
    try:
        found = to_iso3(pd.Series([first.strip()]), "name").iloc[0]
    except DataError:
        found = None
    if not isinstance(found, str):
        raise DataError("reporting economy unknown: pass economy=<ISO3 code> or name "
                        "the file after it (e.g. webdiaeia2014d3_<ISO3>.csv)", file=path)
    return found


def read_unctad_fdi(path: str | Path, economy: str | None = None,
                    tables: tuple[int, ...] = (1, 3)) -> pd.DataFrame:
    """Read an UNCTAD bilateral FDI table into the investment table (USD).

    ``path``: a sheet saved as CSV (one table), or the published workbook (``.xls``/``.xlsx``,
    read with python-calamine) of which the sheets titled "Table N" (or named inflows,
    outflows, instock, outstock) for N in ``tables`` are read (default 1 and 3: inward flows and stock). ``economy``: ISO3 of the reporting
    economy (default: from the file name, else the sheet's first line). Errors name the
    line (row of the sheet). ``attrs["drops"]``: ``aggregate_partner``,
    ``unspecified_partner``, ``self_partner`` (counted per value cell, i.e. partner-year).
    """
    path = Path(path)
    if _is_workbook(path):
        return _read_workbook(path, economy, tables)
    grid = read_csv_text(path, header=None)
    return _read_grid(grid.fillna("").astype(str), path, economy)


def _is_workbook(path: Path) -> bool:
    """An Excel workbook: OLE2 (.xls) or zip (.xlsx) signature, whatever the name, or a
    workbook name (then an unreadable file is reported as such)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    return head.startswith(_OLE2) or is_zip(path) or path.suffix.lower() in (".xls", ".xlsx")


def _read_workbook(path: Path, economy: str | None, tables: tuple[int, ...]) -> pd.DataFrame:
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="calamine")
    except (ValueError, OSError, CalamineError) as exc:
        raise DataError(f"unreadable workbook ({exc})", file=path) from exc
    found = []
    for name, sheet in sheets.items():
        grid = sheet.fillna("").astype(str)
        text = " ".join(grid.head(6).to_numpy().ravel())
        number = re.search(r"Table (\d+)\.", text)
        table = int(number.group(1)) if number else SHEET_TABLES.get(str(name).strip().lower())
        if table in tables:
            found.append(_read_grid(grid, path, economy, where=f"sheet {name!r}", table=table))
    if not found:
        raise DataError(f"no sheet with Table {' or '.join(map(str, tables))} (titled "
                        "'Table N.' or named inflows/outflows/instock/outstock); found sheets "
                        f"{list(sheets)}", file=path)
    drops = {k: sum(t.attrs["drops"][k] for t in found) for k in found[0].attrs["drops"]}
    out = pd.concat(found, ignore_index=True)
    out.attrs["drops"] = drops
    return out


def _read_grid(grid: pd.DataFrame, path: Path, economy: str | None,
               where: str | None = None, table: int | None = None) -> pd.DataFrame:
    """Parse one table laid out as in the published sheet (cells as text). ``table``: the
    table number (1-4) when the sheet's name gives it; the title line wins if present."""
    file = f"{path} ({where})" if where else path
    cells = grid.to_numpy()
    title = next(((r, m) for r in range(len(grid)) for c in cells[r]
                  if (m := _TITLE.search(c))), None)
    if title is not None:
        title_row, match = title
        measure = "flow" if match.group(1).lower() == "flows" else "stock"
        inward = match.group(2).lower().startswith("in the host")
    elif table in TABLES:
        title_row = -1
        measure, inward = TABLES[table]
    else:
        raise DataError("no title line 'Table N. FDI flows|stock in the host economy|abroad'; "
                        "expected an UNCTAD bilateral FDI table", file=file)
    header_row = next((r for r in range(title_row + 1, len(grid))
                       if any(c.strip() in HEADER_LABELS for c in cells[r])), None)
    if header_row is None:
        raise DataError(f"no header line with {' or '.join(map(repr, HEADER_LABELS))}",
                        file=file, row=title_row + 1)
    # "Reporting economy": the lines are the partners' own reports about this economy
    mirror = any(c.strip() == "Reporting economy" for c in cells[header_row])
    units = [c.strip() for r in range(title_row + 1, header_row) for c in cells[r] if c.strip()]
    if UNIT_LINE not in units:
        raise DataError(f"unit line {units or 'missing'}; expected {UNIT_LINE!r} (mixed or "
                        "other units are not read)", file=file, row=title_row + 2)
    header = [c.strip() for c in cells[header_row]]
    label_start = next(i for i, h in enumerate(header) if h in HEADER_LABELS)
    year_cols = {i: int(float(h)) for i, h in enumerate(header)
                 if re.fullmatch(r"\d{4}(\.0)?", h)}
    if not year_cols:
        raise DataError("no year columns in the header line", file=file, row=header_row + 1)
    label_cols = range(label_start, min(year_cols))
    entries = []  # (line, depth, name, {year: value})
    for r in range(header_row + 1, len(grid)):
        labels = [cells[r][c].strip() for c in label_cols]
        filled = [i for i, t in enumerate(labels) if t]
        if not filled:
            continue
        if _FOOTER.match(labels[filled[0]]):
            break
        values = {}
        for c, year in year_cols.items():
            try:
                value = _cell_value(cells[r][c])
            except ValueError as exc:
                raise DataError(f"cell {cells[r][c]!r} is not a number, '..' or '-'",
                                file=file, row=r + 1, column=str(year)) from exc
            if value is not None:
                values[year] = value
        entries.append((r + 1, filled[0], labels[filled[0]], values))
    reporter = _economy(path, grid, economy)
    drops = {"aggregate_partner": 0, "unspecified_partner": 0, "self_partner": 0}
    rows = []
    names = pd.Series([e[2] for e in entries], dtype=object)
    named_agg = (names.isin(UNCTAD_GROUPS) & ~names.isin(list(UNCTAD_NAMES))).to_numpy() | (
        is_aggregate(names, "name").to_numpy() & ~names.isin(list(UNCTAD_NAMES)).to_numpy())
    for k, (line, depth, name, values) in enumerate(entries):
        has_children = k + 1 < len(entries) and entries[k + 1][1] > depth
        if name.lower() == "unspecified":
            drops["unspecified_partner"] += len(values)
            continue
        if has_children or named_agg[k]:
            drops["aggregate_partner"] += len(values)
            continue
        try:
            partner = UNCTAD_NAMES.get(name) or str(to_iso3(pd.Series([name]), "name").iloc[0])
        except DataError as exc:
            raise DataError(f"unknown partner {name!r}; expected a country name",
                            file=file, row=line, column=header[label_start]) from exc
        if partner == reporter:
            drops["self_partner"] += len(values)
            continue
        for year, value in values.items():
            if measure == "stock" and value < 0:
                raise DataError(f"negative stock {value}; expected >= 0", file=file, row=line,
                                column=str(year))
            rows.append((line, year, partner, value * UNIT))
    long = pd.DataFrame(rows, columns=["_line", "year", "partner", "value_usd"])
    check_unique(long, ["partner", "year"], file)
    investor = long["partner"] if inward else reporter
    host = reporter if inward else long["partner"]
    out = pd.DataFrame({"year": long["year"], "investor": investor, "host": host,
                        "measure": measure, "value_usd": long["value_usd"],
                        "source": "unctad" if inward != mirror else "unctad_outward"})
    out = validate_investment(out, file=file)
    out = out.sort_values(["year", "investor", "host"]).reset_index(drop=True)
    out.attrs["drops"] = drops
    return out
