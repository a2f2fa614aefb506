"""Member sets of institutions over time, from the event table and two sourced tables.

Each institution's membership is a set of spells (country, start, end). Spells come from
event rows (kinds ``membership``/``accession``, or ``observer`` for observer sets); a
``withdrawal`` row of the same institution ends the country's spell the day before it takes
effect; an ``end_date`` on the row ends it too (inclusive). EU membership comes from
``data/eu_members.csv`` and WTO membership from ``data/wto_members.csv`` (the WTO's member
list; event rows fill in countries missing from it). Dates follow the rules of
:mod:`tradeflows.policy.events` (partial dates; in force for year t if in force on 1 July).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from tradeflows.config import PACKAGE_DATA
from tradeflows.errors import DataError, SpecificationError
from tradeflows.policy.events import load_events, years_in_force

EU_FILE = PACKAGE_DATA / "eu_members.csv"
WTO_FILE = PACKAGE_DATA / "wto_members.csv"
#: Reporting aggregates that share a member's dates: the Belgium-Luxembourg Economic Union
#: (``BLX``, reported jointly in older trade data) has the dates of BEL (= those of LUX).
CODE_ALIASES = {"BLX": "BEL"}
#: Members of the European Free Trade Association (unchanged since 1995), for code ``EFTA``.
EFTA_MEMBERS = frozenset({"CHE", "ISL", "LIE", "NOR"})


@dataclass(frozen=True)
class Institution:
    """Which event rows make a country a member of an institution."""

    key: str
    title: str
    names: str  # regex on institution_or_corridor
    kinds: frozenset[str] = frozenset({"membership", "accession"})
    id_pattern: str | None = None  # regex the event_id must match (e.g. entry into force)
    table: str | None = None  # "eu" or "wto": sourced date table used in addition


_OTS = r"OTS( \(Turkic Council\))?"
INSTITUTIONS: dict[str, Institution] = {i.key: i for i in (
    Institution("ots", "Organization of Turkic States (Turkic Council) members", _OTS),
    Institution("ots_observer", "Organization of Turkic States observers", _OTS,
                kinds=frozenset({"observer"})),
    Institution("eaeu", "Customs Union (2010-2014) and its successor the Eurasian Economic "
                "Union (2015-)", r"EAEU|Customs Union \([A-Z]{3}-[A-Z]{3}-[A-Z]{3}\)"),
    Institution("cis_fta", "CIS Free Trade Area (2011 treaty), from its entry into force for "
                "each party", r"CIS FTA \(2011 Treaty\)", kinds=frozenset({"agreement"}),
                id_pattern=r"(?:^|-)EIF(?:-|$)"),
    Institution("wto", "World Trade Organization members", "WTO", table="wto"),
    Institution("sco", "Shanghai Cooperation Organisation members", "SCO"),
    Institution("sco_partner", "SCO observers and dialogue partners", "SCO",
                kinds=frozenset({"observer"})),
    Institution("eco", "Economic Cooperation Organization members", "ECO"),
    Institution("guam", "GUAM Organization for Democracy and Economic Development members",
                "GUAM"),
    Institution("cica", "Conference on Interaction and Confidence-Building Measures in Asia",
                "CICA"),
    Institution("eu", "European Union (European Communities before 1993) members", r"(?!)",
                table="eu"),
)}
_ALIASES = {"organization of turkic states": "ots", "turkic council": "ots",
            "customs union": "eaeu", "customs union/eaeu": "eaeu", "cis fta": "cis_fta",
            "european union": "eu"}


def institution(name: str) -> Institution:
    """The :class:`Institution` for a key or alias (case-insensitive), e.g. ``"OTS"``."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in INSTITUTIONS:
        raise SpecificationError(f"unknown institution {name!r}; known: {sorted(INSTITUTIONS)}")
    return INSTITUTIONS[key]


def _table_spells(which: str) -> pd.DataFrame:
    if which == "eu":
        df = pd.read_csv(EU_FILE, dtype=str, keep_default_na=False)
        start, end = pd.to_datetime(df["accession_date"]), pd.to_datetime(df["exit_date"])
    else:
        df = pd.read_csv(WTO_FILE, dtype=str, keep_default_na=False)
        start, end = pd.to_datetime(df["membership_date"]), pd.Series(pd.NaT, index=df.index)
    if df["country_iso3"].duplicated().any():
        raise DataError("duplicate country_iso3", file=EU_FILE if which == "eu" else WTO_FILE)
    return pd.DataFrame({"country": df["country_iso3"], "start": start, "end": end,
                         "source": which + "_table"})


def membership_spells(name: str, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spells ``country, start, end, source`` of an institution (``end`` NaT = ongoing)."""
    inst = institution(name)
    ev = load_events() if events is None else events
    of_inst = ev["institution_or_corridor"].str.fullmatch(inst.names) & (ev["country_iso3"] != "")
    rows = ev[of_inst & ev["kind"].isin(inst.kinds)]
    if inst.id_pattern is not None:
        rows = rows[rows["event_id"].str.contains(inst.id_pattern, flags=re.IGNORECASE)]
    spells = pd.DataFrame({"country": rows["country_iso3"], "start": rows["start"],
                           "end": rows["end"], "source": rows["event_id"]})
    if inst.table is not None:
        table = _table_spells(inst.table)
        spells = pd.concat([table, spells[~spells["country"].isin(table["country"])]])
    withdrawals = ev[of_inst & (ev["kind"] == "withdrawal")]
    for row in withdrawals.itertuples(index=False):
        hit = (spells["country"] == row.country_iso3) & (spells["start"] < row.start)
        last_day = row.start - pd.Timedelta(days=1)
        spells.loc[hit, "end"] = spells.loc[hit, "end"].where(
            spells.loc[hit, "end"] < last_day, last_day)
    for alias, code in CODE_ALIASES.items():
        if alias not in set(spells["country"]):
            spells = pd.concat([spells, spells[spells["country"] == code].assign(country=alias)])
    return spells.reset_index(drop=True)


def members(name: str, when: str | date | pd.Timestamp,
            events: pd.DataFrame | None = None) -> frozenset[str]:
    """Codes of the members of institution ``name`` on the date ``when`` (end dates inclusive)."""
    spells = membership_spells(name, events)
    t = pd.Timestamp(when)
    on = (spells["start"].isna() | (spells["start"] <= t)) & (
        spells["end"].isna() | (t <= spells["end"]))
    return frozenset(spells.loc[on, "country"])


def member_years(name: str, years: np.ndarray | list[int],
                 events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long table ``country, year`` of members in force on 1 July of each year."""
    spells = membership_spells(name, events)
    years = np.asarray(sorted(set(int(y) for y in years)))
    hit = years_in_force(spells["start"], spells["end"], years)
    i, j = np.nonzero(hit)
    out = pd.DataFrame({"country": spells["country"].to_numpy()[i], "year": years[j]})
    return out.drop_duplicates().reset_index(drop=True)


def members_by_year(name: str, years: Iterable[int],
                    events: pd.DataFrame | None = None) -> dict[int, frozenset[str]]:
    """``{year: members in force on 1 July}`` for each year."""
    table = member_years(name, list(years), events)
    groups = table.groupby("year")["country"].agg(frozenset).to_dict()
    return {int(y): groups.get(int(y), frozenset()) for y in years}
