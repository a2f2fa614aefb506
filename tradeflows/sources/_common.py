"""Shared steps of the public-format readers: reading CSV text safely, parsing numbers with
the file's own line numbers in errors, mapping country codes, counting drops, finishing.

Conventions every reader follows (see docs/sources.md):

* Errors name the file, the *line* of the file (1 = first line, so the first data line of a
  CSV with one header line is line 2) or, for JSON, the record index, and what was expected.
* Rows removed on purpose are counted in ``df.attrs["drops"]``: a dict ``reason -> input
  observations`` (a line of a long file, a cell of a wide one; e.g.
  ``{"aggregate_partner": 3}``); every reason a reader can produce is present, with 0 when
  nothing was dropped for it.
* Values are converted to US dollars before validation by ``validate_trade`` /
  ``validate_investment``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from tqdm.auto import tqdm

from tradeflows.countries import is_aggregate, to_iso3
from tradeflows.errors import DataError
from tradeflows.sources.archive import extract_member as extract_member  # re-exported
from tradeflows.sources.archive import is_gzip, open_text
from tradeflows.sources.archive import zip_members as zip_members  # re-exported
from tradeflows.sources.base import (
    TRADE_COLUMNS,
    check_years,
    require_columns,
    to_number,
    validate_trade,
)

BLOCK_BYTES = 64 << 20  # bytes of CSV text per chunk


def read_csv_text(path: str | Path, *, skiprows: int = 0, sep: str = ",",
                  encoding: str = "utf-8-sig", **kwargs: object) -> pd.DataFrame:
    """Read a small CSV with every cell as text ('' for empty); a malformed file raises
    ``DataError`` naming it."""
    try:
        kwargs.setdefault("compression", "gzip" if is_gzip(path) else None)
        return pd.read_csv(path, dtype=str, keep_default_na=False, skiprows=skiprows, sep=sep,
                           encoding=encoding, skip_blank_lines=False, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            csv.Error) as exc:
        raise DataError(f"malformed CSV file ({type(exc).__name__}: {exc})", file=path) from exc


def header_of(path: str | Path, *, skiprows: int = 0, sep: str = ",",
              encoding: str = "utf-8-sig", strip: bool = True) -> list[str]:
    """Column names of a CSV (the line after ``skiprows`` lines), stripped by default."""
    try:
        with open_text(path, encoding) as fh:
            for _ in range(skiprows):
                fh.readline()
            first = fh.readline()
    except UnicodeDecodeError as exc:
        raise DataError(f"not a text file in {encoding} ({exc})", file=path) from exc
    if not first.strip():
        raise DataError("empty file or missing header line", file=path, row=skiprows + 1)
    names = next(csv.reader(io.StringIO(first.rstrip("\r\n")), delimiter=sep))
    return [c.strip() for c in names] if strip else names


def iter_csv(path: str | Path, columns: dict[str, str], *, skiprows: int = 0, sep: str = ",",
             block_bytes: int = BLOCK_BYTES, progress: bool = False) -> Iterator[pd.DataFrame]:
    """Read ``columns`` (name -> "number" | "text") of a possibly large UTF-8 CSV in chunks.

    Parsed by pyarrow (every line's field count is checked, also for columns not read).
    Numbers are float64 (empty -> NaN), text is stripped. Each chunk gets a ``_line``
    column: the line number in the file. A non-numeric cell raises ``DataError`` naming
    its line; so does a line with too many or too few fields (naming its content).
    """
    names = header_of(path, skiprows=skiprows, sep=sep, strip=False)
    raw = {n.strip(): n for n in names}
    require_columns(pd.DataFrame(columns=list(raw)), list(columns), path)
    types = {raw[c]: pa.float64() if kind == "number" else pa.string()
             for c, kind in columns.items()}
    first_line = skiprows + 2
    try:
        reader = pacsv.open_csv(
            pa.input_stream(str(path), compression="gzip" if is_gzip(path) else None),
            read_options=pacsv.ReadOptions(skip_rows=skiprows, block_size=block_bytes),
            parse_options=pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(types), column_types=types, null_values=[""],
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        for batch in tqdm(reader, desc=Path(path).name, unit="block", disable=not progress):
            out = pd.DataFrame({"_line": np.arange(first_line, first_line + batch.num_rows)})
            for col, kind in columns.items():
                array = batch.column(raw[col])
                if kind == "number":
                    _refuse_non_finite(array, col, path, out["_line"])
                values = array.to_pandas()
                out[col] = values.to_numpy() if kind == "number" else values.str.strip()
            first_line += batch.num_rows
            yield out
    except pa.ArrowInvalid as exc:
        if "conversion error" in str(exc):
            _locate_bad_number(path, columns, raw, skiprows, sep)
        else:
            _locate_bad_line(path, len(names), skiprows, sep)
        raise DataError(f"malformed CSV file ({exc})", file=path) from exc


def _refuse_non_finite(array: pa.Array, column: str, path: str | Path,
                       lines: pd.Series) -> None:
    """Raise ``DataError`` at the first NaN or infinite number (text such as "nan", "inf",
    "1e999"); empty cells are missing values, not errors."""
    bad = pc.fill_null(pc.invert(pc.is_finite(array)), False)
    if pc.any(bad).as_py():
        pos = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
        raise DataError(f"non-finite value {array[pos].as_py()}; expected a finite number",
                        file=path, row=int(lines.iloc[pos]), column=column)


def _locate_bad_line(path: str | Path, n_fields: int, skiprows: int, sep: str) -> None:
    """Raise ``DataError`` at the first line whose field count differs from the header's."""
    with open_text(path) as fh:
        for _ in range(skiprows):
            fh.readline()
        reader = csv.reader(fh, delimiter=sep)
        for row in reader:
            if len(row) != n_fields:
                raise DataError(f"malformed CSV file: the line has {len(row)} fields, the "
                                f"header {n_fields}", file=path,
                                row=reader.line_num + skiprows)


def _locate_bad_number(path: str | Path, columns: dict[str, str], raw: dict[str, str],
                       skiprows: int, sep: str) -> None:
    """Scan the numeric columns as text; raise ``DataError`` at the first non-number."""
    first_line = skiprows + 2
    wanted = [raw[c] for c, kind in columns.items() if kind == "number"]
    for chunk in pd.read_csv(path, dtype=str, usecols=wanted, keep_default_na=False,
                             compression="gzip" if is_gzip(path) else None,
                             skiprows=skiprows, sep=sep, encoding="utf-8-sig",
                             chunksize=1_000_000, skip_blank_lines=False):
        for col in wanted:
            to_number(chunk[col].reset_index(drop=True), column=col.strip(), file=path,
                      row_offset=first_line)
        first_line += len(chunk)


def require_present(df: pd.DataFrame, columns: list[str], file: object,
                    lines: str = "_line") -> None:
    """Raise ``DataError`` at the first empty cell of ``columns``."""
    for col in columns:
        values = df[col]
        empty = values.isna()
        if not pd.api.types.is_numeric_dtype(values):
            empty |= values.astype(str).str.strip() == ""
        if empty.any():
            pos = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError("empty cell; expected a value", file=file,
                            row=int(df[lines].iloc[pos]), column=col)


def check_nonnegative(df: pd.DataFrame, column: str, file: object,
                      lines: str = "_line") -> None:
    """Raise ``DataError`` at the first negative or infinite value of ``column`` (NaN is a
    missing value)."""
    x = df[column].to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        neg = (x < 0) | np.isinf(x)
    if neg.any():
        pos = int(np.flatnonzero(neg)[0])
        what = "non-finite" if np.isinf(x[pos]) else "negative"
        raise DataError(f"{what} value {df[column].iloc[pos]}; expected a finite number >= 0",
                        file=file, row=int(df[lines].iloc[pos]), column=column)


def check_year(df: pd.DataFrame, column: str, file: object, lines: str = "_line") -> None:
    """Raise ``DataError`` at the first value of ``column`` that is not a whole-number year
    within ``tradeflows.sources.base.YEAR_RANGE``."""
    check_years(df[column], column=column, file=file, rows=df[lines])


def check_unique(df: pd.DataFrame, key: list[str], file: object, lines: str = "_line") -> None:
    """Raise ``DataError`` naming the lines of the first duplicated ``key``."""
    dup = df.duplicated(key, keep=False).to_numpy()
    if dup.any():
        first = df[dup].iloc[0]
        same = (df[key] == first[key]).all(axis=1).to_numpy()
        where = ", ".join(str(int(x)) for x in df.loc[same, lines].head(5))
        label = {k: first[k] for k in key}
        raise DataError(f"duplicate rows for {label} (lines {where}); expected one row per "
                        f"{'/'.join(key)}", file=file, row=int(first[lines]))


def check_integer(df: pd.DataFrame, column: str, file: object, lines: str = "_line") -> None:
    """Raise ``DataError`` at the first value of ``column`` that is not a whole number."""
    frac = (df[column] % 1 != 0).to_numpy()
    if frac.any():
        pos = int(np.flatnonzero(frac)[0])
        raise DataError(f"value {df[column].iloc[pos]} is not a whole number", file=file,
                        row=int(df[lines].iloc[pos]), column=column)


class KeyTracker:
    """Finds duplicate keys across the chunks of a large file without keeping the rows:
    each text key column is kept as integer codes (a running dictionary per column),
    numeric ones (whole numbers, checked before) as they are."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.codes: list[dict[object, int]] = [{} for _ in columns]
        self.ids: list[pd.DataFrame] = []

    def add(self, chunk: pd.DataFrame, lines: str = "_line") -> None:
        ids = {}
        for col, table in zip(self.columns, self.codes, strict=True):
            if pd.api.types.is_numeric_dtype(chunk[col]):  # whole numbers: kept as they are
                ids[col] = chunk[col].to_numpy(dtype=np.int64)
                continue
            local, uniques = pd.factorize(chunk[col])
            glob = np.array([table.setdefault(u, len(table)) for u in uniques], dtype=np.uint32)
            ids[col] = glob[local]
        ids["_line"] = chunk[lines].to_numpy(dtype=np.int64)
        self.ids.append(pd.DataFrame(ids))

    def check(self, file: object) -> None:
        """Raise ``DataError`` naming the lines of the first duplicated key."""
        if not self.ids:
            return
        ids = pd.concat(self.ids, ignore_index=True)
        check_unique(ids, self.columns, file)


def map_country(df: pd.DataFrame, column: str, scheme: str, file: object,
                drops: dict[str, int], reason: str, lines: str = "_line",
                unknown: str = "raise") -> pd.DataFrame:
    """Replace ``column`` by ISO3 codes; drop aggregates, counting them under ``reason``.

    An unknown code raises ``DataError`` naming the file's line and the code; with
    ``unknown="drop"`` its rows are dropped and counted under ``unknown_code`` instead.
    """
    codes, uniques = pd.factorize(df[column])
    if (codes < 0).any():
        require_present(df, [column], file, lines)
    uniq = pd.Series(uniques, dtype=object)
    if unknown == "drop":
        bad = (~is_aggregate(uniq, scheme) & uniq.map(
            lambda v: _is_unknown(v, scheme))).to_numpy()[codes]
        drops["unknown_code"] = drops.get("unknown_code", 0) + int(bad.sum())
        return map_country(df[~bad], column, scheme, file, drops, reason, lines)
    try:
        iso = to_iso3(uniq, scheme).to_numpy()
    except DataError as exc:
        pos = int(np.flatnonzero(codes == int(exc.row))[0])
        raise DataError(f"unknown country code {uniq.iloc[int(exc.row)]!r} ({scheme}); "
                        "expected a country or a known aggregate", file=file,
                        row=int(df[lines].iloc[pos]), column=column) from exc
    agg = is_aggregate(uniq, scheme).to_numpy()[codes]
    drops[reason] = drops.get(reason, 0) + int(agg.sum())
    out = df[~agg].copy()
    out[column] = iso[codes][~agg]
    return out


def _is_unknown(value: object, scheme: str) -> bool:
    try:
        to_iso3(pd.Series([value], dtype=object), scheme)
    except DataError:
        return True
    return False


def finish_trade(df: pd.DataFrame, file: object, drops: dict[str, int],
                 extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Validate and sort the canonical trade table, attach ``attrs["drops"]``.

    ``extra`` columns (e.g. ``product``) are kept after the canonical ones; the key is then
    the canonical key plus them, and the schema is checked on the totals over them.
    """
    key = ["source", "year", "exporter", "importer", "reporter_side", "flow"]
    check_years(df["year"], column="year", file=file,
                rows=df["_line"] if "_line" in df.columns else None)
    df = df.sort_values([*key, *extra], kind="stable").reset_index(drop=True)
    if extra:
        check_unique(df.assign(_line=np.arange(len(df))), [*key, *extra], file)
        totals = df.groupby(key, as_index=False).agg(value_usd=("value_usd", "sum"),
                                                    estimated=("estimated", "any"))
        validate_trade(totals, file=file)
        out = df[[*TRADE_COLUMNS, *extra]].astype(TRADE_COLUMNS)
    else:
        out = validate_trade(df, file=file)
    out.attrs["drops"] = dict(drops)
    return out
