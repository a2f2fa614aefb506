"""Sectoral gravity: one PPML per group with one call, run through :mod:`tradeflows.distributed`.

``ppml_by(df, formula, by="sector")`` fits ``tradeflows.ppml(df[df.sector == s], formula)``
for every sector ``s`` and returns a :class:`~tradeflows.sectors.collection.FitCollection`.
:func:`sector_policy_effects` applies the aggregate application's specifications
(:mod:`tradeflows.gravity.application`: PPML with exporter-year, importer-year and pair fixed
effects, clustered by pair, on observed flows of pairs with positive total trade) to each
sector for the OTS membership and corridor access terms.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from tradeflows.distributed import fan_out
from tradeflows.errors import ConvergenceError, DataError, SpecificationError
from tradeflows.gravity import specs
from tradeflows.sectors.collection import FitCollection

POLICY_MODELS = ("ots", "corridor")


def _fit_group(item: tuple[str, pd.DataFrame], formula: str, options: dict[str, Any]
               ) -> tuple[str, Any, str | None, list[str]]:
    """One group's PPML: ``(name, results or None, failure reason or None, warnings)``;
    warnings are returned (a Dask worker's would otherwise be lost)."""
    from tradeflows.estimation import ppml

    name, data = item
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res, err = ppml(data, formula, **options), None
        except (SpecificationError, ConvergenceError, DataError, ArithmeticError) as exc:
            res, err = None, f"{type(exc).__name__}: {exc}"
    return name, res, err, list(dict.fromkeys(str(w.message) for w in caught))


def _groups(df: pd.DataFrame, by: str, columns: list[str] | None = None
            ) -> list[tuple[str, pd.DataFrame]]:
    if by not in df.columns:
        raise DataError(f"no column {by!r} to group by", column=by)
    if df[by].isna().any():
        raise DataError(f"missing values in the grouping column {by!r}", column=by)
    data = df if columns is None else df[columns]
    return [(str(name), sub.reset_index(drop=True))
            for name, sub in data.groupby(df[by], sort=True, observed=True)]


def _used_columns(df: pd.DataFrame, formula: str, options: dict[str, Any]) -> list[str] | None:
    """The columns a fit reads (formula, cluster, weights, offset, split), so that only they
    travel to Dask workers; None (all columns) when any of them is not a plain column."""
    from tradeflows.estimation.formula import parse_formula

    try:
        names = list(parse_formula(formula).variables())
    except Exception:  # the fit itself reports a bad formula
        return None
    vcov = options.get("vcov")
    if isinstance(vcov, dict):
        for value in vcov.values():
            names += [value] if isinstance(value, str) else list(value)
    names += [options[k] for k in ("weights", "offset", "split", "fsplit")
              if isinstance(options.get(k), str)]
    names = list(dict.fromkeys(n for v in names for n in str(v).split("^")))
    return names if all(n in df.columns for n in names) else None


def ppml_by(df: pd.DataFrame, formula: str, by: str = "sector", *, serial: bool = False,
            client: Any = None, scheduler: str | None = None, workers: int = 1,
            progress: bool = False, **ppml_options: Any) -> FitCollection:
    """``tradeflows.ppml(formula, **ppml_options)`` on each group of ``by`` (sorted by name),
    fanned out by :func:`tradeflows.distributed.fan_out` (``serial``, ``client``,
    ``scheduler``, ``workers``). A group that cannot be estimated (no variation, no
    convergence) is listed in ``.failed`` with the reason; the others are returned, with the
    warnings each fit raised (collinear terms dropped, non-convergence) in ``.warnings``."""
    groups = _groups(df, by, _used_columns(df, formula, ppml_options))
    out = fan_out(_fit_group, groups, shared={"formula": formula, "options": ppml_options},
                  serial=serial, client=client, scheduler=scheduler, workers=workers,
                  progress=progress, desc=f"PPML by {by}")
    fits = {name: res for name, res, err, _ in out if err is None}
    failed = {name: err for name, _, err, _ in out if err is not None}
    notes = {name: w for name, _, _, w in out if w}
    return FitCollection(fits, by=by, failed=failed, warnings=notes)


def _pair_fe_sample(df: pd.DataFrame) -> pd.Series:
    """The aggregate rule (observed flows of pairs with positive total trade), by sector."""
    total = df.groupby(["sector", "pair"], observed=True)["trade"].transform("sum")
    return specs.observed(df) & (total > 0)


def _policy_terms(df: pd.DataFrame, model: str) -> list[str]:
    from tradeflows.gravity.application import MODELS, varies_within_pair

    spec = {m.name: m for m in MODELS}[model]
    return [t for t in spec.wanted(df.columns) if varies_within_pair(df, t)]


def sector_policy_effects(panel: pd.DataFrame, models: Sequence[str] = POLICY_MODELS, *,
                          countries: Sequence[str] | None = None, serial: bool = False,
                          client: Any = None, scheduler: str | None = None, workers: int = 1,
                          progress: bool = False) -> dict[str, FitCollection]:
    """Per-sector policy effects with the aggregate application's specification for each
    of ``models`` (``ots``: ``both_ots``, ``ots_observer_pair``; ``corridor``: ``uses_btk``,
    ``uses_middle_corridor``): ``trade ~ terms | exp_year + imp_year + pair``, clustered by
    pair, on observed flows of pairs with positive total trade in the sector. Terms that
    never change within a pair over the sample are left out (absorbed by the pair FE)."""
    from tradeflows.gravity.application import estimation_sample

    df = estimation_sample(panel, list(countries) if countries is not None else None)
    out = {}
    for model in models:
        terms = _policy_terms(df, model)
        if not terms:
            out[model] = FitCollection({}, failed={"all": f"{model}: no term varies within a "
                                                          "pair in the sample"})
            continue
        formula = f"trade ~ {' + '.join(terms)} | {specs.PAIR_FE}"
        sample = df[_pair_fe_sample(df).to_numpy()]
        keep = ["sector", "trade", "year", "exp_year", "imp_year", "pair", *terms]
        out[model] = ppml_by(sample[keep], formula, "sector", serial=serial, client=client,
                             scheduler=scheduler, workers=workers, progress=progress,
                             vcov=dict(specs.PAIR_CLUSTER))
    return out


def policy_effects_table(effects: dict[str, FitCollection]) -> pd.DataFrame:
    """Tidy table of :func:`sector_policy_effects`: ``model, sector, term, estimate,
    std_error, ..., nobs, note``; ``note`` holds the fit's warnings, and failed sectors
    appear with their reason in ``note``."""
    frames = []
    for model, coll in effects.items():
        t = coll.tidy()
        t.insert(0, "model", model)
        t["note"] = ["; ".join(coll.warnings.get(name, [])) for name in t["sector"]]
        frames.append(t)
        if coll.failed:
            frames.append(pd.DataFrame({"model": model, "sector": list(coll.failed),
                                        "note": list(coll.failed.values())}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
