"""The ``tradeflows`` command line: one sub-command per stage of the data's path.

    raw files -> build -> panel -> estimate -> simulate -> claims/report

Each stage reads the previous stage's files under ``data/processed`` and writes its own,
so any stage can be rerun alone. ``reproduce`` runs them all.
"""

from __future__ import annotations

import shutil
import textwrap
import tomllib
from pathlib import Path

import click

from tradeflows import console as out
from tradeflows.config import ProjectNotFoundError, is_project, study_files
from tradeflows.config import paths as project_paths
from tradeflows.errors import TradeflowsError


class _Obj(dict):
    """The commands' shared state: ``progress`` and, resolved when a command first asks for
    it, ``paths`` (so that ``init`` and ``variables`` run outside a project); resolving it
    first recovers what a killed run left in the project's output folders."""

    def __missing__(self, key: str) -> object:
        if key != "paths":
            raise KeyError(key)
        root = self["root"]
        if root is not None and not is_project(Path(root)):
            raise ProjectNotFoundError(f"{Path(root).resolve()} is not a tradeflows project "
                                       "(no tradeflows.toml or data/raw); create one with "
                                       "`tradeflows init DIR`")
        from tradeflows.io import recover

        paths = self["paths"] = project_paths(root)
        for folder in (paths.processed, paths.reports):
            recover(folder)  # finish or drop what a killed run left (tradeflows.io)
        return paths


def _scenario_help() -> str:
    """The studies' scenarios, one per line with its title (for ``simulate --help``)."""
    lines = []
    for file in study_files("scenarios").values():
        title = tomllib.loads(file.read_text(encoding="utf-8")).get("title", "")
        lines.append(f"  {file.stem:<22}{title}")
    return "\n".join(lines)


def _study():
    """The study the commands run (:func:`tradeflows.studies.load_study`)."""
    from tradeflows.studies import load_study

    return load_study()


class _Group(click.Group):
    """A command group that shows tradeflows' errors (bad input, non-convergence) as one
    readable line instead of a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: D102
        try:
            return super().invoke(ctx)
        except TradeflowsError as err:
            raise click.ClickException(str(err)) from err


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project folder (default: the nearest folder at or above the current "
                   "directory holding tradeflows.toml or data/raw).")
@click.option("--quiet", is_flag=True,
              help="Hide progress bars (they are shown only on a terminal anyway).")
@click.version_option(package_name="tradeflows")
@click.pass_context
def main(ctx: click.Context, root: Path | None, quiet: bool) -> None:
    """tradeflows: trade-flow econometrics, structural gravity and a study's claims report.

    \b
    Typical use:
      tradeflows init demo          a new project folder with the bundled data
      tradeflows build              raw data -> data/processed/panel.parquet
      tradeflows variables          list the policy variables and their sources
      tradeflows estimate           gravity estimations -> tables and figures
      tradeflows simulate zangezur  a general-equilibrium counterfactual
      tradeflows reproduce          everything, raw data -> reports/index.html
      tradeflows warm-up            compile the numerical kernels (once, after installing)
    """
    ctx.obj = _Obj(root=root, progress=out.progress_wanted(quiet))


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Create a project in DIRECTORY (new or empty): tradeflows.toml, data/raw with the
    bundled data and their provenance, empty data/processed and reports."""
    from tradeflows.project import init_project

    out.print_init(out.console(), init_project(directory))


@main.command()
@click.argument("source", required=False)
@click.option("--list", "show_list", is_flag=True, help="List the sources and their releases.")
@click.option("--release", help="Release to fetch (default: the current one; see --list).")
@click.option("--url", help="Download address (default: the release's published address).")
@click.option("--sha256", help="Expected checksum of the file; a mismatch stops the download.")
@click.option("--mirror", help="Fetch the same path and query from this server "
              "(e.g. http://127.0.0.1:8000).")
@click.option("--max-bytes", type=click.IntRange(min=1), default=None,
              help="Largest response accepted (default: a limit per source).")
@click.option("--allow-redirect", "allow_hosts", multiple=True, metavar="HOST",
              help="Follow redirects to HOST too (default: same host only; repeatable).")
@click.option("--allow-http-redirect", is_flag=True,
              help="Follow a redirect from https to plain http.")
