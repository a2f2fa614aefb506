"""From (data, formula, options) to the arrays of the estimation sample.

Shared by PPML and OLS: parse the formula and vcov, read weights / offset / cluster
variables, move ``fixed_coefs`` into the offset, drop missing values, zero weights,
singletons and (PPML) separated observations, each counted by reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit, prange

from tradeflows.errors import SpecificationError
from tradeflows.estimation.codes import recode
from tradeflows.estimation.formula import Formula, factorize_fe, model_frame, parse_formula
from tradeflows.estimation.separation import sample_mask
from tradeflows.estimation.singletons import singleton_mask
from tradeflows.estimation.vcov import SSC, VcovSpec, as_ssc, parse_vcov

__all__ = ["Sample", "build_sample", "check_argument_order"]


@dataclass
class Sample:
    """Estimation sample. Arrays have one row per kept observation (n); fixed-effect and
    cluster codes and the row index are int32 (int64 beyond 2^31 input rows)."""

    formula: Formula
    y: np.ndarray
    X: np.ndarray
    coefnames: list[str]
    fe: np.ndarray
    fe_levels: list[pd.Index]
    weights: np.ndarray
    offset: np.ndarray
    clusters: list[np.ndarray]
    vcov_spec: VcovSpec
    ssc: SSC
    index: np.ndarray
    nobs_original: int
    drops: dict[str, int]
    fixed_coefs: dict[str, float] = field(default_factory=dict)
    offset_name: str | None = None
    weights_name: str | None = None
    has_weights: bool = False
    seconds_separation: float = 0.0  # singleton removal and separation checks


def check_argument_order(data: object, formula: object, model: str) -> None:
    """One-line SpecificationError when the arguments are swapped or of the wrong type
    (never printing the data)."""
    if isinstance(data, str) and isinstance(formula, pd.DataFrame):
        raise SpecificationError(
            f"arguments in the wrong order: tradeflows.{model}(data, formula), e.g. "
            f"tradeflows.{model}(df, {data!r}); the formula came first")
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"tradeflows.{model}(data, formula): data must be a pandas "
                                 f"DataFrame, not a {type(data).__name__}")
    if not isinstance(formula, str):
        raise SpecificationError(f"tradeflows.{model}(data, formula): formula must be a "
                                 f"string, not a {type(formula).__name__}")


def _column_or_array(data: pd.DataFrame, value: object, what: str) -> tuple[np.ndarray, str | None]:
    if isinstance(value, str):
        if value not in data.columns:
            raise SpecificationError(f"{what} column {value!r} not in data")
        s = data[value]
        if not pd.api.types.is_numeric_dtype(s):
            raise SpecificationError(f"{what} column {value!r} is not numeric (dtype {s.dtype})")
        return s.to_numpy(dtype=np.float64, na_value=np.nan), value
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (len(data),):
        raise SpecificationError(f"{what} must be a column name or an array of length {len(data)}")
    return arr, None


def take_rows(a: np.ndarray, rows: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """a[rows] (a: (N,) or (N, p); rows: (n,) int64 row indices), C-contiguous, in ``dtype``
    (default a's), by a parallel compiled gather (numpy's takes run on one thread and its
    (N, p) fancy indexing does not give a contiguous copy directly)."""
    out = np.empty((rows.size, *a.shape[1:]), dtype=dtype or a.dtype)
    _gather(np.ascontiguousarray(a), rows, out)
    return out


@njit(parallel=True, cache=True)
def _gather(a, rows, out):
    for i in prange(rows.size):
        out[i] = a[rows[i]]


def build_sample(data: pd.DataFrame, formula: str, *, model: str, vcov: object,
                 weights: object = None, offset: object = None,
                 fixed_coefs: dict[str, float] | None = None,
                 separation: Sequence[str] = (), ssc: object = None) -> Sample:
    """Parse, read and trim the data to the estimation sample (see module docstring)."""
    check_argument_order(data, formula, model)
    f = parse_formula(formula)
    spec = parse_vcov(vcov, f.fixef)
    conv = as_ssc(ssc)
    extra: dict[str, np.ndarray] = {}
    wname = oname = None
    if weights is not None:
        extra["weights"], wname = _column_or_array(data, weights, "weights")
    if offset is not None:
        extra["offset"], oname = _column_or_array(data, offset, "offset")
    # a cluster that is also a fixed effect takes the fixed effect's codes (not factorized
    # twice: 0.3-0.5 s at 10M rows)
    shared = {c: f.fixef.index(c) for c in spec.clusters if c in f.fixef}
    for c in spec.clusters:
        if c in shared:
            continue
        cols = c.split("^")
        unknown = [x for x in cols if x not in data.columns]
        if unknown:
            raise SpecificationError(f"cluster variable {unknown[0]!r} not in data")
        ok = ~data[cols].isna().any(axis=1).to_numpy()
        codes = np.full(len(data), np.nan)
        codes[ok] = factorize_fe(data.loc[ok], c)[0]
        extra[f"cluster:{c}"] = codes
    mf, ex = model_frame(data, f, extra)
    f = mf.formula
    drops = dict(mf.drops)
    y, X, fe = mf.y, mf.X, mf.fe
    index, fe_levels_all, nobs_original = mf.index, mf.fe_levels, mf.nobs_original
    names = list(mf.coefnames)
    # absent weights and offset: constants, made at the sample's size at the end
    w, off = ex.get("weights"), ex.get("offset")
    if w is not None and (w < 0).any():
        row = int(mf.index[np.flatnonzero(w < 0)[0]])
        label = f"weights {wname!r}" if wname else "weights"
        raise SpecificationError(f"{label} negative at row {row} ({w[w < 0][0]})")
    if model == "ppml" and (y < 0).any():
        row = int(mf.index[np.flatnonzero(y < 0)[0]])
        raise SpecificationError(
            f"dependent variable {f.depvar!r} is negative at row {row} ({y[y < 0][0]}); "
            "PPML needs y >= 0"
        )
    fixed = {}
    for name, b in (fixed_coefs or {}).items():
        if name not in names:
            raise SpecificationError(f"fixed_coefs: {name!r} is not a regressor of {formula!r}")
        j = names.index(name)
        off = float(b) * X[:, j] + (0.0 if off is None else off)
        X = np.delete(X, j, axis=1)
        names.pop(j)
        fixed[name] = float(b)
    keep = np.ones(y.size, dtype=bool) if w is None else w > 0
    drops["zero_weight"] = int(y.size - np.count_nonzero(keep))
    started = time.perf_counter()
    if model == "ppml":
        alive, sd = sample_mask(y, X, fe, separation=tuple(separation), keep=keep)
        drops["singleton"] = sd.pop("singletons")
        drops.update(sd)
        keep = alive
    elif fe.shape[1]:
        single = singleton_mask(fe, keep=keep)
        drops["singleton"] = int(single.sum())
        keep &= ~single
    seconds_separation = time.perf_counter() - started
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        raise SpecificationError(f"{formula!r}: no observation left after dropping {drops}")
    del mf, keep
    if fe.shape[0] >= 2**31:
        raise SpecificationError(f"{formula!r}: more than 2^31 observations")
    # the sample's codes (int32: fewer levels than rows), without full-length copies
    fe_new, kept = recode(fe, rows)
    fe_levels = [levels[present] for levels, present in zip(fe_levels_all, kept, strict=True)]
    del fe
    clusters = [fe_new[:, shared[c]].copy() if c in shared
                else recode(ex.pop(f"cluster:{c}")[rows].astype(np.int64)[:, None])[0][:, 0]
                for c in spec.clusters]
    X, y = take_rows(X, rows), take_rows(y, rows)
    w = np.ones(rows.size) if w is None else take_rows(w, rows)
    off = np.zeros(rows.size) if off is None else take_rows(off, rows)
    index = take_rows(index, rows, np.int32 if nobs_original < 2**31 else np.int64)
    return Sample(f, y, X, names, fe_new, fe_levels, w, off, clusters, spec, conv, index,
                  nobs_original, drops, fixed, oname, wname, weights is not None,
                  seconds_separation)
