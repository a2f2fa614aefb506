"""Intervals for GE counterfactuals from draws of the estimated partial effects.

Draws ``b ~ N(b_hat, V)`` (``numpy.random.default_rng(seed)``, so results are deterministic given
the seed), one counterfactual per draw solved in parallel worker processes, percentile intervals
for every per-country quantity. Draws whose solution fails to converge are counted and reported
(``GEIntervals.failed``), never silently dropped: the intervals are taken over the converged
draws and the count travels with the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from tradeflows.errors import ConvergenceError, SpecificationError
from tradeflows.gravity.ge import COUNTRY_COLUMNS, GEModel, GEResults


@dataclass
class GEIntervals:
    """Point results with percentile intervals.

    ``country``: ``country`` and, for each quantity ``q`` of :data:`COUNTRY_COLUMNS`, columns
    ``q`` (point estimate, percent), ``q_lower``, ``q_upper`` (interval bounds, percent).
    ``draws``: draws attempted; ``failed``: draws that did not converge (excluded from the
    percentiles); ``level``: coverage (e.g. 0.95); ``coefs``: the drawn coefficients (draws x k);
    ``by_draw``: every converged draw's per-country results (``draw, country``, the drawn
    coefficients ``coef_<term>`` and the quantities of :data:`COUNTRY_COLUMNS`, percent), so
    that statistics over countries (a minimum, a sum) can be formed within each draw before
    taking percentiles, and related to the drawn coefficients (sensitivity).
    """

    point: GEResults
    country: pd.DataFrame
    draws: int
    failed: int
    level: float
    seed: int
    coefs: pd.DataFrame
    by_draw: pd.DataFrame | None = None


def draw_coefficients(coef: pd.Series, vcov: pd.DataFrame, draws: int, seed: int) -> pd.DataFrame:
    """``draws x k`` multivariate-normal draws around ``coef`` with covariance ``vcov``."""
    names = list(coef.index)
    missing = [k for k in names if k not in vcov.index or k not in vcov.columns]
    if missing:
        raise SpecificationError(f"covariance lacks the term(s) {missing}")
    cov = vcov.loc[names, names].to_numpy(float)
    if not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov).min() < -1e-12 * abs(cov).max():
        raise SpecificationError("covariance matrix is not symmetric positive semi-definite")
    rng = np.random.default_rng(seed)
    values = rng.multivariate_normal(coef.to_numpy(float), cov, size=draws, method="eigh")
    return pd.DataFrame(values, columns=names)


def _solve_chunk(model: GEModel, new_costs: object, rows: list[dict[str, float]], method: str,
                 maxiter: int) -> list[np.ndarray | None]:
    """Solve one chunk of draws; ``None`` marks a draw that did not converge."""
    out: list[np.ndarray | None] = []
    for coefs in rows:
        try:
            res = model.counterfactual(new_costs, method=method, coefs=coefs, maxiter=maxiter,
                                       raise_on_failure=False, pairs=False)
        except (ConvergenceError, FloatingPointError):
            out.append(None)
            continue
        out.append(res.country[list(COUNTRY_COLUMNS)].to_numpy(float) if res.converged else None)
    return out


def _solve_rows(rows: list[dict[str, float]], model: GEModel, new_costs: object, method: str,
                maxiter: int) -> list[np.ndarray | None]:
    """:func:`_solve_chunk` with the chunk first (the form ``tradeflows.distributed`` calls)."""
    return _solve_chunk(model, new_costs, rows, method, maxiter)


def simulate_intervals(model: GEModel, new_costs: Mapping[str, object] | pd.DataFrame,
                       vcov: pd.DataFrame, draws: int = 200, seed: int = 20261128,
                       level: float = 0.95, method: str = "fixed_point", workers: int = 2,
                       maxiter: int = 1000, progress: bool = False,
                       scheduler: str | None = None) -> GEIntervals:
    """Point counterfactual plus percentile intervals from ``draws`` coefficient draws.

    Only the terms in ``vcov`` are drawn (others keep the model's values). ``workers`` > 1 uses a
    process pool (chunks in draw order, so results do not depend on scheduling). ``maxiter``
    bounds the solver for each draw (the point estimate always uses the default).
    ``scheduler`` (or ``$TRADEFLOWS_SCHEDULER``): a Dask scheduler address; the chunks are
    then solved on its workers (:mod:`tradeflows.distributed`), with the same results.
    """
    from tradeflows.distributed import fan_out, scheduler_address

    if draws < 2:
        raise SpecificationError(f"draws must be at least 2 (got {draws})")
    if not 0 < level < 1:
        raise SpecificationError(f"level must be in (0, 1) (got {level})")
    point = model.counterfactual(new_costs, method=method)
    new_costs = model.aligned(new_costs)
    drawn_terms = [k for k in model.cost_terms if k in vcov.index]
    if not drawn_terms:
        raise SpecificationError(f"vcov has none of the model's cost terms {model.cost_terms}")
    coef = pd.Series({k: model.coefs[k] for k in drawn_terms})
    table = draw_coefficients(coef, vcov, draws, seed)
    rows = [model.coefs | {k: float(v) for k, v in r.items()}
            for r in table.to_dict(orient="records")]
    nchunks = max(1, min(workers, draws)) * 4
    chunks = [rows[i::nchunks] for i in range(nchunks)]
    results: list[list[np.ndarray | None]] = [[] for _ in chunks]
    address = scheduler_address(scheduler)
    # the bar counts draws (a chunk's draws are added when the chunk is solved) and is
    # removed when done, so the command's summary follows it directly
    with tqdm(total=draws, desc="GE draws", unit="draw", disable=not progress,
              leave=False) as bar:
        if address:
            results = fan_out(_solve_rows, chunks, scheduler=address, shared={
                "model": model, "new_costs": new_costs, "method": method, "maxiter": maxiter})
            bar.update(draws)
        elif workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_solve_chunk, model, new_costs, c, method, maxiter): i
                           for i, c in enumerate(chunks)}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update(len(chunks[futures[future]]))
        else:
            for i, c in enumerate(chunks):
                results[i] = _solve_chunk(model, new_costs, c, method, maxiter)
                bar.update(len(c))
    ordered: list[np.ndarray | None] = [None] * draws
    for i, chunk in enumerate(results):
        for j, val in enumerate(chunk):
            ordered[i + j * nchunks] = val
    ok = [v for v in ordered if v is not None]
    failed = draws - len(ok)
    alpha = (1.0 - level) / 2.0
    country = point.country[["country"]].copy()
    if ok:
        stack = np.stack(ok)
        lo = np.nanquantile(stack, alpha, axis=0)
        hi = np.nanquantile(stack, 1.0 - alpha, axis=0)
    else:
        lo = hi = np.full((len(country), len(COUNTRY_COLUMNS)), np.nan)
    for k, col in enumerate(COUNTRY_COLUMNS):
        country[col] = point.country[col].to_numpy()
        country[f"{col}_lower"] = lo[:, k]
        country[f"{col}_upper"] = hi[:, k]
    drawn = [f"coef_{k}" for k in drawn_terms]
    frames = [pd.DataFrame(v, columns=list(COUNTRY_COLUMNS)).assign(
        draw=d, country=country["country"].to_numpy(),
        **{c: float(table.iloc[d][k]) for c, k in zip(drawn, drawn_terms, strict=True)})
        for d, v in enumerate(ordered) if v is not None]
    by_draw = (pd.concat(frames, ignore_index=True)[["draw", "country", *drawn,
                                                     *COUNTRY_COLUMNS]]
               if frames else None)
    return GEIntervals(point=point, country=country, draws=draws, failed=failed, level=level,
                       seed=seed, coefs=table, by_draw=by_draw)