@click.pass_obj
def fetch(obj: dict, source: str | None, show_list: bool, release: str | None, url: str | None,
          sha256: str | None, mirror: str | None, max_bytes: int | None,
          allow_hosts: tuple[str, ...], allow_http_redirect: bool) -> None:
    """Download a public SOURCE file into the cache (checksummed, cached); print its path.

    SOURCE is one of: baci, cepii_gravity, comtrade, imf, itpd, wdi, unctad_fdi
    ("tradeflows fetch --list" shows the releases, addresses and licences). Keys in
    COMTRADE_API_KEY / IMF_API_KEY are sent as a header to the publisher (never printed).
    """
    import warnings

    from tradeflows.sources.fetch import PinnedChecksumWarning
    from tradeflows.sources.fetch import fetch as fetch_source
    from tradeflows.sources.registry import listing

    if show_list:
        for row in listing():
            click.echo(click.style(f"{row['source']}  {row['release']}", bold=True)
                       + f"  ({row['covers']})  {row['title']}")
            for label in ("url", "file", "units", "licence", "checksum", "releases", "reader"):
                click.echo(f"    {label + ':':<10}{row[label]}")
        return
    if source is None:
        raise click.UsageError("give a SOURCE (or --list)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PinnedChecksumWarning)
        path = fetch_source(source, url=url, sha256=sha256, release=release,
                            cache_dir=obj["paths"].cache, progress=obj["progress"],
                            mirror=mirror, max_bytes=max_bytes, allow_hosts=allow_hosts,
                            allow_http=allow_http_redirect)
    for warning in caught:
        if issubclass(warning.category, PinnedChecksumWarning):
            click.echo(f"warning: {warning.message}", err=True)
    click.echo(str(path))


@main.command()
@click.option("--interval", type=click.IntRange(1, 10), default=None,
              help="Keep every N-th year only (e.g. 4, as in Yotov et al. 2016).")
@click.option("--extra", "extra_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A downloaded file to add (recognised by content; repeatable): trade "
                   "(BACI, CEPII Gravity, ITPD-E, UN Comtrade, IMF), WDI GDP/population "
                   "(covariates) or an UNCTAD FDI workbook (investment).")
@click.option("--drop-bad-rows", is_flag=True,
              help="Drop (and count in the manifest) rows with bad values, duplicate keys or "
                   "unknown codes instead of stopping at the first one.")
@click.option("--mirror-rule", type=click.Choice(["v2", "importer_first"]), default="v2",
              show_default=True,
              help="Which report gives a flow's value: v2 (energy exporters' own reports, "
                   "else the importer's) or importer_first (the rule of earlier versions; "
                   "a robustness check).")
@click.pass_obj
def build(obj: dict, interval: int | None, extra_files: tuple[Path, ...],
          drop_bad_rows: bool = False, mirror_rule: str = "v2") -> None:
    """Build the pair-year gravity panel from data/raw (and --extra files)."""
    from tradeflows.panel.build import build_panel

    summary = build_panel(obj["paths"], interval=interval, extra_files=list(extra_files),
                          progress=obj["progress"],
                          bad_rows="drop" if drop_bad_rows else "raise", rule=mirror_rule,
                          validation=_study().VALIDATION)
    click.echo(summary.describe())


@main.group()
def sectors() -> None:
    """Product-level trade (BACI HS6): streaming build, sector panel, per-sector gravity."""


@sectors.command("build")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--concordance", "concordances", multiple=True,
              help="Extra aggregate level: a bundled concordance (energy, gold, oil_gas, "
                   "energy_gold) or a CSV hs_prefix,sector[,label] (repeatable).")
@click.option("--year", "years", type=int, multiple=True, help="Only these years (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: data/processed/sectors).")
@click.option("--no-hs6", is_flag=True, help="Write only the aggregates, not the HS6 dataset.")
@click.pass_obj
def sectors_build(obj: dict, files: tuple[Path, ...], concordances: tuple[str, ...],
                  years: tuple[int, ...], out: Path | None, no_hs6: bool) -> None:
    """Stream BACI FILES (release zips or yearly CSVs) into Parquet by year + sector totals."""
    from tradeflows.sectors.etl import DEFAULT_LEVELS, build_sectors

    summary = build_sectors(list(files), out or obj["paths"].processed / "sectors",
                            concordances=concordances or DEFAULT_LEVELS,
                            years=list(years) or None, write_hs6=not no_hs6,
                            progress=obj["progress"])
    click.echo(summary.describe())


@sectors.command("estimate")
@click.option("--level", default="section", show_default=True,
              help="Aggregate level built by `sectors build` (section, chapter, energy_gold...).")
