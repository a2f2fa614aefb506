"""What the command line shows at the end of each command: short readable summaries of the
results (rich tables), read from the files the command wrote. Only the CLI calls this module.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from tradeflows.tabular import number

VERDICT_STYLES = {"supported": "bold green", "not supported": "bold red",
                  "inconclusive": "bold yellow", "not testable with the bundled data": "dim"}
#: GE quantities shown by ``simulate`` (column of the counterfactual table -> heading).
GE_SHOWN = {"real_gdp": "Real GDP", "exports": "Exports", "consumer_price": "Consumer price"}


def console() -> Console:
    """A rich console on the command's standard output (no colour when it is not a terminal,
    120 columns then, so that piped output is not cut at 80)."""
    stream = sys.stdout
    tty = stream.isatty()
    return Console(file=stream, width=None if tty else 120, highlight=False,
                   color_system="auto" if tty else None, soft_wrap=False)


def signed(x: float, digits: int = 3) -> str:
    """``x`` with its sign and ``digits`` significant digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    text = number(x, digits)
    return text if text.startswith("-") or text == "0" else "+" + text


def compact(x: float) -> str:
    """Two significant digits with a sign; scientific below 0.001 (GE changes in percent span
    many orders of magnitude)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if x != 0 and abs(x) < 1e-3:
        return f"{x:+.1e}"
    return signed(x, 2)


def interval(lo: float, hi: float, digits: int = 3) -> str:
    """``[lo, hi]`` with signs, or "" when a bound is missing."""
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (lo, hi)):
        return ""
    return f"[{signed(lo, digits)}, {signed(hi, digits)}]"


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def print_written(con: Console, written: Sequence[Path], root: Path) -> None:
    """One line: how many files were written, and in which folders."""
    folders = sorted({_relative(p.parent, root) for p in written})
    con.print(f"{len(written)} files written in {', '.join(folders)}")


def print_init(con: Console, summary: object) -> None:
    """Summary of ``tradeflows init`` (an :class:`tradeflows.project.InitSummary`)."""
    s = summary
    check = "checksums verified" if s.verified else "copied from the source checkout"
    con.print(f"[bold]Created project {s.root}[/bold]")
    con.print(f"data/raw: {len(s.datasets)} data sets, {s.files} files "
              f"({s.size / 1e6:.1f} MB, {check}), each with its PROVENANCE.md")
    con.print("data/processed and reports are empty. Next:")
    con.print(f"  cd {s.root} && tradeflows reproduce")


def headline_estimates(est: pd.DataFrame, specs: Sequence[str]) -> pd.DataFrame:
    """Rows of the tidy estimates for ``specs`` (in that order) plus ``*_total`` rows."""
    keep = est[est["spec"].isin(specs) | est["term"].str.endswith("_total")].copy()
    order = {s: i for i, s in enumerate(specs)}
    keep["_order"] = keep["spec"].map(order).fillna(len(order))
    return keep.sort_values(["_order"], kind="stable").drop(columns="_order")


def print_estimates(con: Console, file: Path, specs: Sequence[str]) -> None:
    """Headline coefficients of ``tradeflows estimate``: estimate, 95% interval, the implied
    change in trade (exp(b) - 1, percent), p-value and N."""
    est = pd.read_parquet(file)
    rows = headline_estimates(est, specs)
    table = Table(title="Policy effects on bilateral trade (PPML, pair + exporter-year + "
                  "importer-year fixed effects, SE clustered by pair)", title_justify="left", box=box.SIMPLE_HEAD)
    for col, just in (("model", "left"), ("term", "left"), ("coef.", "right"),
                      ("95% interval", "right"), ("trade change", "right"),
                      ("p", "right"), ("N", "right")):
        table.add_column(col, justify=just, no_wrap=True)
    for r in rows.itertuples(index=False):
        table.add_row(r.spec, r.term, signed(r.estimate), interval(r.conf_low, r.conf_high),
                      signed(100 * math.expm1(r.estimate)) + "%", number(r.p_value, 2),
                      f"{int(r.nobs):,}")
    con.print(table)
    con.print("trade change = exp(coef.) - 1. All terms: "
              f"{_relative(file, file.parents[3])} ({len(est)} rows)")


def print_counterfactual(con: Console, file: Path, focus: Sequence[str]) -> None:
    """Real GDP, export and consumer-price changes of the ``focus`` countries (ISO3, in that
    order), with intervals and the draw counts, for one ``tradeflows simulate`` run."""
    cf = pd.read_parquet(file)
    meta_file = file.with_suffix(".json")
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    shown = cf[cf["country"].isin(focus)].set_index("country")
    shown = shown.loc[[c for c in focus if c in shown.index]]
    level = float(cf["level"].iloc[0]) if "level" in cf.columns and len(cf) else float("nan")
    title = meta.get("title", file.stem)
    table = Table(title=f"{title}: GE changes in percent, {100 * level:g}% intervals",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("country", justify="left", no_wrap=True)
    for heading in GE_SHOWN.values():
        table.add_column(f"{heading} [interval]", justify="right", no_wrap=True)
    from tradeflows.countries import country_name

    for code, r in shown.iterrows():
        table.add_row(country_name(code),
                      *(f"{compact(r[c])} [{compact(r[f'{c}_lower'])}, "
                        f"{compact(r[f'{c}_upper'])}]" for c in GE_SHOWN))
    con.print(table)
    draws = int(cf["draws"].iloc[0]) if "draws" in cf.columns else meta.get("draws")
    failed = int(cf["draws_failed"].iloc[0]) if "draws_failed" in cf.columns else 0
    base = meta.get("baseline_year")
    con.print(f"{draws} draws of the partial effects ({failed} did not converge); "
              f"{len(cf)} countries" + (f"; baseline {base}" if base else "")
              + f". Every country: {file.name}")


def print_verdicts(con: Console, verdicts: pd.DataFrame, report: Path | None = None) -> None:
    """Verdict table of ``tradeflows claims`` / ``report``: id, claim, verdict, estimate,
    interval, N; then the counts and the report's path."""
    table = Table(title="Claims: verdicts by rules stated before estimation",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("id", justify="left", no_wrap=True)
    table.add_column("claim", justify="left", max_width=44)
    table.add_column("verdict", justify="left", no_wrap=True)
    table.add_column("estimate", justify="right", no_wrap=True)
    table.add_column("interval", justify="right", no_wrap=True)
    table.add_column("N", justify="right", no_wrap=True)
    for r in verdicts.itertuples(index=False):
        n = "" if pd.isna(r.nobs) else f"{int(r.nobs):,}"
        table.add_row(str(r.id), str(r.claim), f"[{VERDICT_STYLES.get(r.verdict, '')}]"
                      f"{r.verdict}[/]", signed(r.estimate), interval(r.conf_low, r.conf_high),
                      n)
    con.print(table)
    counts = verdicts["verdict"].value_counts()
    con.print("; ".join(f"{int(n)} {v}" for v, n in counts.items()))
    if report is not None:
        con.print(f"report: {report}")


def progress_wanted(quiet: bool) -> bool:
    """Progress bars only on a terminal and without ``--quiet``."""
    return not quiet and sys.stderr.isatty()
