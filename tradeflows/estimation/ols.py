"""Least squares with high-dimensional fixed effects (weighted within-transformation)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from tradeflows.errors import ConvergenceError
from tradeflows.estimation.collinearity import collinear_columns
from tradeflows.estimation.demean import demean_coef
from tradeflows.estimation.results import OLSResults
from tradeflows.estimation.sample import build_sample
from tradeflows.estimation.threads import using_threads
from tradeflows.estimation.vcov import compute_vcov

__all__ = ["ols"]


def ols(data: pd.DataFrame, formula: str, *, vcov: object = None, weights: object = None,
        ssc: object = None, tol: float = 1e-10, strict: bool = False,
        threads: int | None = None) -> OLSResults:
    """Fit ``formula`` by (weighted) least squares with the fixed effects absorbed.

    vcov, weights, ssc, threads: as :func:`tradeflows.estimation.ppml`. tol: demeaning
    tolerance. Singletons are dropped (counted under drops["singleton"]).
    """
    with using_threads(threads) as used:
        started = time.perf_counter()
        s = build_sample(data, formula, model="ols", vcov=vcov, weights=weights, ssc=ssc)
        res = _fit(s, tol=tol, strict=strict)
        seconds = res.fit_stats["seconds"]
        seconds["separation"] = s.seconds_separation
        seconds["total"] = time.perf_counter() - started
        seconds["rest"] = seconds["total"] - seconds["demean"] - seconds["separation"]
        res.fit_stats["threads"] = used
    return res


def _fit(s, *, tol: float, strict: bool) -> OLSResults:
    """Least squares on a prepared sample."""
    y, X, fe, w = s.y, s.X, s.fe, s.weights
    n = y.size
    M = np.column_stack([y, X])
    t0 = time.perf_counter()
    Md, _, _, iters, ok = demean_coef(M, fe, w, tol=tol)
    stats = {"sweeps": [iters], "seconds": {"demean": time.perf_counter() - t0}}
    if not ok:
        msg = "fixed-effect demeaning did not converge"
        if strict:
            raise ConvergenceError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
    yd, Xd = Md[:, 0], Md[:, 1:]
    norms = np.sqrt((X**2 * w[:, None]).sum(axis=0))
    drop = collinear_columns(Xd, s.coefnames, w, norms=norms) if X.shape[1] else []
    keep = [j for j in range(X.shape[1]) if j not in drop]
    if drop:
        warnings.warn(f"collinear regressor(s) dropped: {[s.coefnames[j] for j in drop]}",
                      UserWarning, stacklevel=3)
    X, Xd = X[:, keep], Xd[:, keep]
    names = [s.coefnames[j] for j in keep]
    XtW = Xd.T * w
    beta = np.linalg.solve(XtW @ Xd, XtW @ yd) if keep else np.zeros(0)
    e = yd - Xd @ beta
    rss = float(np.sum(w * e**2))
    scores = Xd * (w * e)[:, None]
    V, K, df_t = compute_vcov(Xd, w, scores, s.vcov_spec, s.ssc, fe=fe, clusters=s.clusters,
                              iid_scale=rss / (n - 1))
    ybar = float(np.average(y, weights=w))
    return OLSResults(
        model="ols", formula_spec=s.formula, coefnames=names, coef_values=beta,
        vcov_matrix=V, vcov_type=s.vcov_spec.label, ssc=s.ssc, nobs=n,
        nobs_original=s.nobs_original, drops=s.drops, df_k=K, df_t=df_t, iterations=iters,
        converged=ok, collinear=[s.coefnames[j] for j in drop], fixed_coefs={},
        fe_levels=s.fe_levels, sample_index=s.index, y=y, eta=y - e, X=X, fe=fe,
        offset=np.zeros(n), rss=rss, tss=float(np.sum(w * (y - ybar) ** 2)),
        tss_within=float(np.sum(w * yd**2)), fit_stats=stats)
