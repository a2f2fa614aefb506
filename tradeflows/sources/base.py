"""Canonical long tables that every source reader returns, and their validation.

Trade: one row per reported flow (a figure reported by one side of a pair in one year).
Investment: one row per bilateral FDI figure.
Values are in US dollars (not thousands, not millions); readers convert.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.errors import DataError

TRADE_COLUMNS: dict[str, str] = {
    "year": "int64",
    "exporter": "object",
    "importer": "object",
    "value_usd": "float64",
    "reporter_side": "object",  # "exporter" | "importer": who reported the figure
    "flow": "object",  # "export" (FOB) | "import" (CIF)
    "source": "object",
    "estimated": "bool",
}
TRADE_KEY = ["source", "year", "exporter", "importer", "reporter_side", "flow"]

INVESTMENT_COLUMNS: dict[str, str] = {
    "year": "int64",
    "investor": "object",
    "host": "object",
    "measure": "object",  # "flow" | "stock"
    "value_usd": "float64",
    "source": "object",
}
INVESTMENT_KEY = ["source", "measure", "year", "investor", "host"]

#: Years a reader accepts (inclusive): older or later years are a data error.
YEAR_RANGE = (1900, 2100)
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0", ""})

_ALLOWED = {
    "reporter_side": {"exporter", "importer"},
    "flow": {"export", "import"},
    "measure": {"flow", "stock"},
}


def require_columns(df: pd.DataFrame, columns: list[str] | dict[str, str], file: object) -> None:
    """Raise a ``DataError`` naming the file and the missing columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; found {list(df.columns)}", file=file)


