"""Event study of a pair-level event (an accession, a corridor opening) in a gravity panel.

Relative time ``k = year - event_year`` of each treated pair. Dummies ``es_m<j>`` (k = -j) and
``es_p<j>`` (k = +j, ``es_p0`` the event year) cover ``-leads .. lags``; the endpoints are
binned (``es_m<leads>`` is 1 for every k <= -leads, ``es_p<lags>`` for every k >= lags); the
reference period (default k = -1) is omitted. Pairs without an event are controls (all
dummies 0). Estimated by PPML with exporter-year, importer-year and pair fixed effects.
This is the gravity application's version (pair events, fixed names ``es_*``); the general
one for any panel is :func:`tradeflows.estimation.event_study.event_study`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradeflows.errors import DataError, SpecificationError
from tradeflows.estimation.plots import event_study_figure
from tradeflows.gravity import specs
from tradeflows.gravity.specs import FittedSpec, GravitySpec
from tradeflows.report.figures import save_figure, styled


def term_name(k: int) -> str:
    """Column name of relative period k: ``es_m2`` for -2, ``es_p0`` for 0, ``es_p3`` for 3."""
    return f"es_m{-k}" if k < 0 else f"es_p{k}"


def event_years(df: pd.DataFrame, pairs: Iterable[tuple[str, str]], year: int, *,
                symmetric: bool = True) -> pd.Series:
    """A per-row event year: ``year`` for rows of the listed (exporter, importer) pairs (and
    their reverse when ``symmetric``), NaN elsewhere."""
    chosen = set(map(tuple, pairs))
    if symmetric:
        chosen |= {(b, a) for a, b in chosen}
    key = list(zip(df["exporter"], df["importer"], strict=True))
    return pd.Series([float(year) if k in chosen else np.nan for k in key], index=df.index,
                     name="event_year")


def event_time_dummies(df: pd.DataFrame, event_col: str, *, leads: int = 3, lags: int = 3,
                       reference: int = -1, bin_endpoints: bool = True
                       ) -> tuple[pd.DataFrame, list[str]]:
    """Add the relative-time dummies (see the module docstring); returns the table and the
    dummy names in time order without the reference period.

    ``event_col`` holds each row's event year (NaN for never-treated pairs); it must be
    constant within a pair.
    """
    if event_col not in df.columns:
        raise DataError(f"event-year column {event_col!r} not in the data", column=event_col)
    if leads < 1 or lags < 0 or not -leads <= reference <= lags:
        raise SpecificationError(
            f"event window -{leads}..{lags} must contain the reference period {reference}"
        )
    out = df.copy()
    pair = out["exporter"].astype(str) + "_" + out["importer"].astype(str)
    ev = out[event_col].astype(float)
    varying = ev.groupby(pair).nunique(dropna=False) > 1
    if varying.any():
        bad = varying[varying].index[0]
        row = int(np.flatnonzero((pair == bad).to_numpy())[0])
        raise DataError(f"event year varies within pair {bad}", row=row, column=event_col)
    rel = out["year"] - ev
    names = []
    for k in range(-leads, lags + 1):
        if k == reference:
            continue
        if bin_endpoints and k == -leads:
            hit = rel <= k
        elif bin_endpoints and k == lags:
            hit = rel >= k
        else:
            hit = rel == k
        name = term_name(k)
        out[name] = hit.fillna(False).astype(float)
        names.append(name)
    return out, names


@dataclass
class EventStudy:
    """An event study's fitted spec and its coefficients by relative period.

    ``table``: columns k, term, estimate, std_error, conf_low, conf_high (95%); the reference
    period is a row with estimate 0 and no interval.
    """

    fitted: FittedSpec
    table: pd.DataFrame
    reference: int


def event_study(df: pd.DataFrame, event_col: str, *, leads: int = 3, lags: int = 3,
                reference: int = -1, bin_endpoints: bool = True, controls: Iterable[str] = (),
                name: str = "event_study", **kw: Any) -> EventStudy:
    """Estimate the event study by PPML with exporter-year, importer-year and pair fixed
    effects on observed flows of pairs with positive total trade; extra kwargs go to
    ``tradeflows.estimation.ppml`` (e.g. ``vcov``, ``ssc``)."""
    data, names = event_time_dummies(specs.ensure_fixed_effect_ids(df), event_col,
                                     leads=leads, lags=lags, reference=reference,
                                     bin_endpoints=bin_endpoints)
    rhs = " + ".join([*names, *controls])
    spec = GravitySpec(name, f"trade ~ {rhs} | {specs.PAIR_FE}", "ppml",
                       "observed flows of pairs with positive total trade; event pairs "
                       f"treated, others controls; reference period {reference}",
                       lambda d: specs.observed(d) & specs.pair_positive(d),
                       label="event study")
    fitted = spec.fit(data, **kw)
    coef, se = fitted.coef, fitted.se
    rows = []
    for k in range(-leads, lags + 1):
        term = term_name(k)
        if k == reference:
            rows.append((k, term, 0.0, np.nan))
        elif term in coef.index:
            rows.append((k, term, float(coef[term]), float(se[term])))
        else:
            rows.append((k, term, np.nan, np.nan))
    table = pd.DataFrame(rows, columns=["k", "term", "estimate", "std_error"])
    table["conf_low"] = table["estimate"] - 1.959963984540054 * table["std_error"]
    table["conf_high"] = table["estimate"] + 1.959963984540054 * table["std_error"]
    return EventStudy(fitted=fitted, table=table, reference=reference)


@styled
def plot_event_study(es: EventStudy, stem: str | Path, *, title: str = "") -> list[Path]:
    """Plot the coefficients with 95% intervals (reference period hollow at 0, dashed line);
    write ``stem.png`` and ``stem.svg`` (byte-identical across runs) and return both paths.
    For any panel, see :func:`tradeflows.estimation.event_study.event_study`."""
    fig = event_study_figure(es.table, es.reference, title=title or es.fitted.spec.name,
                             xlabel="years relative to the event (endpoints binned)",
                             ylabel="PPML coefficient (log points)")
    return save_figure(fig, Path(stem))


def new_axes(width: float = 6.4, height: float = 4.0) -> tuple[Any, Any]:
    """A figure and axes in the package's figure style (Agg, no display needed)."""
    from tradeflows.report.figures import new_figure

    return new_figure(width, height)

