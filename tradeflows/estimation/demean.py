"""Weighted within-transformation: residuals of columns on any number of fixed-effect dummies.

The fixed effects are absorbed by alternating projections (Gauss-Seidel sweeps over the
fixed-effect dimensions) carried out in the space of the fixed-effect *coefficients*, as in
fixest, with Irons-Tuck acceleration. Each column has its own fixed point (and stops when it
has converged), but the columns advance together: a sweep reads the weights and codes once
for up to four columns, which is what a sweep costs (it is bound by memory traffic, not by
arithmetic). One fixed-effect dimension is exact after one pass.

Parallel without races or thread-dependent results: the rows are laid out once per
:class:`FEIndex` grouped by each dimension's levels (a counting sort), so that a sweep
updates every level of one dimension from its own rows, levels shared out among threads
(numba ``prange``; the thread count is :mod:`tradeflows.estimation.threads`). Sums over rows
use fixed blocks combined in order, so the result is the same for any number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from tradeflows.estimation.codes import code_offsets
from tradeflows.estimation.threads import using_threads

__all__ = ["demean", "demean_coef", "demean_fe_coef", "sweep_fe_coef", "fe_coef_cg", "fe_sums",
           "fe_residuals", "FEIndex", "fe_index", "solve_fixef"]

_BLOCK = 1 << 16  # rows per block of the fixed-order parallel sums
_CHUNKS = 8  # fixed chunks of the group-sum pass (each with its own (ncoef, m) totals)
_LAYOUT_BLOCKS = 8  # fixed row blocks of the layout's counting sort
PARALLEL_MIN_ROWS = 100_000  # below this, one thread: a sweep is too short to share out
NARROW_LEVELS = 1 << 16  # up to this many levels in all the layout's codes are uint16, else int32


def _threads(idx: FEIndex, threads: int | None) -> int | None:
    return 1 if idx.n < PARALLEL_MIN_ROWS else threads


@dataclass(frozen=True)
class FEIndex:
    """Fixed-effect codes prepared for the kernels, in the grouped layout only.

    One flat coefficient vector in which dimension q occupies ``starts[q]:starts[q + 1]``.
    ``order`` (k * n,) int32 lists the rows of flat level g at positions ``ptr[g]:ptr[g + 1]``
    (dimension q's levels fill positions q*n to (q+1)*n), and ``other`` (k - 1, k * n) holds,
    at each position, the flat codes of the row in the other dimensions (uint16 when there
    are at most 65,536 levels in all, else int32). The positions of any one dimension give
    every row's codes, so no separate (k, n) copy is kept.
    """

    starts: np.ndarray
    ptr: np.ndarray
    order: np.ndarray
    other: np.ndarray
    n: int
    visit: int = 0

    @property
    def k(self) -> int:
        return self.starts.size - 1

    @property
    def visit_levels(self) -> tuple[int, int]:
        """(first, last + 1) flat levels of the dimension through which kernels visit every
        row once (``visit``: the one whose grouped order is closest to the rows' own order,
        so that those visits read the caller's (n, m) arrays nearly sequentially)."""
        return int(self.starts[self.visit]), int(self.starts[self.visit + 1])

    def codes(self) -> np.ndarray:
        """The (n, k) int32 0-based codes this index was made from (rebuilt from the layout,
        so that callers need not keep them alongside)."""
        out = np.empty((self.n, self.k), dtype=np.int32)
        if self.k:
            _codes_from_layout(self.ptr, self.order, self.other, self.starts, out)
        return out


@njit(cache=True)
def _codes_from_layout(ptr, order, other, starts, out):
    """out[i, q] = row i's level in dimension q, from the positions of dimension 0."""
    k = starts.size - 1
    for g in range(starts[0], starts[1]):
        for t in range(ptr[g], ptr[g + 1]):
            i = order[t]
            out[i, 0] = g - starts[0]
            for p in range(k - 1):
                out[i, p + 1] = other[p, t] - starts[p + 1]


@njit(parallel=True, cache=True)
def _layout(fe, starts, other):
    """(ptr (ncoef + 1,), order (k n,)) of the grouped layout of the codes fe (n, k) (level
    fe[i, q] of dimension q is starts[q] + fe[i, q]), and ``other`` (k - 1, k n) filled;
    stable (rows in increasing order within a level). A counting sort by fixed row blocks:
    each block counts its rows per level, the blocks' places within a level follow in block
    order, and each block then writes its own rows (their index and other codes, read in
    sequence), so every (dimension, block) pair is a task of its own and the layout is the
    same for any thread count."""
    n, k = fe.shape
    ncoef = starts[k]
    nb = _LAYOUT_BLOCKS
    place = np.zeros((nb, ncoef), dtype=np.int64)  # rows per (block, level), then places
    for task in prange(k * nb):
        q, b = task // nb, task % nb
        for i in range(b * n // nb, (b + 1) * n // nb):
            place[b, starts[q] + fe[i, q]] += 1
    ptr = np.zeros(ncoef + 1, dtype=np.int64)
    for g in range(ncoef):
        total = 0
        for b in range(nb):
            total += place[b, g]
        ptr[g + 1] = ptr[g] + total
    for g in prange(ncoef):
        at = ptr[g]
        for b in range(nb):
            rows = place[b, g]
            place[b, g] = at
            at += rows
    order = np.empty(k * n, dtype=np.int32)
    for task in prange(k * nb):
        q, b = task // nb, task % nb
        for i in range(b * n // nb, (b + 1) * n // nb):
            g = starts[q] + fe[i, q]
            t = place[b, g]
            place[b, g] += 1
            order[t] = i
            pp = 0
            for p in range(k):
                if p != q:
                    other[pp, t] = starts[p] + fe[i, p]
                    pp += 1
    return ptr, order


def fe_index(fe: np.ndarray | FEIndex) -> FEIndex:
    """Prepare (n, k) 0-based integer codes once, to reuse across many demeaning calls."""
    if isinstance(fe, FEIndex):
        return fe
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    if fe.size and fe.min() < 0:
        raise ValueError("demean: fixed-effect codes must be non-negative (0-based)")
    # int32 (the sample's codes) or int64, C-ordered: the layout reads them as they are
    fe = np.ascontiguousarray(fe if fe.dtype == np.int32 else fe.astype(np.int64, copy=False))
    starts = code_offsets(fe)
    if starts[-1] >= 2**31 or fe.shape[0] >= 2**31:
        raise ValueError("demean: more than 2^31 rows or fixed-effect levels")
    # the codes the sweeps read at every position: 2 bytes each when the levels allow
    narrow = starts[-1] <= NARROW_LEVELS
    other = np.empty((max(fe.shape[1] - 1, 0), fe.shape[1] * fe.shape[0]),
                     dtype=np.uint16 if narrow else np.int32)
    ptr, order = _layout(fe, starts, other)
    n = fe.shape[0]
    in_sequence = [np.count_nonzero(np.diff(order[q * n:(q + 1) * n]) == 1)
                   for q in range(fe.shape[1])]
    return FEIndex(starts, ptr, order, other, n, int(np.argmax(in_sequence)) if n and in_sequence else 0)


@njit(parallel=True, cache=True)
def _grouped_sums(x, init, w, order, ptr, other, vlo, vhi, wp, sumw, out, unit):
    """wp[t] <- the weight of the row at position t (the weights in the grouped layout; when
    ``unit`` every weight is 1 and neither w nor wp is read or written), sumw[g] <- the sum
    of w over the rows of level g, out[g, j] <- the sum of w_i (x[i, j] - init[i, j]) over those rows (init
    with 0 rows: none). The sums of w x are taken in one pass over the levels vlo..vhi-1 of
    the dimension whose positions follow the rows' order most closely (``FEIndex.visit``):
    each row's value is added to its level there and to its levels in the other dimensions,
    whose totals stay in cache, so that x is read nearly in sequence instead of once per
    dimension at random. The levels are split into _CHUNKS fixed chunks, each adding into
    its own copy of the other dimensions' totals, combined in chunk order: the result does
    not depend on the thread count."""
    has_init = init.shape[0] == x.shape[0]
    m = x.shape[1]
    km1 = other.shape[0]
    for g in prange(ptr.size - 1):
        if unit:
            sumw[g] = ptr[g + 1] - ptr[g]
            continue
        total = 0.0
        for t in range(ptr[g], ptr[g + 1]):
            wi = w[order[t]]
            wp[t] = wi
            total += wi
        sumw[g] = total
    # chunks of the visit dimension's levels add into their own copies of the other
    # dimensions' totals, summed in chunk order afterwards: parallel, thread-count free
    # (the totals hold only the other dimensions' levels: h, or h - nvisit above the visit
    # dimension's range)
    ncoef = ptr.size - 1
    nvisit = vhi - vlo
    part = np.zeros((_CHUNKS, ncoef - nvisit, m))
    for c in prange(_CHUNKS):
        for g in range(vlo + nvisit * c // _CHUNKS, vlo + nvisit * (c + 1) // _CHUNKS):
            for j in range(m):
                out[g, j] = 0.0
            for t in range(ptr[g], ptr[g + 1]):
                i = order[t]
                wi = 1.0 if unit else wp[t]  # (multiplying by 1.0 is exact)
                for j in range(m):
                    v = wi * (x[i, j] - init[i, j] if has_init else x[i, j])
                    out[g, j] += v
                    for p in range(km1):
                        h = np.int64(other[p, t])
                        part[c, h if h < vlo else h - nvisit, j] += v
    for h in prange(ncoef):
        if h < vlo or h >= vhi:
            s = np.int64(h) if h < vlo else np.int64(h) - nvisit
            for j in range(m):
                total = 0.0
                for c in range(_CHUNKS):
                    total += part[c, s, j]
                out[h, j] = total


@njit(parallel=True, cache=True)
def _update_dim(A, wx, wp, invw, ptr, other, lo, hi, c0, width, out):
    """Levels lo..hi-1 of one dimension, columns c0..c0+width-1 (width <= 4) of A (ncoef, m):
    out[g, c] = (wx[g, c] - sum_{t in g} wp_t sum_{p != q} A[p's level of t, c]) * invw[g],
    from the other dimensions' coefficients in A. ``out`` may be A itself (a Gauss-Seidel
    step: no update of a dimension reads that dimension's levels). Up to four columns share
    each pass over the rows (their weights and codes are read once; a row's coefficients of
    all columns lie in one cache line); each column's sums are in row order, as if it were
    demeaned alone."""
    km1 = other.shape[0]
    if km1 == 2:  # three dimensions (exporter-year, importer-year, pair): the common case
        o0 = other[0]
        o1 = other[1]
        for g in prange(lo, hi):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for t in range(ptr[g], ptr[g + 1]):
                wt = wp[t]
                i0 = o0[t]
                i1 = o1[t]
                s0 += wt * (A[i0, c0] + A[i1, c0])
                if width > 1:
                    s1 += wt * (A[i0, c0 + 1] + A[i1, c0 + 1])
                if width > 2:
                    s2 += wt * (A[i0, c0 + 2] + A[i1, c0 + 2])
                if width > 3:
                    s3 += wt * (A[i0, c0 + 3] + A[i1, c0 + 3])
            _store(out, wx, invw[g], g, c0, width, s0, s1, s2, s3)
    else:
        for g in prange(lo, hi):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for t in range(ptr[g], ptr[g + 1]):
                wt = wp[t]
                s0 += wt * _row_sum(A, other, t, c0)
                if width > 1:
                    s1 += wt * _row_sum(A, other, t, c0 + 1)
                if width > 2:
                    s2 += wt * _row_sum(A, other, t, c0 + 2)
                if width > 3:
                    s3 += wt * _row_sum(A, other, t, c0 + 3)
            _store(out, wx, invw[g], g, c0, width, s0, s1, s2, s3)


@njit(parallel=True, cache=True)
def _update_dim_unit(A, wx, invw, ptr, other, lo, hi, c0, width, out):
    """:func:`_update_dim` with every weight 1: the pass reads only the codes. (A kernel of
    its own: a test for unit weights inside the weighted kernel's loops cost it 4-12%.)"""
    km1 = other.shape[0]
    if km1 == 2:
        o0 = other[0]
        o1 = other[1]
        for g in prange(lo, hi):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for t in range(ptr[g], ptr[g + 1]):
                i0 = o0[t]
                i1 = o1[t]
                s0 += A[i0, c0] + A[i1, c0]
                if width > 1:
                    s1 += A[i0, c0 + 1] + A[i1, c0 + 1]
                if width > 2:
                    s2 += A[i0, c0 + 2] + A[i1, c0 + 2]
                if width > 3:
                    s3 += A[i0, c0 + 3] + A[i1, c0 + 3]
            _store(out, wx, invw[g], g, c0, width, s0, s1, s2, s3)
    else:
        for g in prange(lo, hi):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for t in range(ptr[g], ptr[g + 1]):
                s0 += _row_sum(A, other, t, c0)
                if width > 1:
                    s1 += _row_sum(A, other, t, c0 + 1)
                if width > 2:
                    s2 += _row_sum(A, other, t, c0 + 2)
                if width > 3:
                    s3 += _row_sum(A, other, t, c0 + 3)
            _store(out, wx, invw[g], g, c0, width, s0, s1, s2, s3)


@njit(inline="always")
def _row_sum(A, other, t, c):
    """The sum of column c of A over the other dimensions' levels of the row at position t."""
    s = A[other[0, t], c]
    for p in range(1, other.shape[0]):
        s += A[other[p, t], c]
    return s


@njit(inline="always")
def _store(out, wx, invw_g, g, c0, width, s0, s1, s2, s3):
    out[g, c0] = (wx[g, c0] - s0) * invw_g
    if width > 1:
        out[g, c0 + 1] = (wx[g, c0 + 1] - s1) * invw_g
    if width > 2:
        out[g, c0 + 2] = (wx[g, c0 + 2] - s2) * invw_g
    if width > 3:
        out[g, c0 + 3] = (wx[g, c0 + 3] - s3) * invw_g


@njit(cache=True)
def _sweep(wx, wp, ptr, other, starts, invw, a_in, a_out, unit):
    """One Gauss-Seidel sweep over the FE dimensions (the last first) for every column.

    a_in, a_out: (ncoef, m) coefficients; wx: (ncoef, m) group sums of w*x; invw: 1 / group
    sums of w; wp: the weights in the grouped layout (not read when ``unit``: all 1).
    """
    k = starts.size - 1
    m = a_out.shape[1]
    # the last dimension is written whole before any update reads it: only the others start
    # from a_in (a quarter of the coefficients at 1.2M rows, a serial copy in every sweep)
    a_out[:starts[k - 1]] = a_in[:starts[k - 1]]
    for qq in range(k):
        q = k - 1 if qq == 0 else qq - 1
        if k == 1:
            for g in range(starts[0], starts[1]):
                for c in range(m):
                    a_out[g, c] = wx[g, c] * invw[g]
        else:
            for c0 in range(0, m, 4):
                if unit:
                    _update_dim_unit(a_out, wx, invw, ptr, other, starts[q], starts[q + 1],
                                     c0, min(4, m - c0), a_out)
                else:
                    _update_dim(a_out, wx, wp, invw, ptr, other, starts[q], starts[q + 1], c0,
                                min(4, m - c0), a_out)


@njit(cache=True)
def _converged(a_old, a_new, c, nstate, scale, tol):
    """Column c has converged: |change| <= tol * (|coef| + scale) for every coefficient."""
    for g in range(nstate):
        if abs(a_new[g, c] - a_old[g, c]) > tol * (abs(a_new[g, c]) + scale):
            return False
    return True


@njit(cache=True)
def _irons_tuck(X, GX, GGX, c, nstate):
    """Column c: X <- GGX - r (GGX - GX), r = <d1, d2> / <d2, d2> with d1 = GGX - GX,
    d2 = GGX - 2 GX + X (Irons and Tuck 1969). Returns False when d2 = 0 (converged)."""
    num = 0.0
    den = 0.0
    for g in range(nstate):
        d1 = GGX[g, c] - GX[g, c]
        d2 = d1 - GX[g, c] + X[g, c]
        num += d1 * d2
        den += d2 * d2
    if den == 0.0:
        return False
    r = num / den
    for g in range(nstate):
        X[g, c] = GGX[g, c] - r * (GGX[g, c] - GX[g, c])
    return True




@njit(parallel=True, cache=True)
def _ssr(x, init, icoef, j, w, ptr, order, other, glo, ghi, a):
    """Weighted sum of squared residuals of x[:, j] - init[:, j] - (row sums of icoef[:, j])
    given the FE coefficients a, summed over the rows of each level glo..ghi-1 of one
    dimension (whose positions cover every row once) and then over the levels in order: the
    same for any number of threads."""
    has_init = init.shape[0] == x.shape[0]
    has_icoef = icoef.shape[0] > 0
    km1 = other.shape[0]
    part = np.zeros(ghi - glo)
    for g in prange(glo, ghi):
        total = 0.0
        for t in range(ptr[g], ptr[g + 1]):
            i = order[t]
            r = x[i, j] - init[i, j] if has_init else x[i, j]
            if has_icoef:  # minus the row's coefficients in icoef
                c = icoef[g, j]
                for p in range(km1):
                    c += icoef[other[p, t], j]
                r -= c
            r -= a[g]
            for p in range(km1):
                r -= a[other[p, t]]
            total += w[i] * r * r
        part[g - glo] = total
    return part.sum()


@njit(cache=True)
def _retire(S, buf, fin, live, it, ok, coef, sweeps, conv):
    """Write out the columns whose ``fin`` is set (coefficients from state buffer ``buf``,
    ``it`` sweeps, converged ``ok``); returns the state columns that go on."""
    for c in range(live.size):
        if fin[c]:
            coef[:, live[c]] = S[buf, :, c]
            sweeps[live[c]] = it
            conv[live[c]] = ok
    return np.nonzero(~fin)[0]


@njit(cache=True)
def _drop(S, wx, scale, ssr_old, live, keep):
    """The state of the columns ``keep`` only (unchanged when all go on)."""
    if keep.size == live.size:
        return S, wx, scale, ssr_old, live
    return (np.ascontiguousarray(S[:, :, keep]), np.ascontiguousarray(wx[:, keep]),
            scale[keep], ssr_old[keep], live[keep])


@njit(cache=True)
def _fixed_points(x, init, icoef, live, wx, w, wp, order, ptr, other, starts, invw, scale,
                  tol, maxiter, coef, sweeps, conv, unit):
    """Irons-Tuck accelerated fixed points of the columns ``live`` of x - init - D icoef
    (wx, scale: their group sums and scales, in the order of ``live``), with fixest's "grand
    acceleration" (Irons-Tuck on every fourth iterate). The columns advance together, so one
    pass over the rows per sweep serves all that still run; each stops at its own
    convergence (and is dropped from the passes), with the iterates it would have alone.
    As fixest (which checks every 40), every 200 sweeps the weighted SSR is computed and a
    column also stops when it no longer changes (|change| <= tol * (0.1 + SSR)):
    coefficients of nearly weightless groups can drift while the residuals have converged.
    (Checked rarely because on slowly converging columns the SSR stalls long before the
    residuals are accurate.) Writes coef[:, j], sweeps[j], conv[j] for j in live."""
    k = starts.size - 1
    ncoef = starts[k]
    nstate = starts[k - 1]  # coefficients of dimensions 0..k-2 (the last is implied)
    S = np.zeros((6, ncoef, live.size))  # X, GX, GGX, Y, GY, GGY: one column per live column
    _sweep(wx, wp, ptr, other, starts, invw, S[0], S[1], unit)
    it = 1
    if k == 1:
        _retire(S, 1, np.ones(live.size, dtype=np.bool_), live, it, True, coef, sweeps, conv)
        return
    grand = 0
    ssr_old = np.full(live.size, -1.0)
    next_ssr = 200
    while live.size > 0:
        fin = np.zeros(live.size, dtype=np.bool_)
        if it >= maxiter:
            _retire(S, 1, ~fin, live, it, False, coef, sweeps, conv)
            return
        for c in range(live.size):
            fin[c] = _converged(S[0], S[1], c, nstate, scale[c], tol)
        keep = _retire(S, 1, fin, live, it, True, coef, sweeps, conv)
        S, wx, scale, ssr_old, live = _drop(S, wx, scale, ssr_old, live, keep)
        if live.size == 0:
            return
        _sweep(wx, wp, ptr, other, starts, invw, S[1], S[2], unit)
        it += 1
        fin = np.zeros(live.size, dtype=np.bool_)
        for c in range(live.size):
            fin[c] = (_converged(S[1], S[2], c, nstate, scale[c], tol)
                      or not _irons_tuck(S[0], S[1], S[2], c, nstate))
        keep = _retire(S, 2, fin, live, it, True, coef, sweeps, conv)
        S, wx, scale, ssr_old, live = _drop(S, wx, scale, ssr_old, live, keep)
        if live.size == 0:
            return
        _sweep(wx, wp, ptr, other, starts, invw, S[0], S[1], unit)
        it += 1
        if it % 8 < 2:
            grand += 1
            if grand < 3:
                S[2 + grand] = S[1]  # Y, then GY
            else:
                S[5] = S[1]
                grand = 0
                for c in range(live.size):
                    if _irons_tuck(S[3], S[4], S[5], c, nstate):
                        S[0, :, c] = S[3, :, c]
                # (a column whose acceleration failed sweeps its X again: the same GX)
                _sweep(wx, wp, ptr, other, starts, invw, S[0], S[1], unit)
                it += 1
        if it >= next_ssr:
            next_ssr += 200
            fin = np.zeros(live.size, dtype=np.bool_)
            for c in range(live.size):
                ssr = _ssr(x, init, icoef, live[c], w, ptr, order, other, starts[0],
                           starts[1], S[1, :, c])
                fin[c] = ssr_old[c] >= 0 and abs(ssr - ssr_old[c]) <= tol * (0.1 + ssr)
                ssr_old[c] = ssr
            keep = _retire(S, 1, fin, live, it, True, coef, sweeps, conv)
            S, wx, scale, ssr_old, live = _drop(S, wx, scale, ssr_old, live, keep)


@njit(cache=True)
def _all_ones(w):
    """Every weight is exactly 1 (stops at the first that is not)."""
    for i in range(w.size):
        if w[i] != 1.0:
            return False
    return True


@njit(cache=True)
def _level_sums(x, w, starts, ptr, order, other, visit, work):
    """(unit, wp, sumw, wx, invw) of the columns of x (n, m) on the weights w (n,): whether
    every weight is 1, the weights in the grouped layout (in ``work`` when it has room:
    repeated calls then do not allocate and free (k n,) arrays, which fragments the heap;
    empty when unit), the level sums of w and of w x, and 1 / the sums of w (0 for empty
    levels)."""
    ncoef = starts[starts.size - 1]
    unit = _all_ones(w)
    if work.size >= order.size:
        wp = work[:order.size]
    else:
        wp = np.empty(0 if unit else order.size)
    sumw = np.empty(ncoef)
    wx = np.empty((ncoef, x.shape[1]))
    _grouped_sums(x, x[:0], w, order, ptr, other, starts[visit], starts[visit + 1], wp, sumw,
                  wx, unit)
    invw = np.zeros(ncoef)
    for g in range(ncoef):
        if sumw[g] > 0:
            invw[g] = 1.0 / sumw[g]
    return unit, wp, sumw, wx, invw


@njit(cache=True)
def _demean_all(x, init, icoef, w, starts, ptr, order, other, visit, tol, maxiter, coef,
                work):
    """FE coefficients (into coef (ncoef, m)) of every column of x - init - D icoef (x: (n, m);
    init: (n, m) or (0, m) for none; icoef: (ncoef, m) coefficients of a previous solution,
    or (0, m) for none). Convergence: |change| <= tol * (|coef| + scale) with
    scale the largest weighted mean of x over the levels of any dimension (the size of the
    fixed effects, which a few rows with huge values and tiny weights cannot inflate).
    work: (k n,) float64 workspace for the weights in the grouped layout, or smaller for
    none. Unit weights (all 1: unweighted OLS, the separation proof) are detected and never
    read in the sweeps, whose passes over the rows then read only the codes.
    Returns (most sweeps of any column, sweeps of all columns, all converged)."""
    k = starts.size - 1
    n = x.shape[0]
    m = x.shape[1]
    ncoef = starts[k]
    unit, wp, sumw, wx, invw = _level_sums(x, w, starts, ptr, order, other, visit, work)
    vlo, vhi = starts[visit], starts[visit + 1]
    scale = np.zeros(m)
    for g in range(ncoef):
        for j in range(m):
            scale[j] = max(scale[j], abs(wx[g, j] * invw[g]))
    if init.shape[0] == n:
        _grouped_sums(x, init, w, order, ptr, other, vlo, vhi, wp, sumw, wx, unit)
    if icoef.shape[0] > 0:  # minus the group sums of w times each row's fitted component
        for g in range(ncoef):
            for j in range(m):
                wx[g, j] -= sumw[g] * icoef[g, j]
        if k > 1:
            ones = np.ones(ncoef)
            for q in range(k):
                for c0 in range(0, m, 4):
                    if unit:
                        _update_dim_unit(icoef, wx, ones, ptr, other, starts[q],
                                         starts[q + 1], c0, min(4, m - c0), wx)
                    else:
                        _update_dim(icoef, wx, wp, ones, ptr, other, starts[q], starts[q + 1],
                                    c0, min(4, m - c0), wx)
    sweeps = np.zeros(m, dtype=np.int64)
    conv = np.ones(m, dtype=np.bool_)
    live = np.array([j for j in range(m) if np.any(wx[:, j] != 0.0)], dtype=np.int64)
    coef[:] = 0.0  # columns whose group sums are all zero
    if live.size:
        _fixed_points(x, init, icoef, live, np.ascontiguousarray(wx[:, live]), w, wp, order,
                      ptr, other, starts, invw, scale[live], tol, maxiter, coef, sweeps, conv,
                      unit)
    return sweeps.max() if m else 0, sweeps.sum(), conv.all()


@njit(cache=True)
def _one_sweep(x, w, starts, ptr, order, other, visit, coef):
    """One Gauss-Seidel sweep of coef (ncoef, m) in place towards the FE coefficients of x
    (n, m) on the weights w (n,)."""
    unit, wp, _, wx, invw = _level_sums(x, w, starts, ptr, order, other, visit, np.empty(0))
    _sweep(wx, wp, ptr, other, starts, invw, coef, coef, unit)


@njit(parallel=True, cache=True)
def _apply(x, ptr, order, other, glo, ghi, a, init, out, fitted):
    """fitted = init + the sum over dimensions of each row's coefficients, out = x - fitted
    (x: (n, m), a: (ncoef, m), init: (n, m) or (0, m); out with 0 rows: not written);
    fitted may be init itself. Rows are reached through the levels glo..ghi-1 of one
    dimension, whose positions list every row once with its other codes."""
    m = a.shape[1]
    km1 = other.shape[0]
    has_init = init.shape[0] == x.shape[0]
    has_out = out.shape[0] == x.shape[0]
    for g in prange(glo, ghi):
        for t in range(ptr[g], ptr[g + 1]):
            i = order[t]
            for j in range(m):
                f = init[i, j] if has_init else 0.0
                f += a[g, j]
                for p in range(km1):
                    f += a[other[p, t], j]
                fitted[i, j] = f
                if has_out:
                    out[i, j] = x[i, j] - f


@njit(parallel=True, cache=True)
def _residuals(x, ptr, order, other, glo, ghi, a, out):
    """out = x - (each row's sum of its coefficients in a (ncoef, m)), through the levels
    glo..ghi-1 of one dimension (as :func:`_apply`)."""
    m = a.shape[1]
    km1 = other.shape[0]
    for g in prange(glo, ghi):
        for t in range(ptr[g], ptr[g + 1]):
            i = order[t]
            for j in range(m):
                f = a[g, j]
                for p in range(km1):
                    f += a[other[p, t], j]
                out[i, j] = x[i, j] - f


@njit(cache=True)
def _normal_product(p, ptr, other, starts, out):
    """out <- D'D p for the unweighted dummies D of every dimension (p, out: (ncoef, m)):
    level g's size times p[g] plus, over its rows, the row's other levels' p (the sums of
    a sweep, :func:`_update_dim_unit` with no data and a factor of -1)."""
    ncoef, m = p.shape
    none = np.zeros((ncoef, m))
    minus = np.full(ncoef, -1.0)
    out[:] = 0.0
    for q in range(starts.size - 1 if other.shape[0] else 0):  # (one dimension: no others)
        for c0 in range(0, m, 4):
            _update_dim_unit(p, none, minus, ptr, other, starts[q], starts[q + 1], c0,
                             min(4, m - c0), out)
    for g in range(ncoef):
        for j in range(m):
            out[g, j] += (ptr[g + 1] - ptr[g]) * p[g, j]


@njit(cache=True)
def _max_abs(r, j):
    top = 0.0
    for g in range(r.shape[0]):
        top = max(top, abs(r[g, j]))
    return top


@njit(cache=True)
def _sums_over_others(p, ptr, other, starts, e, zero, minus, out):
    """out[g] <- for every level g outside dimension e, the sum over g's rows of p (ncoef,
    m) at the rows' other levels (the off-diagonal part of D'D p; e's block of out is not
    written). zero: (ncoef, m) zeros, minus: (ncoef,) -1s (the sweep kernel's data and
    factor: (0 - the sum) * -1)."""
    m = p.shape[1]
    for q in range(starts.size - 1):
        if q != e:
            for c0 in range(0, m, 4):
                _update_dim_unit(p, zero, minus, ptr, other, starts[q], starts[q + 1], c0,
                                 min(4, m - c0), out)


@njit(cache=True)
def _schur_product(p, ptr, other, starts, e, size, inv_e, zero, minus, tmp, out):
    """out <- S p for the Schur complement S = D_R'(I - P_e) D_R of the unweighted dummies
    after eliminating dimension e (R: the other dimensions; P_e: the means over e's groups);
    p, out: (ncoef, m), e's block of p not read and of out set to 0. tmp: (ncoef, m)
    workspace, which ends with p and, in e's block, minus the e-groups' means of D_R p."""
    ncoef, m = p.shape
    lo, hi = starts[e], starts[e + 1]
    tmp[:] = p
    for c0 in range(0, m, 4):  # e's block <- (0 - the group's sum of D_R p) / its size
        _update_dim_unit(tmp, zero, inv_e, ptr, other, lo, hi, c0, min(4, m - c0), tmp)
    _sums_over_others(tmp, ptr, other, starts, e, zero, minus, out)
    for g in range(ncoef):
        for j in range(m):
            out[g, j] = 0.0 if lo <= g < hi else out[g, j] + size[g] * p[g, j]


@njit(cache=True)
def _schur_residual(a, rhs, ptr, other, starts, e, size, inv_e, zero, minus, tmp, q, r):
    """r <- rhs - S a (every column; q: (ncoef, m) workspace for S a)."""
    _schur_product(a, ptr, other, starts, e, size, inv_e, zero, minus, tmp, q)
    for g in range(r.shape[0]):
        for j in range(r.shape[1]):
            r[g, j] = rhs[g, j] - q[g, j]


@njit(cache=True)
def _conjugate_gradients(b, ptr, other, starts, a, target, maxiter):
    """In place: a (ncoef, m) <- solutions of D'D a = b (ncoef, m) from the given a, each
    column until every entry of its residual b - D'D a is within target[j] (confirmed by a
    residual recomputed from a). The dimension with the most levels (e) is eliminated
    exactly: conjugate gradients run on its Schur complement S a_R = b_R - D_R'D_e n_e^-1 b_e,
    preconditioned by the level sizes, and a_e = n_e^-1 (b_e - D_e'D_R a_R) follows (so e's
    block of the residual is 0). Eliminating the largest block leaves a better-conditioned
    system: on the real panel 18 and 22 iterations instead of 23 and 30 on D'D, each as
    costly (a pass over every dimension's positions). Dot products in a fixed order.
    Returns (most iterations, all met)."""
    ncoef, m = b.shape
    k = starts.size - 1
    size = np.empty(ncoef)
    for g in range(ncoef):
        size[g] = ptr[g + 1] - ptr[g]
    e = 0
    for q in range(k):
        if starts[q + 1] - starts[q] > starts[e + 1] - starts[e]:
            e = q
    lo, hi = starts[e], starts[e + 1]
    inv = np.zeros(ncoef)  # the preconditioner on R, and 1 / n_e on e's block
    for g in range(ncoef):
        if size[g] > 0:
            inv[g] = 1.0 / size[g]
    inv_e = np.zeros(ncoef)
    inv_e[lo:hi] = inv[lo:hi]
    inv[lo:hi] = 0.0
    zero = np.zeros((ncoef, m))
    minus = np.full(ncoef, -1.0)
    tmp = np.empty((ncoef, m))
    q = np.empty((ncoef, m))
    # the reduced right-hand side: b_R minus the row sums of n_e^-1 b_e over R's groups
    rhs = np.zeros((ncoef, m))
    if k > 1:
        tmp[:] = 0.0
        for g in range(lo, hi):
            for j in range(m):
                tmp[g, j] = b[g, j] * inv_e[g]
        _sums_over_others(tmp, ptr, other, starts, e, zero, minus, rhs)
        for g in range(ncoef):
            for j in range(m):
                rhs[g, j] = 0.0 if lo <= g < hi else b[g, j] - rhs[g, j]
    r = np.zeros((ncoef, m))
    d = np.zeros((ncoef, m))
    rz = np.zeros(m)
    live = np.ones(m, dtype=np.bool_)
    if k > 1:
        _schur_residual(a, rhs, ptr, other, starts, e, size, inv_e, zero, minus, tmp, q, r)
    most = 0
    it = 0
    restarted = False
    while True:
        for j in range(m):
            # (after a restart, at least one step: the two residuals differ by rounding)
            if live[j] and not restarted and _max_abs(r, j) <= target[j]:
                live[j] = False
        restarted = False
        if not live.any():
            # a_e from a_R, then the full residual b - D'D a recomputed (the recurrence
            # drifts) to confirm
            if k > 1:
                for c0 in range(0, m, 4):
                    _update_dim_unit(a, b, inv_e, ptr, other, lo, hi, c0, min(4, m - c0), a)
            else:
                for g in range(lo, hi):
                    for j in range(m):
                        a[g, j] = b[g, j] * inv_e[g]
            _normal_product(a, ptr, other, starts, q)
            for j in range(m):
                top = 0.0
                for g in range(ncoef):
                    top = max(top, abs(b[g, j] - q[g, j]))
                if top > target[j]:
                    live[j] = True  # restart from the recomputed residual
                    rz[j] = 0.0
            if not live.any() or it >= maxiter or k == 1:  # (one dimension: solved directly)
                return most, not live.any()
            # (columns that stay converged are not read until they restart themselves)
            _schur_residual(a, rhs, ptr, other, starts, e, size, inv_e, zero, minus, tmp, q, r)
            restarted = True
        if it >= maxiter:
            return most, False
        it += 1
        most = it
        for j in range(m):
            if not live[j]:
                for g in range(ncoef):
                    d[g, j] = 0.0
                continue
            new = 0.0
            for g in range(ncoef):
                new += r[g, j] * r[g, j] * inv[g]
            beta = new / rz[j] if rz[j] > 0.0 else 0.0
            rz[j] = new
            for g in range(ncoef):
                d[g, j] = r[g, j] * inv[g] + beta * d[g, j]
        _schur_product(d, ptr, other, starts, e, size, inv_e, zero, minus, tmp, q)
        for j in range(m):
            if not live[j]:
                continue
            dq = 0.0
            for g in range(ncoef):
                dq += d[g, j] * q[g, j]
            if dq <= 0.0:
                live[j] = False
                continue
            alpha = rz[j] / dq
            for g in range(ncoef):
                a[g, j] += alpha * d[g, j]
                r[g, j] -= alpha * q[g, j]


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


def demean_fe_coef(X: np.ndarray, idx: FEIndex, w: np.ndarray, coef: np.ndarray, *,
                   tol: float = 1e-8, maxiter: int = 10_000, warm: bool = True,
                   threads: int | None = None, work: np.ndarray | None = None,
                   ) -> tuple[int, int, bool]:
    """In place, for repeated calls without (n, m) arrays: ``coef`` (ncoef, m) <- the
    fixed-effect coefficients of the columns of X (n, m) on the weights w (n,), on the flat
    coding of :class:`FEIndex` (row i's component: the sum of its levels' coefficients).

    warm: ``coef`` holds the coefficients of a previous call (e.g. with other weights), the
    starting point. work: optional (k n,) float64 workspace reused across calls. Returns
    (most sweeps of any column, sweeps summed over columns, converged).
    """
    m = X.shape[1]
    if idx.k == 0:
        coef[:] = 0.0
        return 0, 0, True
    delta = np.zeros((int(idx.starts[-1]), m))
    icoef = coef if warm else np.zeros((0, m))
    with using_threads(_threads(idx, threads)):
        most, total, conv = _demean_all(X, np.zeros((0, m)), icoef, w, idx.starts, idx.ptr,
                                        idx.order, idx.other, idx.visit, float(tol),
                                        int(maxiter), delta,
                                        np.empty(0) if work is None else work)
    if warm:
        coef += delta
    else:
        coef[:] = delta
    return int(most), int(total), bool(conv)


def sweep_fe_coef(X: np.ndarray, idx: FEIndex, w: np.ndarray | None, coef: np.ndarray, *,
                  threads: int | None = None) -> None:
    """In place: one Gauss-Seidel sweep of ``coef`` (ncoef, m) towards the fixed-effect
    coefficients of X (n, m) on the weights w (n,) (None: unweighted), without acceleration
    or a convergence test (the step of :func:`demean_fe_coef` with ``maxiter=1``, at half its
    cost: for iterative methods that take one inexact step per outer iteration)."""
    if idx.k == 0:
        coef[:] = 0.0
        return
    # no weights: an empty array, which the kernels read as all ones (and never index)
    w = np.empty(0) if w is None else w
    with using_threads(_threads(idx, threads)):
        _one_sweep(X, w, idx.starts, idx.ptr, idx.order, idx.other, idx.visit, coef)


def fe_sums(X: np.ndarray, idx: FEIndex, *, threads: int | None = None) -> np.ndarray:
    """(ncoef, m) sums of the columns of X (n, m) over the rows of every fixed-effect level,
    on the flat coding of :class:`FEIndex` (fixed chunks: the same for any thread count)."""
    ncoef = int(idx.starts[-1])
    out = np.empty((ncoef, X.shape[1]))
    if idx.k:
        with using_threads(_threads(idx, threads)):
            _grouped_sums(X, X[:0], np.empty(0), idx.order, idx.ptr, idx.other,
                          *idx.visit_levels, np.empty(0), np.empty(ncoef), out, True)
    return out


def fe_coef_cg(sums: np.ndarray, idx: FEIndex, coef: np.ndarray, *, target: np.ndarray,
               maxiter: int = 1000, threads: int | None = None) -> tuple[int, bool]:
    """In place: ``coef`` (ncoef, m) <- the unweighted fixed-effect coefficients of columns
    whose level sums (:func:`fe_sums`) are ``sums`` (ncoef, m), by conjugate gradients on
    the normal equations D'D a = sums with the largest dimension eliminated exactly
    (:func:`_conjugate_gradients`), from the warm start in ``coef``, until every level sum
    of each column's residual (x - D a) is within ``target`` (m,). An alternative to :func:`demean_fe_coef` when the accuracy needed is
    that of the residual's level sums (unweighted only): it reaches them in about half
    the passes over the rows of the accelerated sweeps. Returns (iterations, met)."""
    if idx.k == 0:
        coef[:] = 0.0
        return 0, True
    with using_threads(_threads(idx, threads)):
        most, met = _conjugate_gradients(np.ascontiguousarray(sums), idx.ptr, idx.other,
                                         idx.starts, coef,
                                         np.asarray(target, dtype=np.float64), int(maxiter))
    return int(most), bool(met)


def fe_residuals(X: np.ndarray, idx: FEIndex, coef: np.ndarray,
                 out: np.ndarray | None = None) -> np.ndarray:
    """X (n, m) minus each row's fixed-effect component given the coefficients ``coef``
    (ncoef, m) of :func:`demean_fe_coef` (into ``out`` if given)."""
    out = np.empty(X.shape) if out is None else out
    if idx.k == 0:
        out[:] = X
        return out
    with using_threads(_threads(idx, None)):
        _residuals(X, idx.ptr, idx.order, idx.other, *idx.visit_levels, coef, out)
    return out


def demean_coef(X: np.ndarray, fe: np.ndarray | FEIndex, weights: np.ndarray | None = None, *,
                tol: float = 1e-8, maxiter: int = 10_000, init: np.ndarray | None = None,
                threads: int | None = None,
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
    coef = np.zeros((int(idx.starts[-1]), m))
    out = np.empty((n, m))
    fitted = np.empty((n, m))
    with using_threads(_threads(idx, threads)):
        sweeps, _, conv = _demean_all(X2, init2, np.zeros((0, m)), w, idx.starts, idx.ptr,
                                      idx.order, idx.other, idx.visit, float(tol),
                                      int(maxiter), coef, np.empty(0))
        _apply(X2, idx.ptr, idx.order, idx.other, *idx.visit_levels, coef, init2, out, fitted)
    return out, fitted, coef, int(sweeps), bool(conv)


def demean(X: np.ndarray, fe: np.ndarray | FEIndex, weights: np.ndarray | None = None, *,
           tol: float = 1e-8, maxiter: int = 10_000, init: np.ndarray | None = None,
           threads: int | None = None) -> tuple[np.ndarray, bool]:
    """Weighted within-transformation of the columns of X on the fixed effects ``fe``.

    X: (n, m) or (n,) float64. fe: (n, k) int64 0-based codes, one column per FE dimension.
    weights: (n,) non-negative, or None. tol: relative convergence tolerance on the FE
    coefficients (|change| <= tol * (|coef| + s) between sweeps, s the largest weighted mean
    of the column over the levels of any dimension). init: optional (n, m) guess of the
    fixed-effect component of X (e.g. from a previous call with other weights); the result is
    the same projection, reached in fewer sweeps when the guess is good. threads: as
    :func:`tradeflows.estimation.threads.using_threads`.
    Returns (X_demeaned with X's shape, converged).
    """
    X2, idx, w, one_d = _prepare(X, fe, weights)
    out, _, _, _, conv = demean_coef(X2, idx, w, tol=tol, maxiter=maxiter, init=init,
                                     threads=threads)
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
    coef = np.zeros((int(idx.starts[-1]), 1))
    with using_threads(_threads(idx, None)):
        _, _, conv = _demean_all(x, np.zeros((0, 1)), np.zeros((0, 1)), np.ones(idx.n),
                                 idx.starts, idx.ptr, idx.order, idx.other, idx.visit,
                                 float(tol), int(maxiter), coef, np.empty(0))
    starts = idx.starts
    alphas = [coef[starts[q]:starts[q + 1], 0].copy() for q in range(idx.k)]
    for q in range(1, len(alphas)):
        if alphas[q].size:
            shift = alphas[q][0]
            alphas[q] -= shift
            alphas[0] += shift
    return alphas, bool(conv)