def show(value: object) -> str:
    """A cell for an error message: text quoted, numbers plain (``2999``, not
    ``np.int64(2999)``)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return repr(value)


def file_rows(df: pd.DataFrame, lines: str = "_line") -> np.ndarray:
    """The file's row of each row of ``df``: its ``lines`` column if present (the reader's
    1-based line or row number), else its index labels."""
    return (df[lines] if lines in df.columns else df.index).to_numpy()


def parse_numbers(values: pd.Series, *, column: str,
                  file: object) -> tuple[pd.Series, np.ndarray]:
    """``values`` as float64 (empty cells NaN; text may hold thousands separators) and a
    boolean mask of the entries that are not finite numbers (non-numeric text or +-inf);
    a true/false column raises a ``DataError``. The caller decides what a bad entry means."""
    if pd.api.types.is_bool_dtype(values):
        raise DataError("true/false values; expected numbers", file=file, column=column)
    if pd.api.types.is_numeric_dtype(values):
        parsed = values.astype("float64")
        bad = np.zeros(len(values), dtype=bool)
    else:
        text = values.astype("string").str.strip().str.replace(",", "", regex=False)
        parsed = pd.to_numeric(text.replace({"": pd.NA}), errors="coerce").astype("float64")
        bad = (parsed.isna() & text.notna() & (text != "")).fillna(False).to_numpy(dtype=bool)
    return parsed, bad | np.isinf(parsed.to_numpy(dtype="float64", na_value=np.nan))


def to_number(values: pd.Series, *, column: str, file: object,
              row_offset: int = 0, rows: pd.Series | np.ndarray | None = None) -> pd.Series:
    """Parse finite numbers; a non-numeric or infinite entry raises a ``DataError`` naming
    its row.

    Empty cells become NaN ("nan" text is not a number). ``row_offset`` converts positions
    to the file's row numbers (for a CSV with a header line, pass 2 so the first data line
    is row 2); ``rows`` gives each entry's row instead.
    """
    parsed, bad = parse_numbers(values, column=column, file=file)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = int(np.asarray(rows)[pos]) if rows is not None else pos + row_offset
        what = "non-finite" if np.isinf(parsed.iloc[pos]) else "non-numeric"
        raise DataError(f"{what} value {show(values.iloc[pos])}; expected a finite number",
                        file=file, row=row, column=column)
    return parsed


def parse_bool(values: pd.Series, *, column: str, file: object,
               rows: pd.Series | np.ndarray | None = None) -> np.ndarray:
    """Booleans parsed strictly: bool columns as they are; 0/1; text true/false, t/f,
    yes/no, y/n, 1/0 (any case; empty or missing is False). Anything else raises a
    ``DataError`` naming the row (``rows``: the file's row of each entry)."""
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = values.to_numpy(dtype="float64", na_value=0.0)
        bad = ~np.isin(x, (0.0, 1.0))
        out = x == 1.0
    else:
        text = values.astype("string").fillna("").str.strip().str.lower()
        bad = ~(text.isin(list(_TRUE)) | text.isin(list(_FALSE))).to_numpy()
        out = text.isin(list(_TRUE)).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = int(np.asarray(rows)[pos]) if rows is not None else None
        raise DataError(f"value {show(values.iloc[pos])} is not a boolean; expected true/false "
                        "(or 1/0, yes/no)", file=file, row=row, column=column)
    return out


def check_years(years: pd.Series, *, column: str, file: object,
                rows: pd.Series | np.ndarray | None = None) -> np.ndarray:
    """Whole-number years within ``YEAR_RANGE``, as int64; anything else raises a
    ``DataError`` naming the row (``rows``: the file's row of each entry; without it, no
    row is named)."""
    if pd.api.types.is_bool_dtype(years):
        raise DataError("true/false values; expected years", file=file, column=column)
    x = pd.to_numeric(years, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    lo, hi = YEAR_RANGE
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(x) | (x % 1 != 0) | (x < lo) | (x > hi)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = int(np.asarray(rows)[pos]) if rows is not None else None
        raise DataError(f"year {show(years.iloc[pos])}; expected a whole number from {lo} to {hi}",
                        file=file, row=row, column=column)
    return x.astype("int64")


def _validate(df: pd.DataFrame, schema: dict[str, str], key: list[str], file: object,
              value_columns: tuple[str, ...] = ("value_usd",)) -> pd.DataFrame:
    """Rows in errors: ``df["_line"]`` if present (the file's row), else the index label."""
    require_columns(df, schema, file)
    out = df[list(schema)].copy()
    rows = file_rows(df)
    for col, allowed in _ALLOWED.items():
        if col in out:
            bad = ~out[col].isin(allowed)
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"value {show(out[col].iloc[pos])} not in {sorted(allowed)}",
                                file=file, row=rows[pos], column=col)
    for col in value_columns:
        parsed = to_number(out[col].reset_index(drop=True), column=col, file=file)
        neg = (parsed < 0) | parsed.isna()
        if neg.any():
            pos = int(np.flatnonzero(neg.to_numpy())[0])
            raise DataError(f"value {show(out[col].iloc[pos])}; expected a number >= 0",
                            file=file, row=rows[pos], column=col)
        out[col] = parsed.to_numpy()
    if "estimated" in schema:
        out["estimated"] = parse_bool(out["estimated"], column="estimated", file=file, rows=rows)
    out["year"] = check_years(out["year"], column="year", file=file, rows=rows)
    dup = out.duplicated(key, keep=False)
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        first = out.iloc[pos][key].to_dict()
        raise DataError(f"duplicate key {first} ({int(dup.sum())} rows share a key)",
                        file=file, row=rows[pos])
    return out.astype(schema).reset_index(drop=True)


def validate_trade(df: pd.DataFrame, file: str | Path | None = None) -> pd.DataFrame:
    """Check and coerce a canonical trade table; errors name ``file`` and the row."""
    return _validate(df, TRADE_COLUMNS, TRADE_KEY, file)


def validate_investment(df: pd.DataFrame, file: str | Path | None = None) -> pd.DataFrame:
    """Check and coerce a canonical investment table (negative flows are allowed for FDI
    flows, which are net; stocks must be non-negative)."""
    require_columns(df, INVESTMENT_COLUMNS, file)
    if "_line" not in df.columns:  # rows in errors: the index labels of the whole table
        df = df.assign(_line=file_rows(df))
    stocks = df["measure"] == "stock"
    checked_stocks = _validate(df[stocks], INVESTMENT_COLUMNS, INVESTMENT_KEY, file)
    flows = df[~stocks].copy()
    flows["value_usd"] = to_number(flows["value_usd"], column="value_usd", file=file,
                                   rows=flows["_line"]).to_numpy()
    flows_checked = _validate(flows.assign(value_usd=flows["value_usd"].abs()),
                              INVESTMENT_COLUMNS, INVESTMENT_KEY, file)
    flows_checked["value_usd"] = flows["value_usd"].to_numpy()
    return pd.concat([checked_stocks, flows_checked], ignore_index=True)
