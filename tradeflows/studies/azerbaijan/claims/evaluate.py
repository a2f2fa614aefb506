"""Evaluate every claim of the catalog: gather its evidence, apply its pre-stated rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from tradeflows.config import Paths
from tradeflows.errors import TradeflowsError
from tradeflows.policy.events import load_events
from tradeflows.studies.azerbaijan.claims.catalog import Catalog, Claim, read_catalog
from tradeflows.studies.azerbaijan.claims.documentary import documentary_evidence, timed_evidence
from tradeflows.studies.azerbaijan.claims.event_study import event_study_evidence
from tradeflows.studies.azerbaijan.claims.evidence import (
    Evidence,
    Untestable,
    read_parquet_or_untestable,
)
from tradeflows.studies.azerbaijan.claims.product_detail import product_note
from tradeflows.studies.azerbaijan.claims.reported import (
    fdi_reported_evidence,
    reported_series_evidence,
)
from tradeflows.studies.azerbaijan.claims.ri_gravity import ri_gravity_evidence
from tradeflows.studies.azerbaijan.claims.routes import route_alternatives_evidence
from tradeflows.studies.azerbaijan.claims.rules import INCONCLUSIVE, NOT_TESTABLE, SUPPORTED, decide
from tradeflows.studies.azerbaijan.claims.single_reporter import single_reporter_evidence
from tradeflows.studies.azerbaijan.claims.stage_outputs import counterfactual_evidence

COLUMNS = ["id", "claim", "evidence_type", "verdict", "estimate", "conf_low", "conf_high",
           "mde", "nobs", "years", "sources", "table", "figure", "note"]


@dataclass
class Assessment:
    """A claim, its verdict, and the evidence (None when not testable: ``reason`` says why)."""

    claim: Claim
    verdict: str
    evidence: Evidence | None
    reason: str = ""
    product_note: str = ""  # product-level check (tradeflows.studies.azerbaijan.claims.product_detail)

    def row(self) -> dict[str, object]:
        """One row of the verdict table (see ``COLUMNS``)."""
        ev, c = self.evidence, self.claim
        base = {"id": c.id, "claim": c.claim, "evidence_type": c.evidence,
                "verdict": self.verdict}
        if ev is None:
            note = f"{self.reason}. Data that would test it: {c.data_needed_if_untestable}"
            note = " ".join(filter(None, [note, self.product_note]))
            return {**base, "estimate": float("nan"), "conf_low": float("nan"),
                    "conf_high": float("nan"), "mde": float("nan"), "nobs": pd.NA,
                    "years": "", "sources": "; ".join(c.sources), "table": "", "figure": "",
                    "note": note}
        note = ev.note + (f" Pre-stated condition for support not met: "
                          f"{ev.blocks_support}." if ev.blocks_support else "")
        note = " ".join(filter(None, [note, self.product_note]))
        return {**base, "estimate": ev.estimate, "conf_low": ev.conf_low,
                "conf_high": ev.conf_high,
                "mde": ev.mde if ev.mde is not None else float("nan"),
                "nobs": ev.nobs if ev.nobs is not None else pd.NA, "years": ev.years,
                "sources": "; ".join(ev.sources), "table": ev.table or "",
                "figure": ev.figure or "", "note": note}


class _Inputs:
    """Lazily read stage outputs, once each."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    @cache  # noqa: B019 (one instance per evaluation)
    def panel(self) -> pd.DataFrame:
        from tradeflows.panel.aggregate import country_rows

        # the EU27's rows as one exporter would count its members' exports twice
        return country_rows(read_parquet_or_untestable(self.paths.panel, "the gravity panel",
                                                       "build"))

    @cache  # noqa: B019
    def flows(self) -> pd.DataFrame:
        return read_parquet_or_untestable(self.paths.flows, "the canonical flows", "build")

    @cache  # noqa: B019
    def events(self) -> pd.DataFrame:
        return load_events()

    def last_trade_year(self) -> int:
        panel = self.panel()
        return int(panel.loc[panel["trade"].notna(), "year"].max())


def _untestable(claim: Claim, _inputs: _Inputs) -> Evidence:
    raise Untestable(claim.inputs["reason"].strip().rstrip("."))


_METHODS: dict[str, Callable[[Claim, _Inputs], Evidence]] = {
    "single_reporter": lambda c, i: single_reporter_evidence(i.flows(), c),
    "ri_gravity": lambda c, i: ri_gravity_evidence(c, i.panel()),
    "event_study": lambda c, i: event_study_evidence(c, i.panel()),
    "reported_series": lambda c, i: reported_series_evidence(
        c, i.paths.raw, i.flows() if "check_destinations" in c.inputs else None),
    "counterfactual": lambda c, i: counterfactual_evidence(c, i.paths),
    "documentary": lambda c, i: documentary_evidence(c, i.events()),
    "fdi_reported": lambda c, i: fdi_reported_evidence(c, i.paths.raw),
    "timed": lambda c, i: timed_evidence(c, i.events(), i.last_trade_year()),
    "route_alternatives": lambda c, _i: route_alternatives_evidence(c),
    "untestable": _untestable,
}


