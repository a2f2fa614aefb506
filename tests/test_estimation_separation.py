"""Separation in PPML: hand-built cases with known separated sets, cross-checks between the
ReLU method and an explicit linear program on dummy variables, and the joint fixed point of
singleton removal and separation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import linprog

from tradeflows.config import paths
from tradeflows.errors import SpecificationError
from tradeflows.estimation.separation import sample_mask, separation_mask, simplex_separation
from tradeflows.estimation.singletons import singleton_mask


def _dummies(fe: np.ndarray) -> np.ndarray:
    """Explicit 0/1 columns of every level of every fixed effect."""
    return np.column_stack([(fe[:, j][:, None] == np.unique(fe[:, j])).astype(float)
                            for j in range(fe.shape[1])])


def _lp_reference(y: np.ndarray, Z: np.ndarray | sparse.spmatrix) -> np.ndarray:
    """Independent reference: maximal separated set by the LP max Σz, z = Zγ, 0 <= z <= 1 on
    y = 0 and z = 0 on y > 0 (equality constraints kept as such), repeated until none new."""
    Z = sparse.csr_matrix(Z)
    found = np.zeros(y.size, dtype=bool)
    pos = y > 0
    while True:
        rows = np.flatnonzero(~pos & ~found)
        if rows.size == 0:
            return found
        A = Z[rows]
        res = linprog(-np.asarray(A.sum(axis=0)).ravel(), A_ub=sparse.vstack([-A, A]),
                      b_ub=np.r_[np.zeros(rows.size), np.ones(rows.size)],
                      A_eq=Z[pos], b_eq=np.zeros(pos.sum()),
                      bounds=[(None, None)] * Z.shape[1], method="highs")
        assert res.status == 0
        new = A @ res.x > 1e-6
        if not new.any():
            return found
        found[rows[new]] = True


@pytest.fixture(scope="module")
def base():
    """6 exporters x 5 importers x 4 replicates; y Poisson with a fair share of zeros."""
    rng = np.random.default_rng(11)
    g, h = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
    g, h = np.repeat(g.ravel(), 4), np.repeat(h.ravel(), 4)
    x = rng.normal(size=g.size)
    mu = np.exp(-0.2 + 0.4 * x + rng.normal(0, 0.5, 6)[g] + rng.normal(0, 0.5, 5)[h])
    y = rng.poisson(mu).astype(float)
    y[(g != 2) & (y == 0) & (rng.uniform(size=g.size) < 0.5)] = 1.0  # no accidental separation
    return {"y": y, "x": x, "fe": np.column_stack([g, h]).astype(np.int64), "g": g}


def case_fe_group(b):
    y = b["y"].copy()
    y[b["g"] == 2] = 0.0
    return y, b["x"][:, None], set(np.flatnonzero(b["g"] == 2))


def case_dummy(b):
    y = b["y"].copy()
    rows = np.flatnonzero(y == 0)[:4]
    d = np.zeros(y.size)
    d[rows] = 1.0
    return y, np.column_stack([b["x"], d]), set(rows)


def case_combination(b):
    # x1 - x2 >= 0 everywhere, = 0 on y > 0, > 0 on every other zero
    rng = np.random.default_rng(5)
    y = b["y"].copy()
    x1 = rng.normal(size=y.size)
    zeros = np.flatnonzero(y == 0)
    sep = zeros[::2]
    x2 = x1.copy()
    x2[sep] -= rng.uniform(0.5, 1.5, sep.size)
    return y, np.column_stack([b["x"], x1, x2]), set(sep)


def case_fe_and_regressor(b):
    # z = x3 - 1{g = 2}: 0 on y > 0, 1 on two zeros of exporter 2, 0.5 on three other zeros
    y, g = b["y"].copy(), b["g"]
    x3 = (g == 2).astype(float)
    inside = np.flatnonzero((g == 2) & (y == 0))[:2]
    outside = np.flatnonzero((g != 2) & (y == 0))[:3]
    x3[inside], x3[outside] = 2.0, 0.5
    return y, np.column_stack([b["x"], x3]), set(inside) | set(outside)


CASES = {
    "fe_group": (case_fe_group, {"fe": True, "simplex": False, "relu": True}),
    "dummy": (case_dummy, {"fe": False, "simplex": True, "relu": True}),
    "combination": (case_combination, {"fe": False, "simplex": True, "relu": True}),
    "fe_and_regressor": (case_fe_and_regressor, {"fe": False, "simplex": False, "relu": True}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_known_separated_set_by_each_method(base, name):
    make, finds = CASES[name]
    y, X, truth = make(base)
    fe = base["fe"]
    assert truth and len(truth) < (y == 0).sum()
    # the hand-built set is what an explicit LP on [X, FE dummies] finds
    assert set(np.flatnonzero(_lp_reference(y, np.column_stack([X, _dummies(fe)])))) == truth
    for method, expected in finds.items():
        mask, counts = separation_mask(y, X, fe, methods=(method,))
        assert set(np.flatnonzero(mask)) == (truth if expected else set()), method
        assert counts[f"separation_{method}"] == (len(truth) if expected else 0)
    mask, counts = separation_mask(y, X, fe)  # default: all three, in order
    assert set(np.flatnonzero(mask)) == truth
    assert sum(counts.values()) == len(truth)


def test_no_separation_in_generic_data(base):
    mask, counts = separation_mask(base["y"], base["x"][:, None], base["fe"])
    assert not mask.any() and counts == {"separation_fe": 0, "separation_simplex": 0,
                                         "separation_relu": 0}


def test_without_fixed_effects_simplex_uses_the_design_as_given():
    # y = 0 whenever x < 0: x itself certifies separation once the intercept is in X
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.0, 1.0, 2.0, 0.0])
    y = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0])
    X = np.column_stack([np.ones(8), x])
    lp = _lp_reference(y, X)
    for method in ("simplex", "relu"):
        mask, _ = separation_mask(y, X, None, methods=(method,))
        np.testing.assert_array_equal(mask, lp)
    # zeros on both sides of x = 0 (where all positives are): no direction works
    assert not lp.any()
    # move rows 5, 6 to x = 0: z = -x separates rows 0-2 (rows 5, 6 have z = 0)
    X[5:7, 1] = 0.0
    mask, counts = separation_mask(y, X, None)
    assert set(np.flatnonzero(mask)) == {0, 1, 2} and counts["separation_simplex"] == 3
    assert set(np.flatnonzero(_lp_reference(y, X))) == {0, 1, 2}


@pytest.mark.parametrize("seed", range(6))
def test_relu_agrees_with_lp_on_dummies_on_random_sparse_data(seed):
    rng = np.random.default_rng(100 + seed)
    n = 150
    fe = np.column_stack([rng.integers(0, 12, n), rng.integers(0, 10, n)])
    X = np.column_stack([rng.normal(size=n), (rng.uniform(size=n) < 0.1).astype(float)])
    y = rng.poisson(np.exp(-1.5 + 0.5 * X[:, 0] + rng.normal(0, 1, 12)[fe[:, 0]]))
    y = y.astype(float)
    truth = _lp_reference(y, np.column_stack([X, _dummies(fe)]))
    mask, _ = separation_mask(y, X, fe, methods=("relu",))
    np.testing.assert_array_equal(mask, truth)
    mask, _ = separation_mask(y, X, fe)
    np.testing.assert_array_equal(mask, truth)


def test_singleton_removal_and_separation_reach_a_joint_fixed_point():
    rng = np.random.default_rng(3)
    a, b = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    a, b = np.repeat(a.ravel(), 3), np.repeat(b.ravel(), 3)
    y = rng.poisson(3.0, a.size).astype(float) + 1.0
    # r1: only row of exporter 10, the one positive row of importer 7;
    # r2, r3: the zeros of importer 7; r4 shares exporter 11 with r3 only
    extra_a = [10, 0, 11, 11]
    extra_b = [7, 7, 7, 0]
    extra_y = [5.0, 0.0, 0.0, 3.0]
    fe = np.column_stack([np.r_[a, extra_a], np.r_[b, extra_b]]).astype(np.int64)
    y = np.r_[y, extra_y]
    X = rng.normal(size=(y.size, 1))
    keep, drops = sample_mask(y, X, fe)
    assert np.flatnonzero(~keep).tolist() == list(range(a.size, a.size + 4))
    assert drops == {"singletons": 2, "separation_fe": 2, "separation_simplex": 0,
                     "separation_relu": 0}
    # separation off: only the first singleton goes
    keep, drops = sample_mask(y, X, fe, separation=())
    assert np.flatnonzero(~keep).tolist() == [a.size] and drops["singletons"] == 1


def test_zero_weights_and_keep_leave_rows_out(base):
    y, X, truth = case_dummy(base)
    w = np.ones(y.size)
    first = min(truth)
    w[first] = 0.0
    mask, counts = separation_mask(y, X, base["fe"], weights=w)
    assert set(np.flatnonzero(mask)) == truth - {first}
    keep = w > 0
    mask2, _ = separation_mask(y, X, base["fe"], keep=keep)
    np.testing.assert_array_equal(mask, mask2)


def test_bad_input_raises_naming_the_row():
    y = np.array([1.0, 0.0, -1.0])
    with pytest.raises(SpecificationError, match="row 2"):
        separation_mask(y, None, np.zeros((3, 1), dtype=np.int64))
    X = np.array([[1.0], [np.inf], [0.0]])
    with pytest.raises(SpecificationError, match="row 1"):
        separation_mask(np.ones(3), X, None)
    with pytest.raises(SpecificationError, match="unknown separation method"):
        separation_mask(np.ones(3), None, None, methods=("mu",))
    with pytest.raises(SpecificationError, match="unknown separation method"):
        sample_mask(np.ones(3), None, np.zeros((3, 1), dtype=np.int64), separation=("simplx",))


# the known correct estimate: PPML after separation = Poisson GLM on the other rows ------------

REFERENCE_REGRESSORS = {  # regressors left identified once the separated rows are gone
    "fe_group": ["x"],
    "dummy": ["x"],  # the dummy is 0 on every remaining row
    "combination": ["x", "c1"],  # c1 = c2 on every remaining row: c2 is dropped as collinear
    "fe_and_regressor": ["x"],  # c1 = 1{exporter 2} on the remaining rows: absorbed
}


@pytest.mark.parametrize("name", list(CASES))
def test_ppml_after_separation_equals_glm_on_the_other_rows(base, name):
    import statsmodels.api as sm

    import tradeflows

    make, _ = CASES[name]
    y, X, truth = make(base)
    cols = ["x"] + [f"c{j}" for j in range(1, X.shape[1])]
    df = pd.DataFrame(X, columns=cols).assign(y=y, exp=base["fe"][:, 0], imp=base["fe"][:, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collinear regressors dropped, as expected
        res = tradeflows.ppml(df, f"y ~ {' + '.join(cols)} | exp + imp", vcov="iid", tol=1e-12)
    dropped = {k: v for k, v in res.drops.items() if k.startswith("separation")}
    assert sum(dropped.values()) == len(truth)
    assert res.nobs == y.size - len(truth)
    sub = df.drop(index=sorted(truth))
    exog = pd.concat([sub[REFERENCE_REGRESSORS[name]],
                      pd.get_dummies(sub["exp"], prefix="e", dtype=float),
                      pd.get_dummies(sub["imp"], prefix="i", drop_first=True, dtype=float)],
                     axis=1)
    glm = sm.GLM(sub["y"], exog, family=sm.families.Poisson()).fit(tol=1e-13, maxiter=200)
    for term in REFERENCE_REGRESSORS[name]:
        assert res.coef[term] == pytest.approx(glm.params[term], abs=1e-8)
    assert set(res.coef.index) == set(REFERENCE_REGRESSORS[name])


def test_rectifier_limits_fall_back_or_warn(base):
    from tradeflows.estimation.separation import relu_separation

    y, X, truth = case_fe_and_regressor(base)
    fe = base["fe"]
    # no iteration budget: the exact LP on [X, dummies] settles every row
    assert set(np.flatnonzero(relu_separation(y, X, fe, maxiter=0))) == truth
    # design larger than the sparse factorisation allows: warn, nothing silently dropped
    with pytest.warns(RuntimeWarning, match="relu separation check incomplete"):
        assert not relu_separation(y, X, fe, max_columns=5).any()


def test_real_comtrade_panel_matches_the_exact_lp():
    """Bundled penppml Comtrade panel, exporters of the Caucasus and Central Asia (4 914 rows,
    47 % zeros), exporter-year + importer-year + pair fixed effects."""
    df = pd.read_parquet(paths().raw / "penppml_trade" / "trade.parquet")
    df = df[df["exp"].isin(["AZE", "KAZ", "KGZ", "GEO", "ARM", "TKM", "TJK"])
            & (df["exp"] != df["imp"])]

    def codes(*cols: str) -> np.ndarray:
        return pd.factorize(pd.MultiIndex.from_frame(df[list(cols)]))[0]

    fe = np.column_stack([codes("exp", "time"), codes("imp", "time"), codes("exp", "imp")])
    y = df["export"].to_numpy(float)
    X = np.column_stack([(df["id"] > 0).to_numpy(float), df["ad_prov_14"].fillna(0).to_numpy()])
    rows = np.flatnonzero(~singleton_mask(fe))
    mask, counts = separation_mask(y[rows], X[rows], fe[rows])
    dummies = sparse.hstack([sparse.csr_matrix(X[rows])] + [
        sparse.csr_matrix((np.ones(rows.size), (np.arange(rows.size),
                                                np.unique(fe[rows, j], return_inverse=True)[1])))
        for j in range(3)])
    np.testing.assert_array_equal(mask, _lp_reference(y[rows], dummies))
    assert counts["separation_fe"] == mask.sum() > 1000


def test_separation_hidden_by_a_positive_singleton(base):
    """Exporter 2 has zeros only, except one positive row that is alone in its importer: that
    importer's coefficient absorbs it, so every zero of exporter 2 is separated (z = 1{exp 2}
    - 1{imp 9}). The rectifier's exact singleton reduction finds them without any
    factorisation (no warning even with max_columns=5); sample_mask, which reaches the fixed
    point of singletons and cheap checks first, counts them as singleton + all-zero group."""
    from tradeflows.estimation.separation import relu_separation

    y = base["y"].copy()
    y[base["g"] == 2] = 0.0
    y = np.r_[y, 5.0]
    fe = np.vstack([base["fe"], [2, 9]])
    X = np.r_[base["x"], 0.3][:, None]
    truth = np.r_[base["g"] == 2, False]
    np.testing.assert_array_equal(_lp_reference(y, np.column_stack([X, _dummies(fe)])), truth)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(relu_separation(y, X, fe, max_columns=5), truth)
    mask, counts = separation_mask(y, X, fe, methods=("relu",))
    np.testing.assert_array_equal(mask, truth)
    assert counts["separation_relu"] == truth.sum()
    keep, drops = sample_mask(y, X, fe)
    np.testing.assert_array_equal(keep, ~truth & (np.arange(y.size) < y.size - 1))
    assert drops == {"singletons": 1, "separation_fe": int(truth.sum()),
                     "separation_simplex": 0, "separation_relu": 0}


def test_proof_of_no_separation_is_polished_before_the_check():
    """The search for λ projects with one demeaning sweep per pass and a loosely demeaned
    basis of the regressors: a candidate is projected again at a tight tolerance, with the
    regressors' part refined, before it is verified, so even a crude basis (xtol=0.1) gives
    the proof; one pass from 1{y = 0} does not."""
    from tradeflows.estimation.separation import _no_separation_certificate
    from tradeflows.estimation.synthetic import gravity_panel

    df = gravity_panel(15, 6, seed=1)
    fe = df[["exp_year", "imp_year", "pair"]].to_numpy()
    y, X = df["flow"].to_numpy(), df[["x1", "x2"]].to_numpy()
    keep, drops = sample_mask(y, X, fe, separation=("fe",))
    assert drops["separation_fe"] > 0
    assert _no_separation_certificate(y[keep], X[keep], fe, np.flatnonzero(keep), xtol=0.1)
    y, X, fe = y[keep], X[keep], fe[keep]
    assert _no_separation_certificate(y, X, fe, xtol=0.1)
    assert not _no_separation_certificate(y, X, fe, maxiter=1)
    mask, _ = separation_mask(y, X, fe)
    assert not mask.any()


def test_full_rank_shortcut_of_the_simplex_check():
    """The simplex check skips its linear program only when the regressors (and constant) on
    the positive rows are of full rank by a wide margin; a column that is collinear with the
    others or with the constant on those rows sends it to the SVD and the program."""
    from tradeflows.estimation.separation import _clearly_full_rank

    rng = np.random.default_rng(3)
    n = 400
    y = np.where(rng.uniform(size=n) < 0.3, 0.0, 1.0)
    X = rng.normal(size=(n, 3))
    assert _clearly_full_rank(y, X, constant=True)
    twin = X.copy()
    twin[y > 0, 2] = 2.0 * X[y > 0, 0] - X[y > 0, 1]  # collinear on the positives only
    assert not _clearly_full_rank(y, twin, constant=False)
    flat = X.copy()
    flat[y > 0, 1] = 5.0  # constant on the positives
    assert _clearly_full_rank(y, flat, constant=False)
    assert not _clearly_full_rank(y, flat, constant=True)
    # the shortcut and the full check agree: only the collinear designs can separate
    for design, constant in ((X, True), (twin, False), (flat, True)):
        with_constant = np.column_stack([design, np.ones(n)]) if constant else design
        expected = _lp_reference(y, with_constant)
        np.testing.assert_array_equal(simplex_separation(y, design, constant=constant),
                                      expected)


@pytest.mark.parametrize("design", ["clear", "near_collinear", "duplicate", "zero_column"])
def test_basis_of_the_regressors_is_orthonormal_with_their_span_and_rank(design):
    """A @ T is orthonormal and spans A's columns: from the cross-products (twice) when they
    are clearly of full rank, else from the SVD of the R factor, which also sets the rank."""
    from tradeflows.estimation.separation import _basis_coefficients

    rng = np.random.default_rng(11)
    A = rng.normal(size=(2000, 4)) * [1.0, 10.0, 0.1, 3.0] + 2.0
    rank = 4
    if design == "near_collinear":  # smallest singular value ~1e-7 of the largest
        A[:, 3] = A[:, 0] - A[:, 1] + 1e-7 * rng.normal(size=2000)
    elif design == "duplicate":
        A[:, 3] = 2 * A[:, 1]
        rank = 3
    elif design == "zero_column":
        A[:, 2] = 0.0
        rank = 3
    T = _basis_coefficients(A)
    B = A @ T
    assert T.shape == (4, rank)
    # A @ T carries rounding of eps times A's condition number (about 1e8 when near collinear)
    np.testing.assert_allclose(B.T @ B, np.eye(rank),
                               atol=1e-7 if design == "near_collinear" else 1e-12)
    # every column of A lies in the span of B
    np.testing.assert_allclose(B @ (B.T @ A), A, atol=1e-8 * np.abs(A).max())


@pytest.mark.parametrize(("p", "r"), [(3, 3), (3, 2), (2, 3)])
def test_basis_product_in_place(p, r):
    """A @ T over A's own columns, block by block, equals the plain product."""
    from tradeflows.estimation.separation import _ROW_BLOCK, _times

    rng = np.random.default_rng(p * 10 + r)
    A = rng.normal(size=(2 * _ROW_BLOCK + 17, p))
    T = rng.normal(size=(p, r))
    expected = A @ T
    for overwrite in (False, True):
        out = _times(A.copy(), T, overwrite=overwrite)
        assert out.flags.c_contiguous and out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("seed", range(6))
