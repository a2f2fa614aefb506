"""etable: several models side by side. Golden strings for the layout; every number parsed
back and checked against the models (stand-ins and real PPML / OLS fits)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from tradeflows.errors import SpecificationError
from tradeflows.estimation.table import ECONOMICS_STARS, etable


@dataclass
class StandIn:
    """Duck-typed results object with the attributes etable reads."""

    coef: pd.Series
    se: pd.Series
    pvalue: pd.Series
    nobs: int
    fixef_vars: list[str] = field(default_factory=list)
    vcov_type: str = "iid"
    model: str = "ppml"
    depvar: str = "trade"
    drops: dict[str, int] = field(default_factory=dict)
    pseudo_r2: float | None = None
    r2: float | None = None


@pytest.fixture(scope="module")
def two_models():
    m1 = StandIn(coef=pd.Series({"ln_dist": -0.81234, "both_ots": 0.25}),
                 se=pd.Series({"ln_dist": 0.0502, "both_ots": 0.2}),
                 pvalue=pd.Series({"ln_dist": 1e-5, "both_ots": 0.21}), nobs=12345,
                 fixef_vars=["exp_year", "imp_year"], vcov_type="CL1: pair",
                 drops={"singleton": 3, "separation_fe": 0}, pseudo_r2=0.99123)
    m2 = StandIn(coef=pd.Series({"ln_dist": -1.1}), se=pd.Series({"ln_dist": 0.1}),
                 pvalue=pd.Series({"ln_dist": 0.03}), nobs=100, fixef_vars=["exp_year"],
                 vcov_type="hetero", model="ols", depvar="ln_trade", r2=0.5)
    return m1, m2


GOLDEN_TEXT = """\
                          (1)       (2)
---------------------------------------
Dependent variable      trade  ln_trade
Estimator                PPML       OLS

ln_dist             -0.812***    -1.10*
                     (0.0502)   (0.100)
both_ots                0.250
                      (0.200)

exp_year                  Yes       Yes
imp_year                  Yes        No

Observations           12,345       100
Pseudo R²               0.991
R²                                0.500
Std. errors         CL1: pair    hetero
Dropped: singleton          3         0
---------------------------------------
fixest's significance codes: *** p<0.001, ** p<0.01, * p<0.05, . p<0.1
"""

GOLDEN_MARKDOWN = """\
|  | (1) | (2) |
|:---|---:|---:|
| Dependent variable | trade | ln\\_trade |
| Estimator | PPML | OLS |
| ln\\_dist | -0.812\\*\\*\\* | -1.10\\* |
|  | (0.0502) | (0.100) |
| both\\_ots | 0.250 |  |
|  | (0.200) |  |
| exp\\_year | Yes | Yes |
| imp\\_year | Yes | No |
| Observations | 12,345 | 100 |
| Pseudo R² | 0.991 |  |
| R² |  | 0.500 |
| Std. errors | CL1: pair | hetero |
| Dropped: singleton | 3 | 0 |

