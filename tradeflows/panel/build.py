"""``tradeflows build``: bundled raw data (+ added files) -> flows, investment, panel, manifest.

Outputs (atomic writes, ``tradeflows.io``): ``data/processed/flows.parquet`` (every source's
reports, canonical trade table), ``investment.parquet`` (UNCTAD bilateral FDI),
``panel.parquet`` (square pair-year gravity panel, see ``tradeflows.panel.square`` and
``tradeflows.panel.mirror`` for the rules) and ``manifest.json`` (sha256 of every input and
output, rows in and out, drops by reason).

The panel uses IMF IMTS (when added), IMF DOTS, then national statistics, then any other added
file (``extra_files``: BACI, CEPII Gravity, ITPD-E, UN Comtrade or IMF files, recognised by
their content). Eurostat (the EU as one exporter) and the
four-yearly Comtrade extract (penppml) are kept in ``flows.parquet`` but not in the panel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from tradeflows import __version__
from tradeflows.config import Paths
from tradeflows.config import paths as project_paths
from tradeflows.countries import exists_in_year
from tradeflows.errors import DataError
from tradeflows.io import StagedOutputs, write_parquet
from tradeflows.panel.covariates import add_covariates
from tradeflows.panel.manifest import Manifest
from tradeflows.panel.mirror import CIF_FOB, reconcile, select_reports
from tradeflows.panel.square import keep_interval, square
from tradeflows.sources import bundled
from tradeflows.sources.base import validate_trade

PANEL_EXCLUDED_SOURCES = ("eurostat", "comtrade")
PANEL_COLUMNS = [
    "year", "exporter", "importer", "trade", "trade_basis", "trade_source",
    "exports_reported", "imports_reported", "exports_estimated", "imports_estimated",
    "exports_source", "imports_source", "domestic",
    "dist", "ln_dist", "contig", "comlang_off", "colony", "gdp_exporter", "gdp_importer",
]


@dataclass
class BuildSummary:
    """What ``build_panel`` wrote, with counts; ``describe()`` gives a readable summary."""

    panel: Path
    flows: Path
    investment: Path
    manifest: Path
    panel_rows: int
    flows_rows: int
    investment_rows: int
    years: tuple[int, int]
    countries: int
    interval: int | None
    basis_counts: dict[str, int] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        lines = [
            f"panel      {self.panel}  ({self.panel_rows:,} pair-years, "
            f"{self.years[0]}-{self.years[1]}"
            + (f" every {self.interval} years" if self.interval and self.interval > 1 else "")
            + f", {self.countries} countries)",
            f"flows      {self.flows}  ({self.flows_rows:,} reports)",
            f"investment {self.investment}  ({self.investment_rows:,} rows)",
            f"manifest   {self.manifest}",
            "trade value used (trade_basis):",
            *(f"  {k:<24} {v:>10,}" for k, v in sorted(self.basis_counts.items())),
        ]
        if self.drops:
            lines.append("rows dropped, by reason:")
            lines += [f"  {k:<40} {v:>10,}" for k, v in sorted(self.drops.items())]
        lines.append(f"built in {self.seconds:.1f} s")
        return "\n".join(lines)


def read_extra(path: str | Path, *, progress: bool = False,
               sectors_dir: Path | None = None) -> pd.DataFrame:
    """Read an added trade file with the reader its content calls for (BACI, CEPII Gravity,
    ITPD-E, UN Comtrade, IMF IMTS or DOTS; see ``tradeflows.sources.detect``). With
    ``sectors_dir``, a BACI file goes through the streaming sector ETL
    (``tradeflows.sectors.etl``), which also writes its HS6 and sector tables there."""
    from tradeflows.sources.detect import kind_of, read_trade_file

    if sectors_dir is not None and kind_of(path) == "baci":
        from tradeflows.sectors.etl import baci_trade_table, build_sectors

        build_sectors([path], sectors_dir, progress=progress)
        return baci_trade_table(sectors_dir)
    return read_trade_file(path, progress=progress)


def combine_trade(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate validated canonical tables; rows of a source found in several tables
    (e.g. two BACI files) are validated together, so a key repeated across files is refused."""
    flows = pd.concat(tables, ignore_index=True)
    seen: dict[str, int] = {}
    for table in tables:
        for source in table["source"].unique():
            seen[source] = seen.get(source, 0) + 1
    shared = [s for s, n in seen.items() if n > 1]
    if shared:
        files = ", ".join(str(t.attrs.get("file", "?")) for t in tables
                          if t["source"].isin(shared).any())
        validate_trade(flows[flows["source"].isin(shared)], file=files)
    return flows


