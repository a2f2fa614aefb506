"""Event studies on any panel: outcome, unit and time columns, and each unit's treatment time.

Relative time ``k = time - treatment_time`` of treated units, binned at the endpoints
``-leads`` and ``lags`` (every earlier / later period pooled); with ``bin_endpoints=False`` the
treated units' rows outside the window are dropped (counted as missing in ``fit.drops``).
Never-treated units (missing treatment time) are controls in the reference category.
The model is ``outcome ~ i(rel_time, ref=reference) + controls | fixed_effects``, fitted by
PPML or OLS, so ``iplot(result.fit)`` draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tradeflows.errors import DataError, SpecificationError

__all__ = ["EventStudyResult", "event_study", "relative_time"]

REL = "rel_time"


def relative_time(data: pd.DataFrame, unit: str | Sequence[str], time: str,
                  treatment_time: str, *, leads: int, lags: int, reference: int,
                  bin_endpoints: bool = True) -> pd.Series:
    """Binned relative period of every row (Int64; the reference period for never-treated
    units; missing for treated rows outside an unbinned window).

    Raises DataError if the treatment time varies within a unit, SpecificationError if the
    window does not contain the reference period.
    """
    units = [unit] if isinstance(unit, str) else list(unit)
    missing = [c for c in [*units, time, treatment_time] if c not in data.columns]
    if missing:
        raise DataError(f"event study: column {missing[0]!r} not in the data",
                        column=missing[0])
    if leads < 1 or lags < 0 or not -leads <= reference <= lags:
        raise SpecificationError(
            f"event window -{leads}..{lags} must contain the reference period {reference}")
    ev = pd.to_numeric(data[treatment_time], errors="coerce").astype(float)
    key = data.groupby(units, sort=False, dropna=False).ngroup().to_numpy()
    varying = ev.groupby(key).nunique(dropna=False) > 1
    if varying.any():
        row = int(np.flatnonzero(key == varying[varying].index[0])[0])
        name = ", ".join(str(data[u].iloc[row]) for u in units)
        raise DataError(f"treatment time varies within unit {name}", row=row,
                        column=treatment_time)
    rel = pd.to_numeric(data[time], errors="coerce").astype(float) - ev
    if bin_endpoints:
        rel = rel.clip(lower=-leads, upper=lags)
    else:
        rel = rel.where((rel >= -leads) & (rel <= lags))
    rel = rel.where(ev.notna(), float(reference))
    return rel.round().astype("Int64").rename(REL)


@dataclass
class EventStudyResult:
    """The fit and its coefficients by relative period.

    table: columns k, term, estimate, std_error, conf_low, conf_high (95%); reference
    period(s) with estimate 0 and no interval; periods not estimated (collinear) NaN.
    """

    fit: Any
    table: pd.DataFrame
    reference: int

    def plot(self, **kw: Any) -> Any:
        """Event-study Figure (see :func:`tradeflows.estimation.plots.event_study_figure`)."""
        from tradeflows.estimation.plots import event_study_figure

        return event_study_figure(self.table, self.reference, **kw)


def event_study(data: pd.DataFrame, outcome: str, unit: str | Sequence[str], time: str,
                treatment_time: str, fixed_effects: str | None = None, *, leads: int = 3,
                lags: int = 3, reference: int = -1, bin_endpoints: bool = True,
                controls: Sequence[str] = (), estimator: str = "ppml",
                **kw: Any) -> EventStudyResult:
    """Estimate an event study: ``outcome ~ i(rel_time, ref=reference) + controls |
    fixed_effects``.

    unit: the unit column(s) (a pair: ``["exporter", "importer"]``); treatment_time: each
    row's treatment period (missing for never-treated units); fixed_effects: the FE part of the
    formula (default: unit + time, with several unit columns their ``^`` interaction).
    estimator: "ppml" or "ols"; other keyword arguments go to it (vcov, ssc, weights...).
    Treated rows outside an unbinned window are dropped (counted in ``fit.drops``).
    """
    from tradeflows.estimation.models import ols, ppml

    if estimator not in ("ppml", "ols"):
        raise SpecificationError(f"estimator must be 'ppml' or 'ols', not {estimator!r}")
    if REL in data.columns:
        raise SpecificationError(f"event study: the data already has a column {REL!r}")
    units = [unit] if isinstance(unit, str) else list(unit)
    fe = fixed_effects or f"{'^'.join(units)} + {time}"
    rel = relative_time(data, units, time, treatment_time, leads=leads, lags=lags,
                        reference=reference, bin_endpoints=bin_endpoints)
    frame = data.assign(**{REL: rel})
    rhs = " + ".join([f"i({REL}, ref={reference})", *controls])
    fit = (ppml if estimator == "ppml" else ols)(frame, f"{outcome} ~ {rhs} | {fe}", **kw)
    ci = fit.confint(0.95)
    rows = []
    for k in range(-leads, lags + 1):
        term = f"{REL}::{k}"
        if k == reference:
            rows.append((k, term, 0.0, np.nan, np.nan, np.nan))
        elif term in fit.coef.index:
            rows.append((k, term, float(fit.coef[term]), float(fit.se[term]),
                         float(ci.loc[term, "conf_low"]), float(ci.loc[term, "conf_high"])))
        else:
            rows.append((k, term, np.nan, np.nan, np.nan, np.nan))
    table = pd.DataFrame(rows, columns=["k", "term", "estimate", "std_error", "conf_low",
                                        "conf_high"])
    return EventStudyResult(fit, table, reference)