fixest's significance codes: \\*\\*\\* p\\<0.001, \\*\\* p\\<0.01, \\* p\\<0.05, . p\\<0.1
"""


def test_text_golden_is_plain_with_fixest_codes(two_models):
    """The default, for a terminal: aligned plain text, no Markdown escapes, fixest's codes
    (p = 0.03 gets one star, not two) and a legend that names them."""
    out = etable(list(two_models))
    assert out == GOLDEN_TEXT
    assert "\\" not in out and "|" not in out


def test_markdown_golden(two_models):
    assert etable(list(two_models), format="markdown") == GOLDEN_MARKDOWN


def test_other_codes_are_named_in_the_legend(two_models):
    out = etable(list(two_models), stars=ECONOMICS_STARS)
    assert "-1.10**" in out and "Significance codes: *** p<0.01, ** p<0.05, * p<0.1" in out
    dot = StandIn(coef=pd.Series({"x": 0.25}), se=pd.Series({"x": 0.14}),
                  pvalue=pd.Series({"x": 0.07}), nobs=10)
    assert etable(dot, format="dataframe").loc["x", "(1)"] == "0.250."
    assert r"x & 0.250$^{.}$ \\" in etable(dot, format="latex")
    assert "fixest" not in etable(dot, stars=None) and "codes" not in etable(dot, stars=None)


def test_numbers_in_significant_digits_never_a_column_of_zeros():
    small = StandIn(coef=pd.Series({"a": 0.000123, "b": 1234.5}),
                    se=pd.Series({"a": 0.0000456, "b": 12.0}),
                    pvalue=pd.Series({"a": 0.5, "b": 0.5}), nobs=10)
    frame = etable(small, format="dataframe")
    assert list(frame["(1)"].iloc[2:6]) == ["0.000123", "(0.0000456)", "1,234", "(12.0)"]


def test_latex_booktabs_escaped_with_caption(two_models):
    out = etable(dict(zip(["PPML (a)", "OLS_b"], two_models, strict=True)), format="latex",
                 title="Gravity & OTS", notes="50% of pairs")
    lines = out.splitlines()
    assert lines[:6] == [r"\begin{table}[htbp]", r"\centering", r"\caption{Gravity \& OTS}",
                         r"\begin{tabular}{lcc}", r"\toprule", r" & PPML (a) & OLS\_b \\"]
    assert r"ln\_dist & -0.812$^{***}$ & -1.10$^{*}$ \\" in lines
    assert r" & (0.0502) & (0.100) \\" in lines
    assert r"Pseudo R$^{2}$ & 0.991 &  \\" in lines
    assert out.count(r"\midrule") == 4 and lines[-1] == r"\end{table}"
    assert r"\multicolumn{3}{l}{\footnotesize 50\% of pairs} \\" in lines
    assert lines.index(r"\bottomrule") < lines.index(r"\end{tabular}")
    # no unescaped specials outside the math of stars / R^2
    body = re.sub(r"\$[^$]*\$", "", out)
    assert not re.search(r"(?<!\\)[_%&#](?![^{]*\})", body.replace(" & ", " "))


def test_html_structure_and_escaping(two_models):
    out = etable(list(two_models), format="html", title="<b>x</b>",
                 labels={"both_ots": "Both in OTS & co"})
    assert out.startswith('<table class="tradeflows-etable">\n<caption>&lt;b&gt;x&lt;/b&gt;')
    assert '<tbody class="coefficients">' in out and '<tbody class="fixed-effects">' in out
    assert '<tr class="coef"><th scope="row">Both in OTS &amp; co</th><td>0.250</td><td></td>' \
        in out
    assert out.count("<tr") == 1 + 13 + 1  # header, body rows (as in the markdown), notes
    assert "p&lt;0.001" in out


def _parse(frame: pd.DataFrame, model: str) -> dict[str, float]:
    """Numbers of one column of the dataframe output: coefficient and SE per term."""
    col = frame[model]
    out = {}
    labels = list(frame.index)
    for i, label in enumerate(labels):
        cell = col.iloc[i]
        if label and i + 1 < len(labels) and labels[i + 1] == "" and cell:
            value, mark = re.fullmatch(r"(-?[0-9,]*\.?[0-9]+(?:e[-+][0-9]+)?)(\*{1,3}|\.)?",
                                       cell).groups()
            out[label] = float(value.replace(",", ""))
            out[label + ":se"] = float(col.iloc[i + 1].strip("()").replace(",", ""))
            out[label + ":stars"] = mark or ""
    out["nobs"] = int(col["Observations"].replace(",", ""))
    return out


def _stars(p: float) -> str:
    """fixest's codes."""
    return next((m for m, t in (("***", 0.001), ("**", 0.01), ("*", 0.05), (".", 0.1))
                 if p < t), "")


