"""Pair-year policy variables for the gravity panel, and the catalog of every variable.

All variables follow one part-year rule: something is in force for year t if it is in force
on 1 July of t (partial dates: ``YYYY`` = 1 July, ``YYYY-MM`` = the 1st of the month).
Dummies are ``int8`` 0/1 and are 0 on domestic rows (exporter == importer), so that
country-level shocks are identified against exporter-year / importer-year fixed effects
(international flows only). Route variables are floats, NaN outside the network.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.config import PACKAGE_DATA
from tradeflows.errors import DataError
from tradeflows.policy.agreements import agreement_pairs
from tradeflows.policy.corridors import (
    ROUTE_COLUMNS,
    RouteScenario,
    lookup_routes,
    route_index,
)
from tradeflows.policy.events import load_events
from tradeflows.policy.memberships import member_years, members_by_year
from tradeflows.policy.sanctions import (
    covid_spells,
    policy_targets,
    sanction_spells,
    spell_years,
)

#: Panel columns of external RTA indicators combined into ``fta`` when present: ``rta`` (the
#: WTO/UNCTAD guide data) and ``fta_wto`` (CEPII Gravity).
RTA_COLUMNS = ("rta", "fta_wto")
#: Institutions turned into ``both_<key>`` (and ``one_<key>``) pair dummies.
BOTH = ("ots", "eaeu", "cis_fta", "wto", "sco", "eco", "guam", "eu")
ONE = ("ots", "wto")
_EVENTS = "events.csv (tradeflows/data; sources per row, see events_README.md)"
_RULE = " In force for year t if in force on 1 July of t."
_ROUTE_RULE = (" Network of 1 July of t; NaN outside the network (countries other than those of"
               " corridor_nodes.csv, and the EU node shared by EU members, EFTA members and"
               " the UK).")

_DOTS = ("IMF DOTS (data/raw/imf_dots_2020), national statistics "
         "(data/raw/national_trade_by_partner), Eurostat EU27 exports "
         "(data/raw/eurostat_eu27_exports, EUR -> USD at data/raw/ecb_eurusd), full-year exact "
         "press figures (data/raw/press_bilateral_trade_2019_2025), added BACI/CEPII files; "
         "tradeflows.panel")
_MIRROR = _DOTS + "; rule in tradeflows.panel.mirror"
_GEO = "CEPII GeoDist (data/raw/cepii_geodist); tradeflows.panel.covariates"
#: Columns of the panel built by ``tradeflows.panel`` before the policy variables are added
#: (definitions from its module docstrings; see tradeflows.panel.mirror and .square).
_PANEL: list[tuple[str, str, str]] = [
    ("year", "Calendar year.", _DOTS),
    ("exporter", "ISO3 code of the exporting country (after harmonization).", _DOTS),
    ("importer", "ISO3 code of the importing country.", _DOTS),
    ("trade", "Exports of exporter to importer, FOB US dollars, by the mirror rule of the build "
     "(default v2): an energy exporter's own report if not estimated; else the importer's "
     "report / 1.06 (CIF/FOB) if not estimated, else the exporter's report, else estimates; "
     "0 = a reported zero or a partner the reporter left out; NaN = nobody reported.",
     _MIRROR),
    ("trade_basis", "Which report gave `trade` (importer_cif, exporter_fob, *_estimated, "
     "zero_not_listed, none).", _DOTS),
    ("trade_source", "Source family of the value in `trade` (imf_dots, national, eurostat, "
     "reported_press, baci, ...; for a zero, the family of the listing that makes it zero; "
     "empty when nobody reported). Source-consistent samples keep a pair's series within one "
     "family or give each (pair, family) its own fixed effect "
     "(tradeflows.panel.sample.source_consistent).", _DOTS),
    ("trade_side", "Which side's report gave `trade`: importer or exporter (for a zero: whose "
     "partner list leaves the other out); empty when nobody reported.", _DOTS),
    ("trade_rule", "Mirror-rule step that chose `trade`: energy_exporter_report (v2: the "
     "exporter is on the World Bank's energy-exporter list, tradeflows/data/"
     "energy_exporters.csv, and its own report is not estimated) or importer_first (the "
     "importer's report, else the exporter's, else estimates); empty for zeros and missing.",
     _MIRROR),
    ("trade_other_rule", "`trade` under the other mirror rule (importer_first when the build "
     "used v2, and vice versa), FOB USD: the robustness value.", _MIRROR),
    ("rule_moved", "True when the two mirror rules give different values for the pair-year "
     "(listed in data/processed/mirror_moves.parquet; counted in the manifest).", _MIRROR),
    ("mirror_case", "How the two reports compare, both usable (present, not estimated): "
     "agree (neither exceeds 2 times the other after CIF/FOB), exporter_higher (pipeline "
     "energy the importer records elsewhere, or re-exports the importer records by origin), "
     "importer_higher (e.g. non-monetary gold the exporter leaves out, cargoes attributed to "
     "an intermediary); one_report; none.", _MIRROR),
    ("mirror_ratio", "Exporter's report / (importer's report / 1.06); NaN unless both are "
     "usable and positive.", _MIRROR),
    ("exports_reported", "Exporter's report, FOB USD (NaN = not reported).", _DOTS),
    ("imports_reported", "Importer's report, CIF USD (NaN = not reported).", _DOTS),
    ("exports_estimated", "The exporter's report is a publisher's estimate.", _DOTS),
    ("imports_estimated", "The importer's report is a publisher's estimate.", _DOTS),
    ("exports_source", "Source of the exporter's report.", _DOTS),
    ("imports_source", "Source of the importer's report.", _DOTS),
    ("domestic", "True for exporter == importer (intra-national flow).", _DOTS),
    ("eu_aggregate", "True on the rows of the EU27 as one exporter (exporter EUU; Eurostat "
     "exports FOB converted at the ECB annual EUR/USD rate; 0 for a country Eurostat does not "
     "list). Member states' own reports stay in their own rows: drop these rows (the default "
     "sample does) before totals or estimation, or nothing is counted twice.",
     "Eurostat Comext (data/raw/eurostat_eu27_exports), ECB (data/raw/ecb_eurusd); "
     "tradeflows.panel.aggregate"),
    ("dist", "Distance in km between the two countries' most populated cities.", _GEO),
    ("ln_dist", "Natural log of `dist`.", _GEO),
    ("contig", "1 if the two countries share a land border.", _GEO),
    ("comlang_off", "1 if the two countries share an official language.", _GEO),
    ("colony", "1 if the pair was ever in a colonial relationship.", _GEO),
    ("gdp_exporter", "GDP of the exporter, current USD (NaN outside the WDI years).",
     "World Bank WDI (data/raw/wdi_gdp_pop); tradeflows.panel.covariates"),
    ("gdp_importer", "GDP of the importer, current USD.",
     "World Bank WDI (data/raw/wdi_gdp_pop); tradeflows.panel.covariates"),
]

#: Definitions of the policy variables (data: name, definition, source; sources naming
#: ``events.csv`` point to its rows). The year rule is appended by :func:`variable_catalog`.
POLICY_VARIABLES_FILE = PACKAGE_DATA / "policy_variables.csv"


@cache
def _policy_catalog() -> list[tuple[str, str, str]]:
    table = pd.read_csv(POLICY_VARIABLES_FILE, dtype=str, keep_default_na=False)
    return list(table[["name", "definition", "source"]].itertuples(index=False, name=None))


def policy_variable_names() -> list[str]:
    """Names of the columns :func:`add_policy_variables` adds, in order."""
    return [name for name, _, _ in _policy_catalog()]


def variable_catalog() -> pd.DataFrame:
    """Every panel variable: ``name, definition, source``.

    The panel's own columns first (built by :mod:`tradeflows.panel`), then the policy
    variables of :func:`add_policy_variables` (their definitions state the year rule).
    """
    rows = _PANEL + [(n, d + (_ROUTE_RULE if n.startswith(("route_", "uses_")) else _RULE), s)
                     for n, d, s in _policy_catalog()]
    return pd.DataFrame(rows, columns=["name", "definition", "source"])


def _events(events: pd.DataFrame | str | Path | None) -> pd.DataFrame:
    if events is None or isinstance(events, str | Path):
        return load_events(events)
    if not {"start", "end", "event_id"} <= set(events.columns):
        raise DataError("events must come from tradeflows.policy.load_events "
                        "(columns 'start' and 'end' missing)")
    return events


def add_policy_variables(panel: pd.DataFrame, events: pd.DataFrame | str | Path | None = None,
                         scenario: str | Path | RouteScenario | None = None) -> pd.DataFrame:
    """Return ``panel`` with the policy variables of :func:`variable_catalog` added.

    ``panel`` needs ``year, exporter, importer`` (ISO3); rows and their order are kept and
    existing columns of the same names are replaced. ``events``: a table from
    :func:`load_events`, a path to an event CSV, or None for the bundled events.
    ``scenario`` (a route scenario name, file or object) changes only the route variables.
    """
    missing = [c for c in ("year", "exporter", "importer") if c not in panel.columns]
    if missing:
        raise DataError(f"panel lacks column(s) {missing}", column=missing[0])
    for column in ("year", "exporter", "importer"):
        if panel[column].isna().any():
            row = int(np.flatnonzero(panel[column].isna().to_numpy())[0])
            raise DataError("missing value", row=row, column=column)
    ev = _events(events)
    out = panel.copy()
    years = np.sort(pd.unique(out["year"].astype("int64")))
    countries = pd.Index(pd.unique(np.concatenate([pd.unique(out["exporter"]),
                                                   pd.unique(out["importer"])])))
    nc, ny = len(countries), len(years)
    ex = countries.get_indexer(out["exporter"])
    im = countries.get_indexer(out["importer"])
    yi = np.searchsorted(years, out["year"].astype("int64").to_numpy())
    intl = (ex != im).astype("int8")
    panel_keys = (yi.astype("int64") * nc + ex) * nc + im

    def country_flags(table: pd.DataFrame) -> np.ndarray:
        flag = np.zeros((nc, ny), dtype=bool)
        c = countries.get_indexer(table["country"])
        y = np.searchsorted(years, table["year"].to_numpy())
        ok = c >= 0
        flag[c[ok], y[ok]] = True
        return flag

    def pair_flag(table: pd.DataFrame) -> np.ndarray:
        e = countries.get_indexer(table["exporter"])
        i = countries.get_indexer(table["importer"])
        y = np.searchsorted(years, table["year"].to_numpy())
        ok = (e >= 0) & (i >= 0)
        keys = (y[ok].astype("int64") * nc + e[ok]) * nc + i[ok]
        return np.isin(panel_keys, keys)

    new: dict[str, np.ndarray] = {}
    flags = {k: country_flags(member_years(k, years, ev)) for k in (*BOTH, "ots_observer")}
    for key in BOTH:
        new[f"both_{key}"] = flags[key][ex, yi] & flags[key][im, yi]
    for key in ONE:
        new[f"one_{key}"] = flags[key][ex, yi] ^ flags[key][im, yi]
    obs, ots = flags["ots_observer"], flags["ots"]
    new["ots_observer_pair"] = (obs[ex, yi] & ots[im, yi]) | (ots[ex, yi] & obs[im, yi])

    agr = agreement_pairs(list(years), ev)
    new["fta"] = pair_flag(agr[agr["fta"] == 1])
    for column in RTA_COLUMNS:
        if column in out.columns:
            new["fta"] |= pd.to_numeric(out[column]).fillna(0).to_numpy() > 0
    new["pta"] = pair_flag(agr[agr["pta"] == 1])

    eu = members_by_year("eu", years, ev)
    wave_rows = policy_targets("sanction_wave")
    for target, t in policy_targets("sanction_target")[["country_iso3", "variable"]].itertuples(
            index=False):
        spells = spell_years(sanction_spells(target, ev), list(years))
        on = country_flags(pd.DataFrame({"country": target, "year": spells["year"].unique()}))
        new[f"sanction_{t}_exporter"] = on[ex, yi]
        new[f"sanction_{t}_importer"] = on[im, yi]
        waves = {f"sanctioned_pair_{t}": spells}
        for wave in wave_rows[wave_rows["country_iso3"] == target].itertuples(index=False):
            waves[wave.variable] = spells[spells["start"] >= wave.from_date]
        for name, sp in waves.items():
            rows = [(y, target, s) for y, side in zip(sp["year"], sp["sanctioner"], strict=True)
                    for s in (eu[int(y)] if side == "EU" else {side})]
            pairs = pd.DataFrame(rows, columns=["year", "exporter", "importer"])
            both_ways = pd.concat([pairs, pairs.rename(columns={"exporter": "importer",
                                                                "importer": "exporter"})])
            new[name] = pair_flag(both_ways)
    covid = country_flags(spell_years(covid_spells(ev), list(years)))
    new["covid_closure_exporter"] = covid[ex, yi]
    new["covid_closure_importer"] = covid[im, yi]

    columns = {name: values.astype("int8") * intl for name, values in new.items()}
    node, dense = route_index(countries, years, scenario=scenario, events=ev)
    routes = lookup_routes(node, dense, ex, im, yi)
    columns |= {name: routes[:, j] for j, name in enumerate(ROUTE_COLUMNS)}
    for name in policy_variable_names():
        out[name] = columns[name]
    return out
