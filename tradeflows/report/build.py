"""Build the claims report: verdict table, claim tables and figures, HTML + Markdown, manifest.

Everything is written under ``reports/`` through atomic writers, without timestamps, so a
second run on the same inputs gives identical bytes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from tqdm import tqdm

from tradeflows.claims.corridor import CARGO_FIGURE, cargo_series
from tradeflows.claims.evaluate import Assessment, assess_claims, verdict_table
from tradeflows.claims.investment import FDI_FIGURE, FDI_TABLE, fdi_into
from tradeflows.claims.rules import VERDICTS
from tradeflows.config import Paths
from tradeflows.io import StagedOutputs, write_json, write_text
from tradeflows.report import figures as fg
from tradeflows.report.manifest import build_manifest
from tradeflows.report.tables import write_table

TEMPLATES = Path(__file__).resolve().parent / "templates"
# descriptive table and figure linked from a claim even when it is not testable
_DESCRIPTIVE = {"investment": (FDI_TABLE, FDI_FIGURE), "corridor_shift": ("", CARGO_FIGURE)}


def _fmt(x: object, digits: int = 3) -> str:
    if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)):
        return ""
    if isinstance(x, float):
        if x != 0 and (abs(x) >= 1e4 or abs(x) < 10 ** -digits):
            return f"{x:.{digits}g}"
        return f"{x:.{digits}f}"
    return str(x)


def _link(reports: Path, rel: str, prefer: tuple[str, ...]) -> str:
    """``rel`` (relative to reports/, with or without extension) if the file exists, else ""."""
    if not rel:
        return ""
    base = reports / rel
    if base.suffix and base.is_file():
        return rel
    for ext in prefer:
        if base.with_suffix(ext).is_file():
            return Path(rel).with_suffix(ext).as_posix()
    return ""


def _claim_outputs(a: Assessment, reports: Path) -> list[Path]:
    """Tables and figures of one claim's evidence (claims computed in this package)."""
    ev, c = a.evidence, a.claim
    if ev is None or ev.series is None:
        return []
    s = ev.series
    out: list[Path] = []
    if c.method == "concentration":
        t = s.assign(total_usd=s["total_usd"] / 1e6).rename(
            columns={"hhi": "HHI (0-10000)", "total_usd": "total trade (USD mn)"})
        out += write_table(t, reports / ev.table, f"{c.id}: concentration of "
                           f"{c.inputs['country']}'s trade across partners", digits=4)
        out += fg.save_figure(fg.concentration_figure(s, c.inputs["country"],
                                                      int(c.inputs["kink"])),
                              reports / ev.figure)
    elif c.method == "corridor_shift":
        t = s.pivot_table(index="year", columns="group", values="trade").reset_index()
        t.columns = [str(col) for col in t.columns]
        for col in ("middle", "northern", "other"):
            if col in t.columns:
                t[col] = t[col] / 1e6
        out += write_table(t, reports / ev.table, f"{c.id}: trade of Central Asia/China-"
                           "Europe pairs by route group (USD mn) and Middle Corridor cargo (Mt)",
                           digits=3)
    return out


def _statistic_rows(a: Assessment, paths: Paths) -> tuple[pd.DataFrame, str] | None:
    """Rows of a claim's own statistic figure (label, estimate, conf_low, conf_high,
    highlight) and a note saying which row the rule uses; None for claims drawn otherwise."""
    ev, c = a.evidence, a.claim
    if ev is None:
        return None
    if c.method == "estimate":
        file = paths.estimates / "application.parquet"
        term, spec = c.inputs["term"], c.inputs.get("spec")
        cols = ["spec", "estimate", "conf_low", "conf_high"]
        est = pd.read_parquet(file) if file.is_file() else pd.DataFrame(columns=["term", *cols])
        others = est.loc[(est["term"] == term) & (est["spec"] != spec), cols]
        # the rule's own row carries the rule's interval (its level may differ from 95%)
        own = pd.DataFrame([{"spec": spec or "", "estimate": ev.estimate,
                             "conf_low": ev.conf_low, "conf_high": ev.conf_high}])
        rows = pd.concat([own, others], ignore_index=True)
        rows.insert(0, "label", [f"spec '{x}'" for x in rows["spec"]])
        rows["highlight"] = rows.index == 0
        return rows.drop(columns="spec"), (
            f"Bold: the estimate the rule uses ({fg.variable_label(term, 200)}, spec "
            f"'{spec}'); grey: the same term in the other specifications.")
    if c.method == "counterfactual" and ev.series is not None:
        m = c.inputs["measure"]
        s = ev.series.sort_values(m, ascending=False, kind="stable")
        rows = pd.DataFrame({"label": [fg.country_label(x) for x in s["country"]],
                             "estimate": s[m].to_numpy(), "conf_low": s[f"{m}_lower"].to_numpy(),
                             "conf_high": s[f"{m}_upper"].to_numpy(),
                             "highlight": (s[m] == s[m].min()).to_numpy()})
        return rows, ("The rule uses the smallest change over these countries (bold) and the "
                      "smallest bounds; a win-win needs every interval above the threshold.")
    if c.method == "gravity_gap":
        rows = pd.DataFrame({"label": [c.title], "estimate": [ev.estimate],
                             "conf_low": [ev.conf_low], "conf_high": [ev.conf_high],
                             "highlight": [True]})
        return rows, ev.note
    return None


