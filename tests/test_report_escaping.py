"""The report escapes every input it shows: hostile claim texts, file names (scenario tables
and figures), table cells and notes never become markup."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

import pytest
from test_claims_data import synthetic_tree

import tradeflows.studies.azerbaijan.report.build as rb
from tradeflows.config import paths as project_paths
from tradeflows.report.tables import to_html

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
QUOTE = '" onmouseover="alert(3)'
HOSTILE = f"{SCRIPT}{IMG}{QUOTE}&"


class _Tags(HTMLParser):
    """Collects start tags and attribute names of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def _assert_inert(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags
    assert not [a for a in parser.attrs if a.startswith("on")]
    assert SCRIPT not in page and "<img src=x" not in page


def test_every_html_template_autoescapes() -> None:
    env = rb.template_environment()
    names = env.list_templates()
    html = [n for n in names if ".html" in n]
    assert html and all(env.autoescape(n) for n in html)
    assert not env.autoescape("report.md.j2")


def _hostile_context() -> dict:
    row = {k: HOSTILE for k in ("id", "claim", "verdict", "verdict_class", "estimate",
                                "conf_low", "conf_high", "nobs", "years", "sources",
                                "table_link", "figure_link", "title", "hypothesis", "window",
                                "specification", "rule", "note", "table", "figure", "sample",
                                "clustering", "evidence", "power", "extra", "mirror_alt",
                                "mde")}
    change = {k: HOSTILE for k in ("claim", "date", "kind", "reason", "fingerprint")}
    described = {k: HOSTILE for k in ("title", "table", "figure", "note")}
    item = {"name": HOSTILE, "main": HOSTILE, "files": [HOSTILE + ".svg", HOSTILE + ".png"]}
    return {"claims": [row], "counts": {HOSTILE: 1}, "n_inputs": HOSTILE,
            "manifest": {"packages": {HOSTILE: HOSTILE, "tradeflows": HOSTILE},
                         "git_commit": HOSTILE, "python": HOSTILE, "inputs": {}},
            "tables": [item], "figures": [item], "changes": [change],
            "descriptive": [described], "comparisons": [described]}


def test_templates_escape_every_field() -> None:
    pages = rb.render_pages(_hostile_context())
    _assert_inert(pages["index.html"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["index.html"]
    md = pages["report.md"]
    assert "<script" not in md and "<img src=x" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md


def test_table_cells_and_captions_escaped() -> None:
    import pandas as pd

    page = to_html(pd.DataFrame({HOSTILE: [HOSTILE, 1.5]}), HOSTILE)
    _assert_inert(page)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """A report built end to end from claims with hostile texts and hostile file names of
    scenario tables and figures."""
    p = project_paths(synthetic_tree(tmp_path_factory.mktemp("hostile")))
    for folder, ext in (("tables", ".html"), ("figures", ".svg")):
        (p.reports / folder).mkdir(parents=True, exist_ok=True)
        (p.reports / folder / f"ge_{IMG}{ext}").write_text("x", encoding="utf-8")
    real = rb.assess_catalog

    def hostile(paths, progress=True):
        out = []
        catalog, assessments = real(paths, progress=progress)
        for a in assessments:
            claim = dataclasses.replace(a.claim, title=HOSTILE, claim=HOSTILE,
                                        hypothesis=HOSTILE, specification=HOSTILE,
                                        sources=(HOSTILE,))
            ev = a.evidence
            if ev is not None:
                ev = dataclasses.replace(ev, note=HOSTILE, years=HOSTILE)
            out.append(dataclasses.replace(a, claim=claim, evidence=ev, reason=HOSTILE))
        return catalog, out

    mp = pytest.MonkeyPatch()
    mp.setattr(rb, "assess_catalog", hostile)
    try:
        rb.build_report(p, progress=False)
    finally:
        mp.undo()
    return p


def test_report_end_to_end_is_inert(hostile_report) -> None:
    page = (hostile_report.reports / "index.html").read_text(encoding="utf-8")
    _assert_inert(page)
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5
    assert "ge_&lt;img src=x onerror=" in page  # the hostile file name, shown as text
    md = (hostile_report.reports / "report.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<img src=x" not in md
    for table in (hostile_report.reports / "tables").glob("*.html"):
        _assert_inert(table.read_text(encoding="utf-8"))
