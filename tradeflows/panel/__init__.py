"""The pair-year gravity panel: mirror reconciliation and rules (``mirror``), the square panel
with zeros versus missing (``square``), the EU27 as one exporter (``aggregate``),
source-consistent estimation samples and the source-overlap report (``sample``), the check
against a country's own reported totals (``validation``), covariates (``covariates``), the
build and its manifest (``build``, ``manifest``). Rules are stated in each module's docstring
and in docs/panel.md."""

from tradeflows.panel.aggregate import country_rows
from tradeflows.panel.mirror import DEFAULT_RULE, MIRROR_RULES, reconcile, rule_moves
from tradeflows.panel.sample import (
    DEFAULT_METHOD,
    SAMPLE_METHODS,
    SourceSample,
    overlap_agreement,
    source_consistent,
)

__all__ = ["DEFAULT_METHOD", "DEFAULT_RULE", "MIRROR_RULES", "SAMPLE_METHODS", "SourceSample",
           "country_rows", "overlap_agreement", "reconcile", "rule_moves", "source_consistent"]
