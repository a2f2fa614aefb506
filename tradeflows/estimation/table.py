"""Several fitted models side by side (like fixest's ``etable``): LaTeX, HTML, Markdown, frame.

A model is any object with the attributes of ``tradeflows`` results (docs/ARCHITECTURE.md):
``coef``, ``se``, ``pvalue`` (pandas Series or dicts indexed by regressor name), ``nobs``,
``fixef_vars``, ``vcov_type``, ``model``, ``depvar``, ``drops`` (reason -> count) and
``pseudo_r2`` (Poisson) or ``r2`` (OLS).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tradeflows.errors import SpecificationError

FORMATS = ("markdown", "latex", "html", "dataframe")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


@dataclass
class _Row:
    """One table row: a label (plain text, optional raw LaTeX) and one cell per model."""

    label: str
    cells: list[str]
    kind: str  # "coef", "se", "fixef", "stat", "header"
    latex_label: str | None = None

    @property
    def section(self) -> str:
        """Block of the table: header, coefficients, fixed-effects or statistics."""
        return {"coef": "coefficients", "se": "coefficients", "fixef": "fixed-effects",
                "stat": "statistics"}.get(self.kind, "header")


def _series(obj: Any, what: str, model: str) -> pd.Series:
    value = getattr(obj, what, None)
    if value is None:
        raise SpecificationError(f"etable: model {model} has no attribute {what!r}")
    if isinstance(value, pd.Series):
        return value.astype(float)
    if isinstance(value, Mapping):
        return pd.Series(dict(value), dtype=float)
    raise SpecificationError(
        f"etable: model {model}: {what!r} must be a pandas Series or a dict keyed by regressor"
    )


def _stars(p: float, stars: Sequence[float] | None) -> str:
    if not stars or p is None or math.isnan(p):
        return ""
    n = sum(p < s for s in stars)
    return "*" * n


def _num(v: float, digits: int) -> str:
    """Fixed notation with ``digits`` decimals; scientific when that would hide the value."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 0.5 * 10.0**-digits):
        return f"{v:.{max(digits - 1, 0)}e}"
    return f"{v:.{digits}f}"


def _matches(name: str, patterns: str | Sequence[str] | None) -> bool:
    if patterns is None:
        return False
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(re.search(p, name) for p in patterns)


def _rows(
    models: dict[str, Any],
    *,
    digits: int,
    se_below: bool,
    stars: Sequence[float] | None,
    keep: str | Sequence[str] | None,
    drop: str | Sequence[str] | None,
    labels: Mapping[str, str],
) -> list[_Row]:
    names = list(models)
    coefs = {m: _series(r, "coef", m) for m, r in models.items()}
    ses = {m: _series(r, "se", m) for m, r in models.items()}
    pvals = {m: _series(r, "pvalue", m) for m, r in models.items()}
    terms: list[str] = []
    for m in names:
        terms += [t for t in coefs[m].index if t not in terms]
    if keep is not None:
        terms = [t for t in terms if _matches(t, keep)]
    terms = [t for t in terms if not _matches(t, drop)]

    def lab(name: str) -> str:
        return labels.get(name, name)

    rows = [
        _Row("Dependent variable", [lab(str(getattr(r, "depvar", ""))) for r in models.values()],
             "header"),
        _Row("Estimator", [str(getattr(r, "model", "")).upper() for r in models.values()],
             "header"),
    ]
    for t in terms:
        est, err = [], []
        for m in names:
            if t in coefs[m].index:
                b, s, p = coefs[m][t], ses[m].get(t, math.nan), pvals[m].get(t, math.nan)
                est.append(_num(b, digits) + _stars(p, stars))
                err.append(f"({_num(s, digits)})" if not math.isnan(s) else "")
            else:
                est.append("")
                err.append("")
        if se_below:
            rows += [_Row(lab(t), est, "coef"), _Row("", err, "se")]
        else:
            rows.append(_Row(lab(t), [f"{e} {s}".strip() for e, s in zip(est, err, strict=True)],
                             "coef"))
    fixefs: list[str] = []
    for r in models.values():
        fixefs += [f for f in (getattr(r, "fixef_vars", None) or []) if f not in fixefs]
    for f in fixefs:
        rows.append(_Row(lab(f), ["Yes" if f in (getattr(r, "fixef_vars", None) or []) else "No"
                                  for r in models.values()], "fixef"))
    rows.append(_Row("Observations", [f"{int(r.nobs):,}" for r in models.values()],
                     "stat"))
    for attr, label, latex in (("pseudo_r2", "Pseudo R2", r"Pseudo $R^2$"),
                               ("r2", "R2", r"$R^2$")):
        values = [getattr(r, attr, None) for r in models.values()]
        if any(v is not None and not math.isnan(v) for v in values):
            rows.append(_Row(label, [_num(v, digits) if v is not None else "" for v in values],
                             "stat", latex))
    rows.append(_Row("Std. errors", [str(getattr(r, "vcov_type", "")) for r in models.values()],
                     "stat"))
    reasons: list[str] = []
    for r in models.values():
        drops = getattr(r, "drops", None) or {}
        reasons += [k for k, v in drops.items() if v and k not in reasons]
    for reason in reasons:
        rows.append(_Row(f"Dropped: {reason}",
                         [f"{int((getattr(r, 'drops', None) or {}).get(reason, 0)):,}"
                          for r in models.values()], "stat"))
    return rows


