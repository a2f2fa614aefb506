"""Country codes: map ISO2, UN M49 numeric, IMF names and English names to ISO3.

Tables used
-----------
* ISO 3166-1 (current countries: alpha-2, alpha-3, numeric, names) from ``pycountry``;
  former states keep their ISO 3166-3 alpha-3 codes (``SUCCESSORS`` below).
* ``tradeflows/data/countries/datahub_country_codes.csv.gz`` (datahub.io ``core/country-codes``):
  UN M49 region, sub-region and intermediate-region codes (all aggregates) and the UN / CLDR
  English names.
* ``tradeflows/data/countries/imf_name_iso3.csv``: IMF DOTS country names -> ISO3 (blank = an
  IMF aggregate such as "World" or "Europe not specified").
* The explicit tables below: UN Comtrade / BACI reporting codes that differ from ISO
  (e.g. 842 USA, 251 France, 490 "Other Asia, nes" = Taiwan) and the "nes" / special codes.

Former states and their successors (``SUCCESSORS``)
---------------------------------------------------
A former state keeps its own code (ISO 3166-3): USSR ``SUN`` (M49 810), Yugoslavia ``YUG``
(890), Czechoslovakia ``CSK`` (200), Serbia and Montenegro ``SCG`` (891), East Germany ``DDR``
(278), North and South Yemen ``YAR``/``YMD``. Sudan before South Sudan's independence is
``SDN`` (M49 736 "Former Sudan" maps to ``SDN``). The rule: flows of years before the
break-up stay with the predecessor's code and are never split between successors; from the
first successor year the successors are separate countries. ``STATE_YEARS`` gives the years
in which each code is a country; the panel keeps a flow only if both its countries exist in
that year (``exists_in_year``) and counts the others as dropped
(``country_not_existing_in_year`` in the build manifest). In IMF DOTS this mostly removes
partner rows still labelled "Yugoslavia" after 1991 (1992: USD 25 bn, 1993-2003: USD 0.6-2 bn a
year), "USSR" after 1991 and "Czechoslovakia" after 1992; they cannot be assigned to one
successor. Belgium-Luxembourg (``BLX``) and the Netherlands Antilles (``ANT``) have no year
limits: they are reporting units that coexist with their parts in some sources.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry

from tradeflows.config import PACKAGE_DATA
from tradeflows.errors import DataError

SCHEMES = ("iso3", "iso2", "m49", "imf", "name")

DATAHUB_FILE = PACKAGE_DATA / "countries" / "datahub_country_codes.csv.gz"
IMF_NAMES_FILE = PACKAGE_DATA / "countries" / "imf_name_iso3.csv"

SUCCESSORS_FILE = PACKAGE_DATA / "countries" / "successors.csv"
NAME_ALIASES_FILE = PACKAGE_DATA / "countries" / "name_aliases.csv"


def _read_successors() -> dict[str, tuple[str, int, tuple[str, ...], int]]:
    table = pd.read_csv(SUCCESSORS_FILE, dtype=str, keep_default_na=False)
    return {r.code: (r.name, int(r.last_year), tuple(r.successors.split()), int(r.first_year))
            for r in table.itertuples(index=False)}


# Former states (data: successors.csv): code -> (name, last year, successors, first year of
# the successors).
SUCCESSORS: dict[str, tuple[str, int, tuple[str, ...], int]] = _read_successors()
# South Sudan: Sudan (SDN) continues; South Sudan (SSD) exists from its independence year.
# Kosovo (XKX, not ISO) from its declaration of independence.
_LATER_STATES = {"SSD": 2011, "XKX": 2008}
# Successors that existed before the union (Germany absorbed the GDR): no first year.
_CONTINUING = frozenset({"DEU"})


def _state_years() -> dict[str, tuple[int | None, int | None]]:
    years: dict[str, tuple[int | None, int | None]] = {}
    for code, (_, last, successors, first) in SUCCESSORS.items():
        start = years.get(code, (None, None))[0]
        years[code] = (start, last)
        for s in successors:
            if s in _CONTINUING:
                continue
            prev_last = years.get(s, (None, None))[1]
            years[s] = (first, prev_last)
    years.update({c: (y, None) for c, y in _LATER_STATES.items()})
    return years


# ISO3 -> (first year, last year) in which the code is a country (None = unbounded).
STATE_YEARS: dict[str, tuple[int | None, int | None]] = _state_years()

# Codes outside ISO 3166-1 that are countries in trade data.
_EXTRA_COUNTRIES = {
    "BLX": "Belgium-Luxembourg (customs union, reported jointly)",
    "XKX": "Kosovo (code used by the IMF, World Bank and CEPII)",
    "ANT": "Netherlands Antilles",
    **{code: name for code, (name, *_rest) in SUCCESSORS.items()},
}

# UN Comtrade / BACI numeric codes that are not the ISO numeric code of the country.
M49_COUNTRY_EXTRA: dict[int, str] = {
    58: "BLX", 251: "FRA", 280: "DEU", 278: "DDR", 381: "ITA", 490: "TWN", 530: "ANT",
    532: "ANT", 579: "NOR", 699: "IND", 711: "ZAF", 720: "YMD", 736: "SDN", 757: "CHE",
    810: "SUN", 842: "USA", 886: "YAR", 890: "YUG", 891: "SCG", 200: "CSK", 412: "XKX",
    841: "USA", 158: "TWN",
}
# Numeric codes that are aggregates: World, EU, "nes" areas, bunkers, free zones, etc.
# (490 "Other Asia, nes" is Taiwan by UN Comtrade convention, not an aggregate.)
M49_AGGREGATES: frozenset[int] = frozenset({
    0, 97, 129, 221, 290, 471, 472, 473, 492, 527, 536, 568, 577, 636, 637, 697, 837, 838,
    839, 849, 879, 899, 918, 999,
})

_AGGREGATE_NAME = re.compile(
    r"\b(world|total|n\.?e\.?s\.?|not specified|not elsewhere|areas?|regions?|economies|"
    r"european union|euro area|eu-?\d+|countries|special categories|bunkers|free zones|"
    r"hemisphere|sub-saharan|customs area|other)\b", re.IGNORECASE)
_CONTINENTS = frozenset({"africa", "asia", "europe", "oceania", "americas", "america",
                         "north america", "south america", "latin america and the caribbean",
                         "middle east", "central asia", "caribbean"})
# Names used by UN Comtrade / BACI that no table above knows.
_NAME_ALIASES = dict(pd.read_csv(NAME_ALIASES_FILE, dtype=str, keep_default_na=False)
                     .itertuples(index=False, name=None))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(name).lower()).strip()


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict]:
    """Lookup tables: iso3 set, iso2 -> iso3, numeric -> iso3, normalized name -> iso3."""
    iso3 = {c.alpha_3 for c in pycountry.countries} | set(_EXTRA_COUNTRIES)
    iso2 = {c.alpha_2: c.alpha_3 for c in pycountry.countries}
    iso2.update({"XK": "XKX", "SU": "SUN", "YU": "YUG", "CS": "SCG", "DD": "DDR", "AN": "ANT"})
    numeric = {int(c.numeric): c.alpha_3 for c in pycountry.countries}
    numeric.update(M49_COUNTRY_EXTRA)
    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            if hasattr(c, attr):
                names[_norm(getattr(c, attr))] = c.alpha_3
    for code, label in _EXTRA_COUNTRIES.items():
        names[_norm(label.split(" (")[0])] = code
    hub = pd.read_csv(DATAHUB_FILE, dtype=str, keep_default_na=False)
    regions = set()
    for col in ("Region Code", "Sub-region Code", "Intermediate Region Code"):
        regions |= {int(float(v)) for v in hub[col] if v}
    for col in ("official_name_en", "UNTERM English Short", "CLDR display name"):
        for code, label in zip(hub["ISO3166-1-Alpha-3"], hub[col], strict=True):
            if code and label:
                names.setdefault(_norm(label), code)
    imf = pd.read_csv(IMF_NAMES_FILE, dtype=str, keep_default_na=False)
    imf_names = {row.imf_name: (row.iso3 or None) for row in imf.itertuples()}
    for label, code in imf_names.items():
        if code:
            names.setdefault(_norm(label), code)
    names.update(_NAME_ALIASES)
    return {"iso3": iso3, "iso2": iso2, "numeric": numeric, "names": names,
            "imf": imf_names, "regions": regions}


def _lookup(value: object, scheme: str) -> tuple[str | None, bool]:
    """(iso3 or None, is_aggregate); (None, False) means unknown."""
    t = _tables()
    if scheme == "iso3":
        code = str(value).strip().upper()
        if code in t["iso3"]:
            return code, False
        return None, code in {"WLD", "EUN", "EUU", "EU", "EMU", "XXX", "ZZZ", "WORLD"}
    if scheme == "iso2":
        code = str(value).strip().upper()
        return t["iso2"].get(code), code in {"W0", "W00", "EU", "XX", "ZZ", "B0", "U2"}
    if scheme == "m49":
        try:
            num = int(float(str(value).strip()))
        except ValueError:
            return None, False
        if num in t["numeric"]:
            return t["numeric"][num], False
        return None, num in M49_AGGREGATES or num in t["regions"]
    if scheme == "imf":
        text = str(value).strip()
        if text in t["imf"]:
            code = t["imf"][text]
            return code, code is None
        up = text.upper()
        if up in t["iso3"]:
            return up, False
        if up in t["iso2"]:
            return t["iso2"][up], False
        return None, up in {"W00", "W0", "B0", "U2"}
    if scheme == "name":
        text = str(value).strip()
        key = _norm(text)
        if key in t["names"]:
            return t["names"][key], False
        if text in t["imf"] and t["imf"][text] is None:
            return None, True
        try:
            return pycountry.countries.lookup(text).alpha_3, False
        except LookupError:
            return None, key in _CONTINENTS or bool(_AGGREGATE_NAME.search(text))
    raise ValueError(f"unknown country-code scheme {scheme!r}; expected one of {SCHEMES}")


def _classify(values: pd.Series, scheme: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown country-code scheme {scheme!r}; expected one of {SCHEMES}")
    idx, uniq = pd.factorize(values, use_na_sentinel=True)
    looked = [_lookup(v, scheme) for v in uniq]
    codes = np.array([c for c, _ in looked] + [None], dtype=object)
    aggs = np.array([a for _, a in looked] + [False], dtype=bool)
    code = pd.Series(codes[idx], index=values.index, dtype=object)
    agg = pd.Series(aggs[idx], index=values.index)
    unknown = pd.Series(idx >= 0, index=values.index) & code.isna() & ~agg
    return code, agg, unknown


def to_iso3(values: pd.Series, scheme: str, file: str | Path | None = None) -> pd.Series:
    """Map country codes or names to ISO3 strings; aggregates (World, EU, nes areas) give NaN.

    ``scheme``: "iso3", "iso2", "m49" (UN / Comtrade / BACI numeric), "imf" (IMF DOTS names
    or IMF SDMX codes), "name" (English names). An unknown code raises ``DataError`` naming
    ``file``, the row and the code.
    """
    code, _, unknown = _classify(pd.Series(values), scheme)
    if unknown.any():
        pos = int(np.flatnonzero(unknown.to_numpy())[0])
        bad = sorted({str(v) for v in pd.Series(values)[unknown.to_numpy()]})
        raise DataError(f"unknown {scheme} country code(s) {bad[:10]}; expected a country or "
                        "a known aggregate", file=file, row=pos)
    return code.astype(object).where(code.notna(), np.nan)


def is_aggregate(values: pd.Series, scheme: str) -> pd.Series:
    """True where the code is an aggregate (World, EU, region, "nes"), not a country."""
    return _classify(pd.Series(values), scheme)[1]


def harmonize(df: pd.DataFrame, columns: list[str] | tuple[str, ...], scheme: str,
              file: str | Path | None = None, *, unknown: str = "raise"
              ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Map ``columns`` to ISO3 in place of the codes; drop rows where any is an aggregate.

    Returns the new frame (index reset) and ``drops``: ``{"aggregate_<column>": rows}``.
    An unknown code raises ``DataError`` naming ``file``, the row (the frame's index label,
    i.e. the data row of the file when the frame was read as is) and the column; with
    ``unknown="drop"`` such rows are removed and counted as ``"unknown_code_<column>"``.
    """
    if unknown not in ("raise", "drop"):
        raise ValueError(f"unknown={unknown!r}; expected 'raise' or 'drop'")
    out = df.copy()
    keep = np.ones(len(out), dtype=bool)
    drops: dict[str, int] = {}
    for col in columns:
        if col not in out.columns:
            raise DataError(f"missing country column; found {list(out.columns)}",
                            file=file, column=col)
        code, agg, bad = (s.to_numpy() for s in _classify(out[col], scheme))
        if bad.any() and unknown == "raise":
            pos = int(np.flatnonzero(bad)[0])
            raise DataError(f"unknown {scheme} country code {out[col].iloc[pos]!r}; expected "
                            "a country or a known aggregate", file=file, row=out.index[pos],
                            column=col)
        drops[f"aggregate_{col}"] = int((agg & keep).sum())
        if unknown == "drop":
            drops[f"unknown_code_{col}"] = int((bad & keep).sum())
        keep &= ~agg & ~bad
        out[col] = code
    return out[keep].reset_index(drop=True), drops


