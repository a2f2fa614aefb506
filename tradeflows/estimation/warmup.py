"""Compile the estimators' kernels before the first fit, in one visible step.

The numerical kernels are compiled by numba on their first use and cached on disk next to
the package, so the first fits after installing take longer (measured on a 2-core machine
with an empty cache: the first PPML fit 77 s, the default separation checks 17 s more; the
variants for more than 65,536 fixed-effect levels 35-80 s more in the first fit of that
size). :func:`warm_up` fits small synthetic panels that take every common path (PPML with
the default checks, with weights and an offset, OLS; ``wide``: a panel above 65,536
levels), so that later fits only load the kernels (about 1 s per process).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from tqdm import tqdm

from tradeflows.estimation.synthetic import gravity_panel

__all__ = ["warm_up", "wide_panel"]

FORMULA = "flow ~ x1 + x2 | exp_year + imp_year + pair"


def wide_panel() -> pd.DataFrame:
    """A two-year panel of 260 countries without zero flows: 67,340 pairs, so that its
    estimation sample has more than ``demean.NARROW_LEVELS`` fixed-effect levels, the most
    the layout codes as uint16 (134,680 rows)."""
    return gravity_panel(260, 2, seed=0, zero_share=0.0)


def _steps(wide: bool) -> dict[str, Callable[[], object]]:
    """The warm-up fits by name, each a function of no argument."""
    from tradeflows.estimation.models import ols, ppml

    small = gravity_panel(12, 8, seed=0)
    small["w"] = np.linspace(0.5, 1.5, len(small))
    small["off"] = 0.1 * small["x2"]
    small["ln_flow"] = np.log1p(small["flow"])
    steps = {
        "PPML, default separation checks": lambda: ppml(small, FORMULA),
        # weights and offsets each an array or a constant view: the kernels' four variants
        "PPML, weights": lambda: ppml(small, FORMULA, weights="w", vcov="hetero"),
        "PPML, offset": lambda: ppml(small, FORMULA, offset="off", vcov="iid"),
        "PPML, weights and offset": lambda: ppml(small, FORMULA, weights="w", offset="off"),
        "OLS": lambda: ols(small, FORMULA.replace("flow ~", "ln_flow ~"), vcov={"CL": "pair"}),
    }
    if wide:
        big = wide_panel()
        steps["PPML, more than 65,536 levels"] = lambda: ppml(big, FORMULA,
                                                              separation=("fe",))
    return steps


def warm_up(*, wide: bool = False, progress: bool = False) -> dict[str, float]:
    """Run the warm-up fits (compiling their kernels, or loading them from the cache).

    wide: also the kernels' variants for more than 65,536 fixed-effect levels. Returns
    {step: seconds}.
    """
    seconds = {}
    steps = _steps(wide)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small random panels: collinearity notes and the like
        for name, fit in tqdm(steps.items(), desc="compiling kernels", disable=not progress):
            started = time.perf_counter()
            fit()
            seconds[name] = time.perf_counter() - started
    return seconds
