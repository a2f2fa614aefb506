"""Estimation with high-dimensional fixed effects: PPML and OLS, inference, tables.

``ppml``, ``ols``: fits returning :class:`PPMLResults` / :class:`OLSResults`, or a
:class:`FitCollection` for multiple estimation and sample splits.
``ssc``, ``ssc_stata``: small-sample conventions. ``etable``: models side by side.
``set_threads``, ``get_threads``: threads of the compiled kernels (default: all cores).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from tradeflows.estimation.hypotheses import WaldTest
from tradeflows.estimation.models import FitCollection, ols, ppml
from tradeflows.estimation.results import OLSResults, PPMLResults, Results
from tradeflows.estimation.threads import get_threads, set_threads
from tradeflows.estimation.vcov import SSC, ssc, ssc_stata

__all__ = ["ppml", "ols", "ssc", "ssc_stata", "SSC", "etable", "Results", "PPMLResults",
           "OLSResults", "FitCollection", "WaldTest", "set_threads", "get_threads"]


def __getattr__(name: str) -> Any:
    if name == "etable":
        return import_module("tradeflows.estimation.table").etable
    raise AttributeError(f"module 'tradeflows.estimation' has no attribute {name!r}")
