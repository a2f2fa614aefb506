"""Structural gravity: specifications, event studies, the replication of Yotov et al. (2016)
ch. 1, policy-effect models for a study's application, GE counterfactuals and scenarios.

Names are imported lazily so that ``import tradeflows.gravity.<module>`` stays light; the GE
modules (``ge``, ``fixed_point``, ``scenarios``, ``uncertainty``) are imported directly.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "GravitySpec": "tradeflows.gravity.specs",
    "FittedSpec": "tradeflows.gravity.specs",
    "traditional_ols": "tradeflows.gravity.specs",
    "remoteness_ols": "tradeflows.gravity.specs",
    "fe_ols": "tradeflows.gravity.specs",
    "ppml_fe": "tradeflows.gravity.specs",
    "ppml_domestic": "tradeflows.gravity.specs",
    "policy_mr_fe": "tradeflows.gravity.specs",
    "ensure_fixed_effect_ids": "tradeflows.gravity.specs",
    "add_log_trade": "tradeflows.gravity.specs",
    "distance_puzzle": "tradeflows.gravity.specs",
    "rta_effects": "tradeflows.gravity.specs",
    "heterogeneous": "tradeflows.gravity.specs",
    "add_fixed_effect_ids": "tradeflows.gravity.specs",
    "add_output_expenditure": "tradeflows.gravity.specs",
    "add_remoteness": "tradeflows.gravity.specs",
    "add_year_interactions": "tradeflows.gravity.specs",
    "add_border_year_dummies": "tradeflows.gravity.specs",
    "add_domestic_terms": "tradeflows.gravity.specs",
    "add_policy_lags": "tradeflows.gravity.specs",
    "add_group_interactions": "tradeflows.gravity.specs",
    "EventStudy": "tradeflows.gravity.event_study",
    "event_study": "tradeflows.gravity.event_study",
    "event_time_dummies": "tradeflows.gravity.event_study",
    "event_years": "tradeflows.gravity.event_study",
    "plot_event_study": "tradeflows.gravity.event_study",
    "load_agtpa": "tradeflows.gravity.replication",
    "published": "tradeflows.gravity.replication",
    "fit_table": "tradeflows.gravity.replication",
    "compare": "tradeflows.gravity.replication",
    "replicate": "tradeflows.gravity.replication",
    "estimation_sample": "tradeflows.gravity.application",
    "sample_countries": "tradeflows.gravity.application",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tradeflows.gravity' has no attribute {name!r}")
