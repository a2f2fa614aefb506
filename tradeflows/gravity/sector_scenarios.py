"""Multi-sector GE scenarios (``tradeflows sectors simulate``): a TOML file with the
sector-specific elasticities, trade-cost coefficients and cost changes, solved by
:class:`tradeflows.gravity.ge_multisector.MultiSectorGE` on a sector panel.

Scenario file (every key checked; errors name the file and the key)::

    title = "Lower border costs for machinery"
    year = 2019                      # the panel's year (needed when it has a `year` column)
    reference = "USA"                # numeraire country (default: last in sorted order)
    sigma = 5.0                      # elasticity of substitution of every sector (> 1)
    [coefs]                          # cost coefficients b of every sector (the (1-sigma) power)
    ln_dist = -0.8
    policy = 0.3
    [sectors.XVI]                    # a sector's own sigma and coefficients (optional)
    sigma = 8.0
    coefs = { policy = 0.5 }
    [[change]]                       # one change of a cost term
    variable = "policy"
    value = 1.0                      # or add = x, or multiply = x (exactly one)
    sectors = ["XVI"]                # default: every sector
    exporters = ["FRA"]              # default: every exporter (ISO3 or panel codes)
    importers = ["DEU", "ITA"]       # default: every importer
    symmetric = true                 # also the reverse direction (default false)

Changes touch international rows only (the cost terms of domestic flows stay as they are).
The panel: one row per (exporter, importer, sector) of the year, square in every sector
with **domestic flows** (exporter == importer) and ``trade`` >= 0 in USD, plus the cost
terms. BACI has no domestic flows: give them apart (:func:`add_domestic`; ``--domestic
FILE``: ``country, sector, trade``, e.g. from ITPD-E, which has them, or national accounts).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradeflows.errors import DataError
from tradeflows.gravity.ge_multisector import MultiSectorGE, MultiSectorResults

TOP_KEYS = ("title", "year", "reference", "sigma", "coefs", "sectors", "change")
SECTOR_KEYS = ("sigma", "coefs")
CHANGE_KEYS = ("variable", "value", "add", "multiply", "sectors", "exporters", "importers",
               "symmetric")
KINDS = ("value", "add", "multiply")


@dataclass(frozen=True)
class SectorChange:
    """``variable`` set to / increased by / multiplied by ``amount`` (``kind``) on the
    international rows of ``sectors`` x ``exporters`` x ``importers`` (None: all)."""

    variable: str
    kind: str
    amount: float
    sectors: tuple[str, ...] | None = None
    exporters: tuple[str, ...] | None = None
    importers: tuple[str, ...] | None = None
    symmetric: bool = False


@dataclass(frozen=True)
class SectorScenario:
    """A parsed scenario file (see the module docstring)."""

    name: str
    title: str
    year: int | None
    reference: str | None
    sigma: float
    coefs: dict[str, float]
    sector_sigma: dict[str, float] = field(default_factory=dict)
    sector_coefs: dict[str, dict[str, float]] = field(default_factory=dict)
    changes: tuple[SectorChange, ...] = ()

    @property
    def cost_terms(self) -> list[str]:
        """The cost terms with a coefficient, in file order."""
        return list(self.coefs)

    def sigmas(self, sectors: list[str]) -> dict[str, float]:
        """sigma of every sector (its own or the common one)."""
        return {s: self.sector_sigma.get(s, self.sigma) for s in sectors}

    def coefficients(self, sectors: list[str]) -> dict[str, dict[str, float]]:
        """Coefficients of every sector (the common ones, overridden by its own)."""
        return {s: {**self.coefs, **self.sector_coefs.get(s, {})} for s in sectors}


def _fail(file: Path, key: str, problem: str) -> DataError:
    return DataError(f"key {key}: {problem}", file=file)


def _number(file: Path, key: str, v: object, *, above: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _fail(file, key, f"expected a finite number, got {type(v).__name__} "
                               f"{str(v)[:40]!r}")
    if above is not None and v <= above:
        raise _fail(file, key, f"must exceed {above:g} (got {v:g})")
    return float(v)


def _texts(file: Path, key: str, v: object) -> tuple[str, ...]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise _fail(file, key, "expected a non-empty list of names")
    return tuple(v)


def _unknown(file: Path, prefix: str, table: Mapping[str, Any], allowed: tuple[str, ...]
             ) -> None:
    extra = [k for k in table if k not in allowed]
    if extra:
        raise _fail(file, f"{prefix}{extra[0]}", f"unknown key (allowed: {', '.join(allowed)})")


def _coefs(file: Path, key: str, v: object) -> dict[str, float]:
    if not isinstance(v, dict) or not v:
        raise _fail(file, key, "expected a table term = coefficient")
    return {str(t): _number(file, f"{key}.{t}", b) for t, b in v.items()}


def _change(file: Path, k: int, raw: object, terms: list[str]) -> SectorChange:
    key = f"change[{k}]"
    if not isinstance(raw, dict):
        raise _fail(file, key, "expected a table")
    _unknown(file, f"{key}.", raw, CHANGE_KEYS)
    variable = raw.get("variable")
    if variable not in terms:
        raise _fail(file, f"{key}.variable", f"{variable!r} is not a cost term with a "
                                             f"coefficient in [coefs] ({terms})")
    kinds = [kind for kind in KINDS if kind in raw]
    if len(kinds) != 1:
        raise _fail(file, key, "give exactly one of value, add, multiply")
    sym = raw.get("symmetric", False)
    if not isinstance(sym, bool):
        raise _fail(file, f"{key}.symmetric", "expected true or false")
    lists = {name: (_texts(file, f"{key}.{name}", raw[name]) if name in raw else None)
             for name in ("sectors", "exporters", "importers")}
    return SectorChange(variable, kinds[0], _number(file, f"{key}.{kinds[0]}", raw[kinds[0]]),
                        symmetric=sym, **lists)


def load_sector_scenario(path: str | Path) -> SectorScenario:
    """Parse and check a scenario file (never evaluated: plain TOML values only)."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"cannot read the scenario: {exc}", file=file) from exc
    _unknown(file, "", raw, TOP_KEYS)
    title = raw.get("title", file.stem)
    if not isinstance(title, str):
        raise _fail(file, "title", "expected text")
    year = raw.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)
                             or not 1900 <= year <= 2100):
        raise _fail(file, "year", "expected a whole year between 1900 and 2100")
    reference = raw.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise _fail(file, "reference", "expected a country code")
    if "coefs" not in raw:
        raise _fail(file, "coefs", "missing (a table term = coefficient)")
    coefs = _coefs(file, "coefs", raw["coefs"])
    sector_sigma, sector_coefs = {}, {}
    sectors = raw.get("sectors", {})
    if not isinstance(sectors, dict):
        raise _fail(file, "sectors", "expected tables [sectors.NAME]")
    for name, table in sectors.items():
        if not isinstance(table, dict):
            raise _fail(file, f"sectors.{name}", "expected a table")
        _unknown(file, f"sectors.{name}.", table, SECTOR_KEYS)
        if "sigma" in table:
            sector_sigma[name] = _number(file, f"sectors.{name}.sigma", table["sigma"],
                                         above=1.0)
        if "coefs" in table:
            own = _coefs(file, f"sectors.{name}.coefs", table["coefs"])
            unknown = [t for t in own if t not in coefs]
            if unknown:
                raise _fail(file, f"sectors.{name}.coefs.{unknown[0]}",
                            "a term not in [coefs] (give every term a common coefficient)")
            sector_coefs[name] = own
    changes = raw.get("change", [])
    if not isinstance(changes, list) or not changes:
        raise _fail(file, "change", "expected one or more [[change]] tables")
    return SectorScenario(
        name=file.stem, title=title, year=year, reference=reference,
        sigma=_number(file, "sigma", raw.get("sigma"), above=1.0), coefs=coefs,
        sector_sigma=sector_sigma, sector_coefs=sector_coefs,
        changes=tuple(_change(file, k, c, list(coefs)) for k, c in enumerate(changes)))


