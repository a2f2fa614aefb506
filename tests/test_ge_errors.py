"""Bad input to the GE model raises errors that name what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity.ge import GEModel


@pytest.fixture()
def square() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    c = ["AAA", "BBB", "CCC", "DDD"]
    df = pd.DataFrame([(a, b) for a in c for b in c], columns=["exporter", "importer"])
    df["ln_dist"] = np.where(df["exporter"] == df["importer"], 0.0, rng.uniform(6, 9, len(df)))
    df["trade"] = np.where(df["exporter"] == df["importer"], 1000.0, rng.uniform(1, 50, len(df)))
    return df


def _model(df: pd.DataFrame, **kw) -> GEModel:
    return GEModel(df, cost_terms=["ln_dist"], coefs={"ln_dist": -1.0}, reference="AAA", **kw)


def test_missing_pair_named(square: pd.DataFrame) -> None:
    df = square[~((square["exporter"] == "BBB") & (square["importer"] == "DDD"))]
    with pytest.raises(DataError, match=r"not square: 1 exporter-importer pairs missing.*BBB->DDD"):
        _model(df, file="cross.parquet")


def test_missing_domestic_named(square: pd.DataFrame) -> None:
    df = square[~((square["exporter"] == "CCC") & (square["importer"] == "CCC"))]
    with pytest.raises(DataError, match=r"domestic flows missing for 1 countries: \['CCC'\]"):
        _model(df)


def test_negative_and_missing_values_named(square: pd.DataFrame) -> None:
    bad = square.copy()
    bad.loc[5, "trade"] = -1.0
    with pytest.raises(DataError, match=r"f.csv, row 5, column 'trade'.*negative or missing"):
        _model(bad, file="f.csv")
    bad = square.copy()
    bad.loc[3, "ln_dist"] = np.nan
    with pytest.raises(DataError, match=r"row 3, column 'ln_dist'"):
        _model(bad)


def test_duplicate_pair(square: pd.DataFrame) -> None:
    df = pd.concat([square, square.iloc[[2]]], ignore_index=True)
    with pytest.raises(DataError, match=r"duplicate pair AAA->CCC"):
        _model(df)


def test_missing_column_and_reference(square: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"missing column\(s\) \['contig'\]"):
        GEModel(square, cost_terms=["contig"], coefs={"contig": 1.0})
    with pytest.raises(DataError, match=r"reference country 'ZZZ' is not in the data"):
        GEModel(square, cost_terms=["ln_dist"], coefs={"ln_dist": -1.0}, reference="ZZZ")


def test_bad_options(square: pd.DataFrame) -> None:
    with pytest.raises(SpecificationError, match="sigma must exceed 1"):
        _model(square, sigma=1.0)
    m = _model(square)
    with pytest.raises(SpecificationError, match="method must be one of"):
        m.counterfactual({"ln_dist": 0.0}, method="newton")
    with pytest.raises(SpecificationError, match=r"'contig' is not a cost term"):
        m.counterfactual({"contig": 0.0})
    with pytest.raises(SpecificationError, match="one per data row"):
        m.counterfactual({"ln_dist": np.zeros(3)})
    with pytest.raises(SpecificationError, match="no coefficient given"):
        GEModel(square, cost_terms=["ln_dist"], coefs={"other": 1.0})


def test_zero_flows_need_fixed_point(square: pd.DataFrame) -> None:
    df = square.copy()
    df.loc[1, "trade"] = 0.0
    m = _model(df, baseline="observed")
    with pytest.raises(SpecificationError, match="use method='fixed_point'"):
        m.counterfactual({"ln_dist": 0.0}, method="ge_ppml")
    res = m.counterfactual({"ln_dist": df["ln_dist"] * 0.9}, method="fixed_point")
    pair = res.pairs.set_index(["exporter", "importer"])
    assert np.isnan(pair.loc[("AAA", "BBB"), "trade"])  # a zero flow stays zero (0/0 change)
    assert pair.loc[("AAA", "BBB"), "trade_bln"] == 0.0


def test_array_values_follow_data_row_order(square: pd.DataFrame) -> None:
    """Arrays in the data's row order are aligned even when the data are not sorted."""
    shuffled = square.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a = _model(square).counterfactual({"ln_dist": square["ln_dist"] * 0.8}, method="fixed_point")
    b = _model(shuffled).counterfactual({"ln_dist": shuffled["ln_dist"].to_numpy() * 0.8},
                                        method="fixed_point")
    pd.testing.assert_frame_equal(a.country, b.country)
