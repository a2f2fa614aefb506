"""Sample checks before estimation: recursive singletons and collinear regressors."""

from __future__ import annotations

import numpy as np
import pytest

from tradeflows.errors import SpecificationError
from tradeflows.estimation.collinearity import collinear_columns
from tradeflows.estimation.demean import demean
from tradeflows.estimation.singletons import singleton_mask


def _naive_singletons(fe: np.ndarray) -> np.ndarray:
    """Reference: drop every current singleton of every fixed effect until none is left."""
    alive = np.ones(fe.shape[0], dtype=bool)
    while True:
        changed = False
        for j in range(fe.shape[1]):
            for g in np.unique(fe[alive, j]):
                members = np.flatnonzero(alive & (fe[:, j] == g))
                if members.size == 1:
                    alive[members] = False
                    changed = True
        if not changed:
            return ~alive


def test_chain_cascades_across_two_fixed_effects():
    # b=0 is a singleton; removing row 0 leaves a=0 with one row, whose removal leaves b=1
    # with one row, then a=1 with one row: a chain of four; b=3 keeps rows 4 and 6.
    a = [0, 0, 1, 1, 2, 2, 3, 3]
    b = [0, 1, 1, 3, 3, 4, 3, 4]
    fe = np.column_stack([a, b]).astype(np.int64)
    one_pass = np.zeros(8, dtype=bool)
    for j in range(2):
        one_pass |= np.bincount(fe[:, j])[fe[:, j]] == 1
    assert one_pass.tolist() == [True] + [False] * 7  # a single pass would stop at row 0
    assert singleton_mask(fe).tolist() == [True, True, True, True, False, False, False, False]


@pytest.mark.parametrize("order", ["forward", "backward", "shuffled"])
def test_long_chain_across_row_blocks(order):
    # a chain of 301 rows (a_j = j // 2, b_j = (j + 1) // 2: row 0 alone in b, each removal
    # leaves the next row alone) among 60,000 rows in groups of five, spread over several
    # of the parallel pass's row blocks and in three row orders: the whole chain goes
    chain, filler = 301, 60_000
    j = np.arange(chain)
    r = np.arange(filler)
    a = np.r_[j // 2, 10_000 + r // 5]
    b = np.r_[(j + 1) // 2, 10_000 + r % (filler // 5)]
    perm = {"forward": np.arange(a.size), "backward": np.arange(a.size)[::-1],
            "shuffled": np.random.default_rng(0).permutation(a.size)}[order]
    fe = np.column_stack([a, b])[perm]
    np.testing.assert_array_equal(singleton_mask(fe), perm < chain)


def test_keep_excludes_rows_from_group_sizes():
    fe = np.array([[0], [0], [1], [1], [1]])
    assert singleton_mask(fe).tolist() == [False] * 5
    keep = np.array([True, False, True, True, False])
    # row 1 is out: row 0 becomes a singleton; rows outside keep are never flagged
    assert singleton_mask(fe, keep=keep).tolist() == [True, False, False, False, False]


@pytest.mark.parametrize("seed", range(40))
def test_matches_naive_reference_on_random_designs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    k = int(rng.integers(1, 4))
    fe = np.column_stack([rng.integers(0, int(rng.integers(1, 25)), n) for _ in range(k)])
    np.testing.assert_array_equal(singleton_mask(fe), _naive_singletons(fe))


def test_bad_codes_raise():
    with pytest.raises(SpecificationError, match="row 2"):
        singleton_mask(np.array([[0], [1], [-1]]))
    with pytest.raises(SpecificationError, match="integers"):
        singleton_mask(np.array([[0.5], [1.0]]))


# collinear regressors -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(7)
    n = 400
    g, h = rng.integers(0, 15, n), rng.integers(0, 12, n)
    a, b = rng.normal(size=n), rng.normal(size=n)
    absorbed = rng.normal(size=15)[g] + rng.normal(size=12)[h]  # sum of FE components
    X = np.column_stack([a, b, a.copy(), 2 * a - 3 * b, absorbed, a + 0.05 * rng.normal(size=n)])
    return X, np.column_stack([g, h]), ["a", "b", "a_copy", "comb", "absorbed", "near_a"]


def test_duplicated_and_combined_columns_drop_the_later_one(design):
    X, _, names = design
    assert collinear_columns(X, names) == [2, 3]
    # the same answer as numerical rank: dropping them leaves a full-rank matrix
    kept = np.delete(X, [2, 3], axis=1)
    assert np.linalg.matrix_rank(kept) == kept.shape[1]
    assert np.linalg.matrix_rank(X) == kept.shape[1]


def test_column_absorbed_by_fixed_effects(design):
    X, fe, names = design
    Xd, converged = demean(X, fe, tol=1e-10)
    assert converged
    norms = np.sqrt((X**2).sum(axis=0))
    assert collinear_columns(Xd, names, norms=norms) == [2, 3, 4]
    # with weights: same structure, same answer
    w = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0])
    Xw, _ = demean(X, fe, w, tol=1e-10)
    wnorms = np.sqrt((w[:, None] * X**2).sum(axis=0))
    assert collinear_columns(Xw, names, weights=w, norms=wnorms) == [2, 3, 4]


def test_exact_zero_column_and_full_rank():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    assert collinear_columns(X, ["x0", "x1", "x2"]) == []
    X[:, 1] = 0.0
    assert collinear_columns(X, ["x0", "x1", "x2"]) == [1]


def test_collinearity_bad_input_names_the_regressor():
    X = np.ones((4, 2))
    X[3, 1] = np.nan
    with pytest.raises(SpecificationError, match="'x2'.*row 3"):
        collinear_columns(X, ["x1", "x2"])
    with pytest.raises(SpecificationError, match="names"):
        collinear_columns(X, ["x1"])