def exclude_nonexistent(flows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop reports involving a country in a year it did not exist (``STATE_YEARS``)."""
    ok = (exists_in_year(flows["exporter"], flows["year"])
          & exists_in_year(flows["importer"], flows["year"])).to_numpy()
    return flows[ok].reset_index(drop=True), int((~ok).sum())


def build_panel_frame(flows: pd.DataFrame, geodist: pd.DataFrame, wdi: pd.DataFrame, *,
                      interval: int | None = None, cif_fob: float = CIF_FOB
                      ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The panel (before policy variables) from canonical ``flows``; returns (panel, drops)."""
    drops: dict[str, int] = {}
    used = ~flows["source"].isin(PANEL_EXCLUDED_SOURCES)
    drops["source_not_in_panel"] = int((~used).sum())
    panel_flows, n_gone = exclude_nonexistent(flows[used.to_numpy()])
    drops["country_not_existing_in_year"] = n_gone
    # categorical country codes make the sorts and merges of ~1.6M rows fast
    codes = pd.CategoricalDtype(sorted(set(panel_flows["exporter"]) | set(panel_flows["importer"])))
    panel_flows = panel_flows.astype({"exporter": codes, "importer": codes})
    reports = select_reports(panel_flows)
    drops["lower_precedence_report"] = len(panel_flows) - len(reports)
    pairs = reconcile(reports, cif_fob=cif_fob)
    full = square(pairs, reports)
    panel = keep_interval(full, interval)
    drops["pair_years_outside_interval"] = len(full) - len(panel)
    panel = add_covariates(panel, geodist, wdi)
    panel = panel.astype({"exporter": object, "importer": object})
    return panel[PANEL_COLUMNS], drops


def build_panel(paths: Paths | str | Path | None = None, interval: int | None = None,
                extra_files: Sequence[str | Path] = (), progress: bool = True, *,
                bad_rows: bundled.BadRows = "raise") -> BuildSummary:
    """Build flows, investment and the pair-year panel under ``paths.processed``.

    ``interval``: keep every N-th year from the first (e.g. 4). ``extra_files``: downloaded
    trade files to add (``tradeflows.sources.detect``). ``bad_rows="drop"`` removes (and
    counts in the manifest) rows with bad values, duplicate keys or unknown codes instead of
    stopping with a ``DataError``.
    """
    from tradeflows.policy import add_policy_variables

    start = time.perf_counter()
    p = paths if isinstance(paths, Paths) else project_paths(paths)
    raw = p.raw
    manifest = Manifest(root=p.root, settings={
        "interval": interval, "cif_fob": CIF_FOB, "bad_rows": bad_rows,
        "tradeflows_version": __version__})
    manifest.settings["extra_files"] = [manifest._name(f) for f in extra_files]
    trade_readers: list[tuple[Path, Callable[[], pd.DataFrame]]] = [
        (raw / bundled.IMF_DOTS, lambda: bundled.read_imf_dots(raw / bundled.IMF_DOTS,
                                                               bad_rows=bad_rows)),
        (raw / bundled.NATIONAL, lambda: bundled.read_national(raw / bundled.NATIONAL,
                                                               bad_rows=bad_rows)),
        (raw / bundled.EUROSTAT, lambda: bundled.read_eurostat(
            raw / bundled.EUROSTAT, raw / bundled.ECB_RATES, bad_rows=bad_rows)),
        (raw / bundled.PENPPML, lambda: bundled.read_penppml_trade(raw / bundled.PENPPML,
                                                                   bad_rows=bad_rows)),
        *((Path(f), lambda f=f: read_extra(f, progress=progress,
                                           sectors_dir=p.processed / "sectors"))
          for f in extra_files),
    ]
    n_steps = len(trade_readers) + 7
    # flows, investment, panel and manifest are committed together (tradeflows.io)
    with StagedOutputs(p.processed) as stage, tqdm(total=n_steps, desc="build", unit="step",
                                                   disable=not progress) as bar:
        tables = []
        for path, reader in trade_readers:
            bar.set_postfix_str(Path(path).name)
            table = reader()
            manifest.add_input(path, table, role="trade")
            tables.append(table)
            bar.update()
        manifest.add_input(raw / bundled.ECB_RATES, role="EUR/USD rates for eurostat")
        flows = combine_trade(tables)
        manifest.add_output(p.flows, len(flows), write_parquet(flows, stage.path(p.flows)))
        bar.update()

        bar.set_postfix_str("covariates")
        geodist = bundled.read_cepii_geodist(raw / bundled.GEODIST, bad_rows=bad_rows)
        manifest.add_input(raw / bundled.GEODIST, geodist, role="covariates")
        wdi = bundled.read_wdi(raw / bundled.WDI, bad_rows=bad_rows)
        manifest.add_input(raw / bundled.WDI, wdi, role="covariates")
        bar.update()

        bar.set_postfix_str("investment")
        investment = bundled.read_unctad_fdi(raw / bundled.UNCTAD_FDI, bad_rows=bad_rows)
        manifest.add_input(raw / bundled.UNCTAD_FDI, investment, role="investment")
        manifest.add_output(p.investment, len(investment),
                            write_parquet(investment, stage.path(p.investment)))
        bar.update()

        bar.set_postfix_str("mirror + square")
        panel, drops = build_panel_frame(flows, geodist, wdi, interval=interval)
        manifest.add_step("panel", rows_in=len(flows), rows_out=len(panel), drops=drops)
        bar.update()

        bar.set_postfix_str("policy variables")
        n_rows = len(panel)
        panel = add_policy_variables(panel)
        if len(panel) != n_rows:
            raise DataError(f"add_policy_variables changed the panel from {n_rows} to "
                            f"{len(panel)} rows; expected the same rows", file="panel")
        bar.update()

        bar.set_postfix_str("write")
        manifest.add_output(p.panel, len(panel), write_parquet(panel, stage.path(p.panel)))
        bar.update()
        manifest.write(stage.path(p.manifest))
        stage.commit()
        bar.update()

    all_drops: dict[str, int] = {}
    for entry in manifest.inputs.values():
        for k, v in entry.get("drops", {}).items():
            all_drops[k] = all_drops.get(k, 0) + v
    for k, v in drops.items():
        all_drops[k] = all_drops.get(k, 0) + v
    years = (int(panel["year"].min()), int(panel["year"].max())) if len(panel) else (0, 0)
    return BuildSummary(
        panel=p.panel, flows=p.flows, investment=p.investment, manifest=p.manifest,
        panel_rows=len(panel), flows_rows=len(flows), investment_rows=len(investment),
        years=years, countries=int(pd.concat([panel["exporter"], panel["importer"]]).nunique()),
        interval=interval,
        basis_counts={str(k): int(v) for k, v in panel["trade_basis"].value_counts().items()},
        drops={k: v for k, v in all_drops.items() if v},
        seconds=time.perf_counter() - start)
