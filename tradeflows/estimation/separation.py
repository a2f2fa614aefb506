"""Detection of statistical separation in Poisson (PPML) models.

An observation with y = 0 is *separated* when some combination z = X·γ + D·α of the regressors
X and fixed-effect dummies D is >= 0 on every y = 0 observation, = 0 on every y > 0 observation,
and > 0 on that one. The likelihood then keeps rising as the estimate moves along (γ, α), the
fitted mean of the separated observations goes to 0 and some estimates diverge to ±infinity.
The maximum-likelihood estimates of the other parameters exist and equal those obtained on the
sample without the separated observations (Correia, Guimarães and Zylkin 2019, "Verifying the
existence of maximum likelihood estimates for generalized linear models", arXiv:1903.01633).

Three methods, run in this order, each on what the previous ones left:

- ``"fe"``: a fixed-effect group whose outcomes are all zero (z = the group's dummy).
- ``"simplex"``: separation by the regressors alone (plus a constant when there are fixed
  effects, since their span contains it), found by linear programming (HiGHS).
- ``"relu"``: the iterative rectifier of Correia, Guimarães and Zylkin (2019), which finds
  separation by any combination of regressors and fixed effects.

See docs/separation.md for the algorithms, tolerances and the order of singleton removal.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from tradeflows.errors import ConvergenceError, SpecificationError
from tradeflows.estimation.codes import check_codes, code_offsets, recode
from tradeflows.estimation.demean import (
    _CHUNKS,
    fe_coef_cg,
    fe_index,
    fe_residuals,
    fe_sums,
    sweep_fe_coef,
)
from tradeflows.estimation.singletons import singleton_mask
from tradeflows.estimation.threads import using_threads

if TYPE_CHECKING:  # scipy.sparse and scipy.optimize are imported where used (~40 MB of RSS
    from scipy import sparse  # that a fit with the "fe" check alone does not need)

METHODS = ("fe", "simplex", "relu")
MAX_DIRECT_COLUMNS = 20_000  # fixed-effect levels + regressors for the rectifier's sparse LU
_ROW_BLOCK = 1 << 15  # rows per block of the certificate's row loops


def _check_inputs(
    y: np.ndarray, X: np.ndarray | None, fe: np.ndarray | None, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate shapes and values; return y (n,), X (n, p), fe (n, k) and weights (writable
    arrays: a read-only view of a data frame's column would need read-only variants of
    every compiled kernel, each loaded at its first use in a process)."""
    y = np.require(y, np.float64, ["W"])
    if y.ndim != 1:
        raise SpecificationError(f"dependent variable must be 1-D (n,), got shape {y.shape}")
    n = y.size
    bad = ~np.isfinite(y) | (y < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SpecificationError(
            f"dependent variable must be finite and non-negative for Poisson models: "
            f"row {row} has {y[row]!r}"
        )
    X = np.empty((n, 0)) if X is None else np.require(X, np.float64, ["W"])
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] != n:
        raise SpecificationError(f"regressors have {X.shape[0]} rows, dependent variable has {n}")
    if not np.isfinite(X).all():
        row, col = (int(v[0]) for v in np.nonzero(~np.isfinite(X)))
        raise SpecificationError(f"regressor column {col}, row {row} is not finite: {X[row, col]}")
    fe = np.empty((n, 0), dtype=np.int64) if fe is None else check_codes(fe)
    if fe.shape[0] != n:
        raise SpecificationError(f"fixed effects have {fe.shape[0]} rows, dependent variable has {n}")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any():
            raise SpecificationError("weights must be an (n,) array of finite non-negative numbers")
    return y, X, fe, weights


