"""The schema of a GE scenario file (TOML): every key's type and range, checked on reading.

A scenario file is untrusted text. Each key is checked here against its expected type and
range, and a wrong value raises a one-line ``DataError`` naming the file, the key (e.g.
``change[2].exporters``) and what was expected. Nothing in the file is evaluated as
Python: a change's ``where`` is parsed by :mod:`tradeflows.selection`.

Top-level keys: ``title`` (text), ``description`` (text), ``formula`` (text), ``vcov``
(text such as ``"hetero"`` or a table such as ``{ CL1 = "pair" }``), ``sigma`` (finite
number > 1), ``reference`` (ISO3 country), ``year`` (``"latest"`` or a year),
``estimation_years`` (list of years), ``draws`` (whole number >= 1), ``level`` (number in
(0, 1)), ``[[change]]`` tables, and optionally ``[cited]``: a published estimate of one
shocked term (``term``, ``estimate``, ``std_error`` > 0, ``source`` text, ``min_abs_t``
default 1.96) used instead of the data's estimate, for the point and the draws, when the
data do not identify the term (|estimate / se| < ``min_abs_t``). A change: ``variable`` (a regressor of ``formula``), exactly
one of ``value`` / ``multiply`` / ``add`` (finite numbers) / ``route_scenario`` (a study's
route scenario name, :func:`tradeflows.config.study_files`), ``route_year`` (a year, with ``route_scenario`` only),
``exporters`` / ``importers`` (lists of ISO3 codes or ``@INSTITUTION``), ``symmetric``
(true/false), ``where`` (a selection, see :mod:`tradeflows.selection`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tradeflows.config import study_files
from tradeflows.errors import DataError, SpecificationError
from tradeflows.selection import Compare, Member, Node, SelectionError, parse, tests

#: Years a scenario may name (baseline, estimation sample, route year).
YEAR_RANGE = (1948, 2100)
MAX_DRAWS = 100_000
TOP_KEYS = ("title", "description", "formula", "vcov", "sigma", "reference", "year",
            "estimation_years", "draws", "level", "change", "cited", "baseline", "blockade",
            "lift_blockade")
BASELINES = ("observed", "fitted")
CITED_KEYS = ("term", "estimate", "std_error", "source", "min_abs_t")
CHANGE_KEYS = ("variable", "value", "multiply", "add", "route_scenario", "route_year",
               "exporters", "importers", "symmetric", "where")
KINDS = ("value", "multiply", "add", "route_scenario")


@dataclass(frozen=True)
class Change:
    """One change to a pair variable; exactly one of value / multiply / add / route_scenario."""

    variable: str
    value: float | None = None
    multiply: float | None = None
    add: float | None = None
    route_scenario: str | None = None
    route_year: int | None = None
    exporters: tuple[str, ...] = ()
    importers: tuple[str, ...] = ()
    symmetric: bool = True
    where: str | None = None
    selection: Node | None = None


@dataclass(frozen=True)
class Cited:
    """A published estimate that replaces the data's estimate of ``term`` when that one is
    not identified (|t| < ``min_abs_t``)."""

    term: str
    estimate: float
    std_error: float
    source: str
    min_abs_t: float = 1.96


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario file."""

    name: str
    file: Path
    title: str
    description: str
    formula: str
    vcov: object
    sigma: float
    reference: str
    year: int | None
    estimation_years: tuple[int, ...] | None
    draws: int
    level: float
    changes: tuple[Change, ...] = field(default_factory=tuple)
    cited: Cited | None = None
    #: "observed" (exact hat algebra from the data's flows) or "fitted" (GE-PPML baseline
    #: from the estimated trade costs; see tradeflows.gravity.scenarios.fitted_model).
    baseline: str = "observed"
    #: Pairs (both directions) whose border is closed in the baseline (``closed_border`` = 1;
    #: fitted baseline only) and whether the scenario lifts the closure.
    blockade: tuple[tuple[str, str], ...] = ()
    lift_blockade: bool = False

    @property
    def shock_terms(self) -> list[str]:
        """Variables changed by the scenario, in file order."""
        return list(dict.fromkeys(c.variable for c in self.changes))