def assess_claim(claim: Claim, inputs: _Inputs) -> Assessment:
    """Gather one claim's evidence and decide; a missing input gives 'not testable'.

    A design condition stated with the claim (``Evidence.blocks_support``, e.g. rejected
    pre-trends) turns 'supported' into 'inconclusive'. A product-level check (BACI, if built)
    is added to the note; it never changes the verdict."""
    product = product_note(claim, inputs.paths.processed / "sectors")
    try:
        ev = _METHODS[claim.method](claim, inputs)
    except Untestable as exc:
        return Assessment(claim, NOT_TESTABLE, None, str(exc), product)
    except (TradeflowsError, ImportError, ArithmeticError) as exc:
        return Assessment(claim, NOT_TESTABLE, None,
                          f"the evidence could not be computed ({type(exc).__name__}: {exc})",
                          product)
    verdict = decide(claim.rule, ev.estimate, ev.conf_low, ev.conf_high)
    if verdict == SUPPORTED and ev.blocks_support:
        verdict = INCONCLUSIVE
    return Assessment(claim, verdict, ev, product_note=product)


def assess_catalog(paths: Paths, progress: bool = True,
                   catalog: str | Path | None = None) -> tuple[Catalog, list[Assessment]]:
    """The catalog (default: the packaged one) and the assessment of each claim in order."""
    inputs = _Inputs(paths)
    cat = read_catalog(catalog)
    return cat, [assess_claim(c, inputs)
                 for c in tqdm(cat.claims, desc="claims", unit="claim", disable=not progress)]


def assess_claims(paths: Paths, progress: bool = True,
                  catalog: str | Path | None = None) -> list[Assessment]:
    """Assess every claim of the catalog (default: the packaged one), in catalog order."""
    return assess_catalog(paths, progress, catalog)[1]


def verdict_table(assessments: list[Assessment]) -> pd.DataFrame:
    """The verdict table (columns ``COLUMNS``), one row per claim."""
    return pd.DataFrame([a.row() for a in assessments], columns=COLUMNS)


def evaluate_claims(paths: Paths, progress: bool = True) -> pd.DataFrame:
    """Verdict of every claim (columns ``COLUMNS``)."""
    return verdict_table(assess_claims(paths, progress=progress))


#: Methods whose evidence comes from the panel's chosen trade values (the mirror rule).
PANEL_METHODS = ("ri_gravity", "event_study")
#: Methods that read a GE counterfactual built from the panel (rerun on the alternative panel).
GE_METHODS = ("counterfactual",)
ALT_VALUE = "trade_other_rule"


class _AltMirrorInputs(_Inputs):
    """The same inputs with the panel's trade chosen by the alternative mirror rule."""

    @cache  # noqa: B019
    def panel(self) -> pd.DataFrame:
        panel = super().panel()
        if ALT_VALUE not in panel.columns:
            raise Untestable(f"the panel has no {ALT_VALUE} column (no alternative mirror "
                             "rule was built)")
        return panel.assign(trade=panel[ALT_VALUE])


def _ge_robustness(claim: Claim, alt: _AltMirrorInputs) -> str:
    """Re-estimate and re-solve the claim's GE scenario on the panel under the alternative
    mirror rule (in a temporary project folder) and assess the claim on that result."""
    import tempfile

    from tradeflows.config import paths as project_paths
    from tradeflows.studies.azerbaijan import simulate

    try:
        panel = alt.panel()
    except Untestable as exc:
        return f"{NOT_TESTABLE}: {exc}"
    with tempfile.TemporaryDirectory(prefix="tradeflows-mirror-") as tmp:
        tmp_paths = project_paths(tmp)
        tmp_paths.processed.mkdir(parents=True)
        panel.to_parquet(tmp_paths.panel, index=False)
        try:
            simulate(claim.inputs["scenario"], tmp_paths, progress=False)
        except TradeflowsError as exc:
            return f"{NOT_TESTABLE}: the scenario failed on the alternative panel ({exc})"
        b = assess_claim(claim, _Inputs(tmp_paths))
    if b.evidence is None:
        return f"{b.verdict}: {b.reason}"
    return (f"{b.verdict} ({b.evidence.estimate:+.3f} [{b.evidence.conf_low:+.3f}, "
            f"{b.evidence.conf_high:+.3f}])")


def mirror_robustness(paths: Paths, assessments: list[Assessment],
                      progress: bool = True) -> dict[str, str]:
    """Verdict of each claim with the panel built under the alternative mirror rule
    (``trade_other_rule``); claims whose evidence does not use the panel's mirror choice get
    "not applicable"."""
    alt = _AltMirrorInputs(paths)
    out = {}
    for a in tqdm(assessments, desc="mirror robustness", unit="claim", disable=not progress):
        if a.claim.method in GE_METHODS:
            out[a.claim.id] = _ge_robustness(a.claim, alt)
            continue
        if a.claim.method not in PANEL_METHODS:
            out[a.claim.id] = "not applicable"
            continue
        b = assess_claim(a.claim, alt)
        out[a.claim.id] = f"{b.verdict}: {b.reason}" if b.evidence is None else (
            f"{b.verdict} ({b.evidence.estimate:+.3f} [{b.evidence.conf_low:+.3f}, "
            f"{b.evidence.conf_high:+.3f}])")
    return out
