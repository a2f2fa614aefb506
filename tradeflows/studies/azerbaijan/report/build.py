"""Build the claims report: verdict table, claim tables and figures, HTML + Markdown, manifest.

Everything is written under ``reports/`` through atomic writers, without timestamps, so a
second run on the same inputs gives identical bytes.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from tqdm import tqdm

from tradeflows.config import Paths
from tradeflows.io import StagedOutputs, write_json, write_text
from tradeflows.panel.aggregate import country_rows
from tradeflows.report import figures as fg
from tradeflows.report.manifest import build_manifest
from tradeflows.report.tables import write_table
from tradeflows.studies.azerbaijan.claims import descriptive as ds
from tradeflows.studies.azerbaijan.claims.catalog import Catalog
from tradeflows.studies.azerbaijan.claims.evaluate import (
    Assessment,
    assess_catalog,
    mirror_robustness,
    verdict_table,
)
from tradeflows.studies.azerbaijan.claims.reported import CARGO_FIGURE, FDI_TABLE
from tradeflows.studies.azerbaijan.claims.rules import VERDICTS
from tradeflows.studies.azerbaijan.comparisons import comparison_outputs
from tradeflows.studies.azerbaijan.config import AZERBAIJAN, CENTRAL_ASIA
from tradeflows.studies.azerbaijan.report import claim_figures as cf

TEMPLATES = Path(__file__).resolve().parent / "templates"
DESCRIPTIVE_FIRST_YEAR = 2010
SHARE_YEARS = [2010, 2015, 2020]
#: Labels of the GE quantities a claim may name (columns of the counterfactual tables).
MEASURE_LABELS = {"real_gdp": "real GDP", "exports": "exports", "imports": "imports",
                  "producer_price": "producer price", "consumer_price": "consumer price"}


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


def _claim_outputs(a: Assessment, reports: Path, paths: Paths) -> list[Path]:
    """Tables and figures of one claim's evidence: each claim with evidence gets the figure
    of its own statistic (``ev.figure``), 300 dpi PNG + SVG."""
    ev, c = a.evidence, a.claim
    if ev is None or ev.series is None:
        return []
    s = ev.series
    out: list[Path] = []
    title = f"{c.id}: {c.title}"
    if c.method in ("reported_series", "single_reporter") and "year" in s.columns:
        unit = ("USD million, as reported" if c.method == "single_reporter"
                else c.rule.statistic.removeprefix("log growth of "))
        out += fg.save_figure(cf.period_means_figure(
            s, tuple(c.inputs["pre"]), tuple(c.inputs["post"]), ev.estimate, unit, title),
            reports / ev.figure)
    elif c.method == "single_reporter":
        t = s.sort_values("h", ascending=False)[["partner", "role", "pre_usd", "post_usd",
                                                  "g_treated", "g_control", "h"]]
        t = t.assign(pre_usd=t["pre_usd"] / 1e6, post_usd=t["post_usd"] / 1e6).rename(
            columns={"pre_usd": "pre (USD mn)", "post_usd": "post (USD mn)"})
        out += write_table(t, reports / ev.table, f"{c.id}: triple difference of log shares "
                           "by partner (placebo ranking)", digits=3)
        placebo = s.loc[s["role"] == "placebo", "h"].to_numpy()
        out += fg.save_figure(cf.null_distribution_figure(
            placebo, ev.estimate, c.inputs["partner"],
            f"{c.id}: {c.inputs['partner']} among comparable partners"), reports / ev.figure)
    elif c.method == "ri_gravity":
        out += fg.save_figure(cf.null_distribution_figure(
            s["coefficient"].to_numpy(), ev.estimate, "estimate",
            f"{c.id}: randomization distribution of the coefficient"), reports / ev.figure)
    elif c.method == "event_study":
        out += write_table(s, reports / ev.table, f"{c.id}: event-study coefficients", digits=3)
        out += fg.save_figure(cf.event_study_figure(s, f"{c.id}: {c.title}"),
                              reports / ev.figure)
    elif c.method == "fdi_reported":
        out += write_table(s, reports / "tables" / f"claim_{c.id.lower()}_bounds",
                           f"{c.id}: bounds of the Central Asian share of FDI inflows", digits=1)
        out += fg.save_figure(cf.share_bounds_figure(s, c.rule.null, title),
                              reports / ev.figure)
    elif c.method == "route_alternatives":
        out += write_table(s, reports / ev.table, f"{c.id}: route costs (rail-km "
                           "equivalents) and the value of the alternative route", digits=3)
        out += fg.save_figure(cf.route_value_figure(s, ev.estimate, c.inputs["destination"],
                                                    title), reports / ev.figure)
    elif c.method == "documentary":
        out += fg.save_figure(cf.record_figure(s, title), reports / ev.figure)
    elif c.method == "counterfactual":
        out += _worst_off_outputs(a, reports, paths)
    return out


def _worst_off_outputs(a: Assessment, reports: Path, paths: Paths) -> list[Path]:
    """The GE claim's figure: each named country's change with its interval (sorted) and the
    within-draw minimum, against the rule's threshold."""
    ev, c = a.evidence, a.claim
    measure, scenario = c.inputs["measure"], c.inputs["scenario"]
    file = paths.counterfactuals / f"{scenario}.parquet"
    if not file.is_file():
        return []
    table = pd.read_parquet(file)
    rows = table[table["country"].isin(c.inputs["countries"])]
    # a table without the interval columns (older outputs) shows the points only
    countries = pd.DataFrame({"country": rows["country"], "estimate": rows[measure],
                              "conf_low": rows.get(f"{measure}_lower", rows[measure]),
                              "conf_high": rows.get(f"{measure}_upper", rows[measure])})
    level = int(100 * (c.rule.level or 0.95))
    note = (f"{level}% intervals from the draws of the partial effects; the last row is the "
            "claim's statistic: the minimum over the countries computed within each draw "
            "(point: the minimum at the point estimate). Dashed: the rule's threshold.")
    return fg.save_figure(cf.worst_off_figure(
        countries, (ev.estimate, ev.conf_low, ev.conf_high), c.rule.null,
        f"Change in {MEASURE_LABELS.get(measure, measure)} (%), scenario {scenario}",
        f"{c.id}: {c.title}", note),
        reports / ev.figure)


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