class _Checker:
    """Typed reads of one table of a scenario file; errors name the file and the key."""

    def __init__(self, table: dict[str, Any], file: Path, prefix: str = "") -> None:
        self.table, self.file, self.prefix = table, file, prefix

    @classmethod
    def subtable(cls, raw: object, file: Path, prefix: str, keys: tuple[str, ...],
                 what: str) -> _Checker:
        """A checker of the table ``raw`` (keys reported as ``prefix + key``); raises unless
        ``raw`` is a table (``what`` names the expected one) whose keys are all in ``keys``."""
        chk = cls({}, file, prefix=prefix)
        if not isinstance(raw, dict):
            raise chk.fail("", f"got {chk._got(raw)}", what)
        chk.table = raw
        unknown = sorted(set(raw) - set(keys))
        if unknown:
            raise chk.fail(unknown[0], "unknown key", f"one of {list(keys)}")
        return chk

    def fail(self, key: str, problem: str, expected: str) -> DataError:
        return DataError(f"key {self.prefix}{key}: {problem}; expected {expected}",
                         file=self.file)

    def _got(self, value: object) -> str:
        text = repr(value)
        return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        if key not in self.table:
            if required:
                raise self.fail(key, "missing", "a text value")
            return default  # type: ignore[return-value]
        v = self.table[key]
        if not isinstance(v, str):
            raise self.fail(key, f"got {self._got(v)}", "text in quotes")
        if required and not v.strip():
            raise self.fail(key, "empty", "non-empty text")
        return v

    def number(self, key: str, default: float | None, *, low: float | None = None,
               high: float | None = None, open_low: bool = False, open_high: bool = False,
               expected: str = "a finite number") -> float | None:
        if key not in self.table:
            return default
        v = self.table[key]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(key, f"got {self._got(v)}", expected)
        x = float(v)
        if not math.isfinite(x):
            raise self.fail(key, f"non-finite number {x}", expected)
        if low is not None and (x < low or (open_low and x == low)):
            raise self.fail(key, f"{v} out of range", expected)
        if high is not None and (x > high or (open_high and x == high)):
            raise self.fail(key, f"{v} out of range", expected)
        return x

    def integer(self, key: str, default: int | None, *, low: int, high: int,
                expected: str) -> int | None:
        if key not in self.table:
            return default
        return self._whole(key, self.table[key], low, high, expected)

    def _whole(self, key: str, v: object, low: int, high: int, expected: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(key, f"got {self._got(v)}", expected)
        if not low <= v <= high:
            raise self.fail(key, f"{v} out of range", expected)
        return v

    def year(self, key: str, v: object) -> int:
        lo, hi = YEAR_RANGE
        return self._whole(key, v, lo, hi, f"a year (whole number {lo}-{hi})")

    def boolean(self, key: str, default: bool) -> bool:
        if key not in self.table:
            return default
        v = self.table[key]
        if not isinstance(v, bool):
            raise self.fail(key, f"got {self._got(v)}", "true or false (without quotes)")
        return v

    def text_list(self, key: str) -> tuple[str, ...]:
        if key not in self.table:
            return ()
        v = self.table[key]
        expected = 'a list of ISO3 codes or @INSTITUTION names, e.g. ["XXX", "@OTS"]'
        if not isinstance(v, list):
            raise self.fail(key, f"got {self._got(v)}", expected)
        if not v:
            raise self.fail(key, "empty list", expected + " (omit the key for any country)")
        for k, item in enumerate(v):
            if not isinstance(item, str):
                raise self.fail(f"{key}[{k + 1}]", f"got {self._got(item)}", expected)
        return tuple(v)


def known_country(code: str) -> bool:
    """True for an ISO3 code of a country (or a former state) that tradeflows knows."""
    from tradeflows.countries import to_iso3

    if not re.fullmatch(r"[A-Z]{3}", code):
        return False
    try:
        return isinstance(to_iso3(pd.Series([code], dtype=object), "iso3").iloc[0], str)
    except DataError:
        return False


def known_group(name: str) -> bool:
    """True for an institution name usable as ``@NAME`` (see tradeflows.policy.memberships)."""
    from tradeflows.policy.memberships import institution

    try:
        institution(name)
    except SpecificationError:
        return False
    return True


def check_code(chk: _Checker, key: str, code: str) -> None:
    """Refuse an entry of a country list that is neither a country nor ``@INSTITUTION``."""
    if code.startswith("@"):
        if not known_group(code[1:]):
            raise chk.fail(key, f"unknown institution {code!r}",
                           "@ followed by an institution of tradeflows.policy.memberships "
                           "(e.g. @OTS, @EU, @EAEU)")
    elif not known_country(code):
        raise chk.fail(key, f"unknown country code {code!r}",
                       "an upper-case ISO3 country code such as \"FRA\"")


def formula_names(formula: str) -> set[str]:
    """Identifier-like tokens of a formula (variables and fixed effects)."""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula))


#: Functions a scenario formula may call (fixest-style extensions and transforms).
FORMULA_FUNCTIONS = frozenset({"log", "exp", "i", "C", "sw", "csw", "sw0", "csw0"})
_FORMULA_CHARS = re.compile(r"[A-Za-z0-9_ ~+\-|^:*().,\t]*")


