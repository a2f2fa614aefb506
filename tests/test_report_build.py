"""The report on a synthetic project: files written, links resolve offline, manifest
checksums are right, and a second run gives identical bytes."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_claims_data import synthetic_tree

from tradeflows.config import paths as project_paths
from tradeflows.report.tables import to_html, to_latex, to_markdown
from tradeflows.studies.azerbaijan.claims.evaluate import evaluate_claims
from tradeflows.studies.azerbaijan.report.build import build_report


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    p = project_paths(synthetic_tree(tmp_path_factory.mktemp("report")))
    index = build_report(p, progress=False)
    first = snapshot(p.reports)
    build_report(p, progress=False)
    return p, index, first, snapshot(p.reports)


def test_files_written(built):
    p, index, first, _ = built
    assert index == p.reports / "index.html"
    expected = ["index.html", "report.md", "manifest.json"]
    expected += [f"tables/{t}.{ext}" for t in ("claims", "claims_change_log", "claim_c1_placebo",
                                              "descriptive_aze_central_asia",
                                              "descriptive_partner_shares", "descriptive_cargo",
                                              "cbar_fdi", "claim_c13_routes")
                 for ext in ("tex", "html", "md")]
    expected += [f"figures/{f}.{ext}" for f in ("verdicts", "claim_c1_placebo",
                                               "descriptive_aze_central_asia", "cbar_fdi",
                                               "corridor_cargo") for ext in ("png", "svg")]
    assert set(expected) <= set(first)
    assert first["figures/verdicts.png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in first["figures/verdicts.svg"][:400]


def test_each_claim_links_the_figure_of_its_own_statistic(built):
    """A claim computed in this package links the figure of its own design (C1: its placebo
    distribution); PNGs are 300 dpi."""
    import matplotlib.image as mpimg

    p, _, first, _ = built
    claims = pd.read_csv(p.reports / "tables" / "claims.csv").set_index("id")
    assert claims.loc["C1", "figure"] == "figures/claim_c1_placebo"
    assert "figures/claim_c1_placebo.png" in first and "figures/claim_c1_placebo.svg" in first
    md = first["report.md"].decode()
    assert "](figures/claim_c1_placebo.svg)" in md
    width = mpimg.imread(p.reports / "figures" / "claim_c1_placebo.png").shape[1]
    assert width == round(6.0 * 300)  # 6.0 in at 300 dpi


def test_every_testable_claim_has_the_figure_of_its_statistic(built):
    """Each claim with a verdict other than "not testable" links its own figure (300 dpi PNG
    + SVG, not blank), and the page shows it."""
    import matplotlib.image as mpimg
    from PIL import Image

    p, _, first, _ = built
    claims = pd.read_csv(p.reports / "tables" / "claims.csv").set_index("id")
    testable = claims[claims["verdict"] != "not testable with the bundled data"]
    assert {"C1", "C1D", "C4", "C5", "C6", "C7F", "C11", "C13"} <= set(testable.index)
    html = first["index.html"].decode()
    for cid, fig in testable["figure"].items():
        assert isinstance(fig, str) and fig.startswith(f"figures/claim_{cid.lower()}_"), cid
        assert f"{fig}.png" in first and f"{fig}.svg" in first, cid
        png = p.reports / f"{fig}.png"
        assert Image.open(png).info["dpi"][0] == pytest.approx(300, abs=0.01), cid
        pixels = mpimg.imread(png)[..., :3]
        assert (pixels < 0.9).mean() > 0.005, f"{cid}: blank figure"
        assert f"{fig}.svg" in html, cid


def test_claim_figures_have_no_second_axis(built):
    """No dual axes: every claim figure is drawn on axes that share nothing (one y-axis)."""
    from tradeflows.studies.azerbaijan.report import claim_figures as cf

    series = pd.DataFrame({"year": range(2018, 2025), "value": [1, 2, 2, 3, 5, 6, 8]})
    fig = cf.period_means_figure(series, (2018, 2021), (2022, 2024), 1.1, "t", "x")
    assert len(fig.axes) == 1
    events = pd.DataFrame({"institution_or_corridor": ["A", "B", "A"],
                           "start_date": ["2014-01-02", "2017-10", "2019"]})
    fig = cf.record_figure(events, "record")
    assert len(fig.axes) == 1 and len(fig.axes[0].get_yticklabels()) == 2


def test_second_run_is_byte_identical(built):
    _, _, first, second = built
    assert first.keys() == second.keys()
    changed = [k for k in first if first[k] != second[k]]
    assert changed == []


def test_manifest_checksums_and_versions(built):
    p, _, first, _ = built
    man = json.loads(first["manifest.json"])
    raw = sorted(f for f in p.raw.rglob("*") if f.is_file())
    assert man["inputs"] == {f"data/raw/{f.relative_to(p.raw).as_posix()}":
                             hashlib.sha256(f.read_bytes()).hexdigest() for f in raw}
    assert "data/raw/demo/PROVENANCE.md" in man["inputs"]
    assert man["outputs"]["reports/index.html"] == hashlib.sha256(
        first["index.html"]).hexdigest()
    assert "reports/manifest.json" not in man["outputs"]
    assert "data/processed/panel.parquet" in man["processed"]
    assert man["packages"]["numpy"] == np.__version__
    assert man["packages"]["pandas"] == pd.__version__
    assert man["git_commit"] == "unknown"  # tmp dir is not a git checkout
    assert set(man) == {"inputs", "processed", "outputs", "packages", "python", "git_commit"}


def test_html_is_self_contained_and_links_resolve(built):
    p, _, first, _ = built
    html = first["index.html"].decode()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    links = re.findall(r'(?:href|src)="([^"#]+)"', html)
    assert len(links) > 20
    missing = [x for x in links if not (p.reports / x).is_file()]
    assert missing == []
    md = first["report.md"].decode()
    for link in re.findall(r"\]\(([^)#]+)\)", md):
        assert (p.reports / link).is_file(), link


def test_report_shows_each_verdict(built):
    p, _, first, _ = built
    verdicts = evaluate_claims(p, progress=False)
    md = first["report.md"].decode()
    html = first["index.html"].decode()
    for row in verdicts.itertuples():
        assert f"| {row.id} | {row.claim} | {row.evidence_type} | **{row.verdict}** |" in md
        assert f'id="{row.id}"' in html
    assert "supported if the 95% interval" in md
    # descriptive evidence comes first, the change log last
    assert md.index("## Descriptive evidence") < md.index("## Claims and verdicts") \
        < md.index("## Change log of the catalog")
    assert "| C3 | 2026-12-01 | changed |" in md


def test_report_without_processed_data_degrades(tmp_path):
    (tmp_path / "data" / "raw").mkdir(parents=True)
    p = project_paths(tmp_path)
    index = build_report(p, progress=False)
    md = (p.reports / "report.md").read_text()
    for cid in ("C1", "C2", "C3", "C5", "C7F", "C11"):
        assert f"### {cid}. " in md and md.split(f"### {cid}. ")[1].split("\n")[0].endswith(
            "not testable with the bundled data"), cid
    assert "missing input: the canonical flows" in md
    assert index.is_file() and (p.reports / "figures" / "verdicts.svg").is_file()


def test_table_formats_agree():
    df = pd.DataFrame({"term": ["both_ots", "a&b"], "estimate": [0.123456, np.nan],
                       "n": [10, 20]})
    tex = to_latex(df, "Cap_1 100%")
    assert r"\caption{Cap\_1 100\%}" in tex
    assert r"both\_ots & 0.123 & 10 \\" in tex and r"a\&b &  & 20 \\" in tex
    html = to_html(df, "Cap <1>")
    assert "<caption>Cap &lt;1&gt;</caption>" in html
    assert "<td>a&amp;b</td><td></td><td>20</td>" in html
    md = to_markdown(df, "Cap")
    assert r"| both\_ots | 0.123 | 10 |" in md and "| a&b |  | 20 |" in md


def test_cli_report_writes_index(tmp_path):
    from click.testing import CliRunner

    from tradeflows.cli import main

    root = synthetic_tree(tmp_path)
    out = CliRunner().invoke(main, ["--root", str(root), "--quiet", "report"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert lines[-1] == f"report: {root / 'reports' / 'index.html'}"
    verdicts = pd.read_csv(root / "reports" / "tables" / "claims.csv")
    for cid, verdict in zip(verdicts["id"], verdicts["verdict"], strict=True):
        row = next(line for line in lines if line.split()[:1] == [cid])
        assert verdict.split()[0] in row
    counts = verdicts["verdict"].value_counts()
    assert "; ".join(f"{n} {v}" for v, n in counts.items()) in out.output
    assert (root / "reports" / "manifest.json").is_file()


def test_summary_figure_draws_a_statistic_outside_its_interval():
    """A rule's statistic may lie outside the interval it reports (a minimum over countries
    against an interval of draws): the summary figure draws both, it does not raise."""
    from tradeflows.studies.azerbaijan.report import claim_figures as cf


    rows = pd.DataFrame([{"id": "C5", "title": "win-win", "statistic": "minimum change",
                          "estimate": 0.009, "conf_low": 0.001, "conf_high": 0.008,
                          "null": 0.0, "verdict": "supported", "reason": ""}])
    fig = cf.claims_summary_figure(rows)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] < 0.001 and ax.get_xlim()[1] > 0.009
