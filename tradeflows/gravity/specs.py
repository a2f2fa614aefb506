"""Structural gravity specifications (Yotov, Piermartini, Monteiro and Larch 2016, ch. 1).

Each specification is a :class:`GravitySpec`: a name, the formula handed to
``tradeflows.estimation`` (``"y ~ x | fe"``), the estimator, a sample rule stated in words and
as a callable, and the covariance. ``spec.fit(df)`` returns a :class:`FittedSpec` holding the
spec, the estimation sample's size and the estimator's results, so the user always sees what
was estimated on which rows.

Variable builders (``add_*``) add columns to a pair-year table with columns ``exporter``,
``importer``, ``year`` and ``trade`` (trade in any currency unit; levels, not logs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from tradeflows.errors import DataError, SpecificationError
from tradeflows.estimation import Results, ols, ppml
from tradeflows.estimation.formula import parse_formula

SampleRule = Callable[[pd.DataFrame], pd.Series]

#: Covariance used throughout: clustered by country pair, as in the guide (p. 42 note).
PAIR_CLUSTER: dict[str, str] = {"CL1": "pair"}


# ---------------------------------------------------------------------------------------------
# sample rules
# ---------------------------------------------------------------------------------------------

def _all_rows(df: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=df.index)


def international(df: pd.DataFrame) -> pd.Series:
    """Rows with exporter != importer."""
    return df["exporter"] != df["importer"]


def international_positive(df: pd.DataFrame) -> pd.Series:
    """International rows with trade > 0 (the OLS sample: the log of zero is undefined)."""
    return international(df) & (df["trade"] > 0)


def observed(df: pd.DataFrame) -> pd.Series:
    """Rows whose trade is not missing (PPML keeps zeros)."""
    return df["trade"].notna()


def pair_positive(df: pd.DataFrame) -> pd.Series:
    """Rows of pairs whose total trade over the sample's years is positive (pair-FE PPML)."""
    total = df.groupby("pair", observed=True)["trade"].transform("sum")
    return total > 0


# ---------------------------------------------------------------------------------------------
# spec objects
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GravitySpec:
    """One estimable specification: formula, estimator, sample rule and covariance.

    ``formula`` uses the estimation module's syntax ``"depvar ~ x1 + x2 | fe1 + fe2"``;
    ``sample`` states the sample rule in words and ``sample_rule`` applies it (a boolean mask).
    """

    name: str
    formula: str
    estimator: Literal["ppml", "ols"] = "ppml"
    sample: str = "all rows"
    sample_rule: SampleRule = field(default=_all_rows, repr=False, compare=False)
    vcov: Any = field(default_factory=lambda: dict(PAIR_CLUSTER))
    ssc: Any = None
    label: str = ""

    @property
    def variables(self) -> list[str]:
        """Columns the formula uses (dependent variable, regressors, fixed effects)."""
        return parse_formula(self.formula).variables()

    @property
    def regressors(self) -> list[str]:
        """The slope terms of the formula."""
        return list(parse_formula(self.formula).terms)

    def select(self, df: pd.DataFrame) -> pd.DataFrame:
        """The estimation sample: rows passing the sample rule; checks the columns exist."""
        cluster = _cluster_column(self.vcov)
        needed = self.variables + ([cluster] if cluster else [])
        missing = [c for c in dict.fromkeys(needed) if c not in df.columns]
        if missing:
            raise SpecificationError(
                f"spec {self.name!r} needs column(s) {missing} that the data do not have"
            )
        mask = self.sample_rule(df).astype(bool)
        return df.loc[mask]

    def fit(self, df: pd.DataFrame, **kwargs: Any) -> FittedSpec:
        """Estimate the spec on ``df`` with tradeflows' own PPML or OLS; extra kwargs go there."""
        sample = self.select(df)
        if sample.empty:
            raise SpecificationError(f"spec {self.name!r}: the sample rule leaves no rows")
        options: dict[str, Any] = {"vcov": self.vcov}
        if self.ssc is not None:
            options["ssc"] = self.ssc
        options.update(kwargs)
        fitter = ppml if self.estimator == "ppml" else ols
        result = fitter(sample, self.formula, **options)
        years = None
        if "year" in sample.columns and len(result.sample_index):
            used = sample["year"].to_numpy()[np.asarray(result.sample_index)]
            years = (int(used.min()), int(used.max()))
        return FittedSpec(spec=self, result=result, rows_in=len(df), rows_sample=len(sample),
                          years=years)


