"""Policy effects on a pair-year panel: the models, samples and tidy estimates that a study's
application (e.g. ``tradeflows.studies.<study>.application``) fits on its countries.

Every model is PPML with exporter-year, importer-year and pair fixed effects (the guide's
preferred specification, Table 3 col. ENDG) on the international flows of the panel whose
trade is observed (NaN = nobody reported: dropped and counted; 0 = reported zero: kept) and of
pairs with positive total trade. The sample is source-consistent
(``tradeflows.panel.sample.source_consistent``, default ``"pair_family_fe"``): the pair fixed
effect is a (pair, source family) effect, so a pair's series from IMF DOTS (to 2020) and from
national statistics (2021-) each have their own level and no policy term can pick up the change
of source; standard errors are clustered by the same (pair, source family) cells. The EU27's
rows as one exporter are left out (its members trade in their own rows). Models:

- ``ots``: OTS membership, members (``both_ots``) and observer pairs (``ots_observer_pair``)
  separately;
- ``ots_by_member``: ``both_ots`` split by each OTS member's pairs;
- ``ots_dynamic``: ``both_ots`` with a 2-year lead (anticipation) and 2- and 4-year lags
  (phasing-in), controlling for the other policy terms (guide Table 3 cols. LEAD/PHSNG);
  the tidy file adds ``both_ots_total`` (both_ots + lags, delta-method SE);
- ``corridor``: Baku-Tbilisi-Kars / Middle Corridor access (``uses_btk``,
  ``uses_middle_corridor``);
- ``eaeu``, ``wto``, ``sanctions``: ``both_eaeu``; ``both_wto``; every ``sanction*`` column;
- ``joint``: all policy terms together with ``fta`` and ``both_cis_fta``;
- a study adds its own models (e.g. ``both_ots`` by member and an accession event study).

A term is left out (and said so in the table notes) when the panel lacks its column or the
column never changes within a pair over the sample (the pair fixed effects absorb it).
A study's ``run_application`` writes the tables, figures and the tidy estimates (schema in
docs/gravity.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity import specs
from tradeflows.gravity.event_study import EventStudy
from tradeflows.gravity.specs import FittedSpec, GravitySpec
from tradeflows.panel.sample import DEFAULT_METHOD, SampleMethod, SourceSample, source_consistent

PANEL_COLUMNS = ("year", "exporter", "importer", "trade")
N_PARTNERS = 30
ESTIMATE_DTYPES = {"spec": "str", "term": "str", "estimate": "float64", "std_error": "float64",
                   "conf_low": "float64", "conf_high": "float64", "p_value": "float64",
                   "nobs": "int64", "years": "str", "drops": "str", "formula": "str",
                   "sample": "str"}
ESTIMATE_COLUMNS = list(ESTIMATE_DTYPES)


@dataclass(frozen=True)
class PolicyModel:
    """A named group of policy terms estimated together (columns missing from the panel or
    constant within pairs are left out)."""

    name: str
    title: str
    terms: tuple[str, ...]
    prefixes: tuple[str, ...] = ()

    def wanted(self, columns: pd.Index) -> list[str]:
        found = [t for t in self.terms if t in columns]
        for p in self.prefixes:
            found += sorted(c for c in columns if c.startswith(p) and c not in found)
        return found


MODELS: tuple[PolicyModel, ...] = (
    PolicyModel("ots", "OTS: members and observers", ("both_ots", "ots_observer_pair")),
    PolicyModel("corridor", "BTK / Middle Corridor access", ("uses_btk", "uses_middle_corridor")),
    PolicyModel("eaeu", "EAEU", ("both_eaeu",)),
    PolicyModel("wto", "WTO", ("both_wto",)),
    PolicyModel("sanctions", "Sanctions", (), ("sanctioned_pair",)),
)
JOINT_EXTRA = ("fta", "both_cis_fta")


@dataclass
class ApplicationResults:
    """Fitted models by name, the event study, and the notes on terms left out."""

    fits: dict[str, FittedSpec] = field(default_factory=dict)
    event: EventStudy | None = None
    notes: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    sample_drops: dict[str, int] = field(default_factory=dict)
    identification: pd.DataFrame = field(default_factory=pd.DataFrame)
    event_year: int | None = None
    source_sample: SourceSample | None = None


def read_panel(path: Path) -> pd.DataFrame:
    """Read the panel and check the columns the application needs (DataError names them)."""
    if not Path(path).exists():
        raise DataError("panel not found: run `tradeflows build` first", file=path)
    df = pd.read_parquet(path)
    missing = [c for c in PANEL_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"panel lacks column(s) {missing}", file=path, column=missing[0])
    neg = df["trade"] < 0
    if neg.any():
        row = int(np.flatnonzero(neg.to_numpy())[0])
        raise DataError("negative trade", file=path, row=row, column="trade")
    return df


def sample_countries(panel: pd.DataFrame, focus: Sequence[str],
                     n_partners: int = N_PARTNERS) -> list[str]:
    """The ``focus`` countries (ISO3) present plus their ``n_partners`` largest partners by total
    observed trade with them (both directions, all years); ties broken by ISO3 code."""
    from tradeflows.panel.aggregate import country_rows

    if not focus:
        raise SpecificationError("sample_countries needs the focus countries (ISO3)")
    needed = [c for c in ("exporter", "importer", "trade", "eu_aggregate") if c in panel.columns]
    panel = country_rows(panel[needed])  # not a copy of every column of the wide panel
    present = set(panel["exporter"].unique()) | set(panel["importer"].unique())
    chosen = [c for c in focus if c in present]
    intl = panel[(panel["exporter"] != panel["importer"]) & panel["trade"].notna()]
    ex = intl[intl["exporter"].isin(chosen)].groupby("importer")["trade"].sum()
    im = intl[intl["importer"].isin(chosen)].groupby("exporter")["trade"].sum()
    total = ex.add(im, fill_value=0.0).drop(labels=chosen, errors="ignore")
    ranked = total.reset_index().set_axis(["iso3", "trade"], axis=1)
    ranked = ranked.sort_values(["trade", "iso3"], ascending=[False, True])
    return chosen + ranked["iso3"].head(n_partners).tolist()


def source_sample(panel: pd.DataFrame, countries: list[str] | None = None,
                  method: SampleMethod = DEFAULT_METHOD) -> SourceSample:
    """The source-consistent sample (``tradeflows.panel.sample``) of the international rows
    among ``countries`` (default: all)."""
    keep = panel["exporter"] != panel["importer"]
    if countries is not None:
        keep &= panel["exporter"].isin(countries) & panel["importer"].isin(countries)
    return source_consistent(panel[keep.to_numpy()], method)


def estimation_sample(panel: pd.DataFrame, countries: list[str] | None = None,
                      method: SampleMethod = DEFAULT_METHOD) -> pd.DataFrame:
    """International rows among ``countries`` (default: all), source-consistent by
    ``method``, with the fixed-effect identifiers (``pair`` = directional pair x source family
    under ``"pair_family_fe"``, ``country_pair`` = directional pair); booleans as 0/1, trade in
    millions (PPML estimates do not depend on the unit)."""
    return with_ids(source_sample(panel, countries, method).data, method)


def with_ids(df: pd.DataFrame, method: str) -> pd.DataFrame:
    """Booleans as 0/1, trade in millions, fixed-effect identifiers. Route variables stay NaN
    outside the corridor network (unknown, not "does not use the corridor"): filling them
    with 0 made ``uses_middle_corridor`` switch on when a country joined the EU node (Poland,
    2004) and nowhere else. Models with route terms drop those rows (counted as missing)."""
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_bool_dtype(df[col]) or str(df[col].dtype) == "boolean":
            df[col] = df[col].astype(float)
    df["trade"] = df["trade"] / 1e6
    df = specs.add_fixed_effect_ids(df)
    df["country_pair"] = df["pair"]
    if method == "pair_family_fe":
        df["pair"] = df["pair_family"]
    return df


def varies_within_pair(df: pd.DataFrame, col: str) -> bool:
    """True when ``col`` changes over time for at least one pair with observed trade."""
    obs = df[df["trade"].notna()]
    return bool((obs.groupby("pair")[col].nunique() > 1).any())


def source_break_share(df: pd.DataFrame, term: str) -> float:
    """Among the pairs whose ``term`` changes over time, the share where it changes between
    two consecutive observed years whose ``trade_source`` differs (then the estimate may
    reflect the change of source, not the policy). 0 without the column."""
    if "trade_source" not in df.columns:
        return 0.0
    obs = df[df["trade"].notna()].sort_values(["pair", "year"])
    same_pair = obs["pair"].eq(obs["pair"].shift())
    switch = same_pair & obs[term].ne(obs[term].shift())
    if not switch.any():
        return 0.0
    source = obs["trade_source"].astype(object).fillna("")
    with_break = switch & source.ne(source.shift())
    pairs = obs.loc[switch, "pair"].unique()
    return float(len(obs.loc[with_break, "pair"].unique()) / len(pairs))


def identification(df: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """What identifies each term under pair fixed effects: the pairs whose value changes
    over time, the observed pair-years with the term on among them, and their years."""
    obs = df[df["trade"].notna()]
    rows = []
    for t in dict.fromkeys(terms):
        changes = obs.groupby("pair")[t].nunique()
        sub = obs[obs["pair"].isin(changes.index[changes > 1])]
        on = sub[sub[t] != 0]
        rows.append({"term": t, "pairs changing": int((changes > 1).sum()),
                     "pair-years on": len(on),
                     "years on": f"{on['year'].min()}-{on['year'].max()}" if len(on) else ""})
    return pd.DataFrame(rows, columns=["term", "pairs changing", "pair-years on", "years on"])


def usable_terms(df: pd.DataFrame, terms: list[str], notes: list[str], model: str) -> list[str]:
    kept = []
    for t in terms:
        if not pd.api.types.is_numeric_dtype(df[t]) and not pd.api.types.is_bool_dtype(df[t]):
            notes.append(f"{model}: {t} left out (not numeric)")
        elif not varies_within_pair(df, t):
            notes.append(f"{model}: {t} left out (constant within every pair: absorbed by "
                         "the pair fixed effects)")
        else:
            kept.append(t)
            share = source_break_share(df, t)
            if share >= 0.5:
                notes.append(f"{model}: {t}: in {share:.0%} of the pairs where it changes, the "
                             "data source changes with it (e.g. IMF DOTS to national "
                             "statistics): the estimate may reflect the change of source")
    return kept


def pair_fe_spec(name: str, terms: list[str], title: str) -> GravitySpec:
    return GravitySpec(name, f"trade ~ {' + '.join(terms)} | {specs.PAIR_FE}", "ppml",
                       "international flows with trade observed, pairs with positive total "
                       "trade", lambda d: specs.observed(d) & specs.pair_positive(d),
                       label=title)


def add_country_interactions(df: pd.DataFrame, var: str, countries: tuple[str, ...]
                             ) -> tuple[pd.DataFrame, list[str]]:
    """``{var}_{c}`` = ``var`` on rows where c is the exporter or the importer (each OTS
    member's pairs; a pair of two members enters both terms)."""
    out = df.copy()
    names = []
    for c in countries:
        name = f"{var}_{c}"
        side = (out["exporter"] == c) | (out["importer"] == c)
        out[name] = np.where(side, out[var].astype(float), 0.0)
        names.append(name)
    return out, names


def sample_by_year(df: pd.DataFrame) -> pd.DataFrame:
    """Sample size by year: pair-years, observed (positive, zero) and not reported flows."""
    g = df.groupby("year")["trade"]
    out = pd.DataFrame({
        "pair-years": g.size(),
        "observed": g.count(),
        "positive": g.apply(lambda s: int((s > 0).sum())),
        "zero": g.apply(lambda s: int((s == 0).sum())),
        "not reported": g.apply(lambda s: int(s.isna().sum())),
    }).astype("int64")
    return out.reset_index()


def total_row(fit: FittedSpec, like: pd.Series, terms: list[str]) -> pd.DataFrame:
    """A tidy row ``<first term>_total``: the sum of ``terms`` (contemporaneous + lagged
    effect) with its standard error, normal interval and p-value."""
    terms = [t for t in terms if t in fit.coef.index]
    est, se = fit.sum_of(terms)
    z = 1.959963984540054
    row = like.to_dict() | {
        "term": f"{terms[0]}_total", "estimate": est, "std_error": se,
        "conf_low": est - z * se, "conf_high": est + z * se,
        "p_value": float(2 * stats.norm.sf(abs(est / se))) if se > 0 else 0.0}
    return pd.DataFrame([row])[ESTIMATE_COLUMNS]


def tidy_estimates(res: ApplicationResults) -> pd.DataFrame:
    """One row per (spec, term): the schema documented in docs/gravity.md."""
    frames = []
    fits = dict(res.fits)
    if res.event is not None:
        fits[res.event.fitted.spec.name] = res.event.fitted
    for name, fit in fits.items():
        t = fit.result.tidy()
        t.insert(0, "spec", name)
        t["nobs"] = int(fit.result.nobs)
        t["years"] = f"{fit.years[0]}-{fit.years[1]}" if fit.years else ""
        drops = res.sample_drops | {k: int(v) for k, v in fit.result.drops.items()}
        t["drops"] = json.dumps(dict(sorted(drops.items())))
        t["formula"] = fit.spec.formula
        t["sample"] = fit.spec.sample
        frames.append(t[ESTIMATE_COLUMNS])
        if name == "ots_dynamic":
            frames.append(total_row(fit, t.iloc[0], ["both_ots", "both_ots_lag2",
                                                      "both_ots_lag4"]))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ESTIMATE_DTYPES.items()})
    return pd.concat(frames, ignore_index=True).astype(ESTIMATE_DTYPES)


