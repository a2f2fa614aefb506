"""What a claim's test produced: the estimate, its interval and the data behind it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd


class Untestable(Exception):  # noqa: N818 (a verdict, not an error)
    """The bundled data (or a stage's output) cannot test the claim; the message says why."""


@dataclass
class Evidence:
    """The statistic of a claim's rule with its interval.

    ``nobs``: observations behind the estimate; ``years``: "first-last" of the data used;
    ``series``: the data for the claim's table and figure (tidy frame), if any;
    ``table``/``figure``: paths relative to ``reports/`` (without extension for tables and
    figures written in several formats); ``mde``: minimum detectable effect of the design
    (statistic's units, computed before the estimate) with ``mde_note`` saying how;
    ``extra``: further named numbers (p-values, pre-trend tests) for the report;
    ``blocks_support``: a pre-stated condition of the design that failed (e.g. pre-trends
    rejected), which turns "supported" into "inconclusive" (empty when none).
    """

    estimate: float
    conf_low: float
    conf_high: float
    nobs: int | None = None
    years: str = ""
    sources: tuple[str, ...] = ()
    note: str = ""
    series: pd.DataFrame | None = None
    table: str | None = None
    figure: str | None = None
    mde: float | None = None
    mde_note: str = ""
    extra: dict[str, object] | None = None
    blocks_support: str = ""


def claim_figure(claim: object, what: str) -> str:
    """The path (relative to ``reports/``, no extension) of the figure of ``claim``'s own
    statistic: ``figures/claim_<id>_<what>``."""
    return f"figures/claim_{claim.id.lower()}_{what}"


def year_span(years: pd.Series) -> str:
    """``"2001-2012"`` for the years present (``""`` if none)."""
    years = pd.Series(years).dropna()
    if years.empty:
        return ""
    lo, hi = int(years.min()), int(years.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def read_parquet_or_untestable(path: Path, what: str, stage: str) -> pd.DataFrame:
    """Read a stage's output, or raise ``Untestable`` saying which stage makes it."""
    if not path.exists():
        raise Untestable(f"missing input: {what} ({path.name}; made by `tradeflows {stage}`)")
    return pd.read_parquet(path)


def require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise ``Untestable`` naming the columns of ``what`` that are absent."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise Untestable(f"{what} has no column(s) {missing}")