def exists_in_year(codes: pd.Series, years: pd.Series) -> pd.Series:
    """True where ISO3 ``codes`` is a country in ``years`` under the ``STATE_YEARS`` rule."""
    idx, uniq = pd.factorize(pd.Series(codes).astype(object), use_na_sentinel=True)
    lo = np.array([(STATE_YEARS.get(c, (None, None))[0] or -10**6) for c in uniq] + [-10**6])
    hi = np.array([(STATE_YEARS.get(c, (None, None))[1] or 10**6) for c in uniq] + [10**6])
    y = pd.Series(years).to_numpy().astype("int64")
    return pd.Series((y >= lo[idx]) & (y <= hi[idx]))


def successor_table() -> pd.DataFrame:
    """The former-state table: predecessor, name, last_year, successor, first_year."""
    rows = [(code, name, last, s, first)
            for code, (name, last, succ, first) in SUCCESSORS.items() for s in succ]
    return pd.DataFrame(rows, columns=["predecessor", "name", "last_year", "successor",
                                       "first_year"])


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """ISO3 -> short English name for display (the code table's CLDR display name, else
    pycountry's common or short name; former states and non-ISO codes by their label)."""
    names = {c.alpha_3: getattr(c, "common_name", c.name) for c in pycountry.countries}
    hub = pd.read_csv(DATAHUB_FILE, dtype=str, keep_default_na=False)
    for code, label in zip(hub["ISO3166-1-Alpha-3"], hub["CLDR display name"], strict=True):
        if code and label:
            names[code] = label
    names.update({code: label.split(" (")[0] for code, label in _EXTRA_COUNTRIES.items()})
    return names


def country_name(code: str) -> str:
    """Display name of an ISO3 ``code`` (the code itself if unknown)."""
    return country_names().get(str(code), str(code))
