"""tradeflows: trade-flow econometrics, from raw bilateral data to structural gravity and GE.

The public API (imported lazily so that ``import tradeflows`` stays fast):

- ``ppml``, ``ols``: estimation with high-dimensional fixed effects
- ``ppml_by``: ``ppml(..., by=)`` with the fan-out on Dask by default
- ``etable``: several models side by side (plain text, LaTeX, HTML, Markdown)
- ``coefplot``, ``iplot``, ``event_study``: coefficient and event-study plots (Figures)
- ``FitCollection``: the result of multiple estimation (``sw``/``csw``), sample splits and
  ``by=`` group fits
- ``wild_cluster_bootstrap`` (OLS), ``score_bootstrap`` (PPML), ``randomization_inference``:
  inference with few clusters
- ``three_way_bias_correction``: Weidner-Zylkin correction of three-way PPML
- ``GEModel``: general-equilibrium counterfactuals (costs from coefficients, a given cost
  matrix, or a panel with pair fixed effects)
- ``build_panel``: raw data to the pair-year gravity panel
- ``add_policy_variables``: memberships, agreements, sanctions and corridor routes
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    "ppml": "tradeflows.estimation",
    "ols": "tradeflows.estimation",
    "ppml_by": "tradeflows.sectors.gravity",
    "etable": "tradeflows.estimation",
    "FitCollection": "tradeflows.estimation",
    "coefplot": "tradeflows.estimation.plots",
    "iplot": "tradeflows.estimation.plots",
    "event_study": "tradeflows.estimation.event_study",
    "wild_cluster_bootstrap": "tradeflows.estimation.inference",
    "score_bootstrap": "tradeflows.estimation.inference",
    "randomization_inference": "tradeflows.estimation.inference",
    "three_way_bias_correction": "tradeflows.estimation.bias_correction",
    "GEModel": "tradeflows.gravity.ge",
    "build_panel": "tradeflows.panel.build",
    "add_policy_variables": "tradeflows.policy",
    "paths": "tradeflows.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tradeflows' has no attribute {name!r}")
