"""Fits by group (sector): the estimation layer's :class:`FitCollection` with the grouping
column's name, the groups whose fit failed (with the reason) and each fit's warnings, so
nothing disappears silently."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tradeflows.estimation.models import FitCollection as _FitCollection


class FitCollection(_FitCollection):
    """Fitted models by group name (in group order). ``by``: the grouping column;
    ``failed``: group -> reason for groups that could not be estimated; ``warnings``:
    group -> messages its fit raised."""

    def __init__(self, fits: Mapping[str, Any], *, by: str = "sector",
                 failed: Mapping[str, str] | None = None,
                 warnings: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(fits)
        self.by = by
        self.failed = dict(failed or {})
        self.warnings = {k: list(v) for k, v in (warnings or {}).items()}

    def __repr__(self) -> str:
        return (f"FitCollection({len(self)} fits by {self.by!r}, {len(self.failed)} failed: "
                f"{list(self)[:5]}{'...' if len(self) > 5 else ''})")

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per (group, term): ``<by>`` then each fit's ``tidy()`` columns and
        ``nobs``."""
        frames = []
        for name, res in self.items():
            t = res.tidy(level=level)
            t.insert(0, self.by, name)
            t["nobs"] = int(res.nobs)
            frames.append(t)
        if not frames:
            return pd.DataFrame(columns=[self.by, "term", "estimate", "std_error"])
        return pd.concat(frames, ignore_index=True)
