"""Demeaning against explicit least squares on dummy matrices."""

from __future__ import annotations

import numpy as np
import pytest

from tradeflows.estimation.demean import demean, demean_coef, fe_index, solve_fixef


def _dummies(fe: np.ndarray) -> np.ndarray:
    return np.hstack([np.eye(int(fe[:, q].max()) + 1)[fe[:, q]] for q in range(fe.shape[1])])


def _reference(X: np.ndarray, fe: np.ndarray, w: np.ndarray) -> np.ndarray:
    D = _dummies(fe)
    sw = np.sqrt(w)[:, None]
    b = np.linalg.lstsq(D * sw, X * sw, rcond=None)[0]
    return X - D @ b


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    n = 3000
    fe = np.column_stack([rng.integers(0, 40, n), rng.integers(0, 25, n), rng.integers(0, 120, n)])
    X = rng.normal(size=(n, 3)) + fe[:, :1] * 0.1
    w = rng.uniform(0.2, 3.0, n)
    return X, fe, w


@pytest.mark.parametrize("k", [1, 2, 3])
def test_demean_matches_dummy_regression(problem, k):
    X, fe, w = problem
    out, conv = demean(X, fe[:, :k], w, tol=1e-13)
    assert conv
    np.testing.assert_allclose(out, _reference(X, fe[:, :k], w), rtol=0, atol=1e-10)


def test_demean_unweighted_one_column_keeps_shape(problem):
    X, fe, _ = problem
    out, conv = demean(X[:, 0], fe[:, :2], tol=1e-13)
    assert conv and out.shape == (X.shape[0],)
    np.testing.assert_allclose(out, _reference(X[:, :1], fe[:, :2], np.ones(len(X)))[:, 0],
                               atol=1e-10)


def test_init_gives_same_projection_in_fewer_sweeps(problem):
    X, fe, w = problem
    full, comp, _, sweeps0, _ = demean_coef(X, fe, w, tol=1e-12)
    w2 = w * np.exp(0.01 * np.sin(np.arange(len(w))))
    cold, _, _, s_cold, _ = demean_coef(X, fe, w2, tol=1e-12)
    warm, _, _, s_warm, _ = demean_coef(X, fe_index(fe), w2, tol=1e-12, init=comp)
    np.testing.assert_allclose(warm, cold, atol=1e-9)
    assert s_warm < s_cold


def test_not_converged_is_reported(problem):
    X, fe, w = problem
    _, conv = demean(X, fe, w, tol=1e-14, maxiter=2)
    assert not conv


def test_bad_codes_raise(problem):
    X, fe, w = problem
    bad = fe.copy()
    bad[3, 1] = -1
    with pytest.raises(ValueError, match="non-negative"):
        demean(X, bad, w)
    with pytest.raises(ValueError, match="rows"):
        demean(X[:-1], fe, w)


def test_solve_fixef_recovers_two_way_effects():
    rng = np.random.default_rng(3)
    n = 800
    fe = np.column_stack([rng.integers(0, 30, n), rng.integers(0, 20, n)])
    a, b = rng.normal(size=30), rng.normal(size=20)
    alphas, conv = solve_fixef(a[fe[:, 0]] + b[fe[:, 1]], fe)
    assert conv
    # normalization: level 0 of the second dimension is 0
    np.testing.assert_allclose(alphas[1], b - b[0], atol=1e-10)
    np.testing.assert_allclose(alphas[0], a + b[0], atol=1e-10)


@pytest.mark.parametrize("k", [2, 3])
def test_columns_demeaned_together_equal_each_alone(problem, k):
    """Columns advance together through the sweeps (up to four per pass over the rows), but
    each keeps its own iterates and stopping point: six columns at once (two passes per
    sweep while more than four run, columns stopping at different sweeps) give bitwise the
    same coefficients and sweep counts as one column at a time."""
    X, fe, w = problem
    rng = np.random.default_rng(11)
    # an absorbed column (a function of the first dimension's levels) stops after a few
    # sweeps, a zero column takes none
    X6 = np.column_stack([X, 0.3 * fe[:, 0], rng.normal(size=len(X)) * fe[:, 1],
                          np.zeros(len(X))])
    idx = fe_index(fe[:, :k])
    _, _, together, most, _ = demean_coef(X6, idx, w, tol=1e-11)
    sweeps = []
    for j in range(X6.shape[1]):
        _, _, alone, s, _ = demean_coef(X6[:, j], idx, w, tol=1e-11)
        np.testing.assert_array_equal(together[:, j], alone[:, 0])
        sweeps.append(s)
    assert most == max(sweeps) and len(set(sweeps)) > 1