def descriptive_outputs(paths: Paths, reports: Path) -> list[dict[str, str]]:
    """The descriptive section (shown before any test), written under ``reports`` (the
    report's stage folder): trade with each Central Asian state with the source of each
    point, partner shares, corridor and port cargo, FDI positions. Returns one entry per item
    (title, table, figure links relative to reports/)."""
    items: list[dict[str, str]] = []
    # the EU27's rows as one exporter would count its members' trade twice
    panel = country_rows(pd.read_parquet(paths.panel)) if paths.panel.is_file() else None
    ca = list(CENTRAL_ASIA)
    if panel is not None:
        trade = ds.bilateral_trade(panel, AZERBAIJAN, ca, DESCRIPTIVE_FIRST_YEAR)
        press = ds.press_turnover(paths.raw, AZERBAIJAN, ca)
        shown = pd.concat([trade.assign(kind="panel"),
                           press.assign(kind="press-quoted turnover")], ignore_index=True)
        shown = shown[["partner", "year", "kind", "trade_usd_mn", "source", "directions",
                       "share_of_partner_total_pct"]].sort_values(["partner", "year", "kind"])
        write_table(shown, reports / "tables" / "descriptive_aze_central_asia",
                    "Azerbaijan's trade with each Central Asian state (USD mn), the source of "
                    "each point, and Azerbaijan's share of the partner's total trade (%)",
                    digits=2)
        fg.save_figure(cf.trade_levels_figure(trade, press, AZERBAIJAN),
                       reports / "figures" / "descriptive_aze_central_asia")
        items.append({"title": "Azerbaijan's trade with each Central Asian state, "
                      f"{DESCRIPTIVE_FIRST_YEAR}-{ds.latest_year(trade)}",
                      "table": "tables/descriptive_aze_central_asia.html",
                      "figure": "figures/descriptive_aze_central_asia.svg",
                      "note": _sources_note(trade)})
        shares = ds.partner_shares(panel, AZERBAIJAN, SHARE_YEARS)
        hhi = ds.partner_hhi(panel[panel["year"] <= max(SHARE_YEARS)], AZERBAIJAN)
        write_table(shares, reports / "tables" / "descriptive_partner_shares",
                    "Azerbaijan's partner shares (%), panel", digits=1)
        write_table(hhi.assign(total_usd=hhi["total_usd"] / 1e6).rename(
            columns={"hhi": "HHI (0-10000)", "total_usd": "total trade (USD mn)"}),
            reports / "tables" / "descriptive_partner_hhi",
            "Concentration of Azerbaijan's trade across partners (C6, secondary measure)",
            digits=1)
        fg.save_figure(cf.partner_shares_figure(shares, AZERBAIJAN),
                       reports / "figures" / "descriptive_partner_shares")
        items.append({"title": "Azerbaijan's partner shares",
                      "table": "tables/descriptive_partner_shares.html",
                      "figure": "figures/descriptive_partner_shares.svg",
                      "note": f"Years {SHARE_YEARS}: the panel observes Azerbaijan's trade "
                      "with every partner only to 2020. Concentration (HHI) by year: "
                      "tables/descriptive_partner_hhi.html."})
    cargo = ds.cargo_table(paths.raw)
    if len(cargo):
        write_table(cargo, reports / "tables" / "descriptive_cargo",
                    "Middle Corridor and Port of Baku cargo (million tonnes, as reported)",
                    digits=3)
        fg.save_figure(cf.cargo_figure(cargo), reports / CARGO_FIGURE)
        items.append({"title": "Middle Corridor and Port of Baku cargo",
                      "table": "tables/descriptive_cargo.html",
                      "figure": f"{CARGO_FIGURE}.svg",
                      "note": "TITR: Kazakhstan Ministry of Transport (corridor_cargo.csv); "
                      "Port of Baku: the port's releases quoted in the press "
                      "(data/raw/corridor_port_volumes_press), several approximate."})
    inv = pd.read_parquet(paths.investment) if paths.investment.is_file() else None
    fdi = ds.fdi_positions(inv, paths.raw, AZERBAIJAN, ca)
    if len(fdi):
        write_table(fdi, reports / FDI_TABLE, "FDI into Azerbaijan: UNCTAD (Central Asian "
                    "investors, host-reported) and CBAR gross inflows by source country "
                    "(published top-10 lists and totals), USD million", digits=1)
        item = {"title": "FDI positions", "table": f"{FDI_TABLE}.html", "figure": "",
                "note": "No Central Asian state appears in CBAR's published top-10 lists "
                "(2023, 2024); UNCTAD bilateral data end in 2012."}
        if fdi["source"].str.startswith("CBAR").any():
            fg.save_figure(cf.fdi_figure(fdi, AZERBAIJAN), reports / "figures" / "cbar_fdi")
            item["figure"] = "figures/cbar_fdi.svg"
        items.append(item)
    return [{k: (v if k in ("title", "note") or _exists(reports, v) else "")
             for k, v in item.items()} for item in items]


