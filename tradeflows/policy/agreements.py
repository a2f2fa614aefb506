"""Trade agreements in force between pairs: free-trade areas / customs unions (``fta``) and
partial-scope preferential agreements (``pta``).

``fta`` is 1 for a pair-year if both countries are members of the EU, the Customs
Union/EAEU or the CIS FTA, or if one of the agreements of :func:`agreements` is in force
between them (on 1 July of the year). The agreements are data (``agreements.csv``); each is
dated by one event row: the entry into force (or provisional application) where the events
give it, else the signature (see ``events_README.md``, which also lists the agreements left
out and why).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from tradeflows.config import PACKAGE_DATA
from tradeflows.errors import DataError
from tradeflows.policy.events import years_in_force
from tradeflows.policy.memberships import EFTA_MEMBERS, members_by_year

#: Institutions whose members all trade freely with each other.
PLURILATERAL = ("eu", "eaeu", "cis_fta")


@dataclass(frozen=True)
class Agreement:
    """An agreement dated by ``event_id`` between ``side_a`` and ``side_b``.

    A side is an ISO3 code, ``EU``/``EFTA`` (members in that year) or ``@<institution>``
    (members of an institution of :mod:`tradeflows.policy.memberships` in that year).
    """

    event_id: str
    side_a: str
    side_b: str
    kind: str = "fta"  # "fta" or "pta"


#: The bilateral agreements (data: ``tradeflows/data/agreements.csv``, one row per agreement).
AGREEMENTS_FILE = PACKAGE_DATA / "agreements.csv"


@cache
def agreements() -> tuple[Agreement, ...]:
    """The agreements of :data:`AGREEMENTS_FILE` (``event_id, side_a, side_b, kind``)."""
    table = pd.read_csv(AGREEMENTS_FILE, dtype=str, keep_default_na=False)
    bad = table.index[~table["kind"].isin(["fta", "pta"])]
    if len(bad):
        raise DataError("kind must be fta or pta", file=AGREEMENTS_FILE, row=int(bad[0]) + 2,
                        column="kind")
    return tuple(Agreement(r.event_id, r.side_a, r.side_b, r.kind)
                 for r in table.itertuples(index=False))


def _side(code: str, year: int, groups: dict[str, dict[int, frozenset[str]]]) -> frozenset[str]:
    if code.startswith("@"):
        return groups[code[1:]][year]
    if code == "EU":
        return groups["eu"][year]
    if code == "EFTA":
        return EFTA_MEMBERS
    return frozenset({code})


def agreement_pairs(years: list[int], events: pd.DataFrame) -> pd.DataFrame:
    """Ordered pairs with an agreement in force: ``year, exporter, importer, fta, pta`` (0/1).

    Both directions are listed; a pair never includes a country with itself; ``pta`` is 0
    where an FTA is in force.
    """
    years = sorted(set(int(y) for y in years))
    groups = {name: members_by_year(name, years, events) for name in PLURILATERAL}
    rows: list[tuple[int, str, str, str]] = []
    for name in PLURILATERAL:
        for year, mem in groups[name].items():
            rows += [(year, a, b, "fta") for a in mem for b in mem if a != b]
    ev = events.set_index("event_id")
    for agr in agreements():
        if agr.event_id not in ev.index:
            continue
        row = ev.loc[[agr.event_id]]
        in_force = years_in_force(row["start"], row["end"], np.asarray(years))[0]
        for year in np.asarray(years)[in_force]:
            side_a = _side(agr.side_a, int(year), groups)
            side_b = _side(agr.side_b, int(year), groups)
            for a in side_a:
                for b in side_b:
                    if a != b:
                        rows += [(int(year), a, b, agr.kind), (int(year), b, a, agr.kind)]
    df = pd.DataFrame(rows, columns=["year", "exporter", "importer", "kind"])
    df = df.assign(fta=df["kind"] == "fta", pta=df["kind"] == "pta")
    out = df.groupby(["year", "exporter", "importer"])[["fta", "pta"]].any()
    out["pta"] &= ~out["fta"]  # a partial-scope agreement superseded by an FTA
    return out.astype("int8").reset_index()