def _statistic_figure(a: Assessment, paths: Paths, reports: Path) -> list[Path]:
    """``figures/claim_<id>``: the claim's own statistic with its interval against the
    threshold of its rule (estimate, counterfactual and gravity-gap claims); the claim's
    evidence then links to it."""
    got = _statistic_rows(a, paths)
    if got is None:
        return []
    rows, note = got
    c = a.claim
    level = f"{100 * c.rule.level:g}% intervals; " if c.rule.level is not None else ""
    xlabel = c.rule.statistic
    if c.method == "counterfactual":
        xlabel = (f"{c.inputs['measure'].replace('_', ' ')} change (%), full-endowment GE, "
                  f"scenario '{c.inputs['scenario']}'")
    fig = fg.interval_figure(
        rows, null=c.rule.null, xlabel=textwrap.fill(xlabel, 80),
        title=f"{c.id}. {c.title}: {a.verdict}",
        note=f"{level}dashed line: threshold of the rule ({c.rule.null:g}). {note}",
        highlight_color=fg.VERDICT_COLORS.get(a.verdict, fg.MAIN_COLOR))
    rel = f"figures/claim_{c.id}"
    a.evidence.figure = rel
    return fg.save_figure(fig, reports / rel)


def _summary_rows(assessments: list[Assessment]) -> pd.DataFrame:
    """One row per claim for the summary figure: statistic, interval, threshold, verdict."""
    rows = []
    for a in assessments:
        ev, r = a.evidence, a.claim.rule
        rows.append({"id": a.claim.id, "title": a.claim.title, "statistic": r.statistic,
                     "estimate": ev.estimate if ev else np.nan,
                     "conf_low": ev.conf_low if ev and r.level is not None else np.nan,
                     "conf_high": ev.conf_high if ev and r.level is not None else np.nan,
                     "null": r.null, "verdict": a.verdict, "reason": a.reason})
    return pd.DataFrame(rows)


def _fdi_outputs(assessments: list[Assessment], paths: Paths, reports: Path) -> list[Path]:
    """FDI into the host of the investment claim from its investors (flows and stocks),
    drawn from the investment table whatever the verdict."""
    claim = next((a.claim for a in assessments if a.claim.method == "investment"), None)
    if claim is None or not paths.investment.is_file():
        return []
    host, investors = claim.inputs["host"], list(claim.inputs["investors"])
    inv = pd.read_parquet(paths.investment)
    frames = [fdi_into(inv, host, m).assign(measure=m) for m in ("flow", "stock")]
    fdi = pd.concat(frames, ignore_index=True)
    if fdi.empty:
        return []
    fdi["group"] = fdi["investor"].where(~fdi["investor"].isin(investors), "Central Asia")
    ca = fdi[fdi["investor"].isin(investors)].dropna(subset=["value_usd"])
    t = (ca.pivot_table(index="year", columns=["measure", "investor"], values="value_usd",
                        aggfunc="sum") / 1e6)
    t.columns = [f"{m} {i}" for m, i in t.columns]
    t = t.reset_index()
    out = write_table(t, reports / FDI_TABLE, f"{claim.id}: FDI into {host} "
                      "from Central Asia reported by the host (UNCTAD), USD million", digits=3)
    out += fg.save_figure(fg.fdi_figure(fdi, host), reports / FDI_FIGURE)
    return out


def _listing(folder: Path, reports: Path, prefer: tuple[str, ...]) -> list[dict[str, str]]:
    """One entry per table/figure base name in ``folder`` with its files (sorted)."""
    if not folder.is_dir():
        return []
    bases: dict[str, list[str]] = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and not f.name.startswith("."):
            bases.setdefault(f.stem, []).append(f.relative_to(reports).as_posix())
    items = []
    for stem, files in sorted(bases.items()):
        main = next((x for ext in prefer for x in files if x.endswith(ext)), files[0])
        items.append({"name": stem, "main": main, "files": files})
    return items


