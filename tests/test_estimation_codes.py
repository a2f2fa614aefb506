"""Fixed-effect codes: factorization, sizes and renumbering against numpy and pandas
references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.estimation.codes import code_offsets, code_sizes, factorize_integers, recode


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint16", "uint64", "bool"])
def test_factorize_integers_matches_sorted_pandas_factorize(dtype):
    rng = np.random.default_rng(3)
    if dtype == "bool":
        values = rng.uniform(size=10_000) < 0.3
    else:
        lo = 0 if dtype.startswith("u") else -50
        values = rng.integers(lo, 100, 10_000).astype(dtype)
    values[:3] = values[3]  # repeated first values: codes follow the order, not appearance
    codes, uniques = factorize_integers(values)
    ref_codes, ref_uniques = pd.factorize(values, sort=True)
    np.testing.assert_array_equal(codes, ref_codes)
    assert codes.dtype == np.int64 and uniques.dtype == values.dtype
    np.testing.assert_array_equal(uniques, ref_uniques)
    out = np.full((values.size, 2), -7, dtype=np.int64)  # into a strided column
    factorize_integers(values, out=out[:, 1])
    np.testing.assert_array_equal(out[:, 1], ref_codes)
    assert (out[:, 0] == -7).all()


def test_factorize_integers_declines_what_a_range_table_does_not_suit():
    assert factorize_integers(np.array([1.0, 2.0])) is None  # not integers
    assert factorize_integers(np.array(["a", "b"], dtype=object)) is None
    assert factorize_integers(np.array([0, 10**9])) is None  # range >> rows
    assert factorize_integers(np.array([2**63 + 5, 2**63 + 1], dtype=np.uint64)) is None
    codes, uniques = factorize_integers(np.array([60_000, 5]))  # range <= 2^16: a table
    assert codes.tolist() == [1, 0] and uniques.tolist() == [5, 60_000]
    codes, uniques = factorize_integers(np.empty(0, dtype=np.int32))
    assert codes.size == 0 and uniques.size == 0


@pytest.mark.parametrize("seed", range(5))
def test_recode_matches_unique_inverse_on_all_rows_and_on_a_selection(seed):
    rng = np.random.default_rng(seed)
    n = 50_000
    fe = np.column_stack([rng.integers(0, m, n) for m in (7, 900, 60_000)[: 1 + seed % 3]])
    codes, kept = recode(fe)
    assert codes.dtype == np.int32 and codes.shape == fe.shape
    for j in range(fe.shape[1]):
        levels, inverse = np.unique(fe[:, j], return_inverse=True)
        np.testing.assert_array_equal(codes[:, j], inverse)
        np.testing.assert_array_equal(kept[j], levels)
    rows = np.flatnonzero(rng.uniform(size=n) < 0.3)
    codes, kept = recode(fe, rows)
    for j in range(fe.shape[1]):
        levels, inverse = np.unique(fe[rows, j], return_inverse=True)
        np.testing.assert_array_equal(codes[:, j], inverse)
        np.testing.assert_array_equal(kept[j], levels)


def test_recode_edge_cases():
    fe = np.array([[3, 0], [5, 2], [3, 2]])
    codes, kept = recode(fe, np.array([], dtype=np.int64))  # no row selected
    assert codes.shape == (0, 2) and [k.size for k in kept] == [0, 0]
    codes, kept = recode(fe, np.array([2, 1]))  # rows in any order
    assert codes.tolist() == [[0, 0], [1, 0]] and [k.tolist() for k in kept] == [[3, 5], [2]]
    codes, kept = recode(np.empty((4, 0), dtype=np.int64))
    assert codes.shape == (4, 0) and kept == []
    assert recode(np.empty((0, 2), dtype=np.int64))[0].shape == (0, 2)


def test_code_sizes_column_by_column():
    fe = np.array([[0, 4], [2, 1]])
    assert code_sizes(fe).tolist() == [3, 5]
    assert code_sizes(np.empty((0, 3), dtype=np.int64)).tolist() == [0, 0, 0]
    assert code_offsets(fe).tolist() == [0, 3, 8]
    assert code_offsets(np.empty((5, 0), dtype=np.int64)).tolist() == [0]
