"""Member sets at dates, checked against the event table, dates by hand, and an independent
country-group table (GeoDataSource, bundled in data/raw/country_codes)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pycountry
import pytest

from tradeflows.config import paths
from tradeflows.errors import SpecificationError
from tradeflows.policy import load_events, members
from tradeflows.policy.memberships import member_years, membership_spells

GROUPS = paths().raw / "country_codes" / "geodatasource_country_groups.csv"


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return load_events()


def test_uzbekistan_joins_ots(events: pd.DataFrame) -> None:
    assert "UZB" in members("OTS", "2019-10-15", events)
    assert "UZB" not in members("OTS", "2019-10-01", events)
    assert members("ots", "2019-10-01", events) == {"AZE", "KAZ", "KGZ", "TUR"}
    yearly = member_years("ots", [2019, 2020], events)
    assert set(yearly.loc[yearly["year"] == 2019, "country"]) == {"AZE", "KAZ", "KGZ", "TUR"}
    assert "UZB" in set(yearly.loc[yearly["year"] == 2020, "country"])


def test_ots_observers(events: pd.DataFrame) -> None:
    assert members("ots_observer", "2018-09-02", events) == frozenset()
    assert members("ots_observer", "2018-09-03", events) == {"HUN"}
    assert members("ots_observer", "2023-01-01", events) == {"HUN", "TKM", "TRNC"}


def test_eaeu_and_customs_union(events: pd.DataFrame) -> None:
    for when in ("2015-01-01", "2015-07-01", "2015-12-31"):
        assert {"KAZ", "RUS"} <= members("EAEU", when, events)
    assert members("eaeu", "2012-07-01", events) == {"BLR", "KAZ", "RUS"}  # customs union
    assert members("eaeu", "2009-12-31", events) == frozenset()
    assert "KGZ" not in members("eaeu", "2015-08-05", events)
    assert "KGZ" in members("eaeu", "2015-08-06", events)
    assert members("eaeu", "2016-07-01", events) == {"ARM", "BLR", "KAZ", "KGZ", "RUS"}


def test_withdrawal_and_end_dates(events: pd.DataFrame) -> None:
    assert "UZB" in members("guam", "2003-01-01", events)
    assert "UZB" not in members("guam", "2006-01-01", events)
    assert members("guam", "2010-07-01", events) == {"AZE", "GEO", "MDA", "UKR"}
    # a withdrawal row ends a spell the day before it takes effect
    extra = pd.DataFrame([{**events.iloc[0].to_dict(), "event_id": "X-WD", "kind": "withdrawal",
                           "country_iso3": "KGZ", "start": pd.Timestamp("2020-01-01")}])
    ev = pd.concat([events, extra], ignore_index=True)
    assert "KGZ" in members("ots", "2019-12-31", ev)
    assert "KGZ" not in members("ots", "2020-01-01", ev)


def test_cis_fta_entry_into_force(events: pd.DataFrame) -> None:
    assert members("cis_fta", "2012-09-19", events) == {"ARM", "KAZ"}  # "2012" = 1 July 2012
    assert members("cis_fta", "2012-09-20", events) == {"ARM", "BLR", "KAZ", "RUS", "UKR"}
    assert members("cis_fta", "2016-07-01", events) == {
        "ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK", "UKR", "UZB"}
    assert "AZE" not in members("cis_fta", "2024-07-01", events)


def test_wto_table_agrees_with_events(events: pd.DataFrame) -> None:
    table = membership_spells("wto", events).set_index("country")
    rows = events[(events["institution_or_corridor"] == "WTO")
                  & events["kind"].isin(["accession"]) & (events["confidence"] == "high")]
    assert len(rows) == 7
    for row in rows.itertuples():
        assert table.loc[row.country_iso3, "start"] == row.start, row.event_id
    assert "KAZ" not in members("wto", "2015-11-29", events)
    assert "KAZ" in members("wto", "2015-11-30", events)
    assert not {"AZE", "UZB", "TKM", "IRN"} & members("wto", "2024-07-01", events)
    # + the EU itself = 166 members
    assert len(members("wto", "2025-01-01", events) - {"BLX"}) == 165


def test_eu_accessions(events: pd.DataFrame) -> None:
    assert "GBR" in members("eu", "2020-01-31", events)
    assert "GBR" not in members("eu", "2020-02-01", events)
    assert "HRV" in members("EU", "2013-07-01", events)
    assert len(members("eu", "1994-07-01", events) - {"BLX"}) == 12
    assert len(members("eu", "2004-05-01", events) - {"BLX"}) == 25
    assert len(members("eu", "2019-07-01", events) - {"BLX"}) == 28
    assert "BLX" in members("eu", "1990-07-01", events)  # Belgium-Luxembourg aggregate


def _group(code: str) -> set[str]:
    g = pd.read_csv(GROUPS, keep_default_na=False)
    return {pycountry.countries.get(alpha_2=c).alpha_3 for c in g.loc[g["group_code"] == code,
                                                                       "country_code"]}


@pytest.mark.skipif(not Path(GROUPS).exists(), reason="bundled country groups not present")
def test_against_independent_group_table(events: pd.DataFrame) -> None:
    # GeoDataSource groups describe c. 2020 (before Iran joined the SCO in 2023)
    when = "2021-07-01"
    assert members("eaeu", when, events) == _group("EAEU")
    assert members("eco", when, events) == _group("ECO")
    assert members("sco", when, events) == _group("SCO")
    # the group table lists Oman ("OM") where Romania ("RO") belongs: its only difference
    assert (members("eu", when, events) - {"BLX"}) ^ _group("EU") == {"ROU", "OMN"}


def test_unknown_institution() -> None:
    with pytest.raises(SpecificationError, match="unknown institution 'NATO'"):
        members("NATO", "2020-01-01")


# Independent transcriptions of published WTO member lists (not the source of wto_members.csv):
# https://patidvl.wixsite.com/euwto/members (members on 1 January 1995 and the 1995 dates) and
# https://lawin.org/history-of-the-world-trade-organization/ (dates, countries A-D).
WTO_ORIGINAL_1995_01_01 = (
    "ATG ARG AUS AUT BHR BGD BRB BEL BLZ BRA BRN CAN CHL CRI CIV CZE DNK DMA FIN FRA GAB DEU GHA "
    "GRC GUY HND HKG HUN ISL IND IDN IRL ITA JPN KEN KOR KWT LUX MAC MYS MLT MUS MEX MAR MMR NAM "
    "NLD NZL NGA NOR PAK PRY PER PHL PRT ROU LCA VCT SEN SGP SVK ZAF ESP LKA SUR SWZ SWE TZA THA "
    "UGA GBR USA URY VEN ZMB").split()
WTO_DATES = {
    "DOM": "1995-03-09", "JAM": "1995-03-09", "COL": "1995-04-30", "TTO": "1995-03-01",
    "ZWE": "1995-03-05", "SLV": "1995-05-07", "BWA": "1995-05-31", "CAF": "1995-05-31",
    "DJI": "1995-05-31", "GNB": "1995-05-31", "LSO": "1995-05-31", "MWI": "1995-05-31",
    "MDV": "1995-05-31", "MLI": "1995-05-31", "MRT": "1995-05-31", "TGO": "1995-05-31",
    "BFA": "1995-06-03", "EGY": "1995-06-30", "POL": "1995-07-01", "CHE": "1995-07-01",
    "GTM": "1995-07-21", "BDI": "1995-07-23", "SLE": "1995-07-23", "MOZ": "1995-08-26",
    "LIE": "1995-09-01", "AFG": "2016-07-29", "ALB": "2000-09-08", "AGO": "1996-11-23",
    "ARM": "2003-02-05", "BEN": "1996-02-22", "BOL": "1995-09-12", "BGR": "1996-12-01",
    "CPV": "2008-07-23", "KHM": "2004-10-13", "CMR": "1995-12-13", "TCD": "1996-10-19",
    "CHN": "2001-12-11", "COG": "1997-03-27", "HRV": "2000-11-30", "CUB": "1995-04-20",
    "CYP": "1995-07-30", "KGZ": "1998-12-20", "LVA": "1999-02-10", "EST": "1999-11-13",
    "GEO": "2000-06-14", "LTU": "2001-05-31", "MDA": "2001-07-26",
}


def test_wto_table_against_published_lists(events: pd.DataFrame) -> None:
    table = membership_spells("wto", events).set_index("country")["start"]
    originals = set(table[table == pd.Timestamp("1995-01-01")].index) - {"BLX"}
    assert originals == set(WTO_ORIGINAL_1995_01_01)
    for country, when in WTO_DATES.items():
        assert table[country] == pd.Timestamp(when), country


@pytest.mark.parametrize(("when", "published"), [
    ("1995-01-01", 76),   # "76 governments became members of the WTO on its first day"
    ("2008-07-23", 153),  # WTO membership 153 (Cabo Verde, 23 July 2008)
    ("2012-12-31", 157),  # "Montenegro, Russia, Samoa and Vanuatu ... raising the number ... to 157"
    ("2016-07-29", 164),  # Afghanistan, 164th member
    ("2024-08-30", 166),  # Timor-Leste, 166th member
])
def test_wto_member_counts(events: pd.DataFrame, when: str, published: int) -> None:
    # published counts include the EU itself
    assert len(members("wto", when, events) - {"BLX"}) + 1 == published
