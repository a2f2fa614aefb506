"""Poisson pseudo-maximum likelihood with high-dimensional fixed effects (IRLS).

Each IRLS step regresses the working variable z = eta - offset + (y - mu)/mu on X with
weights w*mu, the fixed effects absorbed by :func:`demean`. Starting values as fixest (mu =
y + a small shift, here 1e-4 of the mean flow, so that large flows start at their own value
and zeros near zero); every demeaning starts from the fixed-effect coefficients of the
previous step (a warm start; only the coefficients are kept, not an (n, p + 1) component).
The inner tolerance is 1e-6 for the first step (which also decides collinearity), 1e-5 for
the next ones and then 1e-3 times the last relative deviance change, down to the final
demeaning tolerance: the Newton steps are accurate enough to converge quadratically (6 steps
on the benchmark panel, as fixest; 1e-6 instead of 1e-5 gives the same steps with 12% more
passes over the rows, 432 against 387, and 1e-4 costs more in the last steps) without paying
for a tight tolerance far from the optimum. The new linear predictor is built from the
fixed-effect component of z (not z minus its residual), so that rows whose fitted value is
tiny keep their precision. Convergence: |dev - dev_old| / (0.1 + |dev|) < tol with the inner
tolerance at its final value. The regressors are demeaned once more at 1/100 of that
tolerance for the standard errors.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit, prange
from tqdm import tqdm

from tradeflows.errors import ConvergenceError
from tradeflows.estimation.collinearity import collinear_from_gram
from tradeflows.estimation.demean import demean_fe_coef, fe_index, fe_residuals
from tradeflows.estimation.results import PPMLResults
from tradeflows.estimation.sample import build_sample
from tradeflows.estimation.threads import using_threads
from tradeflows.estimation.vcov import compute_vcov

__all__ = ["ppml"]

START_SHIFT = 1e-4  # mu starts at y + START_SHIFT * mean(y) (fixest: y + 0.1)
INNER_START = 1e-5  # demeaning tolerance of the IRLS steps after the first
INNER_FACTOR = 1e-3  # then INNER_FACTOR * the last relative deviance change
VCOV_TOL_FACTOR = 1e-2  # demeaning for the standard errors: this times the final tolerance


_BLOCKS = 64  # blocks of the parallel sums: fixed, so results do not depend on the threads


@njit(inline="always")
def _block(b, nblocks, glo, ghi, n):
    """Levels (first, last) of block b of ``nblocks`` over the levels glo..ghi-1 through
    which the rows are visited, or over the n rows in order without fixed effects
    (glo = ghi)."""
    if ghi > glo:
        return glo + b * (ghi - glo) // nblocks, glo + (b + 1) * (ghi - glo) // nblocks
    return b * n // nblocks, (b + 1) * n // nblocks


@njit(inline="always")
def _positions(g, has_fe, ptr):
    """Positions of level g (row g itself without fixed effects)."""
    if has_fe:
        return ptr[g], ptr[g + 1]
    return g, g + 1


@njit(parallel=True, cache=True)
def _working(eta, off, y, w, M, W):
    """IRLS weights W = w*mu and working variable z (into M[:, 0]) without temporaries.

    A fitted value that underflows to 0 (eta < -745, a zero flow pushed towards separation)
    is floored at the smallest normal double, so z = eta - 1 and its weight vanishes."""
    for i in prange(y.size):
        m = max(np.exp(eta[i]), 2.2250738585072014e-308)
        W[i] = w[i] * m
        M[i, 0] = eta[i] - off[i] + (y[i] - m) / m


@njit(inline="always")
def _component(coef, g, t, other, a):
    """Column a's fixed-effect component of the row at position t of level g (g: its level
    in the dimension its rows are visited through; g = -1 without fixed effects: 0)."""
    if g < 0:
        return 0.0
    c = coef[g, a]
    for p in range(other.shape[0]):
        c += coef[other[p, t], a]
    return c


@njit(inline="always")
def _demeaned_row(M, coef, i, g, t, other, r):
    """r[:m] <- row i of M (n, m) minus its fixed-effect component (g, t as in
    :func:`_component`)."""
    for a in range(M.shape[1]):
        r[a] = M[i, a] - _component(coef, g, t, other, a)


@njit(inline="always")
def _padded(width):
    """Doubles per block in a (blocks, _padded(width)) scratch array: whole cache lines and
    one more, so that no two blocks' first ``width`` entries share a line. (Arrays allocated
    inside a parallel loop cost more than the work at 2 threads: _wls took 19-24 ms at
    1.2M rows instead of 15.)"""
    return (width + 7) // 8 * 8 + 8


@njit(parallel=True, cache=True)
def _wls(M, coef, W, ptr, order, other, glo, ghi):
    """(X~' W X~ (p, p), X~' W z~ (p,)) with [z~, X~] (n, p + 1) the working variable and
    regressors M minus their fixed-effect components (coefficients coef (ncoef, p + 1); the
    rows are visited through the levels glo..ghi-1 of one dimension (``FEIndex.visit``), or
    in order without fixed effects). Sums over fixed blocks of levels, combined in order."""
    n, m = M.shape
    p = m - 1
    has_fe = ghi > glo
    nb = _BLOCKS
    # per block: the demeaned row r (m), then its sums A (p * p) and b (p)
    scratch = np.zeros((nb, _padded(m + p * p + p)))
    ia, ib = m, m + p * p
    for blk in prange(nb):
        s = scratch[blk]
        first, last = _block(blk, nb, glo, ghi, n)
        for g in range(first, last):
            lo, hi = _positions(g, has_fe, ptr)
            for t in range(lo, hi):
                i = order[t] if has_fe else t
                _demeaned_row(M, coef, i, g if has_fe else -1, t, other, s)
                wi = W[i]
                for a in range(p):
                    v = wi * s[a + 1]
                    s[ib + a] += v * s[0]
                    for c in range(a + 1):
                        s[ia + a * p + c] += v * s[c + 1]
    A = np.zeros((p, p))
    b = np.zeros(p)
    for blk in range(nb):
        for a in range(p):
            b[a] += scratch[blk, ib + a]
            for c in range(a + 1):
                A[a, c] += scratch[blk, ia + a * p + c]
    for a in range(p):
        for c in range(a):
            A[c, a] = A[a, c]
    return A, b


@njit(parallel=True, cache=True)
def _linear_predictor(M, coef, beta, off, out, ptr, order, other, glo, ghi):
    """eta = offset + (fixed-effect component of z) + X~ beta: the fitted linear predictor of
    the WLS step, built from the component itself rather than as z - (z~ - X~ beta), which
    loses all precision on a row whose working value z = eta + (y - mu) / mu is huge (a
    positive flow with a tiny fitted value). Rows visited as in :func:`_wls` (each level by
    one thread: no sums across levels)."""
    n, m = M.shape
    has_fe = ghi > glo
    units = ghi - glo if has_fe else n
    for u in prange(units):
        g = glo + u  # (without fixed effects glo = 0: g is the row)
        lo, hi = _positions(g, has_fe, ptr)
        h = g if has_fe else -1
        for t in range(lo, hi):
            i = order[t] if has_fe else t
            e = off[i]
            if has_fe:  # the component of z from its coefficients, added one by one
                e += coef[g, 0]
                for p in range(other.shape[0]):
                    e += coef[other[p, t], 0]
            for a in range(1, m):  # plus X~ beta
                e += (M[i, a] - _component(coef, h, t, other, a)) * beta[a - 1]
            out[i] = e


@njit(parallel=True, cache=True)
def _step_deviance(eta_full, eta_old, frac, y, w):
    """Deviance at eta = eta_old + frac (eta_full - eta_old), mu = exp(eta):
    2 sum w [y log(y / mu) - (y - mu)], summed row by row (each term >= 0, no cancellation
    between large totals) over fixed blocks combined in order; inf if not finite."""
    n = y.size
    part = np.zeros(_BLOCKS)
    for blk in prange(_BLOCKS):
        acc = 0.0
        for i in range(blk * n // _BLOCKS, (blk + 1) * n // _BLOCKS):
            e = eta_old[i] + frac * (eta_full[i] - eta_old[i])
            yi = y[i]
            term = np.exp(e) - yi
            if yi > 0:
                term += yi * (np.log(yi) - e)
            acc += w[i] * term
        part[blk] = acc
    dev = 2.0 * part.sum()
    return dev if np.isfinite(dev) else np.inf


@njit(parallel=True, cache=True)
def _take_step(eta, eta_full, frac):
    """In place: eta <- eta + frac (eta_full - eta) (as in :func:`_step_deviance`)."""
    for i in prange(eta.size):
        eta[i] = eta[i] + frac * (eta_full[i] - eta[i])


@njit(parallel=True, cache=True)
def _loglik(y, mu, w):
    """Poisson log-likelihood sum w [y log mu - mu - log y!]; mu (n,) or (1,) for a constant.
    Sums over fixed blocks combined in order."""
    n = y.size
    part = np.zeros(_BLOCKS)
    for blk in prange(_BLOCKS):
        acc = 0.0
        for i in range(blk * n // _BLOCKS, (blk + 1) * n // _BLOCKS):
            m = mu[i] if mu.size == n else mu[0]
            t = -m
            if y[i] > 0:
                t += y[i] * np.log(m) - math.lgamma(y[i] + 1.0)
            acc += w[i] * t
        part[blk] = acc
    total = 0.0
    for blk in range(_BLOCKS):
        total += part[blk]
    return total


@njit(parallel=True, cache=True)
def _weighted_gram(X, W):
    """X' diag(W) X (p, p) for X (n, p), W (n,): sums over fixed blocks combined in order."""
    n, p = X.shape
    part = np.zeros((_BLOCKS, _padded(p * p)))  # each block's sums, a[a * p + c]
    for blk in prange(_BLOCKS):
        acc = part[blk]
        for i in range(blk * n // _BLOCKS, (blk + 1) * n // _BLOCKS):
            for a in range(p):
                v = W[i] * X[i, a]
                for c in range(a + 1):
                    acc[a * p + c] += v * X[i, c]
    out = np.zeros((p, p))
    for blk in range(_BLOCKS):
        for a in range(p):
            for c in range(a + 1):
                out[a, c] += part[blk, a * p + c]
    for a in range(p):
        for c in range(a):
            out[c, a] = out[a, c]
    return out


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


def _collinear(A, M, W, names):
    """Indices of the regressors (columns 1.. of M) to drop as collinear, judged on the
    weighted cross-product A (p, p) of their demeaned values (from :func:`_wls`), against
    their weighted norms before demeaning (warns naming them)."""
    norms = np.sqrt(_weighted_squares(M, W))
    drop = collinear_from_gram(A, names, norms=norms)
    if drop:
        warnings.warn(f"collinear regressor(s) dropped: {[names[j] for j in drop]}",
                      UserWarning, stacklevel=4)
    return drop


@njit(cache=True)
def _weighted_squares(M, W):
    """(p,) sums of W x^2 over the rows of each regressor (columns 1.. of M)."""
    n, m = M.shape
    out = np.zeros(m - 1)
    for i in range(n):
        for a in range(1, m):
            out[a - 1] += W[i] * M[i, a] * M[i, a]
    return out


def ppml(data: pd.DataFrame, formula: str, *, vcov: object = None, weights: object = None,
         offset: object = None, fixed_coefs: dict[str, float] | None = None,
         separation: Sequence[str] = ("fe", "simplex", "relu"), tol: float = 1e-8,
         maxiter: int = 200, ssc: object = None, strict: bool = False,
         progress: bool = False, threads: int | None = None) -> PPMLResults:
    """Fit ``formula`` (``"y ~ x1 + x2 | fe1 + fe2^fe3"``) by PPML.

    vcov: "iid" | "hetero" | {"CL1": var} | {"CL2": [a, b]} | "twoway" | None (clustered by
    the first FE, or iid without FE, as fixest). weights, offset: column name or (n,) array.
    fixed_coefs: {regressor: value} held fixed (moved to the offset; not in ``coef``).
    separation: methods of :func:`tradeflows.estimation.separation.separation_mask`.
    tol: deviance tolerance (demeaning tolerance: min(tol, 1e-8), tightened for the standard
    errors). ssc: small-sample convention (:func:`tradeflows.estimation.ssc`, "stata").
    strict: raise ConvergenceError instead of warning when IRLS or demeaning does not
    converge. threads: for the compiled kernels (default
    :func:`tradeflows.estimation.threads.get_threads`, all available cores).
    """
    with using_threads(threads) as used:
        started = time.perf_counter()
        s = build_sample(data, formula, model="ppml", vcov=vcov, weights=weights,
                         offset=offset, fixed_coefs=fixed_coefs, separation=separation,
                         ssc=ssc)
        res = _fit(s, tol=tol, maxiter=maxiter, strict=strict, progress=progress)
        res.fit_stats["threads"] = used
        seconds = res.fit_stats["seconds"]
        seconds["separation"] = s.seconds_separation
        seconds["total"] = time.perf_counter() - started
        seconds["rest"] = seconds["total"] - seconds["demean"] - seconds["separation"]
    return res


def _fit(s, *, tol: float, maxiter: int, strict: bool, progress: bool) -> PPMLResults:
    """IRLS on a prepared sample (see module docstring)."""
    y = s.y
    # unit weights and a zero offset as zero-stride views: no (n,) arrays of constants
    if not s.has_weights:
        s.weights = np.broadcast_to(1.0, y.shape)
    if not s.offset.any():
        s.offset = np.broadcast_to(0.0, y.shape)
    w, off = s.weights, s.offset
    fe = fe_index(s.fe)
    s.fe = None  # rebuilt from the layout after the fit: one copy of the codes in memory
    n = y.size
    names = list(s.coefnames)
    # fixest starts from mu = y + 0.1; here the shift is in units of the mean flow
    mean_y = float(np.average(y, weights=w))
    eta = np.log(y + START_SHIFT * mean_y)
    inner_final = min(tol, 1e-8) if fe.k else tol
    M = np.empty((n, len(names) + 1))  # [z, X]
    M[:, 1:] = s.X
    s.X = M[:, 1:]  # one copy of the regressors
    # fixed-effect coefficients of M's columns (ncoef, p + 1): M minus their sums per row is
    # demeaned; kept instead of an (n, p + 1) component
    coef = np.zeros((int(fe.starts[-1]), M.shape[1]))
    lay = (fe.ptr, fe.order, fe.other, *(fe.visit_levels if fe.k else (0, 0)))
    work = np.empty(fe.order.size if fe.k > 1 else 0)  # the demeaning's weights, reused
    dev = _step_deviance(eta, eta, 0.0, y, w)
    inner = max(INNER_START, inner_final)
    converged = False
    demean_ok = True
    beta = np.zeros(len(names))
    W = np.empty(n)  # IRLS weights, then the full step's linear predictor
    collinear: list[str] = []
    stats = {"sweeps": [], "trace": [], "seconds": {"demean": 0.0}}
    it = 0
    bar = tqdm(total=maxiter, disable=not progress, desc="PPML IRLS")
    for it in range(1, maxiter + 1):
        _working(eta, off, y, w, M, W)
        t0 = time.perf_counter()
        # the first step also decides collinearity: it needs absorbed columns at <= 1e-6
        step_tol = min(inner, 1e-6) if it == 1 else inner
        _, total, ok = demean_fe_coef(M, fe, W, coef, tol=step_tol, warm=it > 1, work=work)
        stats["seconds"]["demean"] += time.perf_counter() - t0
        stats["sweeps"].append(total)
        demean_ok = ok
        if names:
            A, b = _wls(M, coef, W, *lay)
        if it == 1 and names:
            drop = _collinear(A, M, W, names)
            if drop:
                keep = [j for j in range(len(names)) if j not in drop]
                collinear = [names[j] for j in drop]
                names = [names[j] for j in keep]
                cols = [0] + [j + 1 for j in keep]
                M, coef = (np.ascontiguousarray(a[:, cols]) for a in (M, coef))
                A, b = A[np.ix_(keep, keep)], b[keep]
                beta = np.zeros(len(names))
        if names:
            beta = np.linalg.solve(A, b)
        eta_full = W
        _linear_predictor(M, coef, beta, off, eta_full, *lay)
        frac = 1.0
        for _ in range(30):
            dev_new = _step_deviance(eta_full, eta, frac, y, w)
            if np.isfinite(dev_new) and (it == 1 or dev_new <= dev * (1 + 1e-12) + 1e-12):
                break
            frac /= 2.0
        change = abs(dev_new - dev) / (0.1 + abs(dev_new))
        stats["trace"].append({"deviance": dev_new, "change": change, "inner_tol": step_tol,
                               "sweeps": total, "step": frac})
        _take_step(eta, eta_full, frac)
        dev = dev_new
        bar.update(1)
        if change < tol and inner <= inner_final:
            converged = True
            break
        inner = max(inner_final, min(inner, INNER_FACTOR * change))
    bar.close()
    # Inference with the final weights: demean X once more (warm start), tighter than the
    # IRLS steps, so that the standard errors do not carry the demeaning error.
    np.exp(eta, out=W)
    W *= w
    X = M[:, 1:]
    coefX = np.ascontiguousarray(coef[:, 1:])
    del coef
    t0 = time.perf_counter()
    _, total, final_ok = demean_fe_coef(X, fe, W, coefX, tol=inner_final * VCOV_TOL_FACTOR,
                                        work=work)
    Xd = fe_residuals(X, fe, coefX)
    stats["seconds"]["demean"] += time.perf_counter() - t0
    stats["sweeps"].append(total)
    del coefX, work
    s.fe = fe.codes()
    del fe, lay  # the layout: ~40 bytes per row
    demean_ok = demean_ok and final_ok
    if not (converged and demean_ok):
        msg = (f"PPML did not converge in {it} IRLS iterations (deviance {dev:.10g}, tol {tol})"
               if not converged else "fixed-effect demeaning did not converge")
        if strict:
            raise ConvergenceError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
    mu = np.exp(eta)
    _warn_vanishing_fit(y, mu)
    info = _weighted_gram(Xd, W)  # X~'WX~ without an (n, p) temporary
    del W
    resid = y - mu
    resid *= w
    ll = _loglik(y, mu, w)
    del mu
    scores = np.multiply(Xd, resid[:, None], out=Xd)  # in place: X~ is not needed any more
    del resid, Xd
    V, K, df_t = compute_vcov(None, None, scores, s.vcov_spec, s.ssc, fe=s.fe,
                              clusters=s.clusters, info=info)
    ll0 = _loglik(y, np.array([mean_y]), w)
    return PPMLResults(
        model="ppml", formula_spec=s.formula, coefnames=names, coef_values=beta,
        vcov_matrix=V, vcov_type=s.vcov_spec.label, ssc=s.ssc, nobs=n,
        nobs_original=s.nobs_original, drops=s.drops, df_k=K, df_t=df_t, iterations=it,
        converged=converged and demean_ok, collinear=collinear, fixed_coefs=s.fixed_coefs,
        fe_levels=s.fe_levels, sample_index=s.index, y=y, eta=eta, X=X, fe=s.fe, offset=off,
        offset_name=s.offset_name, deviance=dev, loglik=ll, loglik_null=ll0,
        fit_stats=stats)