@click.option("--country", "countries", multiple=True,
              help="ISO3 countries of the sample (default: the study's countries and their "
                   "largest partners).")
@click.option("--year", "years", type=int, multiple=True, help="Only these years (repeatable).")
@click.option("--scheduler", default=None,
              help="Dask scheduler address (default: $TRADEFLOWS_SCHEDULER, else a local cluster).")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Workers of the local cluster.")
@click.option("--serial", is_flag=True, help="Run in this process without Dask.")
@click.pass_obj
def sectors_estimate(obj: dict, level: str, countries: tuple[str, ...], years: tuple[int, ...],
                     scheduler: str | None, workers: int, serial: bool) -> None:
    """OTS membership and corridor access effects per sector (one PPML per sector)."""
    from tradeflows.sectors.run import run_sector_estimates

    for path in run_sector_estimates(obj["paths"], level, countries=list(countries) or None,
                                     focus=_study().FOCUS,
                                     years=list(years) or None, progress=obj["progress"],
                                     serial=serial, scheduler=scheduler, workers=workers):
        click.echo(str(path))


@sectors.command("simulate")
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--panel", "panel_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Sector panel (Parquet or CSV): exporter, importer, sector, trade (USD), "
                   "the cost terms, domestic flows included; `year` if several years.")
@click.option("--domestic", "domestic_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Domestic flows for a panel without them (e.g. BACI's): country, sector, "
                   "trade (USD) [, year].")
@click.pass_obj
def sectors_simulate(obj: dict, scenario: Path, panel_file: Path,
                     domestic_file: Path | None = None) -> None:
    """Multi-sector GE counterfactual of SCENARIO (TOML: sector sigmas, cost coefficients and
    changes; schema in docs/sectors.md) on a sector panel: real income changes per country
    and per country and sector."""
    import pandas as pd

    from tradeflows.errors import DataError
    from tradeflows.gravity.sector_scenarios import load_sector_scenario, run_sector_scenario
    from tradeflows.io import write_parquet
    from tradeflows.tabular import Table, number, render

    def read(path: Path) -> pd.DataFrame:
        try:
            return (pd.read_csv(path) if path.suffix.lower() == ".csv"
                    else pd.read_parquet(path))
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise DataError(f"cannot read the table ({type(exc).__name__}: {exc})",
                            file=path.name) from exc

    scn = load_sector_scenario(scenario)
    res, notes = run_sector_scenario(
        scn, read(panel_file), file=panel_file.name,
        domestic=None if domestic_file is None else read(domestic_file),
        domestic_file=None if domestic_file is None else domestic_file.name)
    shown = ["real_gdp", "welfare", "exports", "consumer_price"]
    click.echo(render(Table(
        columns=["country", *shown], stub=True, caption=f"{scn.title}: percent changes",
        rows=[[r.country, *(number(getattr(r, c), 3) for c in shown)]
              for r in res.country.itertuples(index=False)], notes=notes), "text"))
    by_sector = ["real_wage_term", "price_index", "output", "exports"]
    click.echo(render(Table(
        columns=["country", "sector", *by_sector], stub=True,
        caption="By country and sector (percent; real_wage_term: the sector's factor of "
                "the real wage change)",
        rows=[[r.country, r.sector, *(number(getattr(r, c), 3) for c in by_sector)]
              for r in res.country_sector.itertuples(index=False)]), "text"))
    folder = obj["paths"].counterfactuals
    for table, suffix in ((res.country, ""), (res.country_sector, "_by_sector")):
        click.echo(str(write_parquet(table, folder / f"sectors_{scn.name}{suffix}.parquet")))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "csv"]), default="text")
@click.option("--table", "which", type=click.Choice(["all", "panel", "sectors"]), default="all",
              show_default=True, help="The pair-year panel's variables, the product-level "
              "tables' (sector panel, BACI levels, HS6), or both.")