def _check_methods(methods: Sequence[str]) -> None:
    """SpecificationError naming any method that is not one of METHODS."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SpecificationError(f"unknown separation method(s) {unknown}; choose from {METHODS}")


def _basis_coefficients(A: np.ndarray) -> np.ndarray:
    """(p, r) T such that A @ T is an orthonormal basis of the column space of A (n, p), r its
    numerical rank. Columns of clearly full rank (the smallest eigenvalue of their scaled
    cross-products above 1e-8 of the largest) are orthonormalised from their cross-products;
    otherwise the rank is decided by the SVD of A's R factor. Either way a second pass from
    the cross-products of the result removes the first's rounding (up to eps times the
    squared, resp. plain, condition number of A)."""
    if A.shape[1] == 0:
        return np.zeros((0, 0))
    gram = A.T @ A
    norms = np.sqrt(np.diag(gram))
    T = None
    if (norms > 0).all():
        scale = 1 / norms
        ev, vec = np.linalg.eigh(gram * np.outer(scale, scale))
        if ev[0] > 1e-8 * ev[-1]:
            T = scale[:, None] * (vec / np.sqrt(ev))
    if T is None:
        r = np.linalg.qr(A, mode="r")
        _, sv, vt = np.linalg.svd(r)
        keep = sv > sv.max(initial=0.0) * max(A.shape) * 10 * np.finfo(np.float64).eps
        T = vt[keep].T / sv[keep]
    # the cross-products of A @ T, block by block (no (n, r) product in memory)
    gram = sum((b.T @ b for b in (A[lo:lo + _ROW_BLOCK] @ T
                                  for lo in range(0, A.shape[0], _ROW_BLOCK))),
               np.zeros((T.shape[1], T.shape[1])))
    ev, vec = np.linalg.eigh(gram)
    return T @ (vec / np.sqrt(ev))


def fe_separation(y: np.ndarray, fe: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """(n,) bool: observations in a group of any fixed effect whose outcomes are all zero.

    y: (n,) outcomes, fe: (n, k) codes; keep: optional (n,) bool, the rows in the sample
    (others are neither counted nor flagged; no copies of the rows kept). One pass is a
    fixed point: dropping zeros never turns a group with a positive outcome into an all-zero
    group.
    """
    keep = np.ones(y.size, dtype=bool) if keep is None else keep
    if fe.shape[1] == 0 or y.size == 0:
        return np.zeros(y.size, dtype=bool)
    return _in_zero_group(y, fe, keep, code_offsets(fe))


@njit(parallel=True, cache=True)
def _in_zero_group(y, fe, keep, offsets):
    """:func:`fe_separation` in two parallel passes over the rows: flag the levels (fixed
    effect j's code c at offsets[j] + c) that hold a positive outcome, then mark the rows
    with an unflagged level. (Threads may set the same flag at once: they all write True.)"""
    n = y.size
    k = fe.shape[1]
    positive = np.zeros(offsets[k], dtype=np.bool_)
    for i in prange(n):
        if keep[i] and y[i] > 0:
            for j in range(k):
                positive[offsets[j] + fe[i, j]] = True
    out = np.zeros(n, dtype=np.bool_)
    for i in prange(n):
        if keep[i]:
            for j in range(k):
                if not positive[offsets[j] + fe[i, j]]:
                    out[i] = True
                    break
    return out


def _clearly_full_rank(y: np.ndarray, X: np.ndarray, constant: bool) -> bool:
    """The columns of X (n, p) (and a constant), each scaled to unit norm, restricted to the
    rows with y > 0 have full column rank by a wide margin: the smallest eigenvalue of their
    cross-product matrix is above 1e-8 (singular values above 1e-4, far above both its
    rounding, at most n·eps, and the rank threshold of the SVD, n·10·eps). Needs only the
    cross-products, taken in one compiled pass over X; False when there are fewer positive
    rows than columns. When this fails the rank is decided by the SVD of the R factor."""
    gram, total, sq, npos = _positive_cross_products(y, X)
    if constant:
        gram = np.block([[gram, total[:, None]], [total[None, :], np.array([[float(npos)]])]])
        sq = np.r_[sq, float(y.size)]
    if npos < gram.shape[0] or not (sq > 0).all():
        return False
    scaled = gram / np.sqrt(np.outer(sq, sq))
    return bool(np.linalg.eigvalsh(scaled)[0] > 1e-8)


@njit(cache=True)
def _positive_cross_products(y, X):
    """(X'X over the rows with y > 0 (p, p), X's column sums over those rows (p,), X's column
    sums of squares over all rows (p,), the number of rows with y > 0)."""
    p = X.shape[1]
    gram = np.zeros((p, p))
    total = np.zeros(p)
    sq = np.zeros(p)
    npos = 0
    for i in range(y.size):
        for j in range(p):
            sq[j] += X[i, j] * X[i, j]
        if y[i] > 0:
            npos += 1
            for j in range(p):
                total[j] += X[i, j]
                for h in range(j + 1):
                    gram[j, h] += X[i, j] * X[i, h]
    for j in range(p):
        for h in range(j):
            gram[h, j] = gram[j, h]
    return gram, total, sq, npos


def simplex_separation(y: np.ndarray, X: np.ndarray, *, constant: bool = False,
                       tol: float = 1e-7) -> np.ndarray:
    """(n,) bool: observations separated by the columns of X (and a constant column when
    ``constant``), found by linear programming.

    Solves max Σ z over y=0 subject to z = X·γ, z = 0 on y > 0 and 0 <= z <= 1 on y = 0.
    The equality constraints are eliminated first: γ = N·δ with N a basis of the null space
    of X restricted to y > 0 (columns scaled to unit norm), so the program has r = dim(N)
    variables and usually r = 0 (no separation possible, nothing to solve: then settled from
    the cross-products of X alone, see ``_clearly_full_rank``). The optimum is a
    certificate; as it need not cover every separated observation at once, the program is
    re-solved on the zeros not yet found until it finds none.
    """
    n = y.size
    found = np.zeros(n, dtype=bool)
    if (X.shape[1] == 0 and not constant) or n == 0:
        return found
    if _clearly_full_rank(y, X, constant):
        return found
    if constant:
        X = np.column_stack([X, np.ones(n)])
    norms = np.sqrt((X**2).sum(axis=0))
    Xs = X[:, norms > 0] / norms[norms > 0]
    pos = y > 0
    if Xs.shape[1] == 0:
        return found
    if pos.any():
        r = np.linalg.qr(Xs[pos], mode="r")
        _, sv, vt = np.linalg.svd(r, full_matrices=True)
        eps = np.finfo(np.float64).eps
        rank = int((sv > sv.max(initial=0.0) * max(Xs.shape) * 10 * eps).sum())
        null = vt[rank:].T
    else:
        null = np.eye(Xs.shape[1])
    if null.shape[1] == 0:
        return found
    from scipy.optimize import linprog

    zero_rows = np.flatnonzero(~pos)
    A = Xs[zero_rows] @ null
    active = np.ones(zero_rows.size, dtype=bool)
    while active.any():
        Aa = A[active]
        res = linprog(
            -Aa.sum(axis=0),
            A_ub=np.vstack([-Aa, Aa]),
            b_ub=np.concatenate([np.zeros(Aa.shape[0]), np.ones(Aa.shape[0])]),
            bounds=[(None, None)] * Aa.shape[1],
            method="highs",
        )
        if res.status != 0:
            raise ConvergenceError(f"simplex separation check: linear program failed ({res.message})")
        z = Aa @ res.x
        new = z > tol
        if not new.any():
            break
        idx = np.flatnonzero(active)[new]
        found[zero_rows[idx]] = True
        active[idx] = False
    return found


def _design(X: np.ndarray, fe: np.ndarray) -> sparse.csr_matrix:
    """Sparse (n, p + levels) matrix [X, dummies of every fixed effect] (fe 0-based, no gaps)."""
    from scipy import sparse

    n = X.shape[0]
    blocks = [sparse.csr_matrix(X)] if X.shape[1] else []
    for j in range(fe.shape[1]):
        codes = fe[:, j]
        blocks.append(sparse.csr_matrix((np.ones(n), (np.arange(n), codes)),
                                        shape=(n, int(codes.max()) + 1)))
    return sparse.hstack(blocks, format="csr")


def _lp_separation(y: np.ndarray, Z: sparse.csr_matrix, *, tol: float = 1e-7) -> np.ndarray:
    """Exact separated set by linear programming on a sparse design Z (HiGHS).

    max Σ z over y = 0 subject to z = Z·b, z = 0 on y > 0, 0 <= z <= 1 on y = 0; repeated on
    the zeros not yet found until the optimum is 0.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    pos = y > 0
    found = np.zeros(y.size, dtype=bool)
    while True:
        rows = np.flatnonzero(~pos & ~found)
        if rows.size == 0:
            return found
        A = Z[rows]
        res = linprog(-np.asarray(A.sum(axis=0)).ravel(), A_ub=sparse.vstack([-A, A]),
                      b_ub=np.r_[np.zeros(rows.size), np.ones(rows.size)],
                      A_eq=Z[pos] if pos.any() else None,
                      b_eq=np.zeros(pos.sum()) if pos.any() else None,
                      bounds=[(None, None)] * Z.shape[1], method="highs")
        if res.status != 0:
            raise ConvergenceError(f"separation check: linear program failed ({res.message})")
        new = A @ res.x > tol
        if not new.any():
            return found
        found[rows[new]] = True


def _projector(Z: sparse.csr_matrix, w: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Fitted values of weighted least squares of a vector on the columns of Z.

    The normal equations (scaled to unit diagonal, with a 1e-12 ridge that only picks one
    solution along exactly collinear directions) are factorised once by sparse LU, so each
    call costs two sparse products and a triangular solve. Exact even with the extreme weight
    ratios of the rectifier, where alternating projections stall.
    """
    from scipy import sparse
    from scipy.sparse import linalg as splinalg

    gram = (Z.T @ sparse.diags(w) @ Z).tocsc()
    d = np.sqrt(gram.diagonal())
    d[d == 0] = 1.0
    scaled = sparse.diags(1 / d) @ gram @ sparse.diags(1 / d)
    lu = splinalg.splu((scaled + 1e-12 * sparse.identity(Z.shape[1])).tocsc(),
                       permc_spec="MMD_AT_PLUS_A")  # symmetric ordering: far less fill-in
    solve = lu.solve
    Zw = (Z.T @ sparse.diags(w)).tocsr()

    def fit(u: np.ndarray) -> np.ndarray:
        return Z @ (solve((Zw @ u) / d) / d)

    return fit


def _no_separation_certificate(
    y: np.ndarray, X: np.ndarray, fe: np.ndarray, rows: np.ndarray | None = None, *,
    maxiter: int = 100, polish_tol: float = 1e-10, xtol: float = 1e-4,
) -> bool:
    """True when a proof that no observation is separated is found (False: no proof found).
    y (n,), X (n, p); fe: (n, k) codes, or the codes of more rows with ``rows`` (n,) naming
    those of y (no copy of them).

    By Stiemke's lemma, no z = Zb (Z = [X, dummies]) can be >= 0 and nonzero on the zeros and
    0 on the positives if some λ with Z'λ = 0 is > 0 on every zero (λ free on the positives):
    0 = b'Z'λ = Σ_zeros λ_i z_i > 0 would follow. λ is sought by alternating projections
    between the null space of Z' and {λ >= 1 on the zeros}, with the shortfalls accumulated
    (which speeds up the slow tail; any λ will do as long as it passes the check).

    The search projects inexactly and cheaply: each pass is one Gauss-Seidel sweep of
    t = v - Xγ started from the fixed-effect coefficients of the previous pass (v changes
    little from pass to pass), then the regressors' part is taken out with a basis of the
    demeaned regressors (γ and the warm start absorb it, so the errors of that basis are
    corrected by the later passes); a pass reads the rows four times (the sweep, the
    residual with its coordinates along the basis, their removal with the positivity test,
    the next t), in compiled loops. The projections that must be accurate (the regressors
    once, each candidate) are solved by conjugate gradients until the level sums of the
    residual are small enough, which takes about half the passes over the rows of the
    accelerated sweeps (real panel: 18 iterations for X, 22 for the candidate, where the
    sweeps took 29 and 57 for less accuracy). The regressors: every level sum of their
    residual within ``xtol`` of the largest level sum of the column. A candidate that is
    positive on every zero is projected until the level sums of λ are within 1e-9 of its
    max|λ| (and, if it then fails the check, within ``polish_tol`` with the regressors' part
    refined until it no longer changes), and checked directly before it is trusted: every
    group sum of λ per fixed effect below 1e-8·max|λ|, X'λ below 1e-8 of |X|'|λ|, min λ on
    the zeros above 1e-6·max|λ| (real panel: 3.7e-10 and 1.7e-11 of the limits' scales).
    """
    with using_threads():
        return _certificate_search(y, X, recode(fe, rows)[0], maxiter=maxiter,
                                   polish_tol=polish_tol, xtol=xtol)


def _certificate_search(y: np.ndarray, X: np.ndarray, codes: np.ndarray, *, maxiter: int,
                        polish_tol: float, xtol: float) -> bool:
    """The search of :func:`_no_separation_certificate` (on the enclosing thread count);
    codes: (n, k) consecutive fixed-effect codes of y's rows."""
    zero = y == 0
    has_fe = codes.shape[1] > 0
    if has_fe:
        idx = fe_index(codes)
        ncoef = int(idx.starts[-1])
        visit = idx.visit_levels
        xcoef = np.zeros((ncoef, X.shape[1]))  # of X, level sums of Xd within xtol
        lcoef = np.zeros((ncoef, 1))  # of t = v - Xγ, the warm start of the next pass
        if X.shape[1]:
            xsums = fe_sums(X, idx)
            fe_coef_cg(xsums, idx, xcoef, target=xtol * np.abs(xsums).max(axis=0))
        Xd = fe_residuals(X, idx, xcoef)
    else:
        Xd = X
    T = _basis_coefficients(Xd)  # Xd @ T: orthonormal basis of the demeaned regressors
    B = _times(Xd, T, overwrite=has_fe)
    del Xd
    gamma = np.zeros(X.shape[1])
    e = np.empty(y.size)

    def project(t: np.ndarray, target: float | None) -> tuple[np.ndarray, float]:
        """e <- t minus its fixed-effect component (one warm sweep when target is None,
        else solved until every level sum of e is within target); its part along the
        demeaned regressors is moved into γ and the warm start. Returns (that part's
        coordinates in B (r,), the largest change of γ); the caller takes B @ coordinates
        out of e."""
        nonlocal gamma
        if has_fe:
            col = t[:, None]
            if target is None:
                sweep_fe_coef(col, idx, None, lcoef)
            else:
                fe_coef_cg(fe_sums(col, idx), idx, lcoef, target=np.array([target]),
                           maxiter=10_000)
            along = _residual_along(t, idx.ptr, idx.order, idx.other, *visit, lcoef[:, 0], B, e)
        else:
            e[:] = t
            along = B.T @ e
        delta = T @ along
        gamma = gamma + delta
        if has_fe:
            lcoef[:, 0] -= xcoef @ delta
        return along, float(np.abs(delta).max(initial=0.0))

    def without_regressors(u: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out <- u - Xγ (no (n,) temporaries)."""
        np.matmul(X, gamma, out=out)
        return np.subtract(u, out, out=out)

    def verified() -> bool:
        if not _positive_on_zeros(e, zero):
            return False
        scale = np.abs(e).max()
        # Z'λ = 0 up to rounding and the demeaning tolerance, relative to the size of λ
        cross, size = _cross_products_and_sizes(X, e)
        checks = [np.abs(cross) / np.maximum(size, 1e-300)]
        checks += [np.abs(np.bincount(codes[:, j], weights=e)) / scale
                   for j in range(codes.shape[1])]
        return bool(max((c.max(initial=0.0) for c in checks), default=0.0) < 1e-8)

    def polished(v: np.ndarray) -> bool:
        """The projection of v (into e) passes the check: solved until the level sums of e
        are within 1e-9 of the candidate's max|e| (the check allows 1e-8), which usually
        passes; then within ``polish_tol`` of it until γ no longer changes."""
        scale = float(np.abs(e).max())
        for level in [max(polish_tol, 1e-9)] + [polish_tol] * 7:
            along, change = project(without_regressors(v, t), level * scale)
            _remove_along(e, B, along)
            if verified():
                return True
            if level == polish_tol and change <= 1e-13 * max(np.abs(gamma).max(initial=0.0), 1.0):
                break
        return False

    v = zero.astype(np.float64)
    lifted = np.empty(y.size)
    t = v.copy()
    push = np.zeros(y.size)
    for _ in range(maxiter):
        along, _ = project(t, None)
        # e - B along: positive on the zeros? Its lift (into ``lifted``, v is kept for the
        # polish) and the next pass's t, in the same pass over the rows
        if _remove_and_lift(e, B, along, zero, push, lifted, X, gamma, t):
            if polished(v):
                return True
            without_regressors(lifted, t)  # the polish moved γ
        v, lifted = lifted, v
    return False


def _times(A: np.ndarray, T: np.ndarray, *, overwrite: bool) -> np.ndarray:
    """A @ T (A: (n, p) C-ordered, T: (p, r), r <= p) as a C-ordered array, written over A's
    first r columns block by block when ``overwrite`` (no second (n, p) array)."""
    if not overwrite or T.shape[1] > A.shape[1]:
        return np.ascontiguousarray(A @ T)
    r = T.shape[1]
    for lo in range(0, A.shape[0], _ROW_BLOCK):
        block = A[lo:lo + _ROW_BLOCK]
        block[:, :r] = block @ T
    return A if r == A.shape[1] else np.ascontiguousarray(A[:, :r])


@njit(parallel=True, cache=True)
def _residual_along(t, ptr, order, other, vlo, vhi, a, B, e):
    """e <- t minus each row's sum of its fixed-effect coefficients a (ncoef,); returns B'e
    (B: (n, p)). One pass through the levels vlo..vhi-1 of the visit dimension, in _CHUNKS
    fixed chunks whose partial sums are combined in order (the same for any thread count)."""
    p = B.shape[1]
    km1 = other.shape[0]
    part = np.zeros((_CHUNKS, p))
    for c in prange(_CHUNKS):
        for g in range(vlo + (vhi - vlo) * c // _CHUNKS, vlo + (vhi - vlo) * (c + 1) // _CHUNKS):
            for s in range(ptr[g], ptr[g + 1]):
                i = order[s]
                f = a[g]
                for q in range(km1):
                    f += a[other[q, s]]
                r = t[i] - f
                e[i] = r
                for j in range(p):
                    part[c, j] += B[i, j] * r
    along = np.zeros(p)
    for c in range(_CHUNKS):
        for j in range(p):
            along[j] += part[c, j]
    return along


@njit(parallel=True, cache=True)
def _remove_along(e, B, along):
    """e <- e - B @ along (e: (n,), B: (n, r), along: (r,))."""
    n = e.size
    for b in prange((n + _ROW_BLOCK - 1) // _ROW_BLOCK):
        for i in range(b * _ROW_BLOCK, min(n, (b + 1) * _ROW_BLOCK)):
            r = e[i]
            for j in range(along.size):
                r -= B[i, j] * along[j]
            e[i] = r


@njit(cache=True)
def _cross_products_and_sizes(X, e):
    """(X'e (p,), |X|'|e| (p,)) in one pass over the rows (no |X| copy)."""
    p = X.shape[1]
    cross = np.zeros(p)
    size = np.zeros(p)
    for i in range(e.size):
        for j in range(p):
            cross[j] += X[i, j] * e[i]
            size[j] += abs(X[i, j] * e[i])
    return cross, size


@njit(cache=True)
def _positive_on_zeros(e: np.ndarray, zero: np.ndarray) -> bool:
    """min of e over the zeros > 1e-6 · max |e| (e, zero: (n,); False if e has a NaN)."""
    low = np.inf
    top = 0.0
    for i in range(e.size):
        if np.isnan(e[i]):
            return False
        top = max(top, abs(e[i]))
        if zero[i]:
            low = min(low, e[i])
    return low > 1e-6 * top


@njit(parallel=True, cache=True)
def _remove_and_lift(e, B, along, zero, push, lifted, X, gamma, t):
    """e <- e - B @ along; lifted <- the projection of e on {λ >= 1 on the zeros} plus the
    accumulated shortfalls (push += this pass's shortfalls: rows that stay short are pushed
    harder at each pass); t <- lifted - X γ, the next pass's input. Returns whether e is
    positive on every zero (as :func:`_positive_on_zeros`). (n,) arrays except B (n, r),
    along (r,), X (n, p), gamma (p,)."""
    n = e.size
    nblocks = (n + _ROW_BLOCK - 1) // _ROW_BLOCK
    low = np.full(nblocks, np.inf)
    top = np.zeros(nblocks)
    bad = np.zeros(nblocks, dtype=np.bool_)
    for b in prange(nblocks):
        for i in range(b * _ROW_BLOCK, min(n, (b + 1) * _ROW_BLOCK)):
            r = e[i]
            for j in range(along.size):
                r -= B[i, j] * along[j]
            e[i] = r
            if np.isnan(r):
                bad[b] = True
            top[b] = max(top[b], abs(r))
            if zero[i]:
                low[b] = min(low[b], r)
                push[i] += max(1.0 - r, 0.0)
                r = max(r, 1.0) + push[i]
            lifted[i] = r
            for j in range(gamma.size):
                r -= X[i, j] * gamma[j]
            t[i] = r
    return not bad.any() and low.min() > 1e-6 * top.max()


def _relu_run(
    y: np.ndarray, X: np.ndarray, fe: np.ndarray, *, tol: float, maxiter: int,
) -> tuple[np.ndarray | None, int]:
    """One run of the iterative rectifier from u = 1{y = 0}.

    Returns (z > 0 at the certificate, iterations), or (None, maxiter) without convergence.
    """
    pos = y > 0
    w = np.where(pos, max(pos.sum(), 1) / tol**2, 1.0)
    fit = _projector(_design(X, recode(fe)[0]), w)
    u = (~pos).astype(np.float64)
    for it in range(1, maxiter + 1):
        z = fit(u)
        z[pos | ((z > -0.1 * tol) & (z < tol))] = 0.0
        if (z >= 0).all():
            return z > 0, it
        u = np.where(pos, 0.0, np.maximum(z, 0.0))
    return None, maxiter


def _at(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """a[rows] for rows from ``np.flatnonzero`` of a mask over a's rows; a itself (no copy)
    when they are all of them."""
    return a if rows.size == a.shape[0] else a[rows]


def _reduce_singletons(y: np.ndarray, fe: np.ndarray,
                       rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact reduction before the rectifier: (separated, active), both (n,) bool, for the
    outcomes y (n,) of the rows ``rows`` (n,) of the codes fe.

    A row alone in its group of some fixed effect imposes nothing on the other rows: that
    group's coefficient can always make its z = 0 (so a positive singleton leaves the problem)
    or > 0 (so a zero singleton is separated). Removing positive singletons can leave groups
    whose remaining outcomes are all zero, whose rows are then separated (z = the group's
    dummy, the removed singletons set back to 0 by their own coefficients). Singleton removal
    and the all-zero-group check are iterated to a fixed point; the rectifier then only has to
    look at the ``active`` rows.
    """
    separated = np.zeros(y.size, dtype=bool)
    active = np.ones(y.size, dtype=bool)
    if fe.shape[1] == 0 or _irreducible(y, fe, rows, code_offsets(fe)):
        return separated, active
    fe = _at(fe, rows)
    while True:
        single = singleton_mask(fe, keep=active)
        separated |= single & (y == 0)
        active &= ~single
        zero_group = fe_separation(y, fe, keep=active)
        separated |= zero_group
        active &= ~zero_group
        if not single.any() and not zero_group.any():
            return separated, active


@njit(cache=True)
def _irreducible(y, fe, rows, offsets):
    """No group of any fixed effect has a single row or only zero outcomes (y: (n,), the
    outcomes of the rows ``rows`` (n,) of fe (N, k), non-negative codes, numbered flat by
    ``offsets`` (:func:`codes.code_offsets`)): the common case, settled in one pass over the
    codes."""
    k = fe.shape[1]
    members = np.zeros(offsets[k], dtype=np.int64)
    positives = np.zeros(offsets[k], dtype=np.int64)
    for s in range(rows.size):
        for j in range(k):
            g = offsets[j] + fe[rows[s], j]
            members[g] += 1
            if y[s] > 0:
                positives[g] += 1
    for g in range(offsets[k]):
        if members[g] == 1 or (members[g] > 0 and positives[g] == 0):
            return False
    return True


def relu_separation(
    y: np.ndarray,
    X: np.ndarray,
    fe: np.ndarray,
    *,
    tol: float = 1e-4,
    maxiter: int = 1000,
    max_columns: int = MAX_DIRECT_COLUMNS,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """(n,) bool: observations separated by any combination of X and the fixed effects.

    y: (n,); X (n, p) and fe (n, k), or with ``rows`` (n,) the increasing indices of the rows
    of larger X and fe that y belongs to (copied only where the search needs them).

    Singletons and the all-zero groups they leave are settled first, exactly
    (``_reduce_singletons``). Then a fast proof that nothing else is separated is sought
    (``_no_separation_certificate``); only without one does the rectifier run. Iterative
    rectifier (Correia, Guimarães and Zylkin 2019): start from u = 1{y = 0}; regress u on X
    and the fixed effects by least squares with weight 1 on y = 0 and K = n₊/tol² on y > 0
    (which pins the fit to 0 there); set fitted values in (-0.1·tol, tol) to 0; stop when all
    fitted values are >= 0 (they are then a certificate z, the separated observations being
    z > 0); otherwise replace u on y = 0 by max(fit, 0) and repeat. As u shrinks along a run, a certificate can be reached on
    which some separated rows have fallen under tol, so the found rows are removed and the
    search (singleton reduction, proof, then rectifier) restarts on the rest until nothing new
    is found. The
    least-squares fits use the sparse normal equations of [X, dummies], factorised once per
    run. maxiter bounds the iterations of all runs together; when it is reached (alternating
    projections can be slow), the remaining rows are settled exactly by the linear program on
    [X, dummies]. When [X, dummies] has more than ``max_columns`` columns the factorisation
    could exhaust memory: the check then stops with a RuntimeWarning (rows found so far are
    returned).
    """
    n = y.size
    found = np.zeros(n, dtype=bool)
    if n == 0 or (y > 0).all() or (X.shape[1] == 0 and fe.shape[1] == 0):
        return found
    source = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    budget = maxiter
    while True:
        sub = np.flatnonzero(active)  # y's rows still in play; source[sub]: X's and fe's
        sep, left = _reduce_singletons(_at(y, sub), fe, _at(source, sub))
        found[sub[sep]] = True
        active[sub[~left]] = False
        sub = sub[left]
        if sub.size == 0 or (_at(y, sub) > 0).all():
            break
        rows = _at(source, sub)
        if _no_separation_certificate(_at(y, sub), _at(X, rows), fe, rows):
            break
        ncols = X.shape[1] + sum(np.unique(fe[rows, j]).size for j in range(fe.shape[1]))
        if ncols > max_columns:
            warnings.warn(
                f"relu separation check incomplete: no proof of non-separation was found and "
                f"the design has {ncols} columns (limit {max_columns}) for the exact rectifier; "
                "if the fit does not converge, look for separated observations",
                RuntimeWarning,
                stacklevel=2,
            )
            break
        sep, used = _relu_run(y[sub], X[rows], fe[rows], tol=tol, maxiter=budget)
        budget -= used
        if sep is None:
            found[sub[_lp_separation(y[sub], _design(X[rows], recode(fe, rows)[0]))]] = True
            break
        if not sep.any():
            break
        found[sub[sep]] = True
        active[sub[sep]] = False
    return found


def separation_mask(
    y: np.ndarray,
    X: np.ndarray | None,
    fe: np.ndarray | None,
    *,
    weights: np.ndarray | None = None,
    methods: Sequence[str] = METHODS,
    tol: float = 1e-4,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Separated observations of a Poisson model and their counts by method.

    y: (n,) outcomes >= 0; X: (n, p) regressors (include the intercept column if the model has
    one and no fixed effects) or None; fe: (n, k) int64 0-based codes or None.
    weights: (n,) >= 0; rows with weight 0 are treated as outside the sample (positive weights
    do not change which observations are separated). keep: (n,) bool, rows still in the sample.
    methods: any of "fe", "simplex", "relu", always run in that order, each on the rows the
    previous ones left. tol: ReLU tolerance (fitted values below it count as zero).
    Returns (mask, counts): mask (n,) True = separated (drop); counts with keys
    "separation_fe", "separation_simplex", "separation_relu" (0 for methods not run).
    Singletons are neither dropped nor counted here: call ``sample_mask`` for the joint
    fixed point of singleton removal and separation.
    """
    y, X, fe, weights = _check_inputs(y, X, fe, weights)
    _check_methods(methods)
    sample = np.ones(y.size, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).copy()
    if weights is not None:
        sample &= weights > 0
    return _separated(y, X, fe, tuple(methods), tol, sample)


def _separated(y: np.ndarray, X: np.ndarray, fe: np.ndarray, methods: tuple[str, ...],
               tol: float, sample: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """:func:`separation_mask` on checked inputs, over the rows in ``sample`` (n,) bool."""
    mask = np.zeros(y.size, dtype=bool)
    counts = {f"separation_{m}": 0 for m in METHODS}
    for method in METHODS:
        if method not in methods:
            continue
        if method == "fe":  # on all rows, through the sample's mask (no copies)
            sep = fe_separation(y, fe, keep=sample & ~mask)
            mask |= sep
            counts["separation_fe"] = int(sep.sum())
            continue
        rows = np.flatnonzero(sample & ~mask)
        ys = y[rows]
        if rows.size == 0 or (ys > 0).all():
            continue
        if method == "simplex":
            sep = simplex_separation(ys, X[rows], constant=fe.shape[1] > 0)
        else:
            sep = relu_separation(ys, X, fe, tol=tol, rows=rows)
        mask[rows[sep]] = True
        counts[f"separation_{method}"] = int(sep.sum())
    return mask, counts


def sample_mask(
    y: np.ndarray,
    X: np.ndarray | None,
    fe: np.ndarray | None,
    *,
    weights: np.ndarray | None = None,
    separation: Sequence[str] = METHODS,
    drop_singletons: bool = True,
    tol: float = 1e-4,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Estimation sample of a Poisson model: singletons and separated rows removed jointly.

    Alternates singleton removal and ``separation_mask`` until neither drops anything (a
    dropped singleton with y > 0 can leave an all-zero group, i.e. new separation). Singleton
    removal and the cheap methods ("fe", "simplex") reach their joint fixed point before the
    rectifier ("relu") runs, so that rows they remove are counted under their reasons and the
    rectifier's proof of no separation works on the reduced sample.
    Returns (keep, drops): keep (n,) bool, True = in the estimation sample; drops keyed
    "singletons", "separation_fe", "separation_simplex", "separation_relu" with the number
    of rows each removed (rows outside ``keep`` or with weight 0 are not counted).
    """
    y, X, fe, weights = _check_inputs(y, X, fe, weights)
    _check_methods(separation)
    n = y.size
    alive = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).copy()
    if weights is not None:
        alive &= weights > 0
    drops = {"singletons": 0} | {f"separation_{m}": 0 for m in METHODS}
    singletons = drop_singletons and fe.shape[1] > 0

    def drop_single() -> bool:
        single = singleton_mask(fe, keep=alive)
        drops["singletons"] += int(single.sum())
        alive[single] = False
        return bool(single.any())

    def drop_separated(methods: tuple[str, ...]) -> bool:
        if not methods:
            return False
        sep, counts = _separated(y, X, fe, methods, tol, alive)
        for key, value in counts.items():
            drops[key] += value
        alive[sep] = False
        return bool(sep.any())

    def cheap_fixed_point() -> bool:
        """Singletons and the cheap methods to their joint fixed point; True if any drop.
        Each step is a fixed point of its own (singleton removal iterates; the cheap methods
        find all they can on the rows they are given, and dropping zeros leaves every
        group's positives), so the loop stops as soon as one step drops nothing after the
        other has run."""
        dropped = ran = False
        while True:
            if singletons:
                new = drop_single()
                dropped |= new
                if ran and not new:
                    return dropped
            new = drop_separated(cheap)
            ran = True
            dropped |= new
            if not new or not singletons:
                return dropped

    cheap = tuple(m for m in METHODS if m in separation and m != "relu")
    # the rectifier only sees a sample without singletons or all-zero groups (the cheap part
    # is exact and reaches its fixed point in milliseconds), and runs again only if its own
    # drops let the cheap checks find something new
    cheap_fixed_point()
    while "relu" in separation and drop_separated(("relu",)) and cheap_fixed_point():
        pass
    return alive, drops