def test_narrow_codes_and_visit_dimension_do_not_change_results(problem):
    """The layout stores codes as uint16 when there are at most 65,536 levels (else int32),
    and visits rows through the dimension closest to the rows' order: the same coefficients
    either way (bitwise for the codes' width; to rounding for the visit order, which only
    changes the order in which a row's coefficients are added)."""
    from dataclasses import replace

    X, fe, w = problem
    order = np.lexsort((fe[:, 1], fe[:, 2]))  # rows in the order of the third dimension
    Xs, fes, ws = X[order], fe[order], w[order]
    idx = fe_index(fes)
    assert idx.other.dtype == np.uint16 and idx.visit == 2
    wide = replace(idx, other=idx.other.astype(np.int32))
    first = replace(idx, visit=0)
    out, _, coef, _, _ = demean_coef(Xs, idx, ws, tol=1e-12)
    out_wide, _, coef_wide, _, _ = demean_coef(Xs, wide, ws, tol=1e-12)
    out_first, _, _, _, _ = demean_coef(Xs, first, ws, tol=1e-12)
    np.testing.assert_array_equal(coef_wide, coef)
    np.testing.assert_array_equal(out_wide, out)
    np.testing.assert_allclose(out_first, out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out, _reference(Xs, fes, ws), rtol=0, atol=1e-9)


