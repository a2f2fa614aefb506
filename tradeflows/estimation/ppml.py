"""Poisson pseudo-maximum likelihood with high-dimensional fixed effects (IRLS).

Each IRLS step regresses the working variable z = eta - offset + (y - mu)/mu on X with
weights w*mu, the fixed effects absorbed by :func:`demean`. As in ppmlhdfe, every demeaning
starts from the fixed-effect component of the previous step (a warm start), and the inner
tolerance starts loose (1e-4) and tightens with the deviance change down to ``tol``.
Convergence: |dev - dev_old| / (0.1 + |dev|) < tol with the inner tolerance at its final value.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit
from scipy.special import gammaln, xlogy
from tqdm import tqdm

from tradeflows.errors import ConvergenceError
from tradeflows.estimation.collinearity import collinear_columns
from tradeflows.estimation.demean import demean_coef, fe_index
from tradeflows.estimation.results import PPMLResults
from tradeflows.estimation.sample import build_sample
from tradeflows.estimation.vcov import compute_vcov

__all__ = ["ppml"]


def _deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    return float(2.0 * np.sum(w * (xlogy(y, y) - xlogy(y, mu) - (y - mu))))


@njit(cache=True)
def _working(eta, off, y, mu, w, M, W):
    """IRLS weights W = w*mu and working variable z (into M[:, 0]) without temporaries.

    A fitted value that underflows to 0 (eta < -745, a zero flow pushed towards separation)
    is floored at the smallest normal double, so z = eta - 1 and its weight vanishes."""
    for i in range(y.size):
        m = max(mu[i], 2.2250738585072014e-308)
        W[i] = w[i] * m
        M[i, 0] = eta[i] - off[i] + (y[i] - m) / m


@njit(cache=True)
def _wls(Md, W):
    """(X~' W X~ (p, p), X~' W z~ (p,)) from Md = [z~, X~] (n, p + 1)."""
    n, m = Md.shape
    p = m - 1
    A = np.zeros((p, p))
    b = np.zeros(p)
    for i in range(n):
        wi = W[i]
        for a in range(p):
            v = wi * Md[i, a + 1]
            b[a] += v * Md[i, 0]
            for c in range(a + 1):
                A[a, c] += v * Md[i, c + 1]
    for a in range(p):
        for c in range(a):
            A[c, a] = A[a, c]
    return A, b


@njit(cache=True)
def _linear_predictor(M, Md, beta, off, out):
    """eta = z - (z~ - X~ beta) + offset: the fitted linear predictor of the WLS step."""
    n, m = Md.shape
    for i in range(n):
        r = Md[i, 0]
        for a in range(m - 1):
            r -= Md[i, a + 1] * beta[a]
        out[i] = M[i, 0] - r + off[i]


@njit(cache=True)
def _mu_dev(eta_full, eta_old, frac, wy, w, eta, mu, wylogy_y):
    """eta = eta_old + frac (eta_full - eta_old), mu = exp(eta); returns the deviance
    2 [sum w (y log y - y) - sum w y eta + sum w mu] (inf if not finite)."""
    acc = 0.0
    for i in range(eta.size):
        e = eta_old[i] + frac * (eta_full[i] - eta_old[i])
        eta[i] = e
        mu[i] = np.exp(e)
        acc += w[i] * mu[i] - wy[i] * e
    dev = 2.0 * (wylogy_y + acc)
    return dev if np.isfinite(dev) else np.inf


def _warn_vanishing_fit(y: np.ndarray, mu: np.ndarray, rel_tol: float = 1e-12) -> None:
    """Warn when zero flows end with fitted values below ``rel_tol`` times the smallest
    positive flow: the signature of separation that the pre-estimation checks did not
    certify (the likelihood keeps rising as those fitted values go to zero; coefficients that
    load on them are not identified, and their standard errors explode)."""
    positive = y[y > 0]
    if positive.size == 0:
        return
    floor = rel_tol * float(positive.min())
    vanishing = int(np.count_nonzero((y == 0) & (mu < floor)))
    if vanishing:
        warnings.warn(f"{vanishing} zero observation(s) have fitted values below {rel_tol:g} "
                      "x the smallest positive flow: possible separation not caught by the "
                      "separation checks; coefficients identified only by them are not "
                      "reliable", RuntimeWarning, stacklevel=3)


def _loglik(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (xlogy(y, mu) - mu - gammaln(y + 1.0))))


def _drop_collinear(X, names, fe, W, tol):
    """Demean X once with weights W; drop collinear columns (warns). Returns kept indices."""
    Xd, comp, _, _, _ = demean_coef(X, fe, W, tol=tol)
    norms = np.sqrt((X**2 * W[:, None]).sum(axis=0))
    drop = collinear_columns(Xd, names, W, norms=norms) if X.shape[1] else []
    keep = [j for j in range(X.shape[1]) if j not in drop]
    if drop:
        warnings.warn(f"collinear regressor(s) dropped: {[names[j] for j in drop]}",
                      UserWarning, stacklevel=3)
    return keep, [names[j] for j in drop], comp[:, keep]


def ppml(data: pd.DataFrame, formula: str, *, vcov: object = None, weights: object = None,
         offset: object = None, fixed_coefs: dict[str, float] | None = None,
         separation: Sequence[str] = ("fe", "simplex", "relu"), tol: float = 1e-8,
         maxiter: int = 200, ssc: object = None, strict: bool = False,
         progress: bool = False) -> PPMLResults:
    """Fit ``formula`` (``"y ~ x1 + x2 | fe1 + fe2^fe3"``) by PPML.

    vcov: "iid" | "hetero" | {"CL1": var} | {"CL2": [a, b]} | "twoway" | None (clustered by
    the first FE, or iid without FE, as fixest). weights, offset: column name or (n,) array.
    fixed_coefs: {regressor: value} held fixed (moved to the offset; not in ``coef``).
    separation: methods of :func:`tradeflows.estimation.separation.separation_mask`.
    tol: deviance tolerance (final demeaning tolerance: min(tol, 1e-8)). ssc: small-sample
    convention (:func:`tradeflows.estimation.ssc`, "stata"). strict: raise ConvergenceError
    instead of warning when IRLS or demeaning does not converge.
    """
    s = build_sample(data, formula, model="ppml", vcov=vcov, weights=weights, offset=offset,
                     fixed_coefs=fixed_coefs, separation=separation, ssc=ssc)
    y, X, w, off = s.y, s.X, s.weights, s.offset
    fe = fe_index(s.fe)
    n = y.size
    mean_y = float(np.average(y, weights=w))
    mu = (y + mean_y) / 2.0
    eta = np.log(mu)
    off = np.ascontiguousarray(off, dtype=np.float64)
    inner_final = min(tol, 1e-8) if fe.k else tol
    keep, collinear, compX = _drop_collinear(X, s.coefnames, fe, w * mu, 1e-6)
    X = np.ascontiguousarray(X[:, keep])
    names = [s.coefnames[j] for j in keep]
    p = X.shape[1]
    dev = _deviance(y, mu, w)
    wy = w * y
    wylogy_y = float(np.sum(w * (xlogy(y, y) - y)))
    M = np.empty((n, p + 1))
    M[:, 1:] = X
    comp = np.zeros((n, p + 1))
    comp[:, 1:] = compX
    inner = max(1e-4, inner_final)
    converged = False
    demean_ok = True
    beta = np.zeros(p)
    W = np.empty(n)
    eta_full = np.empty(n)
    eta_new = np.empty(n)
    mu_new = np.empty(n)
    it = 0
    bar = tqdm(total=maxiter, disable=not progress, desc="PPML IRLS")
    for it in range(1, maxiter + 1):
        _working(eta, off, y, mu, w, M, W)
        Md, comp, _, _, demean_ok = demean_coef(M, fe, W, tol=inner, init=comp)
        if p:
            A, b = _wls(Md, W)
            beta = np.linalg.solve(A, b)
        _linear_predictor(M, Md, beta, off, eta_full)
        frac = 1.0
        for _ in range(30):
            dev_new = _mu_dev(eta_full, eta, frac, wy, w, eta_new, mu_new, wylogy_y)
            if np.isfinite(dev_new) and (it == 1 or dev_new <= dev * (1 + 1e-12) + 1e-12):
                break
            frac /= 2.0
        change = abs(dev_new - dev) / (0.1 + abs(dev_new))
        eta, eta_new = eta_new, eta
        mu, mu_new = mu_new, mu
        dev = dev_new
        bar.update(1)
        if change < tol and inner <= inner_final:
            converged = True
            break
        inner = max(inner_final, min(inner, 0.1 * change))
    bar.close()
    # Inference with the final weights: demean X once more (warm start, nearly free).
    W = w * mu
    Xd, _, _, _, final_ok = demean_coef(X, fe, W, tol=inner_final, init=comp[:, 1:])
    demean_ok = demean_ok and final_ok
    if not (converged and demean_ok):
        msg = (f"PPML did not converge in {it} IRLS iterations (deviance {dev:.10g}, tol {tol})"
               if not converged else "fixed-effect demeaning did not converge")
        if strict:
            raise ConvergenceError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    _warn_vanishing_fit(y, mu)
    scores = Xd * (w * (y - mu))[:, None]
    V, K, df_t = compute_vcov(Xd, W, scores, s.vcov_spec, s.ssc, fe=s.fe, clusters=s.clusters)
    ll = _loglik(y, mu, w)
    ll0 = _loglik(y, np.full(n, mean_y), w)
    return PPMLResults(
        model="ppml", formula_spec=s.formula, coefnames=names, coef_values=beta,
        vcov_matrix=V, vcov_type=s.vcov_spec.label, ssc=s.ssc, nobs=n,
        nobs_original=s.nobs_original, drops=s.drops, df_k=K, df_t=df_t, iterations=it,
        converged=converged and demean_ok, collinear=collinear, fixed_coefs=s.fixed_coefs,
        fe_levels=s.fe_levels, sample_index=s.index, eta=eta, X=X, fe=s.fe, offset=off,
        offset_name=s.offset_name, deviance=dev, loglik=ll, loglik_null=ll0)
