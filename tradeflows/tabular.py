"""The one table writer: a :class:`Table` of plain-text cells rendered as LaTeX, HTML,
Markdown or plain text, with one escaping path (:func:`escape`) and one number format
(:func:`number`, significant digits). Used by ``estimation.etable`` and ``report.tables``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

FORMATS = ("latex", "html", "markdown", "text")
_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
          "^": r"\textasciicircum{}", "²": r"$^{2}$", "<": r"\textless{}", ">": r"\textgreater{}",
          "\n": " "}
_MARKDOWN = set("\\`*_[]<>|")
# significance marks after a number: runs of '*', or fixest's '.' (p < 0.1)
_MARKS = re.compile(r"(?<=[0-9])(\*+|\.)(?=\s|$)")


def escape(text: str, fmt: str) -> str:
    """``text`` made literal in ``fmt`` (the only escaping of tables in the package)."""
    if fmt == "latex":
        return "".join(_LATEX.get(c, c) for c in text)
    if fmt == "html":
        return html.escape(text).replace("\n", "<br>")
    if fmt == "markdown":
        return "".join("\\" + c if c in _MARKDOWN else c for c in text).replace("\n", " ")
    if fmt == "text":
        return text
    raise ValueError(f"unknown table format {fmt!r}; choose from {FORMATS}")


def number(value: object, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (integer part never rounded; thousands
    separated), scientific notation only below 1e-6 or from 1e15; "" for missing values."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    x = float(value)  # type: ignore[arg-type]
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    if exponent < -6 or exponent >= 15:
        return f"{x:.{max(digits - 1, 0)}e}"
    decimals = max(digits - 1 - exponent, 0)
    return f"{x:,.{decimals}f}"


@dataclass
class Table:
    """Plain-text cells with their layout.

    ``columns``: header cells; ``rows``: body cells (strings, already formatted);
    ``sections``: optional name per row (a rule between sections; the HTML ``tbody`` class);
    ``kinds``: optional HTML ``tr`` class per row; ``stub``: the first column labels the rows;
    ``align``: one of l/r/c per column (default: stub left, others right); ``marks``: body
    cells may end numbers with significance marks (superscripts in LaTeX).
    """

    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None
    notes: list[str] = field(default_factory=list)
    sections: list[str] | None = None
    kinds: list[str] | None = None
    stub: bool = False
    align: str | None = None
    marks: bool = False
    html_class: str = "data"

    def alignment(self) -> str:
        if self.align is not None:
            return self.align
        return ("l" if self.stub else "r") + "r" * (len(self.columns) - 1)

    def breaks(self) -> list[bool]:
        """Per row: a rule goes before it (its section differs from the previous row's)."""
        s = self.sections or [""] * len(self.rows)
        return [i > 0 and s[i] != s[i - 1] for i in range(len(s))]


def _latex_cell(text: str, marks: bool) -> str:
    out = escape(text, "latex")
    return _MARKS.sub(lambda m: f"$^{{{m.group(0)}}}$", out) if marks else out


def to_latex(t: Table) -> str:
    """booktabs ``tabular`` (in a ``table`` float with ``\\caption`` when captioned)."""
    k = len(t.columns)
    align = t.alignment().replace("r", "c") if t.stub else t.alignment()
    lines = [rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(escape(c, "latex") for c in t.columns) + r" \\", r"\midrule"]
    for row, rule in zip(t.rows, t.breaks(), strict=True):
        if rule:
            lines.append(r"\midrule")
        lines.append(" & ".join(_latex_cell(c, t.marks) for c in row) + r" \\")
    lines.append(r"\bottomrule")
    for note in t.notes:
        lines.append(rf"\multicolumn{{{k}}}{{l}}{{\footnotesize {_latex_cell(note, t.marks)}}}"
                     r" \\")
    lines.append(r"\end{tabular}")
    if t.caption is None:
        return "\n".join(lines) + "\n"
    return "\n".join([r"\begin{table}[htbp]", r"\centering",
                      rf"\caption{{{escape(t.caption, 'latex')}}}", *lines,
                      r"\end{table}"]) + "\n"


def to_html(t: Table) -> str:
    """``<table>`` fragment: caption, ``thead``, one ``tbody`` per section, notes in ``tfoot``."""
    def cell(i: int, text: str) -> str:
        if t.stub and i == 0:
            return f'<th scope="row">{escape(text, "html")}</th>'
        return f"<td>{escape(text, 'html')}</td>"

    out = [f'<table class="{escape(t.html_class, "html")}">']
    if t.caption is not None:
        out.append(f"<caption>{escape(t.caption, 'html')}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{escape(c, 'html')}</th>" for c in t.columns)
               + "</tr></thead>")
    sections = t.sections or [""] * len(t.rows)
    for n, (row, rule) in enumerate(zip(t.rows, t.breaks(), strict=True)):
        if n == 0 or rule:
            if n:
                out.append("</tbody>")
            out.append(f'<tbody class="{escape(sections[n], "html")}">' if sections[n]
                       else "<tbody>")
        kind = f' class="{escape(t.kinds[n], "html")}"' if t.kinds else ""
        out.append(f"<tr{kind}>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>")
    if t.rows:
        out.append("</tbody>")
    if t.notes:
        out.append(f'<tfoot><tr><td colspan="{len(t.columns)}">'
                   + "<br>".join(escape(n, "html") for n in t.notes) + "</td></tr></tfoot>")
    out.append("</table>")
    return "\n".join(out) + "\n"


