"""Report tables: one frame written as LaTeX, HTML and Markdown by the package's one table
writer (:mod:`tradeflows.tabular`: one escaping path, numbers in significant digits)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tradeflows.io import write_text
from tradeflows.tabular import frame_table, render

FORMATS = ("tex", "html", "md")
_RENDER = {"tex": "latex", "html": "html", "md": "markdown"}


def to_latex(df: pd.DataFrame, caption: str, digits: int = 3) -> str:
    """A booktabs ``tabular`` in a ``table`` float with its caption."""
    return render(frame_table(df, caption, digits), "latex")


def to_html(df: pd.DataFrame, caption: str, digits: int = 3) -> str:
    """A self-contained HTML ``<table>`` fragment with a caption."""
    return render(frame_table(df, caption, digits), "html")


def to_markdown(df: pd.DataFrame, caption: str, digits: int = 3) -> str:
    """A pipe table preceded by its caption in bold."""
    return render(frame_table(df, caption, digits), "markdown")


def write_table(df: pd.DataFrame, base: Path, caption: str, digits: int = 3,
                notes: list[str] | None = None) -> list[Path]:
    """Write ``base.tex``, ``base.html`` and ``base.md`` atomically; returns the paths.
    ``digits``: significant digits of numbers; ``notes``: lines below the table."""
    table = frame_table(df, caption, digits, notes or [])
    return [write_text(render(table, _RENDER[ext]), base.with_suffix(f".{ext}"))
            for ext in FORMATS]
