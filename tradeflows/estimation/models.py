"""Entry points ``tradeflows.ppml`` / ``tradeflows.ols``: argument checks, multiple
estimation (``sw``, ``csw``, ``sw0``, ``csw0``, several dependent variables) and sample splits
(``split=``, ``fsplit=``, ``by=``), returning one fit or a :class:`FitCollection`.

Every multiple estimation is a list of (label, formula, sample) tasks run by one loop:
serially in this process, or through :func:`tradeflows.distributed.fan_out` when a Dask
client, scheduler (``scheduler=`` or ``$TRADEFLOWS_SCHEDULER``) or local ``workers=`` count is
given. The estimators themselves are :func:`tradeflows.estimation.ppml.ppml` and
:func:`tradeflows.estimation.ols.ols`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from tradeflows.errors import ConvergenceError, DataError, SpecificationError
from tradeflows.estimation.formula import expand_formula, parse_formula
from tradeflows.estimation.ols import ols as _ols
from tradeflows.estimation.ppml import ppml as _ppml
from tradeflows.estimation.results import Results, Summary, attach_data
from tradeflows.estimation.sample import check_argument_order

__all__ = ["FitCollection", "ppml", "ols"]

ESTIMATORS = {"ppml": _ppml, "ols": _ols}
# a group fit (by=) failing for one of these is recorded in .failed; others propagate
GROUP_FAILURES = (SpecificationError, ConvergenceError, DataError, ArithmeticError)


class FitCollection(Mapping):
    """Several fits by label (a formula, plus ``; var=value`` for a sample split; the group
    value alone for ``by=`` with one formula).

    A read-only mapping label -> fit; ``fits[0]`` also works by position. ``etable(fits)``,
    ``coefplot(fits)``, ``fits.tidy()`` and ``fits.summary()`` take the collection whole.
    ``by``: the grouping column of a ``by=`` fit (else None); ``failed``: group -> reason for
    groups that could not be estimated; ``warnings``: label -> messages its fit raised.
    """

    def __init__(self, fits: Mapping[str, Results], *, by: str | None = None,
                 failed: Mapping[str, str] | None = None,
                 warnings: Mapping[str, list[str]] | None = None) -> None:
        self._fits = dict(fits)
        self.by = by
        self.failed = dict(failed or {})
        self.warnings = {k: list(v) for k, v in (warnings or {}).items()}

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
        """The fits' :meth:`~Results.tidy` tables stacked, with a first column naming the
        fit: ``model`` (its label), or the ``by`` column (its group) plus ``nobs`` for a
        ``by=`` collection."""
        first = self.by or "model"
        parts = [r.tidy(level).assign(**{first: k}) for k, r in self._fits.items()]
        if self.by:
            parts = [p.assign(nobs=int(r.nobs)) for p, r in zip(parts, self._fits.values(), strict=True)]
        if not parts:
            return pd.DataFrame(columns=[first, "term", "estimate", "std_error"])
        out = pd.concat(parts, ignore_index=True)
        return out[[first] + [c for c in out.columns if c != first]]

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
        head = f"FitCollection of {len(self)} fits"
        if self.by:
            head += f" by {self.by!r} ({len(self.failed)} failed)"
        return head + ":\n" + "\n".join(f"  [{j}] {k}" for j, k in enumerate(self._fits))


def _split_values(data: pd.DataFrame, col: str) -> list[Any]:
    if col not in data.columns:
        raise SpecificationError(f"split variable {col!r} not in data")
    return sorted(pd.unique(data[col].dropna()).tolist())


def _group_values(data: pd.DataFrame, col: str) -> list[Any]:
    """The groups of ``by=``: every value of the column, sorted; a missing value is an error
    (its rows would otherwise be left out of every fit)."""
    if col not in data.columns:
        raise DataError(f"no column {col!r} to group by", column=col)
    missing = int(data[col].isna().sum())
    if missing:
        raise DataError(f"{missing:,} missing values in the grouping column {col!r}",
                        column=col)
    return sorted(pd.unique(data[col]).tolist())


def used_columns(data: pd.DataFrame, formulas: list[str], options: Mapping[str, Any]
                 ) -> list[str] | None:
    """The columns the fits read (formulas, cluster, weights, offset), so that only they
    travel to Dask workers; None (all columns) when any of them is not a plain column."""
    names: list[str] = []
    for f in formulas:
        try:
            names += list(parse_formula(f).variables())
        except Exception:  # the fit itself reports a bad formula
            return None
    vcov = options.get("vcov")
    if isinstance(vcov, dict):
        for value in vcov.values():
            names += [value] if isinstance(value, str) else list(value)
    names += [options[k] for k in ("weights", "offset") if isinstance(options.get(k), str)]
    names = list(dict.fromkeys(n for v in names for n in str(v).split("^")))
    return names if all(n in data.columns for n in names) else None


def _fit_task(task: tuple[str, str, pd.DataFrame], model: str, options: dict[str, Any],
              collect: bool) -> tuple[str, Results | None, BaseException | None, list[Any]]:
    """One fit: ``(label, results or None, exception or None, caught warnings)``. Warnings
    are returned rather than shown (a Dask worker's would be lost); with ``collect`` the
    failures of :data:`GROUP_FAILURES` are returned too, other exceptions propagate."""
    label, formula, data = task
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res, err = ESTIMATORS[model](data, formula, **options), None
        except GROUP_FAILURES as exc:
            if not collect:
                raise
            res, err = None, exc
    return label, res, err, [(str(w.message), w.category) for w in caught]


def _on_dask(n_tasks: int, fan_out_options: dict[str, Any]) -> bool:
    """Several fits and a Dask client, scheduler (argument or environment) or worker count."""
    from tradeflows.distributed import scheduler_address

    return n_tasks > 1 and bool(
        fan_out_options.get("client") is not None
        or scheduler_address(fan_out_options.get("scheduler")) is not None
        or fan_out_options.get("workers"))


def _run_tasks(tasks: list[tuple[str, str, pd.DataFrame]], model: str, options: dict,
               collect: bool, dask: bool, fan_out_options: dict[str, Any]) -> list[tuple]:
    from tradeflows.distributed import fan_out

    return fan_out(_fit_task, tasks, shared={"model": model, "options": options,
                                             "collect": collect},
                   serial=not dask, client=fan_out_options.get("client"),
                   scheduler=fan_out_options.get("scheduler"),
                   workers=fan_out_options.get("workers") or 1,
                   progress=bool(fan_out_options.get("progress")), desc=f"{model} fits")


def fit_many(model: str, data: Any, formula: Any, *, split: str | None = None,
             fsplit: str | None = None, by: str | None = None,
             options: dict[str, Any] | None = None,
             fan_out_options: dict[str, Any] | None = None) -> Results | FitCollection:
    """What :func:`ppml` (``model="ppml"``) and :func:`ols` do; ``options``: the estimator's
    keyword arguments; ``fan_out_options``: ``client``, ``scheduler``, ``workers`` and
    ``progress`` (a bar over the fits)."""
    kwargs = dict(options or {})
    check_argument_order(data, formula, model)
    if sum(x is not None for x in (split, fsplit, by)) > 1:
        raise SpecificationError("give one of split=, fsplit= and by=")
    formulas = expand_formula(formula)
    column = split or fsplit or by
    samples: list[tuple[str, Any, pd.DataFrame]] = []
    if column is None or fsplit is not None:
        samples.append(("", None, data))
    if column is not None:
        values = _group_values(data, by) if by else _split_values(data, column)
        for v in values:
            samples.append((f"; {column}={v}", v, data.loc[(data[column] == v).to_numpy()]))
    fan_out_options = dict(fan_out_options or {})
    dask = _on_dask(len(formulas) * len(samples), fan_out_options)
    keep = used_columns(data, formulas, kwargs) if dask else None  # what travels to workers
    tasks = [(str(v) if by and len(formulas) == 1 else f + suffix, f,
              d if keep is None else d[keep])
             for f in formulas for suffix, v, d in samples]
    out = _run_tasks(tasks, model, kwargs, by is not None, dask, fan_out_options)
    data_of = {label: d for label, _, d in tasks}
    fits = {label: attach_data(res, data_of[label]) for label, res, err, _ in out
            if err is None}
    if by is not None:
        failed = {label: f"{type(err).__name__}: {err}" for label, _, err, _ in out
                  if err is not None}
        notes = {label: list(dict.fromkeys(m for m, _ in caught))
                 for label, _, _, caught in out if caught}
        return FitCollection(fits, by=by, failed=failed, warnings=notes)
    for label, _, _, caught in out:  # re-issued at the caller's line, naming the model
        for message, category in caught:
            prefix = f"{label}: " if len(tasks) > 1 else ""
            warnings.warn(f"{prefix}{message}", category, stacklevel=3)
    if len(fits) == 1 and column is None:
        return next(iter(fits.values()))
    return FitCollection(fits, warnings={label: [m for m, _ in caught]
                                         for label, _, _, caught in out if caught})


def ppml(data: pd.DataFrame, formula: str, *, split: str | None = None,
         fsplit: str | None = None, by: str | None = None, client: Any = None,
         scheduler: str | None = None, workers: int | None = None,
         **kwargs: Any) -> Results | FitCollection:
    """Fit ``formula`` by PPML (``"y ~ x1 + i(year, ref=2000) | fe1 + fe2^fe3"``).

    Arguments are (data, formula) in this order. A formula with ``sw``/``csw``/``sw0``/``csw0``
    or several dependent variables (``"y1 + y2 ~ x"``), or a ``split=``/``fsplit=`` column
    (one fit per value; ``fsplit`` adds the full sample first), returns a
    :class:`FitCollection`; otherwise one :class:`~tradeflows.estimation.results.PPMLResults`.

    ``by="sector"``: one fit per value of the column (all values, sorted; a missing value is a
    ``DataError``), labelled by the value; a group that cannot be estimated is listed in
    ``.failed`` with the reason instead of stopping the others, and each fit's warnings are
    kept in ``.warnings`` (not shown).

    Fan-out of several fits (one fit always runs here): ``client=`` (an open
    ``dask.distributed.Client``),
    ``scheduler=`` (or ``$TRADEFLOWS_SCHEDULER``), or ``workers=n`` (a LocalCluster of n
    processes); none of them: serially in this process. The numbers are the same; only the
    columns the fits read travel to the workers.
    Other keyword arguments (vcov, weights, offset, fixed_coefs, separation, tol, maxiter, ssc,
    strict, progress, threads) are those of :func:`tradeflows.estimation.ppml.ppml`.
    """
    return fit_many("ppml", data, formula, split=split, fsplit=fsplit, by=by, options=kwargs,
                    fan_out_options={"client": client, "scheduler": scheduler,
                                     "workers": workers})


def ols(data: pd.DataFrame, formula: str, *, split: str | None = None,
        fsplit: str | None = None, by: str | None = None, client: Any = None,
        scheduler: str | None = None, workers: int | None = None,
        **kwargs: Any) -> Results | FitCollection:
    """Fit ``formula`` by least squares with the fixed effects absorbed; formulas, multiple
    estimation, splits, ``by=`` and the fan-out as :func:`ppml`. Other keyword arguments
    (vcov, weights, ssc, tol, strict, threads) are those of
    :func:`tradeflows.estimation.ols.ols`."""
    return fit_many("ols", data, formula, split=split, fsplit=fsplit, by=by, options=kwargs,
                    fan_out_options={"client": client, "scheduler": scheduler,
                                     "workers": workers})
