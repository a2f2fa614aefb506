"""The declarative selection language: parsing, checking and evaluation (never Python)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.selection import (
    MAX_DEPTH,
    BoolOp,
    Compare,
    Member,
    Not,
    SelectionError,
    check,
    columns,
    evaluate,
    groups,
    parse,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "exporter": ["AZE", "KAZ", "UZB", "DEU", "AZE", None],
        "importer": ["KAZ", "AZE", "DEU", "FRA", "FRA", "AZE"],
        "dist": [1500.0, 1500.0, 4800.0, 800.0, np.nan, 10.0],
        "fta": [1, 1, 0, 1, 0, 0],
        "domestic": [False, False, False, False, False, True],
    })


def test_parse_tree() -> None:
    node = parse('exporter in ["AZE", "KAZ"] and not (dist >= 1e3 or importer in @EU)')
    assert node == BoolOp("and", (
        Member("exporter", values=("AZE", "KAZ")),
        Not(BoolOp("or", (Compare("dist", ">=", 1000.0), Member("importer", group="EU")))),
    ))
    assert columns(node) == ["exporter", "dist", "importer"]
    assert groups(node) == ["EU"]
    assert parse("domestic == true") == Compare("domestic", "==", 1.0)
    assert parse("exporter not in ['AZE']") == Member("exporter", values=("AZE",), negate=True)


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')",
    "@pd.io.common.os.system('true')",
    "exporter.str.len() > 2",
    "exporter == AZE",           # unquoted text is a column name, not a value
    "dist > 1 +",
    "dist > 1 and",
    "(dist > 1",
    "dist > 1)",
    "dist",
    "not",
    "dist => 3",
    "dist > inf",
    "dist > nan",
    "exporter in []",
    "exporter in ['AZE',]",
    "exporter in @",
    "and == 1",
    "exporter == 'AZE",
    "",
    "   ",
    "dist > 1 dist < 2",
    "x" * 5000,
    "(" * (MAX_DEPTH + 1) + "dist > 1" + ")" * (MAX_DEPTH + 1),
    "not " * (MAX_DEPTH + 1) + "dist > 1",
])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(SelectionError):
        parse(text)


def test_parse_refuses_non_text() -> None:
    with pytest.raises(SelectionError, match="not int"):
        parse(3)  # type: ignore[arg-type]


def test_evaluate_matches_pandas_masks() -> None:
    df = _frame()
    node = parse('(exporter in ["AZE", "KAZ"] or dist < 1000) and fta == 1')
    want = ((df["exporter"].isin(["AZE", "KAZ"]) | (df["dist"] < 1000)) & (df["fta"] == 1))
    np.testing.assert_array_equal(evaluate(node, df), want.to_numpy())
    # missing values fail comparisons; != and not-in hold for them
    np.testing.assert_array_equal(evaluate(parse("dist > 0"), df),
                                  [True, True, True, True, False, True])
    np.testing.assert_array_equal(evaluate(parse("exporter != 'AZE'"), df),
                                  [False, True, True, True, False, True])
    np.testing.assert_array_equal(evaluate(parse("exporter == 'AZE'"), df),
                                  [True, False, False, False, True, False])
    np.testing.assert_array_equal(evaluate(parse("domestic == true"), df),
                                  df["domestic"].to_numpy())
    eu = {"DEU", "FRA"}
    np.testing.assert_array_equal(
        evaluate(parse("importer in @EU and not exporter in @EU"), df, expand=lambda g: eu),
        [False, False, True, False, True, False])


def test_check_columns_and_kinds() -> None:
    kinds = {"exporter": "text", "dist": "number"}
    check(parse("exporter == 'AZE' and dist > 3"), kinds)
    with pytest.raises(SelectionError, match="unknown column 'gdp'"):
        check(parse("gdp > 3"), kinds)
    with pytest.raises(SelectionError, match="number column; got the text"):
        check(parse("dist == 'far'"), kinds)
    with pytest.raises(SelectionError, match="text column; got the number"):
        check(parse("exporter == 3"), kinds)
    with pytest.raises(SelectionError, match="text columns take"):
        check(parse("exporter < 'B'"), kinds)
    with pytest.raises(SelectionError, match="groups hold text"):
        check(parse("dist in @EU"), kinds)

    def no_xyz(column: str, value: str) -> None:
        if value == "XYZ":
            raise SelectionError("unknown code")

    with pytest.raises(SelectionError, match="unknown code"):
        check(parse("exporter in ['AZE', 'XYZ']"), kinds, no_xyz)