def test_ssr_check_matches_numpy(problem):
    """The SSR behind the every-200-sweeps stopping rule: the weighted squared residuals of
    x - init - (the rows' warm-start coefficients) - (the rows' coefficients), as NumPy sums
    them from the flat codes."""
    from tradeflows.estimation.demean import _ssr

    X, fe, w = problem
    rng = np.random.default_rng(5)
    idx = fe_index(fe)
    flat = fe + idx.starts[:-1]
    init = rng.normal(size=X.shape)
    icoef = rng.normal(size=(int(idx.starts[-1]), X.shape[1]))
    a = rng.normal(size=int(idx.starts[-1]))
    levels = (int(idx.starts[idx.visit]), int(idx.starts[idx.visit + 1]))
    full = _ssr(X, init, icoef, 1, w, idx.ptr, idx.order, idx.other, *levels, a)
    r = X[:, 1] - init[:, 1] - icoef[flat, 1].sum(axis=1) - a[flat].sum(axis=1)
    assert full == pytest.approx((w * r * r).sum(), rel=1e-13)
    plain = _ssr(X, init[:0], icoef[:0], 0, w, idx.ptr, idx.order, idx.other, *levels, a)
    r = X[:, 0] - a[flat].sum(axis=1)
    assert plain == pytest.approx((w * r * r).sum(), rel=1e-13)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_group_sums_match_bincount(problem, k):
    """The one-pass group sums (through the visit dimension, in fixed chunks) against
    np.bincount per dimension: weights in the layout, level totals, sums of w (x - init)."""
    from tradeflows.estimation.demean import _grouped_sums

    X, fe, w = problem
    idx = fe_index(fe[:, :k])
    ncoef = int(idx.starts[-1])
    init = np.random.default_rng(3).normal(size=X.shape)
    wp, sumw, out = np.empty(idx.order.size), np.empty(ncoef), np.empty((ncoef, X.shape[1]))
    _grouped_sums(X, init, w, idx.order, idx.ptr, idx.other, *idx.visit_levels, wp, sumw, out,
                  False)
    np.testing.assert_array_equal(wp, w[idx.order])
    flat = fe[:, :k] + idx.starts[:-1]
    want_w = sum(np.bincount(flat[:, q], weights=w, minlength=ncoef) for q in range(k))
    np.testing.assert_allclose(sumw, want_w, rtol=1e-13)
    for j in range(X.shape[1]):
        v = w * (X[:, j] - init[:, j])
        want = sum(np.bincount(flat[:, q], weights=v, minlength=ncoef) for q in range(k))
        np.testing.assert_allclose(out[:, j], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_unit_weights_path_is_bitwise_the_weighted_path(problem, k):
    """All-one weights are detected and not read (the sweeps read only the codes): the group
    sums and a sweep's updates are bitwise those of the general path given the ones."""
    from tradeflows.estimation.demean import _grouped_sums, _update_dim, _update_dim_unit

    X, fe, _ = problem
    if k > fe.shape[1]:
        fe = np.column_stack([fe, np.arange(fe.shape[0]) % 7])
    idx = fe_index(fe[:, :k])
    ncoef = int(idx.starts[-1])
    ones = np.ones(X.shape[0])
    sums = {}
    for unit in (False, True):
        wp, sumw, out = np.empty(idx.order.size), np.empty(ncoef), np.empty((ncoef, 3))
        _grouped_sums(X, X[:0], ones, idx.order, idx.ptr, idx.other, *idx.visit_levels, wp,
                      sumw, out, unit)
        A = np.random.default_rng(5).normal(size=(ncoef, 3))
        for q in range(k):
            if unit:
                _update_dim_unit(A, out, 1 / sumw, idx.ptr, idx.other, idx.starts[q],
                                 idx.starts[q + 1], 0, 3, A)
            else:
                _update_dim(A, out, wp, 1 / sumw, idx.ptr, idx.other, idx.starts[q],
                            idx.starts[q + 1], 0, 3, A)
        sums[unit] = (sumw, out, A)
    for a, b in zip(sums[False], sums[True], strict=True):
        np.testing.assert_array_equal(a, b)
    # end to end: ones and the same problem with weights 2 (detected as not unit) give the
    # same projection
    r1, _ = demean(X, fe[:, :k], ones, tol=1e-12)
    r2, _ = demean(X, fe[:, :k], 2 * ones, tol=1e-12)
    np.testing.assert_allclose(r1, r2, rtol=0, atol=1e-9)


@pytest.mark.parametrize("unit", [False, True])
def test_one_sweep_is_the_first_step_of_the_demeaning(problem, unit):
    """sweep_fe_coef (one Gauss-Seidel sweep from the given coefficients) is the step that
    demean_fe_coef takes with maxiter=1 from the same warm start, up to rounding."""
    from tradeflows.estimation.demean import demean_fe_coef, sweep_fe_coef

    X, fe, w = problem
    if unit:
        w = np.ones_like(w)
    idx = fe_index(fe)
    start = np.random.default_rng(9).normal(size=(int(idx.starts[-1]), 3))
    one, step = start.copy(), start.copy()
    sweep_fe_coef(X, idx, w, one)
    demean_fe_coef(X, idx, w, step, maxiter=1, warm=True)
    np.testing.assert_allclose(one, step, rtol=1e-10, atol=1e-10)
    assert np.abs(one - start).max() > 1e-3
    if unit:  # no weights (None): the same sweep, bit for bit
        none = start.copy()
        sweep_fe_coef(X, idx, None, none)
        np.testing.assert_array_equal(none, one)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_conjugate_gradients_meet_their_level_sum_target(problem, k):
    """fe_coef_cg: every level sum of the residual x - D a within the target (checked with
    np.bincount), the residual equal to the tight unweighted demeaning, the warm start
    honoured (fewer iterations from a good one), and fe_sums the level sums of np.bincount."""
    from tradeflows.estimation.demean import fe_coef_cg, fe_residuals, fe_sums

    X, fe, _ = problem
    X = np.column_stack([X, np.zeros(X.shape[0])])  # and a column with nothing to solve
    idx = fe_index(fe[:, :k])
    ncoef = int(idx.starts[-1])
    flat = fe[:, :k] + idx.starts[:-1]

    def level_sums(v):
        return sum(np.bincount(flat[:, q], weights=v, minlength=ncoef) for q in range(k))

    sums = fe_sums(X, idx)
    for j in range(X.shape[1]):
        np.testing.assert_allclose(sums[:, j], level_sums(X[:, j]), rtol=1e-12, atol=1e-12)
    target = np.array([1e-9, 1e-6, 1e-10, 1e-9]) * np.abs(X).max()
    coef = np.zeros((ncoef, 4))
    iters, met = fe_coef_cg(sums, idx, coef, target=target)
    assert met
    resid = fe_residuals(X, idx, coef)
    for j in range(4):
        assert np.abs(level_sums(resid[:, j])).max() <= target[j]
    want, _ = demean(X[:, [0, 2]], fe[:, :k], tol=1e-13)
    np.testing.assert_allclose(resid[:, [0, 2]], want, atol=1e-8 * np.abs(X).max())
    np.testing.assert_array_equal(coef[:, 3], 0.0)
    if k > 1:  # one dimension is solved in one iteration
        nudged = coef + 1e-6 * np.random.default_rng(2).normal(size=coef.shape)
        again, met = fe_coef_cg(sums, idx, nudged, target=target)
        assert met and again < iters


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [5, 1001, 20_003])
def test_layout_is_a_stable_counting_sort(k, n):
    """The grouped layout built by row blocks in parallel: dimension q's positions list the
    rows of each level in increasing order (a stable sort by the level, as np.argsort with
    kind="stable"), ptr the levels' boundaries (empty levels included), ``other`` the rows'
    flat codes in the other dimensions, and codes() the codes back; the same with 1 and 2
    threads, and with fewer rows than the layout has blocks."""
    from tradeflows.estimation.threads import using_threads

    rng = np.random.default_rng(n + k)
    sizes = [7, 300, 2, 40][:k]
    fe = np.column_stack([rng.integers(0, s, n) for s in sizes]).astype(np.int32)
    fe[:, 0] = np.where(fe[:, 0] == 3, 4, fe[:, 0])  # an empty level inside the range
    layouts = []
    for threads in (1, 2):
        with using_threads(threads):
            layouts.append(fe_index(fe))
    idx = layouts[0]
    for q in range(k):
        rows = idx.order[q * n:(q + 1) * n]
        np.testing.assert_array_equal(rows, np.argsort(fe[:, q], kind="stable"))
        counts = np.bincount(fe[:, q], minlength=idx.starts[q + 1] - idx.starts[q])
        np.testing.assert_array_equal(np.diff(idx.ptr[idx.starts[q]:idx.starts[q + 1] + 1]),
                                      counts)
        others = [p for p in range(k) if p != q]
        for pp, p in enumerate(others):
            np.testing.assert_array_equal(idx.other[pp, q * n:(q + 1) * n],
                                          fe[rows, p] + idx.starts[p])
    np.testing.assert_array_equal(idx.codes(), fe)
    for name in ("ptr", "order", "other"):
        np.testing.assert_array_equal(getattr(layouts[1], name), getattr(idx, name))