def test_fe_check_matches_group_counts_of_positives(seed):
    """The compiled all-zero-group check (parallel over rows) against np.bincount counts of
    positive outcomes, on all rows and on the rows of a mask (the others never flagged)."""
    from tradeflows.estimation.separation import fe_separation

    rng = np.random.default_rng(seed)
    n = 70_000
    fe = np.column_stack([rng.integers(0, m, n) for m in (40, 3_000, 20_000)[: 1 + seed % 3]])
    y = rng.poisson(0.15, n).astype(float)
    expected = np.zeros(n, dtype=bool)
    for j in range(fe.shape[1]):
        expected |= np.bincount(fe[:, j], weights=y > 0)[fe[:, j]] == 0
    np.testing.assert_array_equal(fe_separation(y, fe), expected)
    keep = rng.uniform(size=n) < 0.6
    rows = np.flatnonzero(keep)
    expected = np.zeros(n, dtype=bool)
    for j in range(fe.shape[1]):
        expected[rows] |= np.bincount(fe[rows, j], weights=y[rows] > 0)[fe[rows, j]] == 0
    np.testing.assert_array_equal(fe_separation(y, fe, keep), expected)


@pytest.mark.parametrize("seed", range(8))
def test_irreducible_shortcut_agrees_with_the_reduction(seed):
    """The one-pass test that no group is a singleton or all zeros says True exactly when the
    singleton reduction (and its all-zero-group check) would remove nothing."""
    from tradeflows.estimation.codes import code_offsets
    from tradeflows.estimation.separation import _irreducible, _reduce_singletons

    rng = np.random.default_rng(seed)
    n = 300
    fe = np.column_stack([rng.integers(0, 12 + 20 * (seed % 2), n), rng.integers(0, 15, n)])
    y = rng.poisson(0.3 + 2.0 * (seed % 4 > 1), n).astype(float)
    every = np.arange(n)
    sep, active = _reduce_singletons(y, fe, every)
    assert _irreducible(y, fe, every, code_offsets(fe)) == (active.all() and not sep.any())
    rows = np.flatnonzero(active)
    if rows.size:  # what the reduction leaves is irreducible, copied or named by rows
        assert _irreducible(y[rows], fe[rows], np.arange(rows.size), code_offsets(fe[rows]))
        assert _irreducible(y[rows], fe, rows, code_offsets(fe))


