"""The study of Azerbaijan's pivot to Central Asia, built on the general library.

What the command line asks of a study (:func:`tradeflows.studies.load_study`): its
countries (``FOCUS``, ``HEADLINE``, ``VALIDATION``), its GE scenarios (``scenarios()``), and
the stages ``estimate``, ``simulate``, ``evaluate_claims`` and ``build_report``. The parts:
``config`` (countries, files), ``application`` (policy-effect models), ``scenarios/`` (GE and
route scenario files), ``claims/`` (catalog, designs, verdicts), ``claims.toml`` (the catalog)
and ``report/`` (the claims report and its templates).
"""

from __future__ import annotations

from pathlib import Path

from tradeflows.config import Paths
from tradeflows.studies.azerbaijan.config import FOCUS, HEADLINE, SCENARIO_DIR, VALIDATION

__all__ = ["FOCUS", "HEADLINE", "TITLE", "VALIDATION", "build_report", "estimate",
           "evaluate_claims", "scenarios", "simulate"]

TITLE = "Azerbaijan's pivot to Central Asia: structural gravity for the trade claims"


def scenarios() -> dict[str, Path]:
    """The study's GE scenarios, ``name -> file`` (``tradeflows reproduce`` runs each)."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}


def estimate(paths: Paths, progress: bool = True) -> list[Path]:
    """The application's estimates, tables and figures (:mod:`.application`)."""
    from tradeflows.studies.azerbaijan.application import run_application

    return run_application(paths, progress=progress)


def simulate(scenario: str | Path, paths: Paths, **options) -> list[Path]:
    """One GE scenario (a name of :func:`scenarios` or a file), the focus countries marked."""
    from tradeflows.gravity.scenarios import run_scenario

    return run_scenario(scenarios().get(str(scenario), scenario), paths, focus=FOCUS, **options)


def evaluate_claims(paths: Paths, progress: bool = True):
    """The verdicts of the claims catalog (:mod:`.claims.evaluate`)."""
    from tradeflows.studies.azerbaijan.claims.evaluate import evaluate_claims as evaluate

    return evaluate(paths, progress=progress)


def build_report(paths: Paths, progress: bool = True) -> Path:
    """The claims report (:mod:`.report.build`); returns ``reports/index.html``."""
    from tradeflows.studies.azerbaijan.report.build import build_report as build

    return build(paths, progress=progress)
