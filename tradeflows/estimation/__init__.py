"""Estimation with high-dimensional fixed effects: PPML and OLS, inference, tables.

``ppml``, ``ols``: fits returning :class:`PPMLResults` / :class:`OLSResults`.
``ssc``, ``ssc_stata``: small-sample conventions. ``etable``: models side by side.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from tradeflows.estimation.ols import ols
from tradeflows.estimation.ppml import ppml
from tradeflows.estimation.results import OLSResults, PPMLResults, Results
from tradeflows.estimation.vcov import SSC, ssc, ssc_stata

__all__ = ["ppml", "ols", "ssc", "ssc_stata", "SSC", "etable", "Results", "PPMLResults",
           "OLSResults"]


def __getattr__(name: str) -> Any:
    if name == "etable":
        return import_module("tradeflows.estimation.table").etable
    raise AttributeError(f"module 'tradeflows.estimation' has no attribute {name!r}")
