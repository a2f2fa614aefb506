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


def to_number(values: pd.Series, *, column: str, file: object,
              row_offset: int = 0) -> pd.Series:
    """Parse numbers; a non-numeric entry raises a ``DataError`` naming its row.

    Empty cells become NaN. ``row_offset`` converts positions to the file's row numbers
    (for a CSV with a header line, pass 2 so the first data line is row 2).
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.strip().str.replace(",", "", regex=False)
    parsed = pd.to_numeric(text.replace({"": pd.NA}), errors="coerce")
    bad = parsed.isna() & text.notna() & (text != "")
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"non-numeric value {values.iloc[pos]!r}; expected a number",
                        file=file, row=pos + row_offset, column=column)
    return parsed.astype("float64")


def _validate(df: pd.DataFrame, schema: dict[str, str], key: list[str], file: object,
              value_columns: tuple[str, ...] = ("value_usd",)) -> pd.DataFrame:
    require_columns(df, schema, file)
    out = df[list(schema)].copy()
    for col, allowed in _ALLOWED.items():
        if col in out:
            bad = ~out[col].isin(allowed)
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"value {out[col].iloc[pos]!r} not in {sorted(allowed)}",
                                file=file, row=pos, column=col)
    for col in value_columns:
        out[col] = to_number(out[col], column=col, file=file)
        neg = out[col] < 0
        if neg.any():
            pos = int(np.flatnonzero(neg.to_numpy())[0])
            raise DataError(f"negative value {out[col].iloc[pos]}; expected >= 0",
                            file=file, row=pos, column=col)
    years = pd.to_numeric(out["year"], errors="coerce")
    if years.isna().any():
        pos = int(np.flatnonzero(years.isna().to_numpy())[0])
        raise DataError(f"bad year {out['year'].iloc[pos]!r}", file=file, row=pos, column="year")
    out["year"] = years.astype("int64")
    dup = out.duplicated(key, keep=False)
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        first = out.iloc[pos][key].to_dict()
        raise DataError(f"duplicate key {first} ({int(dup.sum())} rows share a key)",
                        file=file, row=pos)
    return out.astype(schema).reset_index(drop=True)


def validate_trade(df: pd.DataFrame, file: str | Path | None = None) -> pd.DataFrame:
    """Check and coerce a canonical trade table; errors name ``file`` and the row."""
    return _validate(df, TRADE_COLUMNS, TRADE_KEY, file)


def validate_investment(df: pd.DataFrame, file: str | Path | None = None) -> pd.DataFrame:
    """Check and coerce a canonical investment table (negative flows are allowed for FDI
    flows, which are net; stocks must be non-negative)."""
    require_columns(df, INVESTMENT_COLUMNS, file)
    stocks = df["measure"] == "stock"
    checked_stocks = _validate(df[stocks], INVESTMENT_COLUMNS, INVESTMENT_KEY, file)
    flows = df[~stocks].copy()
    flows["value_usd"] = to_number(flows["value_usd"], column="value_usd", file=file)
    flows_checked = _validate(flows.assign(value_usd=flows["value_usd"].abs()),
                              INVESTMENT_COLUMNS, INVESTMENT_KEY, file)
    flows_checked["value_usd"] = flows["value_usd"].to_numpy()
    return pd.concat([checked_stocks, flows_checked], ignore_index=True)
