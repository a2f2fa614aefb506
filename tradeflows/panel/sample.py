"""Source-consistent estimation samples.

A pair's series can change source family (``trade_source``: ``imf_dots``, ``national``,
``eurostat``, ``reported_press``, an added ``baci`` ...) from one year to the next, most visibly
in 2021 when the IMF DOTS copy ends and national statistics take over. With pair fixed effects
alone, any indicator that switches on with the new source picks up the change of source. Two
remedies (``method=``), either of which the default sample applies:

* ``"pair_family_fe"`` (default): keep every row and give each (pair, source family) its own
  fixed effect: column ``pair_family`` = ``"EXP_IMP:family"``, to use in place of the pair
  identifier. A level shift between families is then absorbed; effects are identified only
  from changes within one family's series.
* ``"single_family"``: keep, for each pair, only the rows of the family that observes it most
  often in the window (ties: ``tradeflows.panel.mirror.SOURCE_PRECEDENCE`` order); the other
  rows are dropped and counted (``other_source_family``).

``"mixed"`` applies neither (each pair keeps one fixed effect across sources): not
source-consistent, for comparison only. A panel without ``family_col`` is treated as one
family, ``"unspecified"`` (recorded).

Rows of an aggregate reporter (``eu_aggregate``: the EU27 as one exporter) are dropped by
default, so that no flow is counted twice with its member states' own reports. The returned
:class:`SourceSample` records what was done; ``note()`` is a sentence for a table's notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from tradeflows.panel.mirror import source_rank

SampleMethod = Literal["pair_family_fe", "single_family", "mixed"]
SAMPLE_METHODS: tuple[str, ...] = ("pair_family_fe", "single_family", "mixed")
DEFAULT_METHOD: SampleMethod = "pair_family_fe"
NO_FAMILY = "none"
UNSPECIFIED = "unspecified"


@dataclass
class SourceSample:
    """An estimation sample and the record of how it was made source-consistent."""

    data: pd.DataFrame
    method: str
    window: tuple[int, int] | None
    family_col: str
    drops: dict[str, int] = field(default_factory=dict)
    rows_by_family: dict[str, int] = field(default_factory=dict)
    pairs_with_several_families: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "window": list(self.window) if self.window else None,
                "family_col": self.family_col, "drops": dict(self.drops),
                "rows_by_family": dict(self.rows_by_family),
                "pairs_with_several_families": self.pairs_with_several_families}

    def note(self) -> str:
        """One sentence for a table's notes."""
        fams = ", ".join(f"{k} {v:,}" for k, v in self.rows_by_family.items())
        how = {"pair_family_fe": "pair x source-family fixed effects (each pair's series "
               "from each source family has its own fixed effect)",
               "single_family": "one source family per pair (rows of the pair's other "
               "families dropped)",
               "mixed": "NOT source-consistent (one fixed effect per pair across source "
               "families)"}[self.method]
        window = f" in {self.window[0]}-{self.window[1]}" if self.window else ""
        drops = "; ".join(f"{k}: {v:,}" for k, v in self.drops.items() if v)
        return (f"Source-consistent sample{window}: {how}; observed rows by source family: "
                f"{fams}; {self.pairs_with_several_families:,} pairs observed by more than one "
                f"family" + (f"; rows dropped: {drops}" if drops else "") + ".")


def _family(df: pd.DataFrame, family_col: str) -> pd.Series:
    if family_col not in df.columns:
        return pd.Series(np.where(df["trade"].notna(), UNSPECIFIED, NO_FAMILY), index=df.index)
    fam = df[family_col].astype(object)
    return fam.where(df["trade"].notna() & fam.notna(), NO_FAMILY)


