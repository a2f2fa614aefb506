"""A collection of fits, one per group (sector): dict-like ``name -> results`` with
``tidy()`` and ``etable()``. Groups whose fit failed are kept in ``failed`` with the reason,
and each fit's warnings in ``warnings``, so nothing disappears silently."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd


class FitCollection(Mapping[str, Any]):
    """Fitted models by group name (in group order). ``by``: the grouping column;
    ``failed``: group -> reason for groups that could not be estimated; ``warnings``:
    group -> messages its fit raised."""

    def __init__(self, fits: Mapping[str, Any], *, by: str = "sector",
                 failed: Mapping[str, str] | None = None,
                 warnings: Mapping[str, list[str]] | None = None) -> None:
        self._fits = dict(fits)
        self.by = by
        self.failed = dict(failed or {})
        self.warnings = {k: list(v) for k, v in (warnings or {}).items()}

    def __getitem__(self, key: str) -> Any:
        return self._fits[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fits)

    def __len__(self) -> int:
        return len(self._fits)

    def __repr__(self) -> str:
        return (f"FitCollection({len(self)} fits by {self.by!r}, {len(self.failed)} failed: "
                f"{list(self)[:5]}{'...' if len(self) > 5 else ''})")

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per (group, term): ``<by>`` then each fit's ``tidy()`` columns and
        ``nobs``."""
        frames = []
        for name, res in self._fits.items():
            t = res.tidy(level=level)
            t.insert(0, self.by, name)
            t["nobs"] = int(res.nobs)
            frames.append(t)
        if not frames:
            return pd.DataFrame(columns=[self.by, "term", "estimate", "std_error"])
        return pd.concat(frames, ignore_index=True)

    def etable(self, **kwargs: Any) -> Any:
        """The fits side by side (``tradeflows.etable``), one column per group."""
        from tradeflows.estimation import etable

        return etable(dict(self._fits), **kwargs)