def _cross_section(panel: pd.DataFrame, scn: SectorScenario, file: object) -> pd.DataFrame:
    """The scenario's year of ``panel`` (all rows if it has no ``year``)."""
    if "year" not in panel.columns:
        return panel.reset_index(drop=True)
    if scn.year is None:
        raise DataError("the panel has several years: give `year` in the scenario",
                        file=file, column="year")
    out = panel[panel["year"] == scn.year].reset_index(drop=True)
    if out.empty:
        raise DataError(f"no rows for year {scn.year}", file=file, column="year")
    return out


def _new_values(xs: pd.DataFrame, scn: SectorScenario) -> dict[str, np.ndarray]:
    """New cost terms in the rows' order, changes applied in file order."""
    new: dict[str, np.ndarray] = {}
    exp, imp = xs["exporter"].astype(str), xs["importer"].astype(str)
    sec = xs["sector"].astype(str)
    international = (exp != imp).to_numpy()
    everything = np.ones(len(xs), dtype=bool)

    def among(codes: pd.Series, names: tuple[str, ...] | None) -> np.ndarray:
        return everything if names is None else codes.isin(names).to_numpy()

    for ch in scn.changes:
        values = new.setdefault(ch.variable, xs[ch.variable].to_numpy(float).copy())
        directions = [(ch.exporters, ch.importers)]
        if ch.symmetric:
            directions.append((ch.importers, ch.exporters))
        chosen = np.zeros(len(xs), dtype=bool)
        for exporters, importers in directions:
            chosen |= among(exp, exporters) & among(imp, importers)
        hit = international & among(sec, ch.sectors) & chosen
        if ch.kind == "value":
            values[hit] = ch.amount
        elif ch.kind == "add":
            values[hit] += ch.amount
        else:
            values[hit] *= ch.amount
    return new


