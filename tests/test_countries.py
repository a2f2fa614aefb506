"""Country codes against independent tables (pycountry, the IMF name file, the datahub file)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pycountry
import pytest

from tradeflows.countries import (
    IMF_NAMES_FILE,
    STATE_YEARS,
    SUCCESSORS,
    exists_in_year,
    harmonize,
    is_aggregate,
    successor_table,
    to_iso3,
)
from tradeflows.errors import DataError


def test_iso2_and_numeric_match_pycountry_for_every_country():
    countries = list(pycountry.countries)
    iso2 = to_iso3(pd.Series([c.alpha_2 for c in countries]), "iso2")
    assert iso2.tolist() == [c.alpha_3 for c in countries]
    numeric = to_iso3(pd.Series([int(c.numeric) for c in countries]), "m49")
    assert numeric.tolist() == [c.alpha_3 for c in countries]
    iso3 = to_iso3(pd.Series([c.alpha_3.lower() for c in countries]), "iso3")
    assert iso3.tolist() == [c.alpha_3 for c in countries]


def test_m49_trade_conventions():
    codes = pd.Series([490, 0, 97, 899, 842, 251, 699, 757, 579, 381, 810, 890, 200, 891, 736,
                       "31"])
    got = to_iso3(codes, "m49")
    expected = ["TWN", np.nan, np.nan, np.nan, "USA", "FRA", "IND", "CHE", "NOR", "ITA", "SUN",
                "YUG", "CSK", "SCG", "SDN", "AZE"]
    assert got.isna().tolist() == pd.isna(pd.Series(expected)).tolist()
    assert got.dropna().tolist() == [e for e in expected if isinstance(e, str)]
    agg = is_aggregate(codes, "m49")
    assert agg.tolist() == [False, True, True, True] + [False] * 12
    # M49 regions (e.g. 142 Asia, 143 Central Asia, 150 Europe) are aggregates
    assert is_aggregate(pd.Series([142, 143, 150]), "m49").all()


def test_imf_names_match_the_bundled_name_table():
    table = pd.read_csv(IMF_NAMES_FILE, dtype=str, keep_default_na=False)
    got = to_iso3(table["imf_name"], "imf")
    expected = table["iso3"].replace("", np.nan)
    assert got.isna().equals(expected.isna())
    assert (got.dropna() == expected.dropna()).all()
    assert is_aggregate(table["imf_name"], "imf").tolist() == (table["iso3"] == "").tolist()


def test_english_names():
    names = pd.Series(["Azerbaijan", "Kazakhstan", "Kyrgyzstan", "Russian Federation",
                       "Iran, Islamic Republic of", "Türkiye", "Turkey", "Other Asia, nes",
                       "World", "Areas, nes", "European Union", "Asia"])
    got = to_iso3(names, "name")
    assert got[:8].tolist() == ["AZE", "KAZ", "KGZ", "RUS", "IRN", "TUR", "TUR", "TWN"]
    assert got[8:].isna().all()


@pytest.mark.parametrize("scheme, good, bad", [
    ("m49", 31, 12345), ("iso3", "AZE", "QQQ"), ("iso2", "AZ", "QQ"),
    ("imf", "Azerbaijan, Rep. of", "Atlantis, Rep. of"), ("name", "Azerbaijan", "Atlantis")])
def test_unknown_code_names_file_row_and_code(scheme, good, bad):
    with pytest.raises(DataError, match=rf"trade\.csv, row 1: unknown {scheme} .*{bad}"):
        to_iso3(pd.Series([good, bad]), scheme, file="trade.csv")


def test_unknown_scheme():
    with pytest.raises(ValueError, match="scheme"):
        to_iso3(pd.Series(["AZE"]), "fips")


def test_harmonize_removes_and_counts_aggregates():
    df = pd.DataFrame({"rep": [31, 0, 398, 417, 97], "par": [398, 31, 0, 31, 31],
                       "v": [1.0, 2, 3, 4, 5]})
    out, drops = harmonize(df, ["rep", "par"], "m49", file="f.csv")
    assert out.to_dict("list") == {"rep": ["AZE", "KGZ"], "par": ["KAZ", "AZE"], "v": [1.0, 4.0]}
    # a row with two aggregates is counted once, under the first column
    assert drops == {"aggregate_rep": 2, "aggregate_par": 1}


def test_harmonize_unknown_code_raise_or_drop():
    df = pd.DataFrame({"rep": ["AZE", "XYZ", "KAZ"], "par": ["KAZ", "AZE", "WLD"]},
                      index=[10, 11, 12])
    with pytest.raises(DataError, match=r"f\.csv, row 11, column 'rep'.*'XYZ'"):
        harmonize(df, ["rep", "par"], "iso3", file="f.csv")
    out, drops = harmonize(df, ["rep", "par"], "iso3", file="f.csv", unknown="drop")
    assert out.to_dict("list") == {"rep": ["AZE"], "par": ["KAZ"]}
    assert drops == {"aggregate_rep": 0, "unknown_code_rep": 1, "aggregate_par": 1,
                     "unknown_code_par": 0}
    with pytest.raises(DataError, match="missing country column"):
        harmonize(df, ["reporter"], "iso3", file="f.csv")


def test_successor_rule_years():
    cases = [("SUN", 1991, True), ("SUN", 1992, False), ("AZE", 1991, False),
             ("AZE", 1992, True), ("KAZ", 2023, True), ("YUG", 1991, True), ("YUG", 1992, False),
             ("SCG", 1992, True), ("SCG", 2005, True), ("SCG", 2006, False),
             ("SRB", 2005, False), ("SRB", 2006, True), ("CSK", 1992, True),
             ("CSK", 1993, False), ("CZE", 1992, False), ("SVK", 1993, True),
             ("SDN", 2005, True), ("SDN", 2015, True), ("SSD", 2010, False),
             ("SSD", 2011, True), ("DEU", 1980, True), ("DDR", 1991, False),
             ("TUR", 1960, True)]
    codes, years, expected = zip(*cases, strict=True)
    got = exists_in_year(pd.Series(codes), pd.Series(years))
    assert got.tolist() == list(expected)


def test_successor_table_is_complete():
    table = successor_table()
    ussr = table[table["predecessor"] == "SUN"]
    assert sorted(ussr["successor"]) == sorted(
        ["ARM", "AZE", "BLR", "EST", "GEO", "KAZ", "KGZ", "LTU", "LVA", "MDA", "RUS", "TJK",
         "TKM", "UKR", "UZB"])
    assert (ussr["first_year"] == 1992).all() and (ussr["last_year"] == 1991).all()
    # every successor's first year follows its predecessor's last year
    for pred, (_, last, succ, first) in SUCCESSORS.items():
        assert first == last + 1
        assert STATE_YEARS[pred][1] == last
        for s in succ:
            if s != "DEU":
                assert STATE_YEARS[s][0] == first