def check_formula(chk: _Checker, formula: str) -> None:
    """Refuse a formula that is more than variables, operators and allowed functions: the
    formula reaches the estimation's formula parser, which must never see code (no quotes,
    brackets, attribute access, dunder names or unknown function calls)."""
    expected = ("variables, ~ + - | ^ : * ( ) , and the functions "
                f"{sorted(FORMULA_FUNCTIONS)}")
    if len(formula) > 1000 or not _FORMULA_CHARS.fullmatch(formula):
        bad = next((c for c in formula if not _FORMULA_CHARS.fullmatch(c)), "length")
        raise chk.fail("formula", f"character {bad!r} not allowed", expected)
    if "__" in formula or re.search(r"[A-Za-z_)]\s*\.\s*[A-Za-z_]", formula):
        raise chk.fail("formula", "dunder name or attribute access", expected)
    for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", formula):
        if name not in FORMULA_FUNCTIONS:
            raise chk.fail("formula", f"call of {name!r}", expected)
    if "~" not in formula:
        raise chk.fail("formula", f"{formula!r} has no '~'",
                       "a formula 'depvar ~ regressors | fixed effects'")


def _regressors(formula: str) -> set[str]:
    rhs = formula.split("~", 1)[1] if "~" in formula else ""
    return formula_names(rhs.split("|", 1)[0])


def _route_scenario(chk: _Checker, key: str) -> str | None:
    name = chk.text(key)
    if name is None:
        return None
    from tradeflows.policy.corridors import ROUTE_SCENARIO_FOLDER

    bundled = sorted(study_files(ROUTE_SCENARIO_FOLDER))
    if name not in bundled:
        raise chk.fail(key, f"unknown route scenario {name!r}", f"one of {bundled}")
    return name


def parse_change(raw: object, k: int, file: Path, formula: str) -> Change:
    """Check the ``k``-th (1-based) ``[[change]]`` table."""
    chk = _Checker.subtable(raw, file, f"change[{k}].", CHANGE_KEYS, "a [[change]] table")
    variable = chk.text("variable", required=True)
    if variable not in _regressors(formula):
        raise chk.fail("variable", f"{variable!r} is not a regressor of the formula "
                       f"{formula!r}", "a variable the formula estimates")
    kinds = [x for x in KINDS if x in raw]
    if len(kinds) != 1:
        raise chk.fail("value", f"got {kinds or 'none'}",
                       "exactly one of value, multiply, add, route_scenario")
    route = _route_scenario(chk, "route_scenario")
    route_year = raw.get("route_year")
    if route_year is not None:
        if route is None:
            raise chk.fail("route_year", "given without route_scenario",
                           "route_year only with route_scenario")
        route_year = chk.year("route_year", route_year)
    lists = {}
    for key in ("exporters", "importers"):
        lists[key] = chk.text_list(key)
        for n, code in enumerate(lists[key]):
            check_code(chk, f"{key}[{n + 1}]", code)
    where = chk.text("where")
    selection = None
    if where is not None:
        try:
            selection = parse(where)
        except SelectionError as exc:
            raise chk.fail("where", str(exc), "a selection such as "
                           "'importer in @EU and dist > 1000' (see tradeflows.selection)"
                           ) from exc
        for test in tests(selection):
            if isinstance(test, Member) and test.group is not None:
                check_code(chk, "where", "@" + test.group)
            values = (test.value,) if isinstance(test, Compare) else test.values
            for v in values:
                if (test.column in ("exporter", "importer") and isinstance(v, str)
                        and not known_country(v)):
                    raise chk.fail("where", f"{test.column}: unknown country code {v!r}",
                                   "an upper-case ISO3 country code (groups as @NAME "
                                   "without quotes)")
    return Change(
        variable=variable,
        value=chk.number("value", None),
        multiply=chk.number("multiply", None),
        add=chk.number("add", None),
        route_scenario=route, route_year=route_year,
        exporters=lists["exporters"], importers=lists["importers"],
        symmetric=chk.boolean("symmetric", True), where=where, selection=selection)


def _vcov(chk: _Checker) -> object:
    if "vcov" not in chk.table:
        return None
    v = chk.table["vcov"]
    expected = 'text such as "hetero" or a table such as { CL1 = "pair" }'
    if isinstance(v, str):
        return v
    if not isinstance(v, dict) or len(v) != 1:
        raise chk.fail("vcov", f"got {chk._got(v)}", expected)
    (name, var), = v.items()
    if isinstance(var, str) or (isinstance(var, list) and var
                                and all(isinstance(x, str) for x in var)):
        return dict(v)
    raise chk.fail(f"vcov.{name}", f"got {chk._got(var)}", "a variable name or a list of them")


