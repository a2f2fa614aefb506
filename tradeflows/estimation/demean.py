"""Weighted within-transformation: residuals of columns on any number of fixed-effect dummies.

The fixed effects are absorbed by alternating projections (Gauss-Seidel sweeps over the
fixed-effect dimensions) carried out in the space of the fixed-effect *coefficients*, as in
fixest, with Irons-Tuck acceleration. Each column has its own fixed point (and stops when it
has converged); the kernels read the codes of one dimension as a contiguous stream. One
fixed-effect dimension is exact after one pass. numba, single-threaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["demean", "demean_coef", "FEIndex", "fe_index", "solve_fixef"]


@dataclass(frozen=True)
class FEIndex:
    """Fixed-effect codes prepared for the kernels: ``codes`` (k, n) index one flat
    coefficient vector in which dimension q occupies ``starts[q]:starts[q + 1]``."""

    codes: np.ndarray
    starts: np.ndarray

    @property
    def k(self) -> int:
        return self.codes.shape[0]

    @property
    def n(self) -> int:
        return self.codes.shape[1]


def fe_index(fe: np.ndarray | FEIndex) -> FEIndex:
    """Prepare (n, k) 0-based int64 codes once, to reuse across many demeaning calls."""
    if isinstance(fe, FEIndex):
        return fe
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    if fe.size and fe.min() < 0:
        raise ValueError("demean: fixed-effect codes must be non-negative (0-based)")
    sizes = fe.max(axis=0) + 1 if fe.shape[0] else np.zeros(fe.shape[1], dtype=np.int64)
    starts = np.zeros(fe.shape[1] + 1, dtype=np.int64)
    starts[1:] = np.cumsum(sizes)
    return FEIndex(np.ascontiguousarray((fe + starts[:-1]).T, dtype=np.int64), starts)


@njit(cache=True)
def _sweep(wx, w, codes, starts, invw, a_in, a_out):
    """One Gauss-Seidel sweep over the FE dimensions (the last first) for one column.

    a_in, a_out: (ncoef,) coefficients; wx: group sums of w*x; invw: 1 / group sums of w.
    Group g of dimension q gets (wx_g - sum_{i in g} w_i sum_{p != q} a_p[i]) / sum_g w.
    """
    k, n = codes.shape
    a_out[:] = a_in
    for qq in range(k):
        q = k - 1 if qq == 0 else qq - 1
        lo, hi = starts[q], starts[q + 1]
        a_out[lo:hi] = wx[lo:hi]
        cq = codes[q]
        if k == 2:
            cp = codes[1 - q]
            for i in range(n):
                a_out[cq[i]] -= w[i] * a_out[cp[i]]
        elif k == 3:
            c1 = codes[1 if q == 0 else 0]
            c2 = codes[1 if q == 2 else 2]
            for i in range(n):
                a_out[cq[i]] -= w[i] * (a_out[c1[i]] + a_out[c2[i]])
        else:
            for i in range(n):
                acc = 0.0
                for p in range(k):
                    if p != q:
                        acc += a_out[codes[p, i]]
                a_out[cq[i]] -= w[i] * acc
        for g in range(lo, hi):
            a_out[g] *= invw[g]


@njit(cache=True)
def _converged(a_old, a_new, nstate, scale, tol):
    for g in range(nstate):
        if abs(a_new[g] - a_old[g]) > tol * (abs(a_new[g]) + scale):
            return False
    return True


@njit(cache=True)
def _irons_tuck(X, GX, GGX, nstate):
    """X <- GGX - c (GGX - GX), c = <d1, d2> / <d2, d2> with d1 = GGX - GX,
    d2 = GGX - 2 GX + X (Irons and Tuck 1969). Returns False when d2 = 0 (converged)."""
    num = 0.0
    den = 0.0
    for g in range(nstate):
        d1 = GGX[g] - GX[g]
        d2 = d1 - GX[g] + X[g]
        num += d1 * d2
        den += d2 * d2
    if den == 0.0:
        return False
    c = num / den
    for g in range(nstate):
        X[g] = GGX[g] - c * (GGX[g] - GX[g])
    return True


@njit(cache=True)
def _ssr(x, w, codes, a):
    """Weighted sum of squared residuals of x (n,) given the FE coefficients a."""
    k, n = codes.shape
    total = 0.0
    for i in range(n):
        r = x[i]
        for q in range(k):
            r -= a[codes[q, i]]
        total += w[i] * r * r
    return total


@njit(cache=True)
def _fixed_point(x, wx, w, codes, starts, invw, scale, tol, maxiter):
    """Irons-Tuck accelerated fixed point of one column x (n,), with fixest's "grand
    acceleration" (Irons-Tuck on every fourth iterate). As fixest (which checks every 40),
    every 200 sweeps the weighted SSR is computed and the iteration also stops when it no
    longer changes (|change| <= tol * (0.1 + SSR)): coefficients of nearly weightless groups
    can drift while the residuals have converged. (Checked rarely because on slowly
    converging columns the SSR stalls long before the residuals are accurate.)
    Returns (coef, sweeps, converged)."""
    k = codes.shape[0]
    ncoef = starts[k]
    nstate = starts[k - 1]  # coefficients of dimensions 0..k-2 (the last is implied)
    X = np.zeros(ncoef)
    GX = np.empty(ncoef)
    GGX = np.empty(ncoef)
    Y = np.empty(ncoef)
    GY = np.empty(ncoef)
    GGY = np.empty(ncoef)
    _sweep(wx, w, codes, starts, invw, X, GX)
    if k == 1:
        return GX, 1, True
    it = 1
    grand = 0
    ssr_old = -1.0
    next_ssr = 200
    while it < maxiter:
        if _converged(X, GX, nstate, scale, tol):
            return GX, it, True
        _sweep(wx, w, codes, starts, invw, GX, GGX)
        it += 1
        if _converged(GX, GGX, nstate, scale, tol):
            return GGX, it, True
        if not _irons_tuck(X, GX, GGX, nstate):
            return GGX, it, True
        _sweep(wx, w, codes, starts, invw, X, GX)
        it += 1
        if it % 8 < 2:
            grand += 1
            if grand == 1:
                Y[:] = GX
            elif grand == 2:
                GY[:] = GX
            else:
                GGY[:] = GX
                grand = 0
                if _irons_tuck(Y, GY, GGY, nstate):
                    X[:] = Y
                    _sweep(wx, w, codes, starts, invw, X, GX)
                    it += 1
        if it >= next_ssr:
            next_ssr += 200
            ssr = _ssr(x, w, codes, GX)
            if ssr_old >= 0 and abs(ssr - ssr_old) <= tol * (0.1 + ssr):
                return GX, it, True
            ssr_old = ssr
    return GX, it, False


@njit(cache=True)
def _demean_all(x, init, w, codes, starts, tol, maxiter):
    """FE coefficients (ncoef, m) of every column of x - init (x: (n, m); init: (n, m) or
    (0, m) for none); max sweeps; all converged."""
    k, n = codes.shape
    m = x.shape[1]
    ncoef = starts[k]
    sumw = np.zeros(ncoef)
    for q in range(k):
        cq = codes[q]
        for i in range(n):
            sumw[cq[i]] += w[i]
    invw = np.zeros(ncoef)
    for g in range(ncoef):
        if sumw[g] > 0:
            invw[g] = 1.0 / sumw[g]
    coef = np.zeros((ncoef, m))
    wx = np.zeros(ncoef)
    xj = np.empty(n)
    has_init = init.shape[0] == n
    sweeps = 0
    ok = True
    for j in range(m):
        wx[:] = 0.0
        scale = 0.0
        nonzero = False
        for i in range(n):
            v = x[i, j]
            if abs(v) > scale:
                scale = abs(v)
            if has_init:
                v -= init[i, j]
            xj[i] = v
            nonzero = nonzero or v != 0.0
        if not nonzero:
            continue
        for q in range(k):
            cq = codes[q]
            for i in range(n):
                wx[cq[i]] += w[i] * xj[i]
        a, it, conv = _fixed_point(xj, wx, w, codes, starts, invw, scale, tol, maxiter)
        coef[:, j] = a
        sweeps = max(sweeps, it)
        ok = ok and conv
    return coef, sweeps, ok


@njit(cache=True)
def _apply(x, codes, a, init):
    """(x - fitted, fitted) with fitted = init + the sum over dimensions of each row's
    coefficients, in one pass; x: (n, m), a: (ncoef, m), init: (n, m) or (0, m)."""
    k, n = codes.shape
    m = a.shape[1]
    has_init = init.shape[0] == n
    fitted = np.empty((n, m))
    out = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            f = init[i, j] if has_init else 0.0
            for q in range(k):
                f += a[codes[q, i], j]
            fitted[i, j] = f
            out[i, j] = x[i, j] - f
    return out, fitted


def _prepare(X, fe, weights):
    X = np.asarray(X, dtype=np.float64)
    one_d = X.ndim == 1
    X2 = np.ascontiguousarray(X.reshape(X.shape[0], -1))
    idx = fe_index(fe)
    if idx.n != X2.shape[0]:
        raise ValueError(f"demean: X has {X2.shape[0]} rows but fe has {idx.n}")
    w = (np.ones(X2.shape[0]) if weights is None
         else np.ascontiguousarray(weights, dtype=np.float64))
    if w.shape != (X2.shape[0],):
        raise ValueError(f"demean: weights must have shape ({X2.shape[0]},)")
    return X2, idx, w, one_d


def demean_coef(X: np.ndarray, fe: np.ndarray | FEIndex, weights: np.ndarray | None = None, *,
                tol: float = 1e-8, maxiter: int = 10_000, init: np.ndarray | None = None,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]:
    """Like :func:`demean` (``fe`` may be a prepared :class:`FEIndex`), also returning the
    FE coefficients.

    Returns (X_demeaned (n, m), fe_component (n, m) = X - X_demeaned, coef (ncoef, m) on the
    flat coding of :class:`FEIndex` (for ``X - init``), sweeps (the most of any column),
    converged).
    """
    X2, idx, w, _ = _prepare(X, fe, weights)
    n, m = X2.shape
    if idx.k == 0:
        return X2.copy(), np.zeros_like(X2), np.zeros((0, m)), 0, True
    init2 = (np.zeros((0, m)) if init is None
             else np.ascontiguousarray(np.reshape(init, X2.shape), dtype=np.float64))
    coef, sweeps, conv = _demean_all(X2, init2, w, idx.codes, idx.starts, float(tol),
                                     int(maxiter))
    out, fitted = _apply(X2, idx.codes, coef, init2)
    return out, fitted, coef, int(sweeps), bool(conv)


def demean(X: np.ndarray, fe: np.ndarray | FEIndex, weights: np.ndarray | None = None, *,
           tol: float = 1e-8, maxiter: int = 10_000,
           init: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Weighted within-transformation of the columns of X on the fixed effects ``fe``.

    X: (n, m) or (n,) float64. fe: (n, k) int64 0-based codes, one column per FE dimension.
    weights: (n,) non-negative, or None. tol: relative convergence tolerance on the FE
    coefficients (|change| <= tol * (|coef| + max|x|) between sweeps). init: optional (n, m)
    guess of the fixed-effect component of X (e.g. from a previous call with other weights);
    the result is the same projection, reached in fewer sweeps when the guess is good.
    Returns (X_demeaned with X's shape, converged).
    """
    X2, idx, w, one_d = _prepare(X, fe, weights)
    out, _, _, _, conv = demean_coef(X2, idx, w, tol=tol, maxiter=maxiter, init=init)
    return (out[:, 0] if one_d else out), conv


def solve_fixef(d: np.ndarray, fe: np.ndarray | FEIndex, *, tol: float = 1e-13,
                maxiter: int = 100_000) -> tuple[list[np.ndarray], bool]:
    """FE coefficients alpha_q (one array per dimension, length = levels) with
    sum_q alpha_q[fe[i, q]] = d[i], the fixed-effect part of a fitted linear predictor (n,).

    Normalization: in every dimension after the first, the value of level 0 is set to 0 and
    the shift is moved into the first dimension (exact for two connected dimensions; with
    more dimensions the values are one solution among several, predictions are unique).
    """
    idx = fe_index(fe)
    x = np.ascontiguousarray(np.reshape(d, (-1, 1)), dtype=np.float64)
    coef, _, conv = _demean_all(x, np.zeros((0, 1)), np.ones(idx.n), idx.codes, idx.starts,
                                float(tol), int(maxiter))
    starts = idx.starts
    alphas = [coef[starts[q]:starts[q + 1], 0].copy() for q in range(idx.k)]
    for q in range(1, len(alphas)):
        if alphas[q].size:
            shift = alphas[q][0]
            alphas[q] -= shift
            alphas[0] += shift
    return alphas, bool(conv)
