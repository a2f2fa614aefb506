"""The ``tradeflows`` command line: one sub-command per stage of the data's path.

    raw files -> build -> panel -> estimate -> simulate -> claims/report

Each stage reads the previous stage's files under ``data/processed`` and writes its own,
so any stage can be rerun alone. ``reproduce`` runs them all.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import click

from tradeflows.config import paths as project_paths
from tradeflows.errors import TradeflowsError


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
              help="Project root holding data/raw (default: current directory).")
@click.option("--quiet", is_flag=True, help="Hide progress bars.")
@click.version_option(package_name="tradeflows")
@click.pass_context
def main(ctx: click.Context, root: Path | None, quiet: bool) -> None:
    """tradeflows: structural gravity for the Azerbaijan-Central Asia trade claims.

    \b
    Typical use:
      tradeflows build              raw data -> data/processed/panel.parquet
      tradeflows variables          list the policy variables and their sources
      tradeflows estimate           gravity estimations -> tables and figures
      tradeflows simulate zangezur  a general-equilibrium counterfactual
      tradeflows reproduce          everything, raw data -> reports/index.html
    """
    from tradeflows.io import recover

    ctx.obj = {"paths": project_paths(root), "progress": not quiet}
    for folder in (ctx.obj["paths"].processed, ctx.obj["paths"].reports):
        recover(folder)  # finish or drop what a killed run left (tradeflows.io)


@main.command()
@click.argument("source")
@click.option("--url", help="Download address (default: the source's published address).")
@click.option("--sha256", help="Expected checksum of the file; a mismatch stops the download.")
@click.option("--year", type=int, help="Year of the release, for yearly files such as BACI.")
@click.pass_obj
def fetch(obj: dict, source: str, url: str | None, sha256: str | None, year: int | None) -> None:
    """Download a public SOURCE file into the cache (checksummed, cached).

    SOURCE is one of: baci, cepii_gravity, comtrade, imf, itpd, wdi, unctad_fdi.
    """
    from tradeflows.sources.fetch import fetch as fetch_source

    path = fetch_source(source, url=url, sha256=sha256, year=year,
                        cache_dir=obj["paths"].cache, progress=obj["progress"])
    click.echo(str(path))


@main.command()
@click.option("--interval", type=click.IntRange(1, 10), default=None,
              help="Keep every N-th year only (e.g. 4, as in Yotov et al. 2016).")
@click.option("--extra", "extra_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A downloaded BACI or CEPII Gravity file to add (repeatable).")
@click.option("--drop-bad-rows", is_flag=True,
              help="Drop (and count in the manifest) rows with bad values, duplicate keys or "
                   "unknown codes instead of stopping at the first one.")
@click.pass_obj
def build(obj: dict, interval: int | None, extra_files: tuple[Path, ...],
          drop_bad_rows: bool = False) -> None:
    """Build the pair-year gravity panel from data/raw (and --extra files)."""
    from tradeflows.panel.build import build_panel

    summary = build_panel(obj["paths"], interval=interval, extra_files=list(extra_files),
                          progress=obj["progress"],
                          bad_rows="drop" if drop_bad_rows else "raise")
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
              help="ISO3 countries of the sample (default: the application's sample).")
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
                                     years=list(years) or None, progress=obj["progress"],
                                     serial=serial, scheduler=scheduler, workers=workers):
        click.echo(str(path))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "csv"]), default="text")
def variables(fmt: str) -> None:
    """List every panel variable with its definition and source."""
    from tradeflows.policy.variables import variable_catalog

    table = variable_catalog()
    if fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
    elif fmt == "markdown":
        click.echo(table.to_markdown(index=False))
    else:
        width = min(shutil.get_terminal_size((100, 20)).columns, 100)
        for row in table.itertuples(index=False):
            click.echo(click.style(row.name, bold=True))
            for label, text in (("", row.definition), ("source: ", row.source)):
                click.echo(textwrap.fill(label + text, width=width, initial_indent="    ",
                                         subsequent_indent="    "))


@main.command()
@click.pass_obj
def estimate(obj: dict) -> None:
    """Estimate the gravity specifications on the panel; write tables and figures."""
    from tradeflows.gravity.application import run_application

    written = run_application(obj["paths"], progress=obj["progress"])
    for path in written:
        click.echo(str(path))


@main.command()
@click.argument("scenario")
@click.option("--draws", type=click.IntRange(min=1), default=None,
              help="Draws of the partial effects for intervals (>= 1).")
@click.option("--seed", type=int, default=20261128, show_default=True)
@click.pass_obj
def simulate(obj: dict, scenario: str, draws: int | None, seed: int) -> None:
    """Run the general-equilibrium counterfactual SCENARIO (a name or a scenario file)."""
    from tradeflows.gravity.scenarios import run_scenario

    written = run_scenario(scenario, obj["paths"], draws=draws, seed=seed,
                           progress=obj["progress"])
    for path in written:
        click.echo(str(path))


@main.command()
@click.pass_obj
def claims(obj: dict) -> None:
    """Evaluate the claims catalog and print the verdicts."""
    from tradeflows.claims.evaluate import evaluate_claims

    verdicts = evaluate_claims(obj["paths"], progress=obj["progress"])
    click.echo(verdicts.to_string(index=False))


@main.command()
@click.pass_obj
def report(obj: dict) -> None:
    """Write the claims report (HTML, Markdown, tables, figures, manifest) to reports/."""
    from tradeflows.report.build import build_report

    click.echo(str(build_report(obj["paths"], progress=obj["progress"])))


@main.command()
@click.pass_context
def reproduce(ctx: click.Context) -> None:
    """Run every stage from the bundled raw data to reports/index.html."""
    from tradeflows.gravity.scenarios import SCENARIOS

    ctx.invoke(build)
    ctx.invoke(estimate)
    for name in SCENARIOS:
        ctx.invoke(simulate, scenario=name)
    ctx.invoke(report)


if __name__ == "__main__":
    main()