def to_markdown(t: Table) -> str:
    """Pipe table, caption in bold above it, notes below it."""
    rule = {"l": ":---", "r": "---:", "c": ":---:"}
    out = [f"**{escape(t.caption, 'markdown')}**", ""] if t.caption is not None else []
    out.append("| " + " | ".join(escape(c, "markdown") for c in t.columns) + " |")
    out.append("|" + "|".join(rule[a] for a in t.alignment()) + "|")
    out += ["| " + " | ".join(escape(c, "markdown") for c in row) + " |" for row in t.rows]
    if t.notes:
        out.append("")
        out += [escape(n, "markdown") for n in t.notes]
    return "\n".join(out) + "\n"


def to_text(t: Table) -> str:
    """Aligned plain text for a terminal: caption, header, a rule, rows (a blank line between
    sections), notes. No markup and no escapes."""
    cols = len(t.columns)
    widths = [max([len(t.columns[i])] + [len(r[i]) for r in t.rows]) for i in range(cols)]
    align = t.alignment()

    def line(cells: Sequence[str]) -> str:
        parts = [c.ljust(w) if a == "l" else c.center(w) if a == "c" else c.rjust(w)
                 for c, w, a in zip(cells, widths, align, strict=True)]
        return "  ".join(parts).rstrip()

    out = [t.caption, ""] if t.caption is not None else []
    out += [line(t.columns), "-" * (sum(widths) + 2 * (cols - 1))]
    for row, rule in zip(t.rows, t.breaks(), strict=True):
        if rule:
            out.append("")
        out.append(line(row))
    if t.notes:
        out.append("-" * (sum(widths) + 2 * (cols - 1)))
        out += t.notes
    return "\n".join(out) + "\n"


def render(t: Table, fmt: str) -> str:
    """``t`` as ``fmt``: "latex", "html", "markdown" or "text"."""
    renderers = {"latex": to_latex, "html": to_html, "markdown": to_markdown, "text": to_text}
    if fmt not in renderers:
        raise ValueError(f"unknown table format {fmt!r}; choose from {FORMATS}")
    return renderers[fmt](t)


def frame_table(df: pd.DataFrame, caption: str | None = None, digits: int = 3,
                notes: Sequence[str] = ()) -> Table:
    """A :class:`Table` of a data frame: numbers with ``digits`` significant digits (see
    :func:`number`; whole numbers in a column named like "year" without separators), text as
    is, missing values empty; text columns left-aligned."""
    def cell(v: object, plain: bool) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return ""
        if hasattr(v, "item") and not isinstance(v, str):  # numpy scalars
            v = v.item()
        if plain and isinstance(v, (int, float)) and float(v).is_integer():
            return str(int(v))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return number(v, digits)
        return str(v)

    plain = ["year" in str(c).lower() for c in df.columns]
    align = "".join("r" if pd.api.types.is_numeric_dtype(df[c])
                    and not pd.api.types.is_bool_dtype(df[c]) else "l" for c in df.columns)
    rows = [[cell(v, p) for v, p in zip(row, plain, strict=True)]
            for row in df.itertuples(index=False, name=None)]
    return Table(columns=[str(c) for c in df.columns], rows=rows, caption=caption,
                 notes=list(notes), align=align)