def _check_numbers(frame: pd.DataFrame, models: dict, digits: int) -> None:
    for name, m in models.items():
        parsed = _parse(frame, name)
        assert parsed["nobs"] == m.nobs
        for term in m.coef.index:
            # significant digits: relative error at most half a unit of the last digit
            assert parsed[term] == pytest.approx(m.coef[term], rel=0.5 * 10 ** (1 - digits))
            assert parsed[term + ":se"] == pytest.approx(m.se[term], rel=0.5 * 10 ** (1 - digits))
            assert parsed[term + ":stars"] == _stars(m.pvalue[term])


def test_numbers_parse_back_from_stand_ins(two_models):
    models = {"(1)": two_models[0], "(2)": two_models[1]}
    frame = etable(list(two_models), format="dataframe", digits=4)
    _check_numbers(frame, models, 4)


def test_keep_drop_labels_stars_and_inline_se(two_models):
    frame = etable(list(two_models), format="dataframe", keep="dist", labels={"ln_dist": "Dist"})
    assert "Dist" in frame.index and "both_ots" not in frame.index
    frame = etable(list(two_models), format="dataframe", drop=["^ln_"], stars=None)
    assert list(frame.loc["both_ots"]) == ["0.250", ""]
    frame = etable(two_models[0], format="dataframe", se_below=False)
    assert frame.loc["ln_dist", "(1)"] == "-0.812*** (0.0502)"
    tiny = StandIn(coef=pd.Series({"x": 1.5e-5}), se=pd.Series({"x": 2e-8}),
                   pvalue=pd.Series({"x": 0.5}), nobs=10)
    assert list(etable(tiny, format="dataframe").loc["x"]) == ["0.0000150"]
    assert etable(tiny, format="dataframe").iloc[3, 0] == "(2.00e-08)"


def test_bad_arguments_raise():
    with pytest.raises(SpecificationError, match="format"):
        etable([], format="docx")
    with pytest.raises(SpecificationError, match="no model"):
        etable([])
    bad = StandIn(coef=np.array([1.0]), se=pd.Series({"x": 1.0}), pvalue=pd.Series({"x": 1.0}),
                  nobs=1)
    with pytest.raises(SpecificationError, match="coef"):
        etable(bad)


@pytest.fixture(scope="module")
def fitted():
    import tradeflows
    from tradeflows.estimation.synthetic import gravity_panel

    df = gravity_panel(12, 4, seed=3)
    df["ln_flow"] = np.log(df["flow"].where(df["flow"] > 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "PPML": tradeflows.ppml(df, "flow ~ x1 + x2 | exp_year + imp_year + pair",
                                    vcov={"CL1": "pair"}),
            "PPML no pair": tradeflows.ppml(df, "flow ~ x1 + x2 | exp_year + imp_year"),
            "OLS": tradeflows.ols(df, "ln_flow ~ x1 | exp_year + imp_year", vcov="hetero"),
        }


def test_real_models_numbers_and_rows(fitted):
    import tradeflows

    frame = tradeflows.etable(fitted, format="dataframe", digits=6)
    _check_numbers(frame, fitted, 6)
    assert list(frame.loc["pair"]) == ["Yes", "No", "No"]
    assert float(frame.loc["Pseudo R²", "PPML"]) == pytest.approx(fitted["PPML"].pseudo_r2,
                                                                   rel=5e-6)
    assert float(frame.loc["R²", "OLS"]) == pytest.approx(fitted["OLS"].r2, rel=5e-6)
    assert frame.loc["Std. errors", "PPML"] == fitted["PPML"].vcov_type
    for reason, count in fitted["PPML"].drops.items():
        if count:
            assert frame.loc[f"Dropped: {reason}", "PPML"] == f"{count:,}"
    md = tradeflows.etable(fitted, format="markdown")
    assert md.count("\n| ") == len(frame)  # one line per row after the header


def test_latex_inline_se_keeps_stars_as_superscript(two_models):
    out = etable(two_models[0], format="latex", se_below=False)
    assert r"ln\_dist & -0.812$^{***}$ (0.0502) \\" in out.splitlines()