def _context(assessments: list[Assessment], table: pd.DataFrame, reports: Path,
             manifest: dict[str, object]) -> dict[str, object]:
    rows = []
    for a, r in zip(assessments, table.to_dict("records"), strict=True):
        fallback = _DESCRIPTIVE.get(a.claim.method, ("", ""))
        rows.append({
            **{k: _fmt(v) for k, v in r.items()},
            "verdict_class": r["verdict"].split(" ")[0] if r["verdict"] != VERDICTS[3]
            else "untestable",
            "title": a.claim.title, "hypothesis": a.claim.hypothesis,
            "window": f"{a.claim.window[0]}-{a.claim.window[1]}",
            "specification": a.claim.specification, "rule": a.claim.rule.describe(),
            "table_link": _link(reports, r["table"] or fallback[0], (".html", ".md", ".tex")),
            "figure_link": _link(reports, r["figure"] or fallback[1], (".svg", ".png")),
        })
    counts = {v: int((table["verdict"] == v).sum()) for v in VERDICTS}
    return {"claims": rows, "counts": counts, "manifest": manifest,
            "tables": _listing(reports / "tables", reports, (".html", ".md", ".tex")),
            "figures": _listing(reports / "figures", reports, (".svg", ".png")),
            "n_inputs": len(manifest["inputs"])}


def _markdown_text(value: object) -> object:
    """Markdown pages show text literally: ``&``, ``<`` and ``>`` become entities (rendered
    as the same characters, never as HTML tags)."""
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _autoescape(name: str | None) -> bool:
    """Every HTML or XML template (``*.html.j2``, ``*.html``, ...) escapes what it shows."""
    stem = (name or "").removesuffix(".j2")
    return stem.endswith((".html", ".htm", ".xml", ".svg"))


def template_environment() -> jinja2.Environment:
    """The report's templates: autoescaped if HTML (see ``_autoescape``); Markdown
    templates escape ``& < >`` through ``finalize``."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=_autoescape, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    return env


def render_pages(context: dict[str, object]) -> dict[str, str]:
    """``index.html`` and ``report.md`` from the report context (``_context``)."""
    env = template_environment()
    md = env.overlay(finalize=_markdown_text)
    return {"index.html": env.get_template("index.html.j2").render(**context),
            "report.md": md.get_template("report.md.j2").render(**context)}


def build_report(paths: Paths, progress: bool = True) -> Path:
    """Evaluate the claims and write the report under ``paths.reports``; returns the path of
    ``reports/index.html``. The new files are staged and committed together with the
    manifest (``tradeflows.io.StagedOutputs``): a killed run leaves the previous report."""
    steps = tqdm(total=5, desc="report", unit="step", disable=not progress)
    assessments = assess_claims(paths, progress=progress)
    steps.update()
    with StagedOutputs(paths.reports, copy_existing=True) as stage:
        reports = stage.dir
        for a in assessments:
            _claim_outputs(a, reports)
            _statistic_figure(a, paths, reports)
        table = verdict_table(assessments)
        summary = table[["id", "verdict", "estimate", "conf_low", "conf_high", "nobs", "years"]]
        write_table(summary, reports / "tables" / "claims", "Claims: verdicts by pre-stated rules")
        write_text(table.to_csv(index=False, lineterminator="\n"),
                   reports / "tables" / "claims.csv")
        _fdi_outputs(assessments, paths, reports)
        steps.update()
        fg.save_figure(fg.claims_summary_figure(_summary_rows(assessments)),
                       reports / "figures" / "verdicts")
        cargo = cargo_series()
        if not cargo.empty:
            c4 = next((a.evidence for a in assessments if a.claim.method == "corridor_shift"
                       and a.evidence is not None), None)
            groups = c4.series if c4 is not None else None
            fg.save_figure(fg.corridor_figure(cargo, groups), reports / CARGO_FIGURE)
        steps.update()
        manifest_file = reports / "manifest.json"
        # before the pages, for their summary
        manifest = build_manifest(paths, manifest_file, reports=reports)
        pages = render_pages(_context(assessments, table, reports, manifest))
        write_text(pages["index.html"], reports / "index.html")
        write_text(pages["report.md"], reports / "report.md")
        steps.update()
        write_json(build_manifest(paths, manifest_file, reports=reports), manifest_file)
        stage.commit()
    steps.update()
    steps.close()
    return paths.reports / "index.html"
