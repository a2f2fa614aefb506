"""``tradeflows build``: bundled raw data (+ added files) -> flows, investment, panel, manifest.

Outputs (atomic writes, ``tradeflows.io``) under ``data/processed/``:

* ``flows.parquet``: every source's reports (canonical trade table);
* ``investment.parquet``: UNCTAD bilateral FDI (bundled, plus added UNCTAD workbooks, whose
  host-reported rows replace the bundled rows of the same year, investor, host and measure);
* ``panel.parquet``: the square pair-year gravity panel (``tradeflows.panel.square``) with the
  mirror rule ``rule`` (``tradeflows.panel.mirror``; default ``"v2"``, alternative
  ``"importer_first"``), followed by the EU27's rows as one exporter
  (``tradeflows.panel.aggregate``, ``eu_aggregate = True``);
* ``reported.parquet``, ``reported_fdi.parquet``, ``reported_corridor.parquet``: official
  statistics quoted in the press (``data/raw/*_press``), kept apart from the panel; only their
  full-year, exact export and import figures enter the panel, as source family
  ``reported_press``;
* ``validation.csv``: the panel against one country's own reports, by partner
  (``tradeflows.panel.validation``; ``build_panel(validation=(country, partners))``, given by
  the study; not written without it);
* ``source_overlap.csv``: agreement of IMF DOTS and national statistics where both report
  (2018-2020), per reporter, partner and side, flagged beyond ``OVERLAP_MARGIN``;
* ``mirror_moves.parquet``: the pair-years the choice of mirror rule moves, both values;
* ``manifest.json``: sha256 of every input and output, rows in and out, drops by reason, and
  the counts of rows each mirror-rule step chose and moved.

The panel uses IMF IMTS (when added), IMF DOTS, then national statistics, then any other source
(press figures; added files, ``extra_files``: BACI, CEPII Gravity, ITPD-E, UN Comtrade or IMF
files, recognised by their content), by ``SOURCE_PRECEDENCE``. The four-yearly Comtrade extract
(penppml) stays in ``flows.parquet`` only. Added WDI files (GDP, population) update the
covariates by country-year (their values win over the bundled copy; the manifest's
``covariates`` step counts the country-years each file gave).
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
from tradeflows.io import StagedOutputs, write_parquet, write_text
from tradeflows.panel.aggregate import aggregate_exporter_rows
from tradeflows.panel.covariates import add_covariates
from tradeflows.panel.manifest import Manifest
from tradeflows.panel.mirror import (
    CIF_FOB,
    DEFAULT_RULE,
    DISCREPANCY_FACTOR,
    MirrorRule,
    reconcile,
    rule_moves,
    select_reports,
)
from tradeflows.panel.sample import overlap_agreement
from tradeflows.panel.square import keep_interval, square
from tradeflows.panel.validation import describe_validation, validation_table
from tradeflows.sources import bundled
from tradeflows.sources.base import validate_trade

PANEL_EXCLUDED_SOURCES = ("comtrade",)
#: Sources whose exporter is an aggregate of panel countries: source -> aggregate code.
AGGREGATE_SOURCES = {"eurostat": bundled.EU_CODE}
#: Years and relative margin of the DOTS / national statistics agreement report.
OVERLAP_YEARS = (2018, 2020)
OVERLAP_MARGIN = 0.10
PANEL_COLUMNS = [
    "year", "exporter", "importer", "trade", "trade_basis", "trade_source", "trade_side",
    "trade_rule", "trade_other_rule", "rule_moved", "mirror_case", "mirror_ratio",
    "exports_reported", "imports_reported", "exports_estimated", "imports_estimated",
    "exports_source", "imports_source", "domestic", "eu_aggregate",
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
    rule: str = DEFAULT_RULE
    rule_counts: dict[str, int] = field(default_factory=dict)
    validation: pd.DataFrame | None = None
    overlap_flagged: tuple[int, int] = (0, 0)

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
            f"mirror rule {self.rule}:",
            *(f"  {k:<40} {v:>10,}" for k, v in sorted(self.rule_counts.items())),
            f"DOTS vs national statistics {OVERLAP_YEARS[0]}-{OVERLAP_YEARS[1]}: "
            f"{self.overlap_flagged[0]:,} of {self.overlap_flagged[1]:,} reporter-partner "
            f"series differ by more than {OVERLAP_MARGIN:.0%} in some year "
            "(data/processed/source_overlap.csv)",
        ]
        if self.validation is not None:
            lines.append(describe_validation(self.validation))
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


def split_extra(files: Sequence[str | Path]) -> dict[str, list[Path]]:
    """Added files by use, told by content (``tradeflows.sources.detect``): ``trade``,
    ``wdi`` (covariates) and ``unctad_fdi`` (investment)."""
    from tradeflows.sources.detect import TRADE_KINDS, kind_of

    out: dict[str, list[Path]] = {"trade": [], "wdi": [], "unctad_fdi": []}
    for f in files:
        kind = kind_of(f)
        out["trade" if kind in TRADE_KINDS else kind].append(Path(f))
    return out


def merge_covariates(wdi: pd.DataFrame, extras: Sequence[pd.DataFrame]
                     ) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """The bundled covariates ``iso3, year, gdp_usd, population`` updated by added WDI tables
    (``tradeflows.sources.wdi.read_wdi_covariates``, in order; a later file wins): a value an
    added file has replaces the bundled one, new country-years are appended. Returns (table,
    {column: {source: country-years}}) with source ``"bundled"`` or the added file's name."""
    cols = ["gdp_usd", "population"]
    out = wdi.set_index(["iso3", "year"])[cols].copy()
    origin = pd.DataFrame("bundled", index=out.index, columns=cols).where(out.notna())
    for extra in extras:
        add = extra.set_index(["iso3", "year"])[cols]
        out = out.reindex(out.index.union(add.index))
        origin = origin.reindex(out.index)
        for col in cols:
            given = add[col].dropna()
            out.loc[given.index, col] = given.to_numpy()
            origin.loc[given.index, col] = Path(extra.attrs.get("file", "added")).name
    counts = {col: {str(k): int(v) for k, v in origin[col].value_counts().items()}
              for col in cols}
    return out.reset_index(), counts