def add_domestic(xs: pd.DataFrame, domestic: pd.DataFrame, scn: SectorScenario,
                 file: object = None) -> tuple[pd.DataFrame, list[str]]:
    """``xs`` (international flows only, e.g. BACI) with domestic flows from ``domestic``:
    ``country, sector, trade`` (USD; ``year`` too if it has several years), one row per
    country and sector of ``xs``. Their cost terms are set to 0: changes touch international
    rows only, so the level of a domestic row's cost term never enters the counterfactual.
    Rows of countries or sectors outside ``xs`` are left out (counted in the notes)."""
    need = ["country", "sector", "trade"]
    absent = [c for c in need if c not in domestic.columns]
    if absent:
        raise DataError(f"the domestic flows lack column(s) {absent}", file=file,
                        column=absent[0])
    if (xs["exporter"] == xs["importer"]).any():
        raise DataError("the sector panel has domestic flows already; give --domestic only "
                        "for a panel without them", file=file, column="importer")
    dom = domestic
    if "year" in dom.columns and dom["year"].nunique() > 1:
        if scn.year is None:
            raise DataError("the domestic flows have several years: give `year` in the "
                            "scenario", file=file, column="year")
        dom = dom[dom["year"] == scn.year]
    dom = dom.assign(country=dom["country"].astype(str), sector=dom["sector"].astype(str))
    trade = pd.to_numeric(dom["trade"], errors="coerce")
    bad = ~np.isfinite(trade.to_numpy(float)) | (trade.to_numpy(float) < 0)
    if bad.any():
        row = dom.index[int(np.flatnonzero(bad)[0])]
        raise DataError("domestic trade is missing, negative or not a number", file=file,
                        row=row, column="trade")
    if dom.duplicated(["country", "sector"]).any():
        row = dom.index[int(np.flatnonzero(dom.duplicated(["country", "sector"]))[0])]
        raise DataError("duplicate country-sector row", file=file, row=row, column="sector")
    countries = sorted(set(xs["exporter"].astype(str)) | set(xs["importer"].astype(str)))
    sectors = sorted(xs["sector"].astype(str).unique())
    inside = dom["country"].isin(countries) & dom["sector"].isin(sectors)
    wanted = pd.MultiIndex.from_product([countries, sectors])
    have = pd.MultiIndex.from_frame(dom.loc[inside, ["country", "sector"]])
    lacking = wanted.difference(have)
    if len(lacking):
        raise DataError(f"no domestic flow for {len(lacking)} country-sector(s) of the panel, "
                        f"e.g. {list(lacking[:3])}", file=file, column="trade")
    rows = pd.DataFrame({"exporter": dom.loc[inside, "country"],
                         "importer": dom.loc[inside, "country"],
                         "sector": dom.loc[inside, "sector"],
                         "trade": trade[inside].to_numpy(float),
                         **{t: 0.0 for t in scn.cost_terms}})
    out = pd.concat([xs[["exporter", "importer", "sector", "trade", *scn.cost_terms]], rows],
                    ignore_index=True)
    notes = [f"domestic flows from the given file ({int(inside.sum())} country-sectors)"]
    if (~inside).any():
        notes.append(f"{int((~inside).sum())} domestic rows of countries or sectors outside "
                     "the panel left out")
    return out, notes


