"""The one table writer: numbers in significant digits, one escaping path per format, the
same escaping in report tables and etable, plain text without markup."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tradeflows.estimation.table import etable
from tradeflows.report.tables import to_html, to_latex, to_markdown
from tradeflows.tabular import Table, escape, frame_table, number, render

HOSTILE = "a_b & 50% <i>*x*</i> | $y$ #1 {z} ~^\\"


@pytest.mark.parametrize(("value", "digits", "text"), [
    (0.0012345, 3, "0.00123"), (-0.812345, 3, "-0.812"), (1.1, 3, "1.10"),
    (12345.678, 3, "12,346"), (0.0, 3, "0"), (12, 3, "12"), (1234567, 3, "1,234,567"),
    (2.5e-8, 3, "2.50e-08"), (float("nan"), 3, ""), (None, 3, ""), (0.5, 1, "0.5"),
])
def test_number_significant_digits(value, digits, text):
    assert number(value, digits) == text


def test_number_keeps_relative_precision_over_magnitudes():
    for x in (3.14159e-6, 2.71828e-3, 0.5772, 1.4142, 2718.28, 3.0e9):
        assert float(number(x, 4).replace(",", "")) == pytest.approx(x, rel=5e-4)


def test_small_values_are_never_a_column_of_zeros():
    df = pd.DataFrame({"country": ["AZE", "KAZ", "UZB"], "change": [0.00042, -0.0000137, 1.25]})
    md = to_markdown(df, "GE")
    assert "0.000 " not in md and "| AZE | 0.000420 |" in md and "-0.0000137" in md


@pytest.mark.parametrize("fmt", ["latex", "html", "markdown"])
def test_report_tables_and_etable_escape_the_same_way(fmt):
    """One escaping path: the same hostile label comes out identically from both writers."""
    expected = escape(HOSTILE, fmt)
    df = pd.DataFrame({HOSTILE: [HOSTILE]})
    render_report = {"latex": to_latex, "html": to_html, "markdown": to_markdown}[fmt]
    report = render_report(df, "cap")

    class Fit:
        coef = pd.Series({HOSTILE: 1.0})
        se = pd.Series({HOSTILE: 0.5})
        pvalue = pd.Series({HOSTILE: 0.2})
        nobs = 5

    table = etable(Fit(), format=fmt)
    assert expected in report and expected in table
    if fmt == "html":
        assert "<i>" not in report and "<i>" not in table
    if fmt == "latex":
        assert "50%" not in report.replace(r"50\%", "") and r"\_" in report


def test_latex_escape_leaves_no_special_character_bare():
    out = escape(HOSTILE, "latex")
    bare = out
    for esc in (r"\textbackslash{}", r"\textasciitilde{}", r"\textasciicircum{}",
                r"\textless{}", r"\textgreater{}", r"\&", r"\%", r"\$", r"\#", r"\_", r"\{",
                r"\}"):
        bare = bare.replace(esc, "")
    assert not set(bare) & set("&%$#_{}~^\\<>")


def test_text_is_plain_and_aligned():
    t = frame_table(pd.DataFrame({"term": ["a_b", "c"], "x": [1.5, -22.25]}), "Cap *1*",
                    notes=["note_1"])
    out = render(t, "text")
    lines = out.splitlines()
    assert lines[0] == "Cap *1*" and "a_b" in out and "\\" not in out and lines[-1] == "note_1"
    body = [line for line in lines if line.startswith(("a_b", "c "))]
    assert len({len(line) for line in body}) == 1  # numbers right-aligned in one column


def test_sections_become_rules():
    t = Table(columns=["", "m"], rows=[["a", "1"], ["b", "2"], ["c", "3"]],
              sections=["x", "x", "y"], stub=True)
    assert render(t, "latex").count(r"\midrule") == 2
    assert render(t, "html").count("<tbody") == 2
    assert render(t, "text").splitlines()[4] == ""


def test_unknown_format_raises():
    with pytest.raises(ValueError, match="format"):
        render(Table(columns=["a"], rows=[]), "docx")
    assert math.isnan(float("nan"))
