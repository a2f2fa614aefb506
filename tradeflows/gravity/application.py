"""The application: policy effects on the Azerbaijan-Central Asia pair-year panel.

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
- ``event_uzb_ots``: event study of Uzbekistan's OTS accession (October 2019; year 0 = the
  first year ``both_ots`` is 1 on its pairs, 2020 with the policy layer's mid-year dating;
  pairs UZB-other members;
  leads to -4 and lags to +3, endpoints binned, reference -1), controlling for the other
  policy terms.

A term is left out (and said so in the table notes) when the panel lacks its column or the
column never changes within a pair over the sample (the pair fixed effects absorb it).
Outputs: ``reports/tables/gravity_application.{md,tex,html}``, the sample by year
``reports/tables/gravity_sample.{md,tex,html}``, the identifying variation of each term
``reports/tables/gravity_identification.{md,tex,html}``, the replication table
``reports/tables/agtpa_replication.{md,tex,html}``, figures
``reports/figures/gravity_coefficients.{png,svg}`` and ``event_study_uzb_ots.{png,svg}``,
and the tidy ``data/processed/estimates/application.parquet`` (schema in docs/gravity.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats
from tqdm import tqdm

from tradeflows.config import AZERBAIJAN, CENTRAL_ASIA, SOUTH_CAUCASUS, Paths
from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity import specs
from tradeflows.gravity.event_study import EventStudy, event_study, event_years
from tradeflows.gravity.event_study import plot_event_study as _plot_event_study
from tradeflows.gravity.specs import FittedSpec, GravitySpec
from tradeflows.io import write_parquet, write_text
from tradeflows.panel.sample import DEFAULT_METHOD, SampleMethod, SourceSample, source_consistent
from tradeflows.report.figures import save_figure, styled

PANEL_COLUMNS = ("year", "exporter", "importer", "trade")
#: The study's countries; the sample adds their largest partners (see sample_countries).
FOCUS = tuple(dict.fromkeys((AZERBAIJAN, *CENTRAL_ASIA, *SOUTH_CAUCASUS,
                             "TUR", "RUS", "IRN", "CHN")))
N_PARTNERS = 30
OTS_MEMBERS_2019 = ("AZE", "KAZ", "KGZ", "TUR", "UZB")
#: Uzbekistan joined the OTS in October 2019; the event year is the first year ``both_ots``
#: is 1 on its pairs with the other members (the policy layer's dating), else this year.
UZB_ACCESSION = 2019
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
    event_year: int = UZB_ACCESSION
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


def sample_countries(panel: pd.DataFrame, focus: tuple[str, ...] = FOCUS,
                     n_partners: int = N_PARTNERS) -> list[str]:
    """The focus countries present plus their ``n_partners`` largest partners by total
    observed trade with them (both directions, all years); ties broken by ISO3 code."""
    from tradeflows.panel.aggregate import country_rows

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
    return _with_ids(source_sample(panel, countries, method).data, method)


def _with_ids(df: pd.DataFrame, method: str) -> pd.DataFrame:
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


def _usable(df: pd.DataFrame, terms: list[str], notes: list[str], model: str) -> list[str]:
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


def _pair_fe_spec(name: str, terms: list[str], title: str) -> GravitySpec:
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


def accession_year(df: pd.DataFrame, pairs: list[tuple[str, str]]) -> int:
    """First year ``both_ots`` is 1 on any of ``pairs`` (either direction); else
    :data:`UZB_ACCESSION`."""
    if "both_ots" not in df.columns:
        return UZB_ACCESSION
    keys = set(pairs) | {(b, a) for a, b in pairs}
    rows = df[[k in keys for k in zip(df["exporter"], df["importer"], strict=True)]]
    on = rows.loc[rows["both_ots"] != 0, "year"]
    return int(on.min()) if len(on) else UZB_ACCESSION


def estimate_application(panel: pd.DataFrame, *, countries: list[str] | None = None,
                         progress: bool = False, method: SampleMethod = DEFAULT_METHOD
                         ) -> ApplicationResults:
    """Fit every model of the module docstring on the international flows of ``panel``
    among ``countries`` (default: :func:`sample_countries`), source-consistent by
    ``method``."""
    chosen = sample_countries(panel) if countries is None else countries
    sample = source_sample(panel, chosen, method)
    df = _with_ids(sample.data, method)
    res = ApplicationResults(countries=list(chosen), source_sample=sample)
    observed = df[df["trade"].notna()]
    pair_total = observed.groupby("pair")["trade"].sum()
    res.sample_drops = {
        "trade_not_reported": int(df["trade"].isna().sum()),
        "pair_without_positive_trade": int(observed["pair"].isin(
            pair_total.index[pair_total <= 0]).sum()),
    }
    jobs: list[tuple[str, str, list[str]]] = []
    joint: list[str] = []
    for m in MODELS:
        wanted = m.wanted(df.columns)
        for t in m.terms:
            if t not in df.columns:
                res.notes.append(f"{m.name}: {t} left out (not in the panel)")
        terms = _usable(df, wanted, res.notes, m.name)
        if terms:
            jobs.append((m.name, m.title, terms))
            joint += terms
    extra = _usable(df, [t for t in JOINT_EXTRA if t in df.columns], res.notes, "joint")
    if joint:
        jobs.append(("joint", "All policies", joint + extra))
    if "both_ots" in df.columns and "both_ots" in joint:
        present = set(df["exporter"].unique()) | set(df["importer"].unique())
        members = tuple(c for c in OTS_MEMBERS_2019 if c in present)
        df, names = add_country_interactions(df, "both_ots", members)
        jobs.append(("ots_by_member", "OTS by member", _usable(df, names, res.notes,
                                                               "ots_by_member")))
    res.identification = identification(df, [t for _, _, terms in jobs for t in terms])
    for name, title, terms in tqdm(jobs, desc="gravity models", disable=not progress):
        if not terms:
            continue
        try:
            fit = _pair_fe_spec(name, terms, title).fit(df)
        except SpecificationError as err:
            res.notes.append(f"{name}: not estimated ({err})")
            continue
        res.fits[name] = fit
        for term in fit.result.collinear:
            res.notes.append(f"{name}: {term} dropped (collinear with the other terms and "
                             "the fixed effects)")
    if "both_ots" in joint:
        controls = [t for t in dict.fromkeys(joint + extra) if t != "both_ots"]
        try:
            fit = specs.rta_effects(df, "both_ots", lags=(2, 4), lead=2, build_lags=True,
                                    controls=controls, name="ots_dynamic")
            res.fits["ots_dynamic"] = fit
        except SpecificationError as err:
            res.notes.append(f"ots_dynamic: not estimated ({err})")
    uzb_pairs = [("UZB", c) for c in OTS_MEMBERS_2019 if c != "UZB"]
    res.event_year = accession_year(df, uzb_pairs)
    if method == "pair_family_fe":
        # event time is compared with the reference year within one source's series: with a
        # (pair, family) effect, lags after a change of source would not be identified
        df = _with_ids(source_sample(panel, chosen, "single_family").data, "single_family")
        res.notes.append("event_uzb_ots: sample with one source family per pair (each "
                         "pair's most frequent family), so leads and lags are compared "
                         "within one source's series; lags beyond it are not estimated")
    df["uzb_ots_event"] = event_years(df, uzb_pairs, res.event_year)
    treated = df["uzb_ots_event"].notna() & df["trade"].notna()
    if treated.any():
        try:
            controls = [t for t in dict.fromkeys(joint + extra) if t != "both_ots"]
            res.event = event_study(df, "uzb_ots_event", leads=4, lags=3,
                                    controls=controls, name="event_uzb_ots")
        except SpecificationError as err:
            res.notes.append(f"event_uzb_ots: not estimated ({err})")
    else:
        res.notes.append("event_uzb_ots: no observed UZB-OTS pair in the panel")
    return res


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


def _total_row(fit: FittedSpec, like: pd.Series, terms: list[str]) -> pd.DataFrame:
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
            frames.append(_total_row(fit, t.iloc[0], ["both_ots", "both_ots_lag2",
                                                      "both_ots_lag4"]))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ESTIMATE_DTYPES.items()})
    return pd.concat(frames, ignore_index=True).astype(ESTIMATE_DTYPES)


@styled
def coefficient_figure(est: pd.DataFrame) -> Figure:
    """Coefficients of the single-policy models with 95% intervals (one row per term)."""
    from tradeflows.report.figures import new_figure, variable_label

    rows = est[est["spec"].isin([m.name for m in MODELS] + ["ots_by_member"])]
    fig, ax = new_figure(7.0, 0.5 * max(len(rows), 1) + 1.2)
    y = np.arange(len(rows))[::-1]
    ax.axvline(0.0, color="0.5", lw=0.8)
    ax.errorbar(rows["estimate"], y, xerr=[rows["estimate"] - rows["conf_low"],
                                           rows["conf_high"] - rows["estimate"]],
                fmt="o", color="C0", capsize=3)
    ax.set_yticks(y, [variable_label(t, 44) for t in rows["term"]])
    ax.set_xlabel("PPML coefficient (log points), 95% interval")
    ax.set_title("Policy effects on bilateral trade\nPPML, pair + exporter-year + importer-year "
                 "fixed effects", fontsize=9)
    return fig


def _write_tables(res: ApplicationResults, base: Path, notes: list[str]) -> list[Path]:
    from tradeflows.estimation import etable

    # the dynamic spec carries the guide's column label (PHSNG); name it for this table
    titles = {"ots_dynamic": "OTS: lead and lags"}
    models = {titles.get(name, fit.spec.label or name): fit.result
              for name, fit in res.fits.items()}
    written = []
    if not models:
        return written
    for fmt, ext in (("markdown", "md"), ("latex", "tex"), ("html", "html")):
        text = etable(models, format=fmt, title="Policy effects, PPML with pair, exporter-year "
                      "and importer-year fixed effects", notes=notes)
        written.append(write_text(str(text), base.with_suffix(f".{ext}")))
    return written


def _replication_tables(paths: Paths, base: Path) -> list[Path]:
    from tradeflows.gravity import replication
    from tradeflows.report.tables import write_table

    file = paths.raw / replication.AGTPA_FILE
    if not file.exists():
        return []
    df = replication.load_agtpa(file)
    comp = pd.concat([replication.compare(t, replication.fit_table(t, df))
                      for t in replication.COLUMNS], ignore_index=True)
    cols = ["table", "column", "term", "published_estimate", "estimate", "published_se",
            "std_error", "published_nobs", "nobs", "within_tolerance"]
    return write_table(comp[cols], base, "Yotov et al. (2016) ch. 1: published vs tradeflows",
                       digits=4)


def run_application(paths: Paths, progress: bool = True) -> list[Path]:
    """Estimate the application on ``paths.panel``; write tables, figures and the tidy
    estimates; return the written paths."""
    from tradeflows.report.tables import write_table

    panel = read_panel(paths.panel)
    res = estimate_application(panel, progress=progress)
    est = tidy_estimates(res)
    tables, figures = paths.reports / "tables", paths.reports / "figures"
    written = [write_parquet(est, paths.estimates / "application.parquet")]
    notes = [f"Sample: international flows among {len(res.countries)} countries "
             f"({', '.join(res.countries)}); trade in millions of USD; standard errors "
             "clustered by pair x source family.",
             *([res.source_sample.note()] if res.source_sample is not None else []),
             *res.notes]
    written += _write_tables(res, tables / "gravity_application", notes)
    written += write_table(res.identification, tables / "gravity_identification",
                           "What identifies each policy term (pair fixed effects): pairs whose "
                           "status changes and their observed pair-years with the term on")
    written += write_table(sample_by_year(estimation_sample(panel, res.countries)),
                           tables / "gravity_sample", "Application sample by year "
                           f"(international flows among {len(res.countries)} countries)")
    if len(est):
        written += save_figure(coefficient_figure(est), figures / "gravity_coefficients")
    if res.event is not None:
        written += _plot_event_study(res.event, figures / "event_study_uzb_ots",
                                     title="Uzbekistan's OTS accession (Oct. 2019): pairs "
                                     f"with other members\nyear 0 = {res.event_year}")
    written += _replication_tables(paths, tables / "agtpa_replication")
    return written