def test_conjugate_gradients_eliminate_the_largest_dimension(problem):
    """The solve runs on the Schur complement of the dimension with the most levels (here
    the middle one, with an empty level and a level of one row): the residual's level sums
    meet the target in every dimension and are zero up to rounding in the eliminated one,
    and the answer is the tight unweighted demeaning."""
    from tradeflows.estimation.demean import fe_coef_cg, fe_residuals, fe_sums

    X, fe, _ = problem
    fe = fe[:, [1, 2, 0]].copy()  # 25, 120 and 40 levels: the middle one is eliminated
    fe[fe[:, 1] == 7, 1] = 8  # an empty level
    fe[np.flatnonzero(fe[:, 1] == 9)[1:], 1] = 10  # a level with one row
    idx = fe_index(fe)
    ncoef = int(idx.starts[-1])
    flat = fe + idx.starts[:-1]
    sums = fe_sums(X, idx)
    target = 1e-9 * np.abs(X).max() * np.ones(X.shape[1])
    coef = np.zeros((ncoef, X.shape[1]))
    iters, met = fe_coef_cg(sums, idx, coef, target=target)
    assert met and 0 < iters < 100
    resid = fe_residuals(X, idx, coef)
    for j in range(X.shape[1]):
        for q in range(3):
            level_sums = np.bincount(flat[:, q], weights=resid[:, j], minlength=ncoef)
            bound = 1e-11 * np.abs(X).max() if q == 1 else target[j]  # q = 1: rounding
            assert np.abs(level_sums).max() <= bound
    want, _ = demean(X, fe, tol=1e-13)
    np.testing.assert_allclose(resid, want, atol=1e-8 * np.abs(X).max())
