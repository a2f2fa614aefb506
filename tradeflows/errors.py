"""Exceptions raised on bad input and failed estimation. Messages name the file, row or variable."""

from __future__ import annotations


class TradeflowsError(Exception):
    """Base class of every tradeflows error."""


class DataError(TradeflowsError, ValueError):
    """Bad input data: names the file, the row (or code or column) and what was expected."""

    def __init__(self, message: str, *, file: object = None, row: object = None,
                 column: str | None = None) -> None:
        parts = []
        if file is not None:
            parts.append(f"{file}")
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column {column!r}")
        where = ", ".join(parts)
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.row, self.column = file, row, column


class ConvergenceError(TradeflowsError, RuntimeError):
    """An iterative algorithm stopped before reaching its tolerance."""


class SpecificationError(TradeflowsError, ValueError):
    """A formula, variable or option that cannot be estimated as given."""