@dataclass
class FittedSpec:
    """A spec with its results. ``rows_sample - result.nobs`` rows were dropped by the estimator
    (separation, singletons, missing values: see ``result.drops``)."""

    spec: GravitySpec
    result: Results
    rows_in: int
    rows_sample: int
    years: tuple[int, int] | None = None

    @property
    def coef(self) -> pd.Series:
        return pd.Series(self.result.coef, dtype=float)

    @property
    def se(self) -> pd.Series:
        return pd.Series(self.result.se, dtype=float)

    def tidy(self) -> pd.DataFrame:
        """The estimator's tidy table with the spec's name added."""
        out = self.result.tidy().copy()
        out.insert(0, "spec", self.spec.name)
        return out

    def sum_of(self, terms: Sequence[str]) -> tuple[float, float]:
        """Sum of coefficients (e.g. a policy and its lags: the total effect) and its
        standard error sqrt(1' V 1) (guide Table 3, ``lincom``)."""
        v = self.result.vcov.loc[list(terms), list(terms)].to_numpy()
        return float(self.coef[list(terms)].sum()), float(np.sqrt(v.sum()))

    def percent_change(self, first: str, last: str) -> tuple[float, float]:
        """100 (b_last - b_first) / b_first and its delta-method standard error (guide
        Table 2: change of the distance elasticity)."""
        b1, b2 = float(self.coef[first]), float(self.coef[last])
        grad = np.array([-100 * b2 / b1**2, 100 / b1])
        v = self.result.vcov.loc[[first, last], [first, last]].to_numpy()
        return 100 * (b2 - b1) / b1, float(np.sqrt(grad @ v @ grad))


def _cluster_column(vcov: Any) -> str | None:
    if isinstance(vcov, dict) and len(vcov) == 1:
        value = next(iter(vcov.values()))
        return value if isinstance(value, str) else None
    return None


# ---------------------------------------------------------------------------------------------
# variable builders
# ---------------------------------------------------------------------------------------------

def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{what} needs column(s) {missing}", column=missing[0])


def add_fixed_effect_ids(df: pd.DataFrame, *, pair_col: str | None = None) -> pd.DataFrame:
    """Add ``exp_year``, ``imp_year`` and ``pair`` identifiers (strings).

    ``pair`` is the directional pair ``"EXP_IMP"`` unless ``pair_col`` names an existing pair
    identifier (the guide's symmetric ``pair_id``), which is then copied.
    """
    _require(df, ["exporter", "importer", "year"], "fixed-effect identifiers")
    out = df.copy()
    year = out["year"].astype(int).astype(str)
    out["exp_year"] = out["exporter"].astype(str) + "_" + year
    out["imp_year"] = out["importer"].astype(str) + "_" + year
    if pair_col is not None:
        _require(out, [pair_col], "pair identifier")
        out["pair"] = out[pair_col].astype(str)
    else:
        out["pair"] = out["exporter"].astype(str) + "_" + out["importer"].astype(str)
    return out


