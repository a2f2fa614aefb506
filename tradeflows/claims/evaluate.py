"""Evaluate every claim of the catalog: gather its evidence, apply its pre-stated rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from tradeflows.claims.catalog import Claim, load_catalog
from tradeflows.claims.concentration import concentration_evidence
from tradeflows.claims.corridor import corridor_evidence
from tradeflows.claims.evidence import Evidence, Untestable, read_parquet_or_untestable
from tradeflows.claims.gravity_gap import gravity_gap_evidence
from tradeflows.claims.investment import investment_evidence
from tradeflows.claims.product_detail import product_note
from tradeflows.claims.rules import NOT_TESTABLE, decide
from tradeflows.claims.stage_outputs import counterfactual_evidence, estimate_evidence
from tradeflows.config import Paths
from tradeflows.errors import TradeflowsError

COLUMNS = ["id", "claim", "verdict", "estimate", "conf_low", "conf_high", "nobs", "years",
           "sources", "table", "figure", "note"]


@dataclass
class Assessment:
    """A claim, its verdict, and the evidence (None when not testable: ``reason`` says why)."""

    claim: Claim
    verdict: str
    evidence: Evidence | None
    reason: str = ""
    product_note: str = ""  # product-level check (tradeflows.claims.product_detail)

    def row(self) -> dict[str, object]:
        """One row of the verdict table (see ``COLUMNS``)."""
        ev = self.evidence
        if ev is None:
            note = f"{self.reason}. Data that would test it: {self.claim.data_needed_if_untestable}"
            note = " ".join(filter(None, [note, self.product_note]))
            return {"id": self.claim.id, "claim": self.claim.claim, "verdict": self.verdict,
                    "estimate": float("nan"), "conf_low": float("nan"),
                    "conf_high": float("nan"), "nobs": pd.NA, "years": "",
                    "sources": "; ".join(self.claim.sources), "table": "", "figure": "",
                    "note": note}
        return {"id": self.claim.id, "claim": self.claim.claim, "verdict": self.verdict,
                "estimate": ev.estimate, "conf_low": ev.conf_low, "conf_high": ev.conf_high,
                "nobs": ev.nobs if ev.nobs is not None else pd.NA, "years": ev.years,
                "sources": "; ".join(ev.sources), "table": ev.table or "",
                "figure": ev.figure or "",
                "note": " ".join(filter(None, [ev.note, self.product_note]))}


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
    def investment(self) -> pd.DataFrame:
        return read_parquet_or_untestable(self.paths.investment, "the investment table",
                                          "build")


def _untestable(claim: Claim, _inputs: _Inputs) -> Evidence:
    raise Untestable(claim.inputs["reason"].strip().rstrip("."))


_METHODS: dict[str, Callable[[Claim, _Inputs], Evidence]] = {
    "estimate": lambda c, i: estimate_evidence(c, i.paths),
    "counterfactual": lambda c, i: counterfactual_evidence(c, i.paths),
    "gravity_gap": lambda c, i: gravity_gap_evidence(c, i.panel()),
    "corridor_shift": lambda c, i: corridor_evidence(c, i.panel()),
    "concentration": lambda c, i: concentration_evidence(c, i.panel()),
    "investment": lambda c, i: investment_evidence(c, i.investment()),
    "untestable": _untestable,
}


def assess_claim(claim: Claim, inputs: _Inputs) -> Assessment:
    """Gather one claim's evidence and decide; a missing input gives 'not testable'. A
    product-level check (BACI, if built) is added to the note; it never changes the verdict."""
    product = product_note(claim, inputs.paths.processed / "sectors")
    try:
        ev = _METHODS[claim.method](claim, inputs)
    except Untestable as exc:
        return Assessment(claim, NOT_TESTABLE, None, str(exc), product)
    except (TradeflowsError, ImportError, ArithmeticError) as exc:
        return Assessment(claim, NOT_TESTABLE, None,
                          f"the evidence could not be computed ({type(exc).__name__}: {exc})",
                          product)
    return Assessment(claim, decide(claim.rule, ev.estimate, ev.conf_low, ev.conf_high), ev,
                      product_note=product)


def assess_claims(paths: Paths, progress: bool = True,
                  catalog: str | Path | None = None) -> list[Assessment]:
    """Assess every claim of the catalog (default: the packaged one), in catalog order."""
    inputs = _Inputs(paths)
    claims = load_catalog(catalog)
    return [assess_claim(c, inputs)
            for c in tqdm(claims, desc="claims", unit="claim", disable=not progress)]


def verdict_table(assessments: list[Assessment]) -> pd.DataFrame:
    """The verdict table (columns ``COLUMNS``), one row per claim."""
    return pd.DataFrame([a.row() for a in assessments], columns=COLUMNS)


def evaluate_claims(paths: Paths, progress: bool = True) -> pd.DataFrame:
    """Verdict of every claim: id, claim, verdict, estimate, conf_low, conf_high, nobs,
    years, sources, table, figure, note."""
    return verdict_table(assess_claims(paths, progress=progress))
