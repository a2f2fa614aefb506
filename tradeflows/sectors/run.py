"""``tradeflows sectors estimate``: sector panel from the built BACI levels + per-sector
policy effects, written as tables.

Reads ``data/processed/sectors/<level>.parquet`` (``tradeflows sectors build``) and the
bundled CEPII GeoDist and WDI files; writes ``data/processed/sectors/panel_<level>.parquet``,
``data/processed/estimates/sectors_<level>.parquet`` (tidy: model, sector, term, estimate,
std_error, ..., nobs, note) and ``reports/tables/sector_effects_<level>.{md,tex,html}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tradeflows.config import Paths
from tradeflows.io import write_parquet
from tradeflows.sectors.etl import read_level
from tradeflows.sectors.gravity import POLICY_MODELS, policy_effects_table, sector_policy_effects
from tradeflows.sectors.panel import sector_panel


def sample_countries_from(total: pd.DataFrame, focus: Sequence[str]) -> list[str]:
    """The application's country sample (the ``focus`` countries and their largest
    partners), chosen on the BACI totals."""
    from tradeflows.gravity.application import sample_countries

    return sample_countries(total.rename(columns={"value_usd": "trade"}), focus)


def run_sector_estimates(paths: Paths, level: str = "section", *,
                         countries: Sequence[str] | None = None,
                         years: Sequence[int] | None = None, focus: Sequence[str] = (),
                         models: Sequence[str] = POLICY_MODELS, progress: bool = False,
                         **fan_out_options: Any) -> list[Path]:
    """Build the sector panel of ``level`` (``countries`` default: the ``focus`` countries
    (a study's, ISO3) and their largest partners on the BACI totals) and estimate ``models`` per sector; returns the written paths.
    ``fan_out_options``: ``serial``, ``scheduler``, ``workers`` (:mod:`tradeflows.distributed`)."""
    from tradeflows.report.tables import write_table
    from tradeflows.sources import bundled

    sectors_dir = paths.processed / "sectors"
    flows = read_level(sectors_dir, level)
    chosen = (list(countries) if countries is not None
              else sample_countries_from(read_level(sectors_dir, "total"), focus))
    geodist = bundled.read_cepii_geodist(paths.raw / bundled.GEODIST)
    wdi = bundled.read_wdi(paths.raw / bundled.WDI)
    panel, drops = sector_panel(flows, geodist, wdi, countries=chosen, years=years)
    written = [write_parquet(panel, sectors_dir / f"panel_{level}.parquet")]
    effects = sector_policy_effects(panel, models, progress=progress, **fan_out_options)
    table = policy_effects_table(effects)
    written.append(write_parquet(table, paths.estimates / f"sectors_{level}.parquet"))
    shown = table.drop(columns=[c for c in ("statistic", "p_value") if c in table.columns])
    caption = (f"Policy effects by {level} (PPML, exporter-year, importer-year and pair fixed "
               f"effects, clustered by pair; BACI, {len(chosen)} countries; rows dropped: "
               + ", ".join(f"{k} {v:,}" for k, v in drops.items()) + ")")
    written += write_table(shown, paths.reports / "tables" / f"sector_effects_{level}", caption)
    return written
