"""Collinear regressors: which columns of a (demeaned) design to drop before estimation."""

from __future__ import annotations

import numpy as np

from tradeflows.errors import SpecificationError


def collinear_columns(
    X: np.ndarray,
    names: list[str],
    weights: np.ndarray | None = None,
    tol: float = 1e-10,
    *,
    norms: np.ndarray | None = None,
) -> list[int]:
    """Indices of the columns of X to drop as collinear, in increasing order.

    X: (n, p) float64 regressors, already demeaned on the fixed effects (if any).
    names: the p column names (used in error messages). weights: (n,) >= 0 or None.
    norms: optional (p,) weighted norms sqrt(Σ w·x²) of the columns *before* demeaning.

    A column is dropped when
    - it is absorbed by the fixed effects: its weighted sum of squares is <= tol times its
      sum of squares before demeaning (``norms``, a scale-free test: pass it whenever X was
      demeaned iteratively, which leaves absorbed columns as noise of size ~ the demeaning
      tolerance); without ``norms``, when every |entry| is <= tol;
    - or it is collinear with the columns before it: going through the columns in order, as
      fixest does, a Cholesky factorisation of the scaled cross-product X'WX (unit diagonal)
      leaves a residual variance 1 - R²_j <= tol for column j given the columns kept so far.
    Later columns are dropped in favour of earlier ones (as R's ``lm`` and fixest do).
    Callers should warn naming the dropped columns.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise SpecificationError(f"regressors must be an (n, p) array, got shape {X.shape}")
    n, p = X.shape
    if len(names) != p:
        raise SpecificationError(f"{len(names)} names given for {p} regressor columns")
    bad = ~np.isfinite(X).all(axis=0)
    if bad.any():
        col = int(np.flatnonzero(bad)[0])
        row = int(np.flatnonzero(~np.isfinite(X[:, col]))[0])
        raise SpecificationError(f"regressor {names[col]!r} is not finite at row {row}")
    Xw = X if weights is None else X * np.sqrt(np.asarray(weights, dtype=np.float64))[:, None]
    gram = Xw.T @ Xw
    if norms is None:  # scale-free test unavailable: absorbed when every |entry| <= tol
        absorbed = np.abs(X).max(axis=0, initial=0.0) <= tol
        return collinear_from_gram(gram, names, tol, absorbed=absorbed)
    return collinear_from_gram(gram, names, tol, norms=norms)


def collinear_from_gram(
    gram: np.ndarray,
    names: list[str],
    tol: float = 1e-10,
    *,
    norms: np.ndarray | None = None,
    absorbed: np.ndarray | None = None,
) -> list[int]:
    """:func:`collinear_columns` from the weighted cross-product ``gram`` = X'WX (p, p) of
    the demeaned regressors (no (n, p) array needed). norms: (p,) weighted norms before
    demeaning (a column is absorbed when its sum of squares is <= tol * norm^2); or
    absorbed: (p,) bool decided by the caller."""
    gram = np.asarray(gram, dtype=np.float64)
    p = gram.shape[0]
    if len(names) != p:
        raise SpecificationError(f"{len(names)} names given for {p} regressor columns")
    bad = ~np.isfinite(gram).all(axis=0)
    if bad.any():
        raise SpecificationError(f"regressor {names[int(np.flatnonzero(bad)[0])]!r} is not "
                                 "finite after demeaning")
    ss = np.diag(gram).copy()
    if norms is not None:
        norms = np.asarray(norms, dtype=np.float64)
        if norms.shape != (p,):
            raise SpecificationError(f"norms must have shape ({p},), got {norms.shape}")
        absorbed = ss <= tol * norms**2
    elif absorbed is None:
        absorbed = np.zeros(p, dtype=bool)
    drop = [bool(a) for a in absorbed]
    d = np.where(absorbed, 1.0, 1.0 / np.sqrt(np.where(absorbed, 1.0, ss)))
    corr = gram * d[:, None] * d[None, :]
    L = np.zeros((p, p))
    for j in range(p):
        if drop[j]:
            continue
        kept = [i for i in range(j) if not drop[i]]
        lj = L[j, kept]
        resid = corr[j, j] - lj @ lj
        if resid <= tol:
            drop[j] = True
            continue
        L[j, j] = np.sqrt(resid)
        for i in range(j + 1, p):
            if not drop[i]:
                L[i, j] = (corr[i, j] - L[i, kept] @ lj) / L[j, j]
    return [j for j in range(p) if drop[j]]
