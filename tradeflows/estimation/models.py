"""Entry points ``tradeflows.ppml`` / ``tradeflows.ols``: argument checks, multiple
estimation (``sw``, ``csw``, ``sw0``, ``csw0``, several dependent variables) and sample splits
(``split=``, ``fsplit=``), returning one fit or a :class:`FitCollection`.

The estimators themselves are :func:`tradeflows.estimation.ppml.ppml` and
:func:`tradeflows.estimation.ols.ols`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from tradeflows.errors import SpecificationError
from tradeflows.estimation.formula import expand_formula
from tradeflows.estimation.ols import ols as _ols
from tradeflows.estimation.ppml import ppml as _ppml
from tradeflows.estimation.results import Results, Summary, attach_data
from tradeflows.estimation.sample import check_argument_order

__all__ = ["FitCollection", "ppml", "ols"]


class FitCollection(Mapping):
    """Several fits by label (a formula, plus ``; var=value`` for a sample split).

    A read-only mapping label -> fit; ``fits[0]`` also works by position. ``etable(fits)``,
    ``coefplot(fits)``, ``fits.tidy()`` and ``fits.summary()`` take the collection whole.
    """

    def __init__(self, fits: Mapping[str, Results]) -> None:
        self._fits = dict(fits)

    def __getitem__(self, key: str | int) -> Results:
        if isinstance(key, int):
            return list(self._fits.values())[key]
        return self._fits[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fits)

    def __len__(self) -> int:
        return len(self._fits)

    def fits(self) -> list[Results]:
        """The fits, in order."""
        return list(self._fits.values())

    def coef(self) -> pd.DataFrame:
        """Coefficients (terms x models); NaN where a model lacks the term."""
        return pd.DataFrame({k: r.coef for k, r in self._fits.items()})

    def se(self) -> pd.DataFrame:
        """Standard errors (terms x models)."""
        return pd.DataFrame({k: r.se for k, r in self._fits.items()})

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """The fits' :meth:`~Results.tidy` tables stacked, with a ``model`` column first."""
        parts = [r.tidy(level).assign(model=k) for k, r in self._fits.items()]
        out = pd.concat(parts, ignore_index=True)
        return out[["model"] + [c for c in out.columns if c != "model"]]

    def etable(self, **kw: Any) -> Any:
        """The fits side by side (:func:`tradeflows.estimation.table.etable` options)."""
        from tradeflows.estimation.table import etable

        return etable(self, **kw)

    def coefplot(self, **kw: Any) -> Any:
        """Coefficient plot of the fits (:func:`tradeflows.estimation.plots.coefplot`)."""
        from tradeflows.estimation.plots import coefplot

        return coefplot(self, **kw)

    def summary(self) -> Summary:
        """Every fit's summary, one after the other."""
        return Summary("\n".join(f"=== {k} ===\n{r.summary()}" for k, r in self._fits.items()))

    def __repr__(self) -> str:
        return f"FitCollection of {len(self)} fits:\n" + "\n".join(
            f"  [{j}] {k}" for j, k in enumerate(self._fits))


def _split_values(data: pd.DataFrame, col: str) -> list[Any]:
    if col not in data.columns:
        raise SpecificationError(f"split variable {col!r} not in data")
    return sorted(pd.unique(data[col].dropna()).tolist())


def _fit_many(estimator, model: str, data: Any, formula: Any, split: str | None,
              fsplit: str | None, kwargs: dict) -> Results | FitCollection:
    check_argument_order(data, formula, model)
    if split is not None and fsplit is not None:
        raise SpecificationError("give split= or fsplit=, not both")
    formulas = expand_formula(formula)
    by = split or fsplit
    samples: list[tuple[str, pd.DataFrame]] = []
    if by is None or fsplit is not None:
        samples.append(("", data))
    if by is not None:
        for v in _split_values(data, by):
            samples.append((f"; {by}={v}", data.loc[(data[by] == v).to_numpy()]))
    fits: dict[str, Results] = {}
    for f in formulas:
        for suffix, d in samples:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fits[f + suffix] = attach_data(estimator(d, f, **kwargs), d)
            for w in caught:  # re-issued at the caller's line, naming the model if several
                label = f"{f + suffix}: " if len(formulas) > 1 or samples[1:] else ""
                warnings.warn(f"{label}{w.message}", w.category, stacklevel=3)
    if len(fits) == 1 and by is None:
        return next(iter(fits.values()))
    return FitCollection(fits)


def ppml(data: pd.DataFrame, formula: str, *, split: str | None = None,
         fsplit: str | None = None, **kwargs: Any) -> Results | FitCollection:
    """Fit ``formula`` by PPML (``"y ~ x1 + i(year, ref=2000) | fe1 + fe2^fe3"``).

    Arguments are (data, formula) in this order. A formula with ``sw``/``csw``/``sw0``/``csw0``
    or several dependent variables (``"y1 + y2 ~ x"``), or a ``split=``/``fsplit=`` column
    (one fit per value; ``fsplit`` adds the full sample first), returns a
    :class:`FitCollection`; otherwise one :class:`~tradeflows.estimation.results.PPMLResults`.
    Other keyword arguments (vcov, weights, offset, fixed_coefs, separation, tol, maxiter, ssc,
    strict, progress, threads) are those of :func:`tradeflows.estimation.ppml.ppml`.
    """
    return _fit_many(_ppml, "ppml", data, formula, split, fsplit, kwargs)


def ols(data: pd.DataFrame, formula: str, *, split: str | None = None,
        fsplit: str | None = None, **kwargs: Any) -> Results | FitCollection:
    """Fit ``formula`` by least squares with the fixed effects absorbed; formulas, multiple
    estimation and splits as :func:`ppml`. Other keyword arguments (vcov, weights, ssc, tol,
    strict, threads) are those of :func:`tradeflows.estimation.ols.ols`."""
    return _fit_many(_ols, "ols", data, formula, split, fsplit, kwargs)
