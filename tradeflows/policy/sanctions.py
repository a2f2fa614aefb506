"""Sanctions on the targets of ``policy_targets.csv`` and COVID-19 border closures, as
country-year spells.

Sanction spells are ``shock`` rows whose ``institution_or_corridor`` names sanctions on the
target (``... sanctions on <name>``, the target's name in ``policy_targets.csv``); the
sanctioning side is the row's
``partner_iso3`` (``EU`` = the EU members of each year). A *relief* row
(``Sanctions relief ...``, e.g. the JCPOA Implementation Day 2016-01-16) ends every
open-ended sanction on the same target that started before it, on the day before the relief.
Sanctions starting after the relief (the 2018 US re-imposition) are not affected.
COVID-19 closures: ``shock`` rows ``COVID-19 border closures``; their end dates were not
collected, so an open-ended closure counts for its start year only (documented assumption).
All are in force for year t if in force on 1 July of t.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from tradeflows.config import PACKAGE_DATA
from tradeflows.policy.events import years_in_force

#: Countries the policy layer's rules name (data: sanction targets and their waves, the
#: northern transit country of ``uses_northern``): ``rule, country_iso3, name, variable,
#: from_date``.
TARGETS_FILE = PACKAGE_DATA / "policy_targets.csv"


@cache
def policy_targets(rule: str) -> pd.DataFrame:
    """Rows of :data:`TARGETS_FILE` for ``rule`` (``sanction_target``, ``sanction_wave``,
    ``northern_transit``), in file order."""
    table = pd.read_csv(TARGETS_FILE, dtype=str, keep_default_na=False)
    return table[table["rule"] == rule].reset_index(drop=True)


def target_name(target: str) -> str:
    """The name of sanction target ``target`` (ISO3) as the event rows write it."""
    rows = policy_targets("sanction_target")
    names = rows.loc[rows["country_iso3"] == target, "name"]
    if names.empty:
        raise KeyError(f"{target!r} is not a sanction target of {TARGETS_FILE.name}")
    return str(names.iloc[0])


def sanction_spells(target: str, events: pd.DataFrame) -> pd.DataFrame:
    """Spells ``event_id, target, sanctioner, start, end`` of sanctions on ``target`` (ISO3)."""
    name = target_name(target)
    shocks = events[(events["kind"] == "shock") & (events["country_iso3"] == target)]
    inst = shocks["institution_or_corridor"]
    rows = shocks[inst.str.contains(f"sanctions on {name}", case=False, regex=False)
                  & ~inst.str.startswith("Sanctions relief") & (shocks["partner_iso3"] != "")]
    spells = pd.DataFrame({"event_id": rows["event_id"], "target": target,
                           "sanctioner": rows["partner_iso3"], "start": rows["start"],
                           "end": rows["end"]})
    for relief in shocks[inst.str.startswith("Sanctions relief")].itertuples(index=False):
        hit = spells["end"].isna() & (spells["start"] < relief.start)
        spells.loc[hit, "end"] = relief.start - pd.Timedelta(days=1)
    return spells.reset_index(drop=True)


def covid_spells(events: pd.DataFrame) -> pd.DataFrame:
    """Spells ``country, start, end`` of COVID-19 border closures (open end -> 31 Dec)."""
    rows = events[(events["kind"] == "shock")
                  & (events["institution_or_corridor"] == "COVID-19 border closures")]
    end = rows["end"].fillna(pd.to_datetime(rows["start"].dt.year.astype(str) + "-12-31"))
    return pd.DataFrame({"country": rows["country_iso3"], "start": rows["start"],
                         "end": end}).reset_index(drop=True)


def spell_years(spells: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """The spells crossed with the years they are in force: spells' columns + ``year``."""
    years_arr = np.asarray(sorted(set(int(y) for y in years)))
    hit = years_in_force(spells["start"], spells["end"], years_arr)
    i, j = np.nonzero(hit)
    return spells.iloc[i].assign(year=years_arr[j]).reset_index(drop=True)