@pytest.mark.parametrize("case", ["regressors_only", "fixed_effects_only", "one_fixed_effect"])
def test_proof_of_no_separation_on_smaller_designs(base, case):
    """The proof is found on data without separation and not on data with it, when the
    design has only regressors, only fixed effects, or one fixed effect and regressors."""
    from tradeflows.estimation.separation import _no_separation_certificate

    rng = np.random.default_rng(4)
    n = 600
    if case == "regressors_only":
        X = np.column_stack([np.ones(n), rng.normal(size=n), rng.uniform(size=n) < 0.1])
        fe = np.empty((n, 0), dtype=np.int64)
        y = rng.poisson(np.exp(0.2 * X[:, 1])).astype(float)
        separated_y = np.where(X[:, 2] == 1, 0.0, y)  # the dummy's rows: all zero
    else:
        X = np.empty((n, 0)) if case == "fixed_effects_only" else rng.normal(size=(n, 2))
        fe = np.column_stack([rng.integers(0, 10, n), rng.integers(0, 12, n)])
        if case == "one_fixed_effect":
            fe = fe[:, :1]
        y = rng.poisson(1.5, n).astype(float)
        separated_y = np.where(fe[:, 0] == 3, 0.0, y)  # an all-zero group
    Z = X if case == "regressors_only" else np.column_stack([X, _dummies(fe)])
    assert _lp_reference(y, Z).sum() == 0
    assert _no_separation_certificate(y, X, fe)
    assert _lp_reference(separated_y, Z).any()
    assert not _no_separation_certificate(separated_y, X, fe)