def _cited(raw: object, file: Path, formula: str) -> Cited | None:
    if raw is None:
        return None
    chk = _Checker.subtable(raw, file, "cited.", CITED_KEYS, "a [cited] table")
    term = chk.text("term", required=True)
    if term not in _regressors(formula):
        raise chk.fail("term", f"{term!r} is not a regressor of the formula", "a regressor")
    for key in ("estimate", "std_error"):
        if key not in raw:
            raise chk.fail(key, "missing", "a finite number")
    return Cited(term=term, estimate=float(chk.number("estimate", None)),
                 std_error=float(chk.number("std_error", None, low=0.0, open_low=True,
                                            expected="a finite number > 0")),
                 source=chk.text("source", required=True),
                 min_abs_t=float(chk.number("min_abs_t", 1.96, low=0.0,
                                            expected="a finite number >= 0")))


def _baseline(chk: _Checker) -> tuple[str, tuple[tuple[str, str], ...], bool]:
    """``baseline``, ``blockade`` (pairs of ISO3 codes) and ``lift_blockade``."""
    raw = chk.table
    baseline = chk.text("baseline", "observed")
    if baseline not in BASELINES:
        raise chk.fail("baseline", f"got {baseline!r}", f"one of {list(BASELINES)}")
    pairs: list[tuple[str, str]] = []
    if "blockade" in raw:
        v = raw["blockade"]
        expected = 'a list of country pairs, e.g. [["FRA", "DEU"]] (both directions closed)'
        if baseline != "fitted":
            raise chk.fail("blockade", "given with an observed baseline",
                           'baseline = "fitted" (an observed zero cannot be lifted)')
        if not isinstance(v, list) or not v:
            raise chk.fail("blockade", f"got {chk._got(v)}", expected)
        for k, pair in enumerate(v, start=1):
            if (not isinstance(pair, list) or len(pair) != 2
                    or not all(isinstance(c, str) and known_country(c) for c in pair)
                    or pair[0] == pair[1]):
                raise chk.fail(f"blockade[{k}]", f"got {chk._got(pair)}",
                               "two different upper-case ISO3 country codes")
            pairs.append((pair[0], pair[1]))
    lift = False
    if "lift_blockade" in raw:
        lift = chk.boolean("lift_blockade", False)
        if lift and not pairs:
            raise chk.fail("lift_blockade", "true without a blockade", "a blockade list")
    return baseline, tuple(pairs), lift


def parse_scenario(raw: dict[str, Any], file: Path) -> Scenario:
    """Check a decoded scenario file against the schema; return the :class:`Scenario`."""
    chk = _Checker(raw, file)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", file.stem):
        raise DataError(f"scenario name {file.stem!r} (the file name) names the output files; "
                        "expected letters, digits, '_' and '-' only (at most 64)", file=file)
    unknown = sorted(set(raw) - set(TOP_KEYS))
    if unknown:
        raise DataError(f"unknown key(s) {unknown}; allowed {sorted(TOP_KEYS)}", file=file)
    title = chk.text("title", required=True)
    formula = chk.text("formula", required=True)
    check_formula(chk, formula)
    year: int | None = None
    if raw.get("year", "latest") != "latest":
        year = chk.year("year", raw["year"])
    years = None
    if "estimation_years" in raw:
        v = raw["estimation_years"]
        if not isinstance(v, list) or not v:
            raise chk.fail("estimation_years", f"got {chk._got(v)}",
                           "a non-empty list of years, e.g. [2003, 2007]")
        years = tuple(chk.year(f"estimation_years[{n + 1}]", y) for n, y in enumerate(v))
    reference = chk.text("reference", "USA")
    if not known_country(reference):
        raise chk.fail("reference", f"unknown country code {reference!r}",
                       "an upper-case ISO3 country code such as \"USA\"")
    if "change" not in raw:
        raise chk.fail("change", "missing", "one or more [[change]] tables")
    changes = raw["change"]
    if not isinstance(changes, list) or not changes:
        raise chk.fail("change", f"got {chk._got(changes)}", "one or more [[change]] tables")
    baseline, blockade, lift = _baseline(chk)
    return Scenario(
        baseline=baseline, blockade=blockade, lift_blockade=lift,
        name=file.stem, file=file, title=title,
        description=chk.text("description", ""), formula=formula, vcov=_vcov(chk),
        sigma=chk.number("sigma", 7.0, low=1.0, open_low=True, high=100.0,
                         expected="a finite number > 1 and <= 100 (elasticity of "
                         "substitution)"),
        reference=reference, year=year, estimation_years=years,
        draws=int(chk.integer("draws", 200, low=1, high=MAX_DRAWS,
                              expected=f"a whole number from 1 to {MAX_DRAWS}")),
        level=chk.number("level", 0.95, low=0.0, high=1.0, open_low=True, open_high=True,
                         expected="a number strictly between 0 and 1"),
        changes=tuple(parse_change(ch, k + 1, file, formula) for k, ch in enumerate(changes)),
        cited=_cited(raw.get("cited"), file, formula))