def source_consistent(panel: pd.DataFrame, method: SampleMethod = DEFAULT_METHOD, *,
                      window: tuple[int, int] | None = None, family_col: str = "trade_source",
                      keep_aggregates: bool = False) -> SourceSample:
    """The source-consistent sample of ``panel`` (see the module docstring).

    ``window``: first and last year kept (rows outside are dropped and counted).
    ``family_col``: the column naming each row's source family. Needs ``year, exporter,
    importer, trade``. Adds ``source_family`` and ``pair_family`` (``"EXP_IMP:family"``;
    ``"EXP_IMP"`` under ``"mixed"``).
    """
    if method not in SAMPLE_METHODS:
        raise ValueError(f"method must be one of {SAMPLE_METHODS}, got {method!r}")
    missing = [c for c in ("year", "exporter", "importer", "trade") if c not in panel.columns]
    if missing:
        raise ValueError(f"the panel lacks column(s) {missing} needed for a source-consistent "
                         "sample")
    drops: dict[str, int] = {}
    df = panel
    if not keep_aggregates and "eu_aggregate" in df.columns:
        agg = df["eu_aggregate"].fillna(False).astype(bool).to_numpy()
        drops["aggregate_reporter"] = int(agg.sum())
        df = df[~agg]
    if window is not None:
        inside = df["year"].between(window[0], window[1]).to_numpy()
        drops["outside_window"] = int((~inside).sum())
        df = df[inside]
    df = df.copy()
    df["source_family"] = _family(df, family_col).to_numpy()
    pair = df["exporter"].astype(str) + "_" + df["importer"].astype(str)
    obs = df["source_family"] != NO_FAMILY
    n_fam = df.loc[obs].groupby(pair[obs])["source_family"].nunique()
    several = int((n_fam > 1).sum())
    if method == "single_family":
        counts = (df.loc[obs].assign(_pair=pair[obs])
                  .groupby(["_pair", "source_family"]).size().rename("n").reset_index())
        counts["_rank"] = source_rank(counts["source_family"]).to_numpy()
        counts = counts.sort_values(["_pair", "n", "_rank"], ascending=[True, False, True])
        main = counts.drop_duplicates("_pair").set_index("_pair")["source_family"]
        keep = ~obs.to_numpy() | (df["source_family"].to_numpy(dtype=object)
                                  == pair.map(main).to_numpy(dtype=object))
        drops["other_source_family"] = int((~keep).sum())
        df, pair = df[keep], pair[keep]
    df["pair_family"] = (pair if method == "mixed"
                         else pair + ":" + df["source_family"].astype(str)).to_numpy()
    fams = df.loc[df["source_family"] != NO_FAMILY, "source_family"].value_counts()
    rows_by_family = {str(k): int(v) for k, v in sorted(fams.items())}
    return SourceSample(df.reset_index(drop=True), str(method), window, family_col,
                        {k: v for k, v in drops.items()}, rows_by_family, several)


def overlap_agreement(flows: pd.DataFrame, sources: tuple[str, str] = ("imf_dots", "national"),
                      years: tuple[int, int] | None = None, margin: float = 0.10
                      ) -> pd.DataFrame:
    """Agreement of two sources on the report slots both cover, per reporter-partner-flow.

    ``flows``: canonical trade table. For every (reporter, partner, side) with figures from both
    ``sources`` in the same years (within ``years`` if given): ``years`` covered, the sums of
    both, ``ratio`` = second / first over those years, ``max_abs_log_diff`` (largest yearly
    |log(second / first)|), and ``flagged`` = some year differs by more than ``margin``
    (relative, i.e. second / first outside [1 - margin, 1 + margin]).
    """
    a_src, b_src = sources
    cols = ["year", "exporter", "importer", "reporter_side", "value_usd"]
    a = flows.loc[flows["source"] == a_src, cols]
    b = flows.loc[flows["source"] == b_src, cols]
    if years is not None:
        a = a[a["year"].between(*years)]
        b = b[b["year"].between(*years)]
    both = a.merge(b, on=cols[:4], suffixes=("_a", "_b"))
    side = both["reporter_side"].to_numpy()
    both["reporter"] = np.where(side == "exporter", both["exporter"], both["importer"])
    both["partner"] = np.where(side == "exporter", both["importer"], both["exporter"])
    va, vb = both["value_usd_a"].to_numpy(), both["value_usd_b"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = vb / va
        both["abs_log_diff"] = np.abs(np.log(rel))
    both["off"] = ~((rel >= 1 - margin) & (rel <= 1 + margin))
    both.loc[(va == 0) & (vb == 0), "off"] = False
    both.loc[(va == 0) & (vb == 0), "abs_log_diff"] = 0.0
    g = both.groupby(["reporter", "partner", "reporter_side"], sort=True)
    out = pd.DataFrame({
        "years": g["year"].agg(lambda y: f"{y.min()}-{y.max()}" if y.min() != y.max()
                               else str(y.min())),
        "n_years": g["year"].size(),
        f"{a_src}_usd": g["value_usd_a"].sum(),
        f"{b_src}_usd": g["value_usd_b"].sum(),
        "max_abs_log_diff": g["abs_log_diff"].max(),
        "flagged": g["off"].any(),
    }).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out[f"{b_src}_usd"] / out[f"{a_src}_usd"]
    out["margin"] = margin
    return out