def _stars_note(stars: Sequence[float] | None, latex: bool = False) -> str | None:
    """Legend of the significance stars (raw LaTeX when ``latex``)."""
    if not stars:
        return None
    levels = sorted(stars, reverse=True)
    if latex:
        parts = [f"$^{{{'*' * (i + 1)}}}$ $p<{s:g}$" for i, s in enumerate(levels)]
    else:
        parts = [f"{'*' * (i + 1)} p<{s:g}" for i, s in enumerate(levels)]
    return "Significance: " + ", ".join(reversed(parts))


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def _latex_cell(cell: str) -> str:
    """Escaped cell with significance stars as a superscript (also before an inline SE)."""
    return re.sub(r"\*+", lambda m: f"$^{{{m.group(0)}}}$", _latex_escape(cell))


def _to_latex(rows: list[_Row], columns: list[str], title: str | None,
              notes: list[str], stars: Sequence[float] | None) -> str:
    k = len(columns)
    lines = [rf"\begin{{tabular}}{{l{'c' * k}}}", r"\toprule",
             " & ".join([""] + [_latex_escape(c) for c in columns]) + r" \\", r"\midrule"]
    current = rows[0].section if rows else None
    for row in rows:
        if row.section != current:
            lines.append(r"\midrule")
            current = row.section
        label = row.latex_label or _latex_escape(row.label)
        lines.append(" & ".join([label] + [_latex_cell(c) for c in row.cells]) + r" \\")
    lines.append(r"\bottomrule")
    legend = _stars_note(stars, latex=True)
    for note in [_latex_escape(n) for n in notes] + ([legend] if legend else []):
        lines.append(rf"\multicolumn{{{k + 1}}}{{l}}{{\footnotesize {note}}} \\")
    lines.append(r"\end{tabular}")
    if title is None:
        return "\n".join(lines) + "\n"
    return "\n".join([r"\begin{table}[htbp]", r"\centering",
                      rf"\caption{{{_latex_escape(title)}}}", *lines, r"\end{table}"]) + "\n"


def _to_html(rows: list[_Row], columns: list[str], title: str | None, notes: list[str],
             stars: Sequence[float] | None) -> str:
    esc = html.escape
    legend = _stars_note(stars)
    notes = notes + ([legend] if legend else [])
    out = ['<table class="tradeflows-etable">']
    if title is not None:
        out.append(f"<caption>{esc(title)}</caption>")
    out.append("<thead><tr><th></th>" + "".join(f"<th>{esc(c)}</th>" for c in columns)
               + "</tr></thead>")
    current = None
    for row in rows:
        section = row.section
        if section != current:
            if current is not None:
                out.append("</tbody>")
            out.append(f'<tbody class="{section}">')
            current = section
        out.append(f'<tr class="{row.kind}"><th scope="row">{esc(row.label)}</th>'
                   + "".join(f"<td>{esc(c)}</td>" for c in row.cells) + "</tr>")
    if current is not None:
        out.append("</tbody>")
    if notes:
        out.append(f'<tfoot><tr><td colspan="{len(columns) + 1}">'
                   + "<br>".join(esc(n) for n in notes) + "</td></tr></tfoot>")
    out.append("</table>")
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def _to_markdown(rows: list[_Row], columns: list[str], title: str | None,
                 notes: list[str], stars: Sequence[float] | None) -> str:
    legend = _stars_note(stars)
    notes = notes + ([legend] if legend else [])
    out = []
    if title is not None:
        out += [f"**{_md_escape(title)}**", ""]
    out.append("| " + " | ".join([""] + [_md_escape(c) for c in columns]) + " |")
    out.append("|:---" + "|---:" * len(columns) + "|")
    for row in rows:
        out.append("| " + " | ".join([_md_escape(row.label)]
                                     + [_md_escape(c) for c in row.cells]) + " |")
    if notes:
        out.append("")
        out += [_md_escape(n) for n in notes]
    return "\n".join(out) + "\n"


def etable(
    models: Any,
    *,
    format: str = "markdown",
    digits: int = 3,
    se_below: bool = True,
    stars: Sequence[float] | None = (0.1, 0.05, 0.01),
    keep: str | Sequence[str] | None = None,
    drop: str | Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
) -> str | pd.DataFrame:
    """Fitted models side by side: coefficients (standard errors in parentheses below),
    fixed effects ("Yes"/"No"), observations, (pseudo) R², vcov type and dropped rows by reason.

    models: one result, a list (columns "(1)", "(2)", ...) or a dict label -> result.
    format: "markdown" (pipe table), "latex" (booktabs ``tabular``; in a ``table`` with
    ``\\caption`` when ``title`` is given), "html" (``<table class="tradeflows-etable">``) or
    "dataframe" (strings; index = row labels, standard-error rows labelled "").
    digits: decimals of estimates, standard errors and R². stars: p-value thresholds, one
    star per threshold passed (default * p<0.1, ** p<0.05, *** p<0.01); None for none.
    keep / drop: regular expressions (or lists of them) matched against regressor names.
    labels: display names for regressors, fixed effects and dependent variables.
    notes: extra lines below the table (the significance legend is added automatically).
    """
    if format not in FORMATS:
        raise SpecificationError(f"etable: unknown format {format!r}; choose from {FORMATS}")
    if isinstance(models, Mapping):
        named = {str(k): v for k, v in models.items()}
    elif isinstance(models, Sequence) and not isinstance(models, str):
        named = {f"({i + 1})": m for i, m in enumerate(models)}
    else:
        named = {"(1)": models}
    if not named:
        raise SpecificationError("etable: no model given")
    rows = _rows(named, digits=digits, se_below=se_below, stars=stars, keep=keep, drop=drop,
                 labels=labels or {})
    columns = list(named)
    if format == "dataframe":
        return pd.DataFrame([r.cells for r in rows], index=[r.label for r in rows],
                            columns=columns)
    extra = [notes] if isinstance(notes, str) else list(notes or [])
    render = {"latex": _to_latex, "html": _to_html, "markdown": _to_markdown}[format]
    return render(rows, columns, title, extra, stars)
