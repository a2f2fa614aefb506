"""Model formulas ``"y ~ x1 + x2 + a:b | fe1 + fe2 + c^d"`` and the arrays they describe.

Left of ``|``: numeric regressors; ``a:b`` is the product of two numeric columns. Right of
``|``: fixed effects; ``c^d`` is the interaction of two columns (one level per combination).
An intercept is included only when there are no fixed effects (the FE absorb it); ``0`` or
``-1`` removes it. Rows with a missing value in any used variable are dropped and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tradeflows.errors import SpecificationError

__all__ = ["Formula", "ModelFrame", "parse_formula", "model_frame", "factorize_fe"]

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class Formula:
    """A parsed formula: dependent variable, regressor terms, fixed-effect terms."""

    text: str
    depvar: str
    terms: tuple[str, ...]
    fixef: tuple[str, ...]
    intercept: bool

    def variables(self) -> list[str]:
        """Data columns used, in order of appearance, without duplicates."""
        out: list[str] = [self.depvar]
        for t in self.terms:
            out += t.split(":")
        for f in self.fixef:
            out += f.split("^")
        return list(dict.fromkeys(out))


def _check_name(name: str, formula: str) -> str:
    if not _NAME.match(name):
        raise SpecificationError(f"formula {formula!r}: cannot read term {name!r}")
    return name


def parse_formula(formula: str) -> Formula:
    """Parse ``"y ~ x1 + x2 | fe1 + fe2^fe3"``; raises SpecificationError on bad syntax."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise SpecificationError(f"formula {formula!r} must have exactly one '~'")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not lhs:
        raise SpecificationError(f"formula {formula!r} has no dependent variable")
    depvar = _check_name(lhs, formula)
    parts = rhs.split("|")
    if len(parts) > 2:
        raise SpecificationError(f"formula {formula!r} has more than one '|'")
    intercept = True
    terms: list[str] = []
    for raw in (p.strip() for p in parts[0].split("+")):
        if raw in ("0", "-1"):
            intercept = False
            continue
        if raw == "1":
            continue
        if not raw:
            raise SpecificationError(f"formula {formula!r} has an empty term")
        if re.search(r"-\s*1$", raw):
            intercept = False
            raw = re.sub(r"-\s*1$", "", raw).strip()
        factors = [_check_name(f.strip(), formula) for f in raw.split(":")]
        term = ":".join(factors)
        if term not in terms:
            terms.append(term)
    fixef: list[str] = []
    if len(parts) == 2:
        for raw in (p.strip() for p in parts[1].split("+")):
            if not raw:
                raise SpecificationError(f"formula {formula!r} has an empty fixed-effect term")
            if raw in ("0", "1"):
                continue
            factors = [_check_name(f.strip(), formula) for f in raw.split("^")]
            term = "^".join(factors)
            if term not in fixef:
                fixef.append(term)
    if fixef:
        intercept = False
    return Formula(formula, depvar, tuple(terms), tuple(fixef), intercept)


def factorize_fe(data: pd.DataFrame, term: str) -> tuple[np.ndarray, pd.Index]:
    """0-based int64 codes (n,) of a fixed-effect term and its levels (sorted; the levels of
    an interaction ``a^b`` are labelled "a_value^b_value"). No missing values expected."""
    cols = term.split("^")
    if len(cols) == 1:
        codes, levels = pd.factorize(data[cols[0]], sort=True)
        return codes.astype(np.int64), pd.Index(levels)
    parts = [pd.factorize(data[c], sort=True) for c in cols]
    combined = np.zeros(len(data), dtype=np.int64)
    for codes, levels in parts:
        combined = combined * len(levels) + codes
    codes, uniq = pd.factorize(combined, sort=True)
    labels = []
    for u in uniq:
        digits = []
        for _, levels in reversed(parts):
            u, d = divmod(int(u), len(levels))
            digits.append(str(levels[d]))
        labels.append("^".join(reversed(digits)))
    return codes.astype(np.int64), pd.Index(labels)


@dataclass
class ModelFrame:
    """Arrays of the estimation sample (rows kept: ``index`` into the input frame)."""

    formula: Formula
    y: np.ndarray
    X: np.ndarray
    coefnames: list[str]
    fe: np.ndarray
    fe_levels: list[pd.Index]
    index: np.ndarray
    nobs_original: int
    drops: dict[str, int] = field(default_factory=dict)


def _numeric(data: pd.DataFrame, col: str) -> np.ndarray:
    s = data[col]
    if s.dtype == bool or str(s.dtype) == "boolean":
        return s.astype("float64").to_numpy()
    if not pd.api.types.is_numeric_dtype(s):
        raise SpecificationError(
            f"variable {col!r} is not numeric (dtype {s.dtype}); put categories in the "
            "fixed-effect part of the formula"
        )
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def model_frame(data: pd.DataFrame, formula: str | Formula,
                extra: dict[str, np.ndarray] | None = None) -> tuple[ModelFrame, dict]:
    """Build the arrays of ``formula`` from ``data``.

    extra: other (n,) arrays (weights, offset, cluster codes...) whose missing values also
    drop rows; returned subset to the kept rows in the second element.
    Raises SpecificationError naming an unknown column or a non-numeric regressor.
    """
    f = parse_formula(formula) if isinstance(formula, str) else formula
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError("data must be a pandas DataFrame")
    missing_cols = [c for c in f.variables() if c not in data.columns]
    if missing_cols:
        raise SpecificationError(
            f"formula {f.text!r}: unknown column(s) {missing_cols}; data has {list(data.columns)}"
        )
    n0 = len(data)
    y = _numeric(data, f.depvar)
    cols: dict[str, np.ndarray] = {}
    X = np.empty((n0, len(f.terms) + int(f.intercept)))
    names = []
    j = 0
    if f.intercept:
        X[:, 0] = 1.0
        names.append("Intercept")
        j = 1
    for t in f.terms:
        v = np.ones(n0)
        for c in t.split(":"):
            if c not in cols:
                cols[c] = _numeric(data, c)
            v = v * cols[c]
        X[:, j] = v
        names.append(t)
        j += 1
    ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
    fe_cols = list(dict.fromkeys(c for t in f.fixef for c in t.split("^")))
    if fe_cols:
        ok &= ~data[fe_cols].isna().any(axis=1).to_numpy()
    extra = extra or {}
    for key, arr in extra.items():
        a = np.asarray(arr)
        if a.shape[0] != n0:
            raise SpecificationError(f"{key} has {a.shape[0]} rows, data has {n0}")
        ok &= ~pd.isna(a) if a.ndim == 1 else ~pd.isna(a).any(axis=1)
    idx = np.flatnonzero(ok)
    sub = data.iloc[idx]
    fe = np.empty((idx.size, len(f.fixef)), dtype=np.int64)
    levels = []
    for q, t in enumerate(f.fixef):
        fe[:, q], lv = factorize_fe(sub, t)
        levels.append(lv)
    drops = {"missing": int(n0 - idx.size)}
    mf = ModelFrame(f, y[idx], np.ascontiguousarray(X[idx]), names, fe, levels, idx, n0, drops)
    return mf, {k: np.asarray(v)[idx] for k, v in extra.items()}
