"""The study's application: policy effects on the pair-year panel among Azerbaijan, Central
Asia, the South Caucasus, their neighbours and their largest partners.

The models and samples are the general library's (:mod:`tradeflows.gravity.application`:
PPML with exporter-year, importer-year and pair fixed effects on the source-consistent sample);
the study adds:

- ``ots_by_member``: ``both_ots`` split by each 2019 OTS member's pairs;
- ``ots_dynamic``: ``both_ots`` with a 2-year lead and 2- and 4-year lags (guide Table 3 cols.
  LEAD/PHSNG), controlling for the other policy terms; the tidy file adds ``both_ots_total``;
- ``event_uzb_ots``: event study of Uzbekistan's OTS accession (October 2019; year 0 = the
  first year ``both_ots`` is 1 on its pairs, 2020 with the policy layer's mid-year dating;
  pairs UZB-other members; leads to -4 and lags to +3, endpoints binned, reference -1),
  controlling for the other policy terms.

Outputs: ``reports/tables/gravity_application.{md,tex,html}``, the sample by year
``reports/tables/gravity_sample.{md,tex,html}``, the identifying variation of each term
``reports/tables/gravity_identification.{md,tex,html}``, the replication table
``reports/tables/agtpa_replication.{md,tex,html}``, figures
``reports/figures/gravity_coefficients.{png,svg}`` and ``event_study_uzb_ots.{png,svg}``,
and the tidy ``data/processed/estimates/application.parquet`` (schema in docs/gravity.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from tqdm import tqdm

from tradeflows.config import Paths
from tradeflows.errors import SpecificationError
from tradeflows.gravity import specs
from tradeflows.gravity.application import (
    JOINT_EXTRA,
    MODELS,
    ApplicationResults,
    add_country_interactions,
    estimation_sample,
    identification,
    pair_fe_spec,
    read_panel,
    sample_by_year,
    sample_countries,
    source_sample,
    tidy_estimates,
    usable_terms,
    with_ids,
)
from tradeflows.gravity.event_study import event_study, event_years
from tradeflows.gravity.event_study import plot_event_study as _plot_event_study
from tradeflows.io import write_parquet, write_text
from tradeflows.panel.sample import DEFAULT_METHOD, SampleMethod
from tradeflows.report.figures import new_figure, save_figure, styled, variable_label
from tradeflows.studies.azerbaijan.config import FOCUS, OTS_MEMBERS_2019, UZB_ACCESSION


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
    chosen = sample_countries(panel, FOCUS) if countries is None else countries
    sample = source_sample(panel, chosen, method)
    df = with_ids(sample.data, method)
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
        terms = usable_terms(df, wanted, res.notes, m.name)
        if terms:
            jobs.append((m.name, m.title, terms))
            joint += terms
    extra = usable_terms(df, [t for t in JOINT_EXTRA if t in df.columns], res.notes, "joint")
    if joint:
        jobs.append(("joint", "All policies", joint + extra))
    if "both_ots" in df.columns and "both_ots" in joint:
        present = set(df["exporter"].unique()) | set(df["importer"].unique())
        members = tuple(c for c in OTS_MEMBERS_2019 if c in present)
        df, names = add_country_interactions(df, "both_ots", members)
        jobs.append(("ots_by_member", "OTS by member", usable_terms(df, names, res.notes,
                                                               "ots_by_member")))
    res.identification = identification(df, [t for _, _, terms in jobs for t in terms])
    for name, title, terms in tqdm(jobs, desc="gravity models", disable=not progress):
        if not terms:
            continue
        try:
            fit = pair_fe_spec(name, terms, title).fit(df)
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
        df = with_ids(source_sample(panel, chosen, "single_family").data, "single_family")
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


@styled
def coefficient_figure(est: pd.DataFrame) -> Figure:
    """Coefficients of the single-policy models with 95% intervals (one row per term)."""
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
