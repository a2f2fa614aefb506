"""Weighted within-transformation: residuals of columns on any number of fixed-effect dummies.

The fixed effects are absorbed by alternating projections (Gauss-Seidel sweeps over the
fixed-effect dimensions) carried out in the space of the fixed-effect *coefficients*, as in
fixest, with Irons-Tuck acceleration. All columns are demeaned in the same pass over the rows.
For one fixed-effect dimension the transformation is exact after one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["demean", "demean_coef", "FEIndex", "fe_index", "solve_fixef"]


@dataclass(frozen=True)
class FEIndex:
    """Fixed-effect codes prepared for the kernels: ``codes`` (n, k) index one flat
    coefficient vector in which dimension q occupies ``starts[q]:starts[q + 1]``."""

    codes: np.ndarray
    starts: np.ndarray

    @property
    def k(self) -> int:
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
    return FEIndex(np.ascontiguousarray(fe + starts[:-1], dtype=np.int64), starts)


@njit(cache=True)
def _group_weight_sums(codes: np.ndarray, w: np.ndarray, ncoef: int) -> np.ndarray:
    n, k = codes.shape
    out = np.zeros(ncoef)
    for i in range(n):
        for q in range(k):
            out[codes[i, q]] += w[i]
    return out


@njit(cache=True)
def _sweep(x, w, codes, starts, sumw, a_in, a_out, active):
    """One Gauss-Seidel sweep. a_in, a_out: (ncoef, m) coefficients; last dimension first."""
    n, k = codes.shape
    m = x.shape[1]
    a_out[:, :] = a_in
    order = np.empty(k, dtype=np.int64)
    order[0] = k - 1
    for q in range(k - 1):
        order[q + 1] = q
    for qq in range(k):
        q = order[qq]
        lo, hi = starts[q], starts[q + 1]
        for g in range(lo, hi):
            for j in range(m):
                a_out[g, j] = 0.0
        for i in range(n):
            wi = w[i]
            gq = codes[i, q]
            for j in range(m):
                if not active[j]:
                    continue
                r = x[i, j]
                for p in range(k):
                    if p != q:
                        r -= a_out[codes[i, p], j]
                a_out[gq, j] += wi * r
        for g in range(lo, hi):
            s = sumw[g]
            for j in range(m):
                if s > 0:
                    a_out[g, j] /= s
                else:
                    a_out[g, j] = 0.0


@njit(cache=True)
def _converged_cols(a_old, a_new, nstate, scale, tol, active):
    m = a_old.shape[1]
    done = np.ones(m, dtype=np.bool_)
    for j in range(m):
        if not active[j]:
            continue
        for g in range(nstate):
            if abs(a_new[g, j] - a_old[g, j]) > tol * (abs(a_new[g, j]) + scale[j]):
                done[j] = False
                break
    return done


@njit(cache=True)
def _demean_fixed_point(x, w, codes, starts, tol, maxiter):
    """Irons-Tuck accelerated fixed point on the FE coefficients. Returns (coef, iters, conv)."""
    n, k = codes.shape
    m = x.shape[1]
    ncoef = starts[k]
    nstate = starts[k - 1]  # coefficients of dimensions 0..k-2 (the last is implied)
    sumw = _group_weight_sums(codes, w, ncoef)
    scale = np.zeros(m)
    for i in range(n):
        for j in range(m):
            v = abs(x[i, j])
            if v > scale[j]:
                scale[j] = v
    for j in range(m):
        if scale[j] == 0.0:
            scale[j] = 1.0
    active = np.ones(m, dtype=np.bool_)
    X = np.zeros((ncoef, m))
    GX = np.zeros((ncoef, m))
    GGX = np.zeros((ncoef, m))
    _sweep(x, w, codes, starts, sumw, X, GX, active)
    if k == 1:
        return GX, 1, True
    it = 1
    while it < maxiter:
        done = _converged_cols(X, GX, nstate, scale, tol, active)
        for j in range(m):
            if done[j] and active[j]:
                active[j] = False
                for g in range(ncoef):
                    X[g, j] = GX[g, j]
        if not active.any():
            return X, it, True
        _sweep(x, w, codes, starts, sumw, GX, GGX, active)
        it += 1
        done = _converged_cols(GX, GGX, nstate, scale, tol, active)
        for j in range(m):
            if not active[j]:
                continue
            if done[j]:
                active[j] = False
                for g in range(ncoef):
                    X[g, j] = GGX[g, j]
                continue
            num = 0.0
            den = 0.0
            for g in range(nstate):
                d1 = GGX[g, j] - GX[g, j]
                d2 = d1 - GX[g, j] + X[g, j]
                num += d1 * d2
                den += d2 * d2
            c = num / den if den > 0 else 0.0
            for g in range(nstate):
                X[g, j] = GGX[g, j] - c * (GGX[g, j] - GX[g, j])
        if not active.any():
            return X, it, True
        _sweep(x, w, codes, starts, sumw, X, GX, active)
        it += 1
    for j in range(m):
        if active[j]:
            for g in range(ncoef):
                X[g, j] = GX[g, j]
    return X, it, not active.any()


@njit(cache=True)
def _fitted(codes, a, n, m):
    out = np.zeros((n, m))
    k = codes.shape[1]
    for i in range(n):
        for p in range(k):
            g = codes[i, p]
            for j in range(m):
                out[i, j] += a[g, j]
    return out


def _prepare(X, fe, weights):
    X = np.asarray(X, dtype=np.float64)
    one_d = X.ndim == 1
    X2 = np.ascontiguousarray(X.reshape(X.shape[0], -1))
    idx = fe_index(fe)
    if idx.codes.shape[0] != X2.shape[0]:
        raise ValueError(f"demean: X has {X2.shape[0]} rows but fe has {idx.codes.shape[0]}")
    w = (np.ones(X2.shape[0]) if weights is None
         else np.ascontiguousarray(weights, dtype=np.float64))
    if w.shape != (X2.shape[0],):
        raise ValueError(f"demean: weights must have shape ({X2.shape[0]},)")
    return X2, idx, w, one_d


def demean_coef(X: np.ndarray, fe: np.ndarray | FEIndex, weights: np.ndarray | None = None, *,
                tol: float = 1e-8, maxiter: int = 10_000,
                init: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]:
    """Like :func:`demean` (``fe`` may be a prepared :class:`FEIndex`), also returning the
    FE coefficients.

    Returns (X_demeaned (n, m), fe_component (n, m) = X - X_demeaned, coef (ncoef, m) on the
    flat coding of :class:`FEIndex` (for ``X - init``), sweeps, converged).
    """
    X2, idx, w, _ = _prepare(X, fe, weights)
    n, m = X2.shape
    if idx.k == 0:
        return X2.copy(), np.zeros_like(X2), np.zeros((0, m)), 0, True
    codes, starts = idx.codes, idx.starts
    base = X2 if init is None else np.ascontiguousarray(X2 - np.reshape(init, X2.shape))
    coef, iters, conv = _demean_fixed_point(base, w, codes, starts, float(tol), int(maxiter))
    fitted = _fitted(codes, coef, n, m)
    if init is not None:
        fitted += np.reshape(init, X2.shape)
    return X2 - fitted, fitted, coef, int(iters), bool(conv)


def demean(X: np.ndarray, fe: np.ndarray | FEIndex, weights: np.ndarray | None = None, *,
           tol: float = 1e-8, maxiter: int = 10_000,
           init: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Weighted within-transformation of the columns of X on the fixed effects ``fe``.

    X: (n, m) or (n,) float64. fe: (n, k) int64 0-based codes, one column per FE dimension.
    weights: (n,) non-negative, or None. tol: relative convergence tolerance on the FE
    coefficients (|change| <= tol * (|coef| + max|x|)). init: optional (n, m) guess of the
    fixed-effect component of X (e.g. from a previous call with other weights); the result is
    the same projection, reached in fewer sweeps when the guess is good.
    Returns (X_demeaned with X's shape, converged).
    """
    X2, fe_arr, w, one_d = _prepare(X, fe, weights)
    out, _, _, _, conv = demean_coef(X2, fe_arr, w, tol=tol, maxiter=maxiter, init=init)
    return (out[:, 0] if one_d else out), conv


