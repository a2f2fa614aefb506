"""Report tables written as LaTeX, HTML and Markdown from one frame."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from tradeflows.io import write_text

FORMATS = ("tex", "html", "md")


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                 ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\~{}"),
                 ("^", r"\^{}")):
        text = text.replace(a, b)
    return text


def _cells(df: pd.DataFrame, digits: int) -> list[list[str]]:
    def fmt(v: object) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
            return ""
        if isinstance(v, float):
            return f"{v:,.{digits}f}"
        return str(v)

    return [[fmt(v) for v in row] for row in df.itertuples(index=False, name=None)]


def to_latex(df: pd.DataFrame, caption: str, digits: int = 3) -> str:
    """A ``tabular`` in a ``table`` float (booktabs rules), text cells escaped."""
    cols = "l" * len(df.columns)
    lines = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{_latex_escape(caption)}}}",
             rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
             " & ".join(_latex_escape(str(c)) for c in df.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex_escape(c) for c in row) + r" \\" for row in _cells(df, digits)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_html(df: pd.DataFrame, caption: str, digits: int = 3) -> str:
    """A self-contained HTML ``<table>`` fragment with a caption (cells escaped)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                     for row in _cells(df, digits))
    return (f'<table class="data">\n<caption>{html.escape(caption)}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n")


def to_markdown(df: pd.DataFrame, caption: str, digits: int = 3) -> str:
    """A pipe table preceded by its caption in bold."""
    def esc(c: str) -> str:
        return c.replace("|", r"\|").replace("\n", " ")

    lines = [f"**{caption}**", "", "| " + " | ".join(esc(str(c)) for c in df.columns) + " |",
             "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in _cells(df, digits)]
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, base: Path, caption: str, digits: int = 3) -> list[Path]:
    """Write ``base.tex``, ``base.html`` and ``base.md`` atomically; returns the paths."""
    out = []
    for ext, render in (("tex", to_latex), ("html", to_html), ("md", to_markdown)):
        out.append(write_text(render(df, caption, digits), base.with_suffix(f".{ext}")))
    return out