def merge_investment(bundled_fdi: pd.DataFrame, extras: Sequence[pd.DataFrame]
                     ) -> tuple[pd.DataFrame, int]:
    """Bundled UNCTAD rows plus added UNCTAD tables (``tradeflows.sources.fdi``). The
    bundled copy is host-reported: a bundled row whose (year, investor, host, measure) an
    added host-reported (``source="unctad"``) row also gives is replaced. Returns (table,
    bundled rows replaced); keys repeated across added files are a ``DataError``."""
    from tradeflows.sources.base import validate_investment

    if not extras:
        return bundled_fdi, 0
    added = pd.concat(extras, ignore_index=True)
    key = ["year", "investor", "host", "measure"]
    host_reported = added.loc[added["source"] == "unctad", key].drop_duplicates()
    hit = bundled_fdi[key].merge(host_reported, how="left", indicator=True)["_merge"]
    replaced = (hit == "both").to_numpy()
    files = ", ".join(Path(str(e.attrs.get("file", "added"))).name for e in extras)
    checked = validate_investment(added.reset_index(drop=True), file=files)
    out = pd.concat([bundled_fdi[~replaced], checked.drop(columns="_line", errors="ignore")],
                    ignore_index=True)
    return out, int(replaced.sum())


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


def _aggregate_rows(flows: pd.DataFrame, full: pd.DataFrame) -> pd.DataFrame:
    """Rows of every aggregate exporter (``AGGREGATE_SOURCES``) over the square's countries."""
    countries = pd.concat([full[["year", "exporter"]].set_axis(["year", "country"], axis=1),
                           full[["year", "importer"]].set_axis(["year", "country"], axis=1)]
                          ).drop_duplicates()
    countries = countries.astype({"country": object})
    parts = [aggregate_exporter_rows(flows[flows["source"] == src], code, countries)
             for src, code in AGGREGATE_SOURCES.items()
             if (flows["source"] == src).any()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def build_panel_frame(flows: pd.DataFrame, geodist: pd.DataFrame, wdi: pd.DataFrame, *,
                      interval: int | None = None, cif_fob: float = CIF_FOB,
                      rule: MirrorRule = DEFAULT_RULE, factor: float = DISCREPANCY_FACTOR,
                      energy: Sequence[str] | None = None
                      ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The panel (before policy variables) from canonical ``flows``; returns (panel, drops).

    ``rule``, ``factor``, ``energy``: the mirror rule (``tradeflows.panel.mirror.reconcile``).
    """
    drops: dict[str, int] = {}
    aggregate = flows["source"].isin(list(AGGREGATE_SOURCES)).to_numpy()
    used = ~flows["source"].isin(PANEL_EXCLUDED_SOURCES).to_numpy() & ~aggregate
    drops["source_not_in_panel"] = int((~used & ~aggregate).sum())
    panel_flows, n_gone = exclude_nonexistent(flows[used])
    drops["country_not_existing_in_year"] = n_gone
    # categorical country codes make the sorts and merges of ~1.6M rows fast
    codes = pd.CategoricalDtype(sorted(set(panel_flows["exporter"]) | set(panel_flows["importer"])))
    panel_flows = panel_flows.astype({"exporter": codes, "importer": codes})
    reports = select_reports(panel_flows)
    drops["lower_precedence_report"] = len(panel_flows) - len(reports)
    pairs = reconcile(reports, cif_fob=cif_fob, rule=rule, factor=factor, energy=energy)
    full = square(pairs, reports).astype({"exporter": object, "importer": object})
    full["eu_aggregate"] = False
    agg_flows, n_agg_gone = exclude_nonexistent(flows[aggregate])
    drops["country_not_existing_in_year"] += n_agg_gone
    agg_rows = _aggregate_rows(agg_flows, full)
    drops["aggregate_report_outside_panel_years"] = int(
        (~agg_flows["year"].isin(full["year"].unique())).sum())
    if len(agg_rows):
        full = pd.concat([full, agg_rows[full.columns]], ignore_index=True)
    panel = keep_interval(full, interval)
    drops["pair_years_outside_interval"] = len(full) - len(panel)
    panel = add_covariates(panel, geodist, wdi)
    return panel[PANEL_COLUMNS], drops


def rule_counts(panel: pd.DataFrame) -> dict[str, int]:
    """Rows chosen by each mirror-rule step, moved by the choice of rule, and by case."""
    out = {f"chosen_by_{k}": int(v)
           for k, v in panel["trade_rule"].value_counts().sort_index().items()}
    out["moved_by_rule_choice"] = int(panel["rule_moved"].sum())
    moved = panel[panel["rule_moved"]]
    out |= {f"moved_{k}": int(v) for k, v in moved["mirror_case"].value_counts()
            .sort_index().items()}
    out |= {f"case_{k}": int(v) for k, v in panel["mirror_case"].value_counts()
            .sort_index().items() if k != "none"}
    return out


def build_panel(paths: Paths | str | Path | None = None, interval: int | None = None,
                extra_files: Sequence[str | Path] = (), progress: bool = True, *,
                bad_rows: bundled.BadRows = "raise", rule: MirrorRule = DEFAULT_RULE,
                validation: tuple[str, Sequence[str]] | None = None) -> BuildSummary:
    """Build flows, investment, reported statistics, the pair-year panel and its checks
    under ``paths.processed`` (the files of the module docstring).

    ``interval``: keep every N-th year from the first (e.g. 4). ``extra_files``: downloaded
    trade files to add (``tradeflows.sources.detect``). ``bad_rows="drop"`` removes (and
    counts in the manifest) rows with bad values, duplicate keys or unknown codes instead of
    stopping with a ``DataError``. ``rule``: the mirror rule (``"v2"`` or ``"importer_first"``).
    ``validation``: (country ISO3, partner ISO3s) of the validation table (none without it).
    """
    from tradeflows.policy import add_policy_variables

    start = time.perf_counter()
    p = paths if isinstance(paths, Paths) else project_paths(paths)
    raw = p.raw
    manifest = Manifest(root=p.root, settings={
        "interval": interval, "cif_fob": CIF_FOB, "bad_rows": bad_rows,
        "mirror_rule": rule, "discrepancy_factor": DISCREPANCY_FACTOR,
        "tradeflows_version": __version__})
    manifest.settings["extra_files"] = [manifest._name(f) for f in extra_files]
    extra = split_extra(extra_files)
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
          for f in extra["trade"]),
    ]
    reported_path = raw / bundled.REPORTED_TRADE
    if reported_path.exists():
        trade_readers.append((reported_path, lambda: bundled.reported_trade_flows(
            bundled.read_reported_trade(reported_path, bad_rows=bad_rows))))
    n_steps = len(trade_readers) + 9
    # every output of the build is committed together (tradeflows.io)
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
        if extra["wdi"]:
            from tradeflows.sources.wdi import read_wdi_covariates

            added = [read_wdi_covariates(f) for f in extra["wdi"]]
            for f, table in zip(extra["wdi"], added, strict=True):
                manifest.add_input(f, table, role="covariates")
            wdi, by_source = merge_covariates(wdi, added)
            manifest.steps["covariates"] = {"country_years_by_source": by_source}
        bar.update()

        bar.set_postfix_str("investment")
        investment = bundled.read_unctad_fdi(raw / bundled.UNCTAD_FDI, bad_rows=bad_rows)
        manifest.add_input(raw / bundled.UNCTAD_FDI, investment, role="investment")
        if extra["unctad_fdi"]:
            from tradeflows.sources.fdi import read_unctad_fdi

            added = [read_unctad_fdi(f) for f in extra["unctad_fdi"]]
            for f, table in zip(extra["unctad_fdi"], added, strict=True):
                table.attrs["file"] = str(f)
                manifest.add_input(f, table, role="investment")
            n_in = len(investment) + sum(len(t) for t in added)
            investment, n_replaced = merge_investment(investment, added)
            manifest.add_step("investment", rows_in=n_in, rows_out=len(investment),
                              drops={"bundled_replaced_by_added_file": n_replaced})
        manifest.add_output(p.investment, len(investment),
                            write_parquet(investment, stage.path(p.investment)))
        bar.update()

        bar.set_postfix_str("reported statistics")
        reported = _write_reported(raw, p.processed, manifest, bad_rows, stage)
        bar.update()

        bar.set_postfix_str("mirror + square")
        panel, drops = build_panel_frame(flows, geodist, wdi, interval=interval, rule=rule)
        manifest.add_step("panel", rows_in=len(flows), rows_out=len(panel), drops=drops)
        counts = rule_counts(panel)
        manifest.steps["mirror_rule"] = {"rule": rule, "factor": DISCREPANCY_FACTOR,
                                         "rows": counts}
        bar.update()

        bar.set_postfix_str("checks")
        overlap = overlap_agreement(flows, years=OVERLAP_YEARS, margin=OVERLAP_MARGIN)
        _write_csv(overlap, p.processed / "source_overlap.csv", manifest, stage)
        manifest.steps["source_overlap"] = {
            "years": list(OVERLAP_YEARS), "margin": OVERLAP_MARGIN,
            "series": len(overlap), "flagged": int(overlap["flagged"].sum())}
        moves = rule_moves(panel)
        target = p.processed / "mirror_moves.parquet"
        manifest.add_output(target, len(moves), write_parquet(moves, stage.path(target)))
        checked = None
        if validation is not None:
            country, partners = validation
            checked = validation_table(panel, flows, country, tuple(partners),
                                       reported=reported, rule=rule)
            _write_csv(checked, p.processed / "validation.csv", manifest, stage)
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
        seconds=time.perf_counter() - start, rule=rule, rule_counts=counts,
        validation=checked,
        overlap_flagged=(int(overlap["flagged"].sum()), len(overlap)))


def _write_csv(table: pd.DataFrame, target: Path, manifest: Manifest,
               stage: StagedOutputs) -> None:
    written = write_text(table.to_csv(index=False, float_format="%.12g"), stage.path(target))
    manifest.add_output(target, len(table), written)


def _write_reported(raw: Path, processed: Path, manifest: Manifest,
                    bad_rows: bundled.BadRows, stage: StagedOutputs) -> pd.DataFrame | None:
    """Write the reported-statistics tables present under ``raw``; return the trade one."""
    readers = (("reported.parquet", bundled.REPORTED_TRADE, bundled.read_reported_trade),
               ("reported_fdi.parquet", bundled.REPORTED_FDI, bundled.read_reported_fdi),
               ("reported_corridor.parquet", bundled.REPORTED_CORRIDOR,
                bundled.read_reported_corridor))
    trade = None
    for name, rel, reader in readers:
        if not (raw / rel).exists():
            continue
        table = reader(raw / rel, bad_rows=bad_rows)
        if rel != bundled.REPORTED_TRADE:  # recorded with its panel-eligible rows as trade
            manifest.add_input(raw / rel, table, role="reported statistics (not in the panel)")
        target = processed / name
        manifest.add_output(target, len(table), write_parquet(table, stage.path(target)))
        if rel == bundled.REPORTED_TRADE:
            trade = table
    return trade