@njit(cache=True)
def _solve_exact(d, codes, starts, tol, maxiter):
    n = d.shape[0]
    x = np.empty((n, 1))
    for i in range(n):
        x[i, 0] = d[i]
    w = np.ones(n)
    coef, it, conv = _demean_fixed_point(x, w, codes, starts, tol, maxiter)
    return coef[:, 0], conv


def solve_fixef(d: np.ndarray, fe: np.ndarray, *, tol: float = 1e-13,
                maxiter: int = 100_000) -> tuple[list[np.ndarray], bool]:
    """FE coefficients alpha_q (one array per dimension, length = levels) with
    sum_q alpha_q[fe[i, q]] = d[i], the fixed-effect part of a fitted linear predictor (n,).

    Normalization: in every dimension after the first, the value of level 0 is set to 0 and
    the shift is moved into the first dimension (exact for two connected dimensions; with
    more dimensions the values are one solution among several, predictions are unique).
    """
    idx = fe_index(fe)
    starts = idx.starts
    coef, conv = _solve_exact(np.ascontiguousarray(d, dtype=np.float64), idx.codes, starts,
                              float(tol), int(maxiter))
    alphas = [coef[starts[q]:starts[q + 1]].copy() for q in range(idx.k)]
    for q in range(1, len(alphas)):
        if alphas[q].size:
            shift = alphas[q][0]
            alphas[q] -= shift
            alphas[0] += shift
    return alphas, bool(conv)
