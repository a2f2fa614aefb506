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
