"""tradeflows: trade-flow econometrics, from raw bilateral data to structural gravity and GE.

The public API (imported lazily so that ``import tradeflows`` stays fast):

- ``ppml``, ``ols``: estimation with high-dimensional fixed effects
- ``ppml_by``: one PPML per group (e.g. sector), serial or on Dask
- ``etable``: several models side by side (plain text, LaTeX, HTML, Markdown)
- ``build_panel``: raw data to the pair-year gravity panel
- ``add_policy_variables``: memberships, agreements, sanctions and corridor routes
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "ppml": "tradeflows.estimation",
    "ols": "tradeflows.estimation",
    "ppml_by": "tradeflows.sectors.gravity",
    "etable": "tradeflows.estimation",
    "build_panel": "tradeflows.panel.build",
    "add_policy_variables": "tradeflows.policy",
    "paths": "tradeflows.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tradeflows' has no attribute {name!r}")