def _sources_note(trade: pd.DataFrame) -> str:
    """Which source each partner's points come from, by period (from the data)."""
    parts = []
    for partner, g in trade.groupby("partner"):
        spans = g.groupby("source")["year"].agg(["min", "max"]).sort_values("min")
        parts.append(f"{partner}: " + ", ".join(f"{src} {lo}-{hi}" if lo != hi else
                                                  f"{src} {lo}"
                                                  for src, (lo, hi) in spans.iterrows()))
    return ("Panel values by source (" + "; ".join(parts) + "); 'directions' = how many of "
            "the two directions are reported; the share of the partner's total is left blank "
            "where the partner's total is not observed. Hollow triangles: Azerbaijan's own "
            "full-year turnover quoted in the press.")


def _exists(reports: Path, rel: str) -> bool:
    return bool(rel) and (reports / rel).is_file()


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


def _context(catalog: Catalog, assessments: list[Assessment], table: pd.DataFrame,
             robustness: dict[str, str], descriptive: list[dict[str, str]], reports: Path,
             manifest: dict[str, object],
             comparisons: list[dict[str, str]] | None = None) -> dict[str, object]:
    rows = []
    for a, r in zip(assessments, table.to_dict("records"), strict=True):
        c, ev = a.claim, a.evidence
        extra = "; ".join(f"{k} {_fmt(v)}" for k, v in (ev.extra or {}).items()) \
            if ev is not None else ""
        rows.append({
            **{k: _fmt(v) for k, v in r.items()},
            "verdict_class": r["verdict"].split(" ")[0] if r["verdict"] != VERDICTS[3]
            else "untestable",
            "title": c.title, "hypothesis": c.hypothesis, "sample": c.sample,
            "clustering": c.clustering, "evidence": c.evidence,
            "window": f"{c.window[0]}-{c.window[1]}",
            "specification": c.specification, "rule": c.rule.describe(),
            "power": (f"{c.power.method}, target power {c.power.target:g}"
                      + (f": MDE {_fmt(ev.mde)} ({ev.mde_note})"
                         if ev is not None and ev.mde is not None else "")
                      if c.power is not None else ""),
            "extra": extra, "mirror_alt": robustness.get(c.id, ""),
            "table_link": _link(reports, r["table"], (".html", ".md", ".tex")),
            "figure_link": _link(reports, r["figure"], (".svg", ".png")),
        })
    counts = {v: int((table["verdict"] == v).sum()) for v in VERDICTS}
    changes = [{"claim": ch.claim, "date": ch.date, "kind": ch.kind, "reason": ch.reason,
                "fingerprint": ch.fingerprint} for ch in catalog.changes]
    return {"claims": rows, "counts": counts, "manifest": manifest, "changes": changes,
            "descriptive": descriptive, "comparisons": comparisons or [],
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
    catalog, assessments = assess_catalog(paths, progress=progress)
    table = verdict_table(assessments)
    robustness = mirror_robustness(paths, assessments, progress=progress)
    steps.update()
    with StagedOutputs(paths.reports, copy_existing=True) as stage:
        reports = stage.dir
        descriptive = descriptive_outputs(paths, reports)
        comparisons = comparison_outputs(paths, reports)
        summary = table[["id", "evidence_type", "verdict", "estimate", "conf_low", "conf_high",
                         "mde", "nobs", "years"]].assign(
            mirror_alternative=table["id"].map(robustness))
        write_table(summary, reports / "tables" / "claims",
                    "Claims: verdicts by pre-stated rules")
        changes = pd.DataFrame([vars(ch) for ch in catalog.changes])
        write_table(changes, reports / "tables" / "claims_change_log",
                    "Change log of the claims catalog")
        for a in assessments:
            _claim_outputs(a, reports, paths)
        steps.update()
        write_text(table.to_csv(index=False, lineterminator="\n"),
                   reports / "tables" / "claims.csv")
        fg.save_figure(cf.claims_summary_figure(_summary_rows(assessments)),
                       reports / "figures" / "verdicts")
        steps.update()
        manifest_file = reports / "manifest.json"
        # before the pages, for their summary
        manifest = build_manifest(paths, manifest_file, reports=reports)
        pages = render_pages(_context(catalog, assessments, table, robustness, descriptive,
                                      reports, manifest, comparisons))
        write_text(pages["index.html"], reports / "index.html")
        write_text(pages["report.md"], reports / "report.md")
        steps.update()
        write_json(build_manifest(paths, manifest_file, reports=reports), manifest_file)
        stage.commit()
    steps.update()
    steps.close()
    return paths.reports / "index.html"