def variables(fmt: str, which: str) -> None:
    """List every panel variable with its definition and source, then the product-level
    tables' columns (sector panel, BACI levels, HS6) with label and unit."""
    import pandas as pd

    from tradeflows.policy.variables import variable_catalog
    from tradeflows.sectors.variables import sector_variable_catalog

    panel = variable_catalog().assign(table="data/processed/panel.parquet", label="", unit="")
    sectors = sector_variable_catalog()
    parts = {"all": [panel, sectors], "panel": [panel], "sectors": [sectors]}[which]
    table = pd.concat(parts, ignore_index=True)[["name", "definition", "source", "table",
                                                 "label", "unit"]]
    if fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
        return
    if fmt == "markdown":
        click.echo(table.to_markdown(index=False))
        return
    width = min(shutil.get_terminal_size((100, 20)).columns, 100)
    shown = None
    for row in table.itertuples(index=False):
        if row.table != shown and (which != "panel" or shown is not None):
            click.echo(click.style(f"== {row.table} ==", underline=True))
        shown = row.table
        head = row.name + (f"  {row.label} [{row.unit}]" if row.unit else "")
        click.echo(click.style(head, bold=True))
        for label, text in (("", row.definition), ("source: ", row.source)):
            click.echo(textwrap.fill(label + text, width=width, initial_indent="    ",
                                     subsequent_indent="    "))


@main.command()
@click.pass_obj
def estimate(obj: dict) -> None:
    """Estimate the gravity specifications on the panel; write tables and figures."""
    from tradeflows.gravity.application import MODELS

    paths = obj["paths"]
    written = _study().estimate(paths, progress=obj["progress"])
    con = out.console()
    out.print_estimates(con, paths.estimates / "application.parquet",
                        [m.name for m in MODELS])
    out.print_written(con, written, paths.root)


@main.command(epilog="\b\nBundled scenarios:\n" + _scenario_help())
@click.argument("scenario")
@click.option("--draws", type=click.IntRange(min=1), default=None,
              help="Draws of the partial effects for intervals (>= 1).")
@click.option("--seed", type=int, default=20261128, show_default=True)
@click.option("--scheduler", default=None,
              help="Dask scheduler address for the draws (default: $TRADEFLOWS_SCHEDULER, "
                   "else local processes).")
@click.pass_obj
def simulate(obj: dict, scenario: str, draws: int | None, seed: int,
             scheduler: str | None = None) -> None:
    """Run the general-equilibrium counterfactual SCENARIO (a bundled name, listed below, or
    a scenario file)."""
    import os

    from tradeflows.distributed import ENV_SCHEDULER

    if scheduler:  # read by the draws' fan-out (tradeflows.gravity.uncertainty)
        os.environ[ENV_SCHEDULER] = scheduler
    paths = obj["paths"]
    study = _study()
    written = study.simulate(scenario, paths, draws=draws, seed=seed, progress=obj["progress"])
    con = out.console()
    table = next(p for p in written if p.suffix == ".parquet"
                 and p.parent == paths.counterfactuals and not p.stem.endswith("_pairs"))
    out.print_counterfactual(con, table, study.HEADLINE)
    out.print_written(con, written, paths.root)


@main.command()
@click.pass_obj
def claims(obj: dict) -> None:
    """Evaluate the claims catalog and print the verdicts."""
    verdicts = _study().evaluate_claims(obj["paths"], progress=obj["progress"])
    out.print_verdicts(out.console(), verdicts)


@main.command()
@click.pass_obj
def report(obj: dict) -> None:
    """Write the claims report (HTML, Markdown, tables, figures, manifest) to reports/."""
    import pandas as pd

    paths = obj["paths"]
    index = _study().build_report(paths, progress=obj["progress"])
    verdicts = pd.read_csv(paths.reports / "tables" / "claims.csv")
    out.print_verdicts(out.console(), verdicts, report=index)


@main.command("warm-up")
@click.option("--wide", is_flag=True,
              help="Also the variants for more than 65,536 fixed-effect levels (panels of "
                   "millions of rows; 35-80 s more the first time).")
@click.pass_obj
def warm_up(obj: dict, wide: bool) -> None:
    """Compile the estimators' numerical kernels now, once per installation (1-2 minutes the
    first time; later fits, in any process, load them from the cache in about a second)."""
    from tradeflows.estimation.warmup import warm_up as run

    seconds = run(wide=wide, progress=obj["progress"])
    con = out.console()
    for name, s in seconds.items():
        con.print(f"  {name:<34}{s:7.1f} s")
    con.print(f"kernels ready in {sum(seconds.values()):.1f} s")


@main.command()
@click.pass_context
def reproduce(ctx: click.Context) -> None:
    """Run every stage from the bundled raw data to reports/index.html."""
    ctx.invoke(build)
    ctx.invoke(estimate)
    for name in _study().scenarios():
        ctx.invoke(simulate, scenario=name)
    ctx.invoke(report)


if __name__ == "__main__":
    main()
