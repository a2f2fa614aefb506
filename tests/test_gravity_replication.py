"""Yotov et al. (2016) ch. 1 Tables 1-3: tradeflows' estimates against the published numbers.

Tolerance (stated in tradeflows.gravity.replication): published coefficients and standard
errors are rounded to 3 decimals, so |estimate - published| <= 0.0015 and
|se - published se| <= 0.0015 (percent changes: 0.01); the number of observations is equal.
Standard errors use the guide's Stata convention (clustered by pair, G/(G-1) only).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tradeflows.errors import DataError
from tradeflows.gravity import replication


@pytest.fixture(scope="module")
def agtpa() -> pd.DataFrame:
    return replication.load_agtpa()


def _check(table: str, agtpa: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    fits = replication.fit_table(table, agtpa)
    comp = replication.compare(table, fits)
    pub = replication.published(table)
    names = pub.drop_duplicates("column").set_index("column")["spec"]
    assert {col: fit.spec.name for col, fit in fits.items()} == names.to_dict()
    assert len(comp) == len(pub) == n_rows  # every published number was compared
    assert comp["estimate"].notna().all() and comp["std_error"].notna().all()
    bad = comp[~comp["within_tolerance"]]
    assert bad.empty, bad.to_string()
    assert (comp["nobs"] == comp["published_nobs"]).all()
    assert (comp["diff_estimate"] <= comp["tolerance"]).all()
    assert (comp["diff_se"] <= comp["tolerance"]).all()
    return comp


def test_table1_traditional_gravity(agtpa: pd.DataFrame) -> None:
    comp = _check("Table 1", agtpa, 24)
    ppml = comp[(comp.column == "PPML") & (comp.term == "ln_dist")].iloc[0]
    assert ppml["estimate"] == pytest.approx(-0.841, abs=0.0015)


def test_table2_distance_puzzle(agtpa: pd.DataFrame) -> None:
    comp = _check("Table 2", agtpa, 53)
    pct = comp[(comp.column == "FEs") & (comp.term == "pct_change_dist")].iloc[0]
    assert pct["estimate"] == pytest.approx(-10.931, abs=0.01)


def test_table3_rta_effects(agtpa: pd.DataFrame) -> None:
    comp = _check("Table 3", agtpa, 32)
    total = comp[(comp.column == "PHSNG") & (comp.term == "total_rta")].iloc[0]
    assert total["estimate"] == pytest.approx(0.993, abs=0.0015)


def test_sample_sizes_follow_the_guide(agtpa: pd.DataFrame) -> None:
    assert sorted(agtpa["year"].unique()) == list(replication.GUIDE_YEARS)
    intl = agtpa[agtpa.exporter != agtpa.importer]
    assert len(intl) == 28152 and int((intl.trade > 0).sum()) == 25689
    assert len(agtpa) == 28566


def test_published_file_cites_table_column_and_page() -> None:
    pub = replication.published()
    assert set(pub["table"]) == {"Table 1", "Table 2", "Table 3"}
    assert pub["reference"].str.contains("Yotov et al. (2016)", regex=False).all()
    pages = {"Table 1": 42, "Table 2": 47, "Table 3": 51}
    assert (pub["page"] == pub["table"].map(pages)).all()
    assert not pub.duplicated(["table", "column", "term"]).any()
    assert (pub["std_error"] > 0).all()


def test_bad_input_names_file_row_and_column(tmp_path, agtpa: pd.DataFrame) -> None:
    raw = pd.read_parquet(replication.raw_dir() / replication.AGTPA_FILE)
    broken = tmp_path / "no_dist.parquet"
    raw.drop(columns=["dist"]).head(50).to_parquet(broken)
    with pytest.raises(DataError, match=r"no_dist\.parquet.*column 'dist'"):
        replication.load_agtpa(broken)
    neg = raw.head(50).copy()
    neg.loc[7, "trade"] = -1.0
    neg.to_parquet(tmp_path / "neg.parquet")
    with pytest.raises(DataError, match=r"neg\.parquet, row 7, column 'trade'"):
        replication.load_agtpa(tmp_path / "neg.parquet")
    with pytest.raises(KeyError, match="Table 9"):
        replication.fit_table("Table 9", agtpa)
