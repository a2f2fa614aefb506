"""Replication of Yotov, Piermartini, Monteiro and Larch (2016), chapter 1, applications 1-3.

Data: ``data/raw/agtpa/agtpa_applications.parquet`` (the guide's Chapter1Application3 file:
69 countries, 1986-2006 yearly, international and domestic flows, trade in millions of USD).
The guide keeps every fourth year (1986, 1990, ..., 2006) and clusters by country pair
(``pair_id``, symmetric; domestic pairs have their own ids).

Published numbers: ``tradeflows/data/agtpa_published.csv`` (table, column, term, estimate,
std_error, nobs, page, reference). The guide's Stata commands (``ppml``, ``regress`` with
``cluster``) scale clustered covariances by G/(G-1); the comparison uses
``ssc="stata"`` (G/(G-1) only) so conventions match.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.config import PACKAGE_DATA, Paths, raw_dir
from tradeflows.errors import DataError
from tradeflows.gravity import specs
from tradeflows.gravity.specs import FittedSpec

AGTPA_FILE = Path("agtpa") / "agtpa_applications.parquet"
PUBLISHED_FILE = PACKAGE_DATA / "agtpa_published.csv"
GUIDE_YEARS: tuple[int, ...] = (1986, 1990, 1994, 1998, 2002, 2006)
REQUIRED = ("exporter", "importer", "pair_id", "year", "trade", "dist", "cntg", "lang", "clny",
            "rta", "rta_lag4", "rta_lag8", "rta_lag12", "rta_lead4")
#: Tolerances of the comparison: published numbers are rounded to 3 decimals (0.0005) and the
#: solutions manual rounds from 4 decimals, so |difference| <= 0.0015; the percent changes of
#: the distance elasticity (Table 2) are printed in percent, |difference| <= 0.01.
TOLERANCE = 0.0015
TOLERANCE_PERCENT = 0.01


def load_agtpa(path: str | Path | None = None, *, years: tuple[int, ...] = GUIDE_YEARS,
               paths: Paths | None = None) -> pd.DataFrame:
    """The guide's panel for ``years`` with ``ln_dist`` and the fixed-effect identifiers
    (``exp_year``, ``imp_year``, ``pair`` = the guide's symmetric ``pair_id``).

    Raises DataError naming the file and column when a column is missing or a value is invalid.
    """
    file = Path(path) if path is not None else (paths.raw if paths else raw_dir()) / AGTPA_FILE
    df = pd.read_parquet(file)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}", file=file, column=missing[0])
    bad = df["trade"].isna() | (df["trade"] < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError("trade must be a non-negative number", file=file, row=row,
                        column="trade")
    nonpos = ~(df["dist"] > 0)
    if nonpos.any():
        row = int(np.flatnonzero(nonpos.to_numpy())[0])
        raise DataError("distance must be positive", file=file, row=row, column="dist")
    df = df[df["year"].isin(years)].reset_index(drop=True)
    df["ln_dist"] = np.log(df["dist"])
    return specs.add_fixed_effect_ids(df, pair_col="pair_id")


def published(table: str | None = None) -> pd.DataFrame:
    """The guide's published coefficients and standard errors (optionally one table)."""
    out = pd.read_csv(PUBLISHED_FILE)
    return out if table is None else out[out["table"] == table].reset_index(drop=True)


# Each column of each table: the spec call that replicates it.
COLUMNS: dict[str, dict[str, Callable[..., FittedSpec]]] = {
    "Table 1": {
        "OLS": specs.traditional_ols,
        "REMOTENESS": specs.remoteness_ols,
        "FEs": specs.fe_ols,
        "PPML": specs.ppml_fe,
    },
    "Table 2": {
        "OLS": lambda d, **kw: specs.distance_puzzle(d, GUIDE_YEARS, "ols", **kw),
        "PPML": lambda d, **kw: specs.distance_puzzle(d, GUIDE_YEARS, "ppml", **kw),
        "INTRA": lambda d, **kw: specs.distance_puzzle(d, GUIDE_YEARS, "intra", **kw),
        "BRDR": lambda d, **kw: specs.distance_puzzle(d, GUIDE_YEARS, "home", **kw),
        "FEs": lambda d, **kw: specs.distance_puzzle(d, GUIDE_YEARS, "intra_fe", **kw),
    },
    "Table 3": {
        "OLS": lambda d, **kw: specs.policy_mr_fe(d, "rta", "ols", **kw),
        "PPML": lambda d, **kw: specs.policy_mr_fe(d, "rta", "ppml", **kw),
        "INTRA": specs.ppml_domestic,
        "ENDG": lambda d, **kw: specs.rta_effects(d, **kw),
        "LEAD": lambda d, **kw: specs.rta_effects(d, lead=4, **kw),
        "PHSNG": lambda d, **kw: specs.rta_effects(d, lags=(4, 8, 12), **kw),
        "GLBZN": lambda d, **kw: specs.rta_effects(d, lags=(4, 8, 12), globalization=True,
                                                   **kw),
    },
}


def fit_table(table: str, df: pd.DataFrame, columns: list[str] | None = None,
              **kw: object) -> dict[str, FittedSpec]:
    """Estimate the columns of one of the guide's tables (``"Table 1"``, ``"Table 2"``,
    ``"Table 3"``) on ``df`` from :func:`load_agtpa`, with Stata's clustering convention."""
    if table not in COLUMNS:
        raise KeyError(f"unknown table {table!r}; choose from {sorted(COLUMNS)}")
    chosen = columns or list(COLUMNS[table])
    kw.setdefault("ssc", "stata")
    return {col: COLUMNS[table][col](df, **kw) for col in chosen}


def _derived(fit: FittedSpec) -> dict[str, tuple[float, float]]:
    """Combinations the guide reports: percent change of the distance elasticity from the
    first to the last year (Table 2) and the total RTA effect (sum of RTA terms, Table 3),
    each with its delta-method standard error."""
    coef = fit.coef
    out: dict[str, tuple[float, float]] = {}
    dist = [t for t in coef.index if t.startswith("ln_dist_") and t[8:].isdigit()]
    if len(dist) >= 2:
        out["pct_change_dist"] = fit.percent_change(dist[0], dist[-1])
    rta = [t for t in coef.index if t == "rta" or t.startswith("rta_lag")]
    if len(rta) > 1:
        out["total_rta"] = fit.sum_of(rta)
    return out


def compare(table: str, fits: dict[str, FittedSpec]) -> pd.DataFrame:
    """Published vs replicated, one row per (column, term): estimate, std_error, nobs, the
    absolute differences and whether both are within the tolerance."""
    pub = published(table)
    rows = []
    for _, p in pub.iterrows():
        fit = fits.get(p["column"])
        if fit is None:
            continue
        values = {t: (fit.coef[t], fit.se[t]) for t in fit.coef.index} | _derived(fit)
        est, se = values.get(p["term"], (np.nan, np.nan))
        tol = TOLERANCE_PERCENT if p["term"].startswith("pct_") else TOLERANCE
        d_est, d_se = abs(est - p["estimate"]), abs(se - p["std_error"])
        rows.append({
            "table": table, "column": p["column"], "term": p["term"],
            "published_estimate": p["estimate"], "estimate": est,
            "published_se": p["std_error"], "std_error": se,
            "published_nobs": int(p["nobs"]), "nobs": int(fit.result.nobs),
            "diff_estimate": d_est, "diff_se": d_se, "tolerance": tol,
            "within_tolerance": bool(d_est <= tol and d_se <= tol
                                     and int(fit.result.nobs) == int(p["nobs"])),
        })
    return pd.DataFrame(rows)


def replicate(table: str, df: pd.DataFrame | None = None,
              columns: list[str] | None = None) -> pd.DataFrame:
    """Estimate one of the guide's tables and compare it with the published numbers."""
    data = load_agtpa() if df is None else df
    return compare(table, fit_table(table, data, columns))