def run_sector_scenario(scn: SectorScenario, panel: pd.DataFrame, *, file: object = None,
                        domestic: pd.DataFrame | None = None, domestic_file: object = None
                        ) -> tuple[MultiSectorResults, list[str]]:
    """Solve ``scn`` on ``panel`` (module docstring). Returns (results, notes); a sector
    name, country or cost term of the scenario missing from the panel is an error.
    ``domestic``: domestic flows for a panel without them (:func:`add_domestic`)."""
    xs = _cross_section(panel, scn, file)
    missing = [c for c in ("exporter", "importer", "sector", "trade", *scn.cost_terms)
               if c not in xs.columns]
    if missing:
        raise DataError(f"the sector panel lacks column(s) {missing}", file=file,
                        column=missing[0])
    added: list[str] = []
    if domestic is not None:
        xs, added = add_domestic(xs, domestic, scn, domestic_file)
    if not (xs["exporter"] == xs["importer"]).any():
        raise DataError("the sector panel has no domestic flows (exporter == importer); "
                        "multi-sector GE needs them in every sector (BACI has none: give "
                        "them with --domestic, e.g. from ITPD-E)", file=file,
                        column="importer")
    sectors = sorted(xs["sector"].astype(str).unique())
    countries = set(xs["exporter"].astype(str)) | set(xs["importer"].astype(str))
    named = set(scn.sector_sigma) | set(scn.sector_coefs)
    for ch in scn.changes:
        named |= set(ch.sectors or ())
        absent = sorted((set(ch.exporters or ()) | set(ch.importers or ())) - countries)
        if absent:
            raise DataError(f"scenario {scn.name}: countries {absent} are not in the panel",
                            file=file, column="exporter")
    unknown = sorted(named - set(sectors))
    if unknown:
        raise DataError(f"scenario {scn.name}: sectors {unknown} are not in the panel",
                        file=file, column="sector")
    model = MultiSectorGE(xs, scn.cost_terms, scn.coefficients(sectors), scn.sigmas(sectors),
                          reference=scn.reference, file=file)
    res = model.counterfactual(_new_values(xs, scn))
    notes = [f"{len(model.countries)} countries, {len(sectors)} sectors"
             + (f", year {scn.year}" if "year" in panel.columns else ""),
             f"numeraire: {model.reference}'s consumer price index", *added, *res.notes]
    return res, notes
