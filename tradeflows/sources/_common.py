"""Shared steps of the public-format readers: reading CSV text safely, parsing numbers with
the file's own line numbers in errors, mapping country codes, counting drops, finishing.

Conventions every reader follows (see docs/sources.md):

* Errors name the file, the *line* of the file (1 = first line, so the first data line of a
  CSV with one header line is line 2) or, for JSON, the record index, and what was expected.
* Rows removed on purpose are counted in ``df.attrs["drops"]``: a dict ``reason -> rows of
  the input file`` (e.g. ``{"aggregate_partner": 3}``); every reason a reader can produce is
  present, with 0 when nothing was dropped for it.
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
from tqdm.auto import tqdm

from tradeflows.countries import is_aggregate, to_iso3
from tradeflows.errors import DataError
from tradeflows.sources.base import TRADE_COLUMNS, require_columns, to_number, validate_trade

CELLS_PER_CHUNK = 20_000_000


def read_csv_text(path: str | Path, *, skiprows: int = 0, sep: str = ",",
                  encoding: str = "utf-8-sig", **kwargs: object) -> pd.DataFrame:
    """Read a small CSV with every cell as text ('' for empty); a malformed file raises
    ``DataError`` naming it."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skiprows=skiprows, sep=sep,
                           encoding=encoding, skip_blank_lines=False, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            csv.Error) as exc:
        raise DataError(f"malformed CSV file ({type(exc).__name__}: {exc})", file=path) from exc


def header_of(path: str | Path, *, skiprows: int = 0, sep: str = ",",
              encoding: str = "utf-8-sig") -> list[str]:
    """Column names of a CSV (the line after ``skiprows`` lines), stripped."""
    try:
        with open(path, encoding=encoding, newline="") as fh:
            for _ in range(skiprows):
                fh.readline()
            first = fh.readline()
    except UnicodeDecodeError as exc:
        raise DataError(f"not a text file in {encoding} ({exc})", file=path) from exc
    if not first.strip():
        raise DataError("empty file or missing header line", file=path, row=skiprows + 1)
    return [c.strip() for c in next(csv.reader(io.StringIO(first), delimiter=sep))]


def iter_csv(path: str | Path, columns: dict[str, str], *, skiprows: int = 0, sep: str = ",",
             encoding: str = "utf-8-sig", chunksize: int | None = None,
             progress: bool = False) -> Iterator[pd.DataFrame]:
    """Read ``columns`` (name -> "number" | "text") of a possibly large CSV in chunks.

    Numbers are parsed as float64 (empty -> NaN). Each chunk gets a ``_line`` column: the
    line number in the file. A non-numeric cell raises ``DataError`` naming its line.
    """
    names = header_of(path, skiprows=skiprows, sep=sep, encoding=encoding)
    require_columns(pd.DataFrame(columns=names), list(columns), path)
    first_line = skiprows + 2
    # All columns are read (pandas checks the field count of every line only then); the
    # chunk length keeps about CELLS_PER_CHUNK cells in memory.
    rows = chunksize or max(50_000, CELLS_PER_CHUNK // max(len(names), 1))
    try:
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, skiprows=skiprows,
                             sep=sep, encoding=encoding, chunksize=rows,
                             skip_blank_lines=False)
        for chunk in tqdm(reader, desc=Path(path).name, unit="chunk", disable=not progress):
            chunk.columns = [c.strip() for c in chunk.columns]
            out = pd.DataFrame({"_line": np.arange(first_line, first_line + len(chunk))})
            for col, kind in columns.items():
                if kind == "number":
                    out[col] = to_number(chunk[col].reset_index(drop=True), column=col,
                                         file=path, row_offset=first_line).to_numpy()
                else:
                    out[col] = chunk[col].str.strip().to_numpy()
            first_line += len(chunk)
            yield out
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"malformed CSV file ({type(exc).__name__}: {exc})", file=path) from exc


def require_present(df: pd.DataFrame, columns: list[str], file: object,
                    lines: str = "_line") -> None:
    """Raise ``DataError`` at the first empty cell of ``columns``."""
    for col in columns:
        values = df[col]
        empty = values.isna() | (values.astype(str).str.strip() == "")
        if empty.any():
            pos = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError("empty cell; expected a value", file=file,
                            row=int(df[lines].iloc[pos]), column=col)


def check_nonnegative(df: pd.DataFrame, column: str, file: object,
                      lines: str = "_line") -> None:
    """Raise ``DataError`` at the first negative value of ``column``."""
    neg = (df[column] < 0).to_numpy()
    if neg.any():
        pos = int(np.flatnonzero(neg)[0])
        raise DataError(f"negative value {df[column].iloc[pos]}; expected >= 0", file=file,
                        row=int(df[lines].iloc[pos]), column=column)


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


def map_country(df: pd.DataFrame, column: str, scheme: str, file: object,
                drops: dict[str, int], reason: str, lines: str = "_line") -> pd.DataFrame:
    """Replace ``column`` by ISO3 codes; drop aggregates, counting them under ``reason``.

    An unknown code raises ``DataError`` naming the file's line and the code.
    """
    values = df[column].reset_index(drop=True)
    agg = is_aggregate(values, scheme).to_numpy()
    try:
        iso = to_iso3(values, scheme)
    except DataError as exc:
        pos = int(exc.row)
        raise DataError(f"unknown country code {values.iloc[pos]!r} ({scheme}); expected a "
                        "country or a known aggregate", file=file,
                        row=int(df[lines].iloc[pos]), column=column) from exc
    drops[reason] = drops.get(reason, 0) + int(agg.sum())
    out = df[~agg].copy()
    out[column] = iso[~agg].to_numpy()
    return out


def finish_trade(df: pd.DataFrame, file: object, drops: dict[str, int],
                 extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Validate and sort the canonical trade table, attach ``attrs["drops"]``.

    ``extra`` columns (e.g. ``product``) are kept after the canonical ones; the key is then
    the canonical key plus them, and the schema is checked on the totals over them.
    """
    key = ["source", "year", "exporter", "importer", "reporter_side", "flow"]
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
