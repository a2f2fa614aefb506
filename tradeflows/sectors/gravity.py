"""Sectoral gravity: one PPML per group with one call, run through :mod:`tradeflows.distributed`.

``tradeflows.ppml(df, formula, by="sector")`` fits ``tradeflows.ppml(df[df.sector == s],
formula)`` for every sector ``s`` and returns a
:class:`~tradeflows.estimation.models.FitCollection`; ``ppml_by`` is the same call with the
fan-out on Dask by default.
:func:`sector_policy_effects` applies the aggregate application's specifications
(:mod:`tradeflows.gravity.application`: PPML with exporter-year, importer-year and pair fixed
effects, clustered by pair, on observed flows of pairs with positive total trade) to each
sector for the OTS membership and corridor access terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from tradeflows.estimation.models import FitCollection
from tradeflows.gravity import specs

POLICY_MODELS = ("ots", "corridor")


def ppml_by(df: pd.DataFrame, formula: str, by: str = "sector", *, serial: bool = False,
            client: Any = None, scheduler: str | None = None, workers: int = 1,
            progress: bool = False, **ppml_options: Any) -> FitCollection:
    """``tradeflows.ppml(df, formula, by=by, **ppml_options)`` (one fit per group, failures
    in ``.failed``, warnings in ``.warnings``), on Dask by default: ``client``, else
    ``scheduler`` (or ``$TRADEFLOWS_SCHEDULER``), else a LocalCluster of ``workers``;
    ``serial=True`` fits in this process. ``progress``: a bar over the groups."""
    from tradeflows.estimation.models import fit_many

    fan_out = ({} if serial else
               {"client": client, "scheduler": scheduler, "workers": workers})
    return fit_many("ppml", df, formula, by=by, options=ppml_options,
                    fan_out_options={**fan_out, "progress": progress})


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
            reason = f"{model}: no term varies within a pair in the sample"
            out[model] = FitCollection({}, by="sector", failed={"all": reason})
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