def add_output_expenditure(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``Y`` (exporter's total shipments), ``E`` (importer's total purchases) by year and
    their logs ``ln_y``, ``ln_e`` (guide eq. 1-23; sums include domestic flows if present)."""
    _require(df, ["exporter", "importer", "year", "trade"], "output and expenditure")
    out = df.copy()
    out["Y"] = out.groupby(["exporter", "year"])["trade"].transform("sum")
    out["E"] = out.groupby(["importer", "year"])["trade"].transform("sum")
    with np.errstate(divide="ignore"):
        out["ln_y"] = np.log(out["Y"])
        out["ln_e"] = np.log(out["E"])
    return out


def add_remoteness(df: pd.DataFrame, dist_col: str = "dist") -> pd.DataFrame:
    """Add the guide's remoteness indexes (p. 43, eq. 1-24), in logs.

    ``ln_rem_exp[i,t] = ln sum_j dist_ij / (E_jt / E_t)`` and
    ``ln_rem_imp[j,t] = ln sum_i dist_ij / (Y_it / Y_t)``, where ``E_t`` (``Y_t``) is world
    expenditure (output) in year t. Adds ``Y``/``E`` first if absent.
    """
    _require(df, ["exporter", "importer", "year", "trade", dist_col], "remoteness indexes")
    out = df if {"Y", "E"} <= set(df.columns) else add_output_expenditure(df)
    out = out.copy()
    world_e = out.drop_duplicates(["importer", "year"]).groupby("year")["E"].sum()
    world_y = out.drop_duplicates(["exporter", "year"]).groupby("year")["Y"].sum()
    exp_term = out[dist_col] / (out["E"] / out["year"].map(world_e))
    imp_term = out[dist_col] / (out["Y"] / out["year"].map(world_y))
    out["ln_rem_exp"] = np.log(exp_term.groupby([out["exporter"], out["year"]]).transform("sum"))
    out["ln_rem_imp"] = np.log(imp_term.groupby([out["importer"], out["year"]]).transform("sum"))
    return out


def add_year_interactions(df: pd.DataFrame, var: str, years: Sequence[int] | None = None, *,
                          prefix: str | None = None, international_only: bool = True
                          ) -> tuple[pd.DataFrame, list[str]]:
    """Add ``{prefix}_{year}`` = ``var`` in that year, 0 otherwise (e.g. ``ln_dist_1986``).

    With ``international_only`` the terms are 0 on domestic rows (guide p. 48, box 1).
    Returns the table and the new column names.
    """
    _require(df, [var, "year", "exporter", "importer"], "year interactions")
    out = df.copy()
    years = sorted(out["year"].unique()) if years is None else list(years)
    prefix = prefix or var
    intl = (out["exporter"] != out["importer"]) if international_only else True
    names = []
    for y in years:
        name = f"{prefix}_{int(y)}"
        out[name] = np.where((out["year"] == y) & intl, out[var], 0.0).astype(float)
        names.append(name)
    return out, names


def add_border_year_dummies(df: pd.DataFrame, years: Sequence[int], *,
                            prefix: str = "intl_brdr") -> tuple[pd.DataFrame, list[str]]:
    """Add ``intl_brdr_{year}`` = 1 for international rows in that year (globalization terms,
    guide eq. 1-39). Leave one year out of ``years`` as the reference."""
    _require(df, ["exporter", "importer", "year"], "border-year dummies")
    out = df.copy()
    intl = out["exporter"] != out["importer"]
    names = []
    for y in years:
        name = f"{prefix}_{int(y)}"
        out[name] = (intl & (out["year"] == y)).astype(float)
        names.append(name)
    return out, names


def add_domestic_terms(df: pd.DataFrame, dist_col: str = "dist") -> pd.DataFrame:
    """Add ``smctry`` (1 on domestic rows), ``ln_dist_intra`` (log internal distance on
    domestic rows, else 0) and ``intra_pair`` (the country on domestic rows, ``"inter"``
    otherwise: country-specific intra-national fixed effects), guide p. 48."""
    _require(df, ["exporter", "importer", dist_col], "domestic-flow terms")
    out = df.copy()
    dom = out["exporter"] == out["importer"]
    out["smctry"] = dom.astype(float)
    with np.errstate(divide="ignore"):
        out["ln_dist_intra"] = np.where(dom, np.log(out[dist_col]), 0.0)
    out["intra_pair"] = np.where(dom, out["exporter"].astype(str), "inter")
    return out


def add_policy_lags(df: pd.DataFrame, var: str, lags: Sequence[int] = (),
                    leads: Sequence[int] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Add ``{var}_lag{k}`` (value of ``var`` k years earlier) and ``{var}_lead{k}`` (k years
    later) for each pair, matched on calendar years (works on 4-year panels).

    Years before the first (after the last) observed year of a pair get 0: the policy is
    assumed not in force outside the data. Returns the table and the new column names.
    """
    _require(df, ["exporter", "importer", "year", var], "policy lags")
    out = df.copy()
    keys = ["exporter", "importer", "year"]
    if out.duplicated(keys).any():
        row = int(np.flatnonzero(out.duplicated(keys).to_numpy())[0])
        raise DataError("duplicate exporter-importer-year", row=row, column="year")
    base = out[keys + [var]]
    names = []
    for k, sign, tag in [(k, 1, "lag") for k in lags] + [(k, -1, "lead") for k in leads]:
        shifted = base.assign(year=base["year"] + sign * k).rename(columns={var: "_v"})
        merged = out[keys].merge(shifted, on=keys, how="left")["_v"].fillna(0.0)
        name = f"{var}_{tag}{int(k)}"
        out[name] = merged.to_numpy(dtype=float)
        names.append(name)
    return out, names


def add_group_interactions(df: pd.DataFrame, var: str, group_col: str, *,
                           groups: Sequence[str] | None = None, prefix: str | None = None
                           ) -> tuple[pd.DataFrame, list[str]]:
    """Split ``var`` by the pair group in ``group_col``: ``{prefix}_{g}`` = ``var`` on rows of
    group g, else 0 (heterogeneous effects, e.g. each OTS member's pairs). Rows whose group is
    missing contribute to no term."""
    _require(df, [var, group_col], "group interactions")
    out = df.copy()
    prefix = prefix or var
    present = out.loc[out[var] != 0, group_col].dropna().unique()
    groups = sorted(map(str, present)) if groups is None else list(groups)
    names = []
    for g in groups:
        name = f"{prefix}_{g}"
        out[name] = np.where(out[group_col].astype(str) == g, out[var], 0.0).astype(float)
        names.append(name)
    return out, names


# ---------------------------------------------------------------------------------------------
# the guide's specifications as short calls
# ---------------------------------------------------------------------------------------------

GRAVITY = "ln_dist + cntg + lang + clny"
MR_FE = "exp_year + imp_year"
PAIR_FE = "exp_year + imp_year + pair"


def ensure_fixed_effect_ids(df: pd.DataFrame) -> pd.DataFrame:
    """Add the fixed-effect identifiers if the table lacks them."""
    if {"exp_year", "imp_year", "pair"} <= set(df.columns):
        return df
    return add_fixed_effect_ids(df)


def add_log_trade(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``ln_trade`` = log of trade where trade > 0, else NaN (dropped by OLS)."""
    out = df.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ln_trade"] = np.log(out["trade"].where(out["trade"] > 0))
    return out


def traditional_ols(df: pd.DataFrame, *, gravity: str = GRAVITY, **kw: Any) -> FittedSpec:
    """OLS of log trade on gravity covariates and log output/expenditure, no MR control
    (guide Table 1 col. OLS, eq. 1-23). Sample: international flows with trade > 0."""
    spec = GravitySpec("traditional_ols", f"ln_trade ~ {gravity} + ln_y + ln_e", "ols",
                       "international flows, trade > 0", international_positive,
                       label="OLS")
    return spec.fit(add_log_trade(add_output_expenditure(ensure_fixed_effect_ids(df))), **kw)


def remoteness_ols(df: pd.DataFrame, *, gravity: str = GRAVITY, **kw: Any) -> FittedSpec:
    """OLS with remoteness indexes for the multilateral resistances (Table 1 col. REMOTENESS,
    eq. 1-24). Sample: international flows with trade > 0."""
    spec = GravitySpec("remoteness_ols",
                       f"ln_trade ~ {gravity} + ln_y + ln_e + ln_rem_exp + ln_rem_imp", "ols",
                       "international flows, trade > 0", international_positive,
                       label="REMOTENESS")
    return spec.fit(add_log_trade(add_remoteness(ensure_fixed_effect_ids(df))), **kw)


def fe_ols(df: pd.DataFrame, *, gravity: str = GRAVITY, **kw: Any) -> FittedSpec:
    """OLS with exporter-year and importer-year fixed effects (Table 1 col. FEs, eq. 1-27).
    Sample: international flows with trade > 0."""
    spec = GravitySpec("fe_ols", f"ln_trade ~ {gravity} | {MR_FE}", "ols",
                       "international flows, trade > 0", international_positive, label="FEs")
    return spec.fit(add_log_trade(ensure_fixed_effect_ids(df)), **kw)


def ppml_fe(df: pd.DataFrame, *, gravity: str = GRAVITY, **kw: Any) -> FittedSpec:
    """PPML with exporter-year and importer-year fixed effects (Table 1 col. PPML, eq. 1-28).
    Sample: international flows, zeros kept."""
    spec = GravitySpec("ppml_fe", f"trade ~ {gravity} | {MR_FE}", "ppml",
                       "international flows (zeros kept)", international, label="PPML")
    return spec.fit(ensure_fixed_effect_ids(df), **kw)


def policy_mr_fe(df: pd.DataFrame, policy: str = "rta",
                 estimator: Literal["ppml", "ols"] = "ppml", *, gravity: str = GRAVITY,
                 **kw: Any) -> FittedSpec:
    """Gravity covariates and a policy dummy with exporter-year and importer-year fixed
    effects on international flows (guide Table 3 cols. OLS and PPML, eqs. 1-34, 1-35)."""
    if estimator == "ols":
        spec = GravitySpec(f"{policy}_ols", f"ln_trade ~ {gravity} + {policy} | {MR_FE}", "ols",
                           "international flows, trade > 0", international_positive,
                           label="OLS")
        return spec.fit(add_log_trade(ensure_fixed_effect_ids(df)), **kw)
    spec = GravitySpec(f"{policy}_ppml", f"trade ~ {gravity} + {policy} | {MR_FE}", "ppml",
                       "international flows (zeros kept)", international, label="PPML")
    return spec.fit(ensure_fixed_effect_ids(df), **kw)


def ppml_domestic(df: pd.DataFrame, policy: str = "rta", *, gravity: str = GRAVITY,
                  **kw: Any) -> FittedSpec:
    """PPML on international and domestic flows with country-specific intra-national fixed
    effects (Table 3 col. INTRA): ``trade ~ gravity + policy | exp_year + imp_year +
    intra_pair``. Sample: all rows with trade observed."""
    spec = GravitySpec("ppml_domestic", f"trade ~ {gravity} + {policy} | {MR_FE} + intra_pair",
                       "ppml", "international and domestic flows", observed, label="INTRA")
    return spec.fit(add_domestic_terms(ensure_fixed_effect_ids(df)), **kw)


DistanceVariant = Literal["ols", "ppml", "intra", "home", "intra_fe"]


def distance_puzzle(df: pd.DataFrame, years: Sequence[int] | None = None,
                    variant: DistanceVariant = "ppml", **kw: Any) -> FittedSpec:
    """Year-specific distance elasticities ``ln_dist_<year>`` (guide Table 2, eq. 1-30..33).

    ``variant``: ``"ols"`` (international, trade > 0), ``"ppml"`` (international),
    ``"intra"`` (+ domestic flows and ``ln_dist_intra``), ``"home"`` (+ ``smctry`` home bias),
    ``"intra_fe"`` (country-specific intra-national fixed effects instead).
    """
    data = add_domestic_terms(ensure_fixed_effect_ids(df))
    data, names = add_year_interactions(data, "ln_dist", years)
    dist_terms = " + ".join(names)
    base = f"{dist_terms} + cntg + lang + clny"
    table = {
        "ols": ("ln_trade", base, MR_FE, "international flows, trade > 0",
                international_positive, "OLS"),
        "ppml": ("trade", base, MR_FE, "international flows", international, "PPML"),
        "intra": ("trade", f"{base} + ln_dist_intra", MR_FE,
                  "international and domestic flows", observed, "INTRA"),
        "home": ("trade", f"{base} + ln_dist_intra + smctry", MR_FE,
                 "international and domestic flows", observed, "BRDR"),
        "intra_fe": ("trade", base, f"{MR_FE} + intra_pair",
                     "international and domestic flows", observed, "FEs"),
    }
    if variant not in table:
        raise SpecificationError(f"distance_puzzle variant {variant!r} not in {sorted(table)}")
    lhs, rhs, fe, sample, rule, label = table[variant]
    spec = GravitySpec(f"distance_puzzle_{variant}", f"{lhs} ~ {rhs} | {fe}",
                       "ols" if variant == "ols" else "ppml", sample, rule, label=label)
    return spec.fit(add_log_trade(data) if variant == "ols" else data, **kw)


def rta_effects(df: pd.DataFrame, policy: str = "rta", *, lags: Sequence[int] = (),
                lead: int | None = None, globalization: bool = False,
                border_years: Sequence[int] | None = None, build_lags: bool = False,
                controls: Sequence[str] = (), name: str | None = None,
                **kw: Any) -> FittedSpec:
    """Policy effects with pair fixed effects (guide Table 3, eqs. 1-36..39).

    ``trade ~ policy [+ policy_lag<k>...] [+ policy_lead<lead>] [+ intl_brdr_<year>...]
    | exp_year + imp_year + pair`` by PPML on all flows (domestic ones included when present)
    of pairs with positive total trade. Lags and the lead are taken from columns
    ``{policy}_lag{k}``/``{policy}_lead{k}`` (built from ``policy`` when ``build_lags``).
    ``globalization`` adds international-border x year dummies for every year but the last
    (identified only with domestic flows); ``controls`` are further regressors.
    """
    data = ensure_fixed_effect_ids(df)
    lag_names = [f"{policy}_lag{int(k)}" for k in lags]
    lead_names = [f"{policy}_lead{int(lead)}"] if lead else []
    if build_lags:
        data, _ = add_policy_lags(data, policy, lags, [lead] if lead else [])
    terms = [policy, *lead_names, *lag_names, *controls]
    if globalization:
        years = sorted(data["year"].unique())[:-1] if border_years is None else border_years
        data, brdr = add_border_year_dummies(data, years)
        terms += brdr
    parts = ["PAIRFE"] + (["LEAD"] if lead else []) + (["PHSNG"] if lags else []) + (
        ["GLBZN"] if globalization else [])
    spec = GravitySpec(name or f"{policy}_" + "_".join(p.lower() for p in parts),
                       f"trade ~ {' + '.join(terms)} | {PAIR_FE}", "ppml",
                       "all observed flows of pairs with positive total trade",
                       lambda d: observed(d) & pair_positive(d), label=parts[-1])
    return spec.fit(data, **kw)


def heterogeneous(df: pd.DataFrame, policy: str, group_col: str, *,
                  groups: Sequence[str] | None = None, controls: Sequence[str] = (),
                  **kw: Any) -> FittedSpec:
    """Policy effect by pair group: ``policy`` split into ``{policy}_{group}`` terms (e.g. the
    pairs of each OTS member), pair + exporter-year + importer-year FE PPML."""
    data, names = add_group_interactions(ensure_fixed_effect_ids(df), policy, group_col,
                                         groups=groups)
    if not names:
        raise SpecificationError(f"{policy!r} is zero on every row: no group effect to estimate")
    rhs = " + ".join([*names, *controls])
    spec = GravitySpec(f"heterogeneous_{policy}_by_{group_col}",
                       f"trade ~ {rhs} | {PAIR_FE}", "ppml",
                       "observed flows of pairs with positive total trade",
                       lambda d: observed(d) & pair_positive(d), label=f"{policy} by group")
    return spec.fit(data, **kw)
