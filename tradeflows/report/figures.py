"""The package's figure style: 300 dpi PNG plus SVG with reproducible bytes, country names
from the code table, variable labels from ``tradeflows variables``, and the interval figure
(estimates with intervals against a threshold).

Figures are ``matplotlib.figure.Figure`` objects made without pyplot, so importing this
module selects no backend and leaves the user's (e.g. a notebook's) alone; ``savefig``
renders PNG and SVG with matplotlib's own writers."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tradeflows.io import atomic_path

P = ParamSpec("P")
R = TypeVar("R")
#: Colours of the package's figures: the study's focus countries, other countries, estimates.
FOCUS_COLOR, OTHER_COLOR, MAIN_COLOR = "#2166ac", "#8c8c8c", "#2166ac"
#: Resolution of the PNG files (the SVG files are vector).
DPI = 300
_STYLE = {"svg.hashsalt": "tradeflows", "svg.fonttype": "path", "font.size": 9,
          "font.family": "DejaVu Sans", "axes.spines.top": False, "axes.spines.right": False,
          "axes.titlesize": 10, "axes.titlelocation": "left", "axes.labelsize": 9,
          "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8,
          "legend.frameon": False, "axes.grid": False, "savefig.facecolor": "white"}


def country_label(code: str) -> str:
    """A country's display name from the package's code table (``countries.country_name``)."""
    from tradeflows.countries import country_name

    return country_name(code)


@cache
def _definitions() -> dict[str, str]:
    from tradeflows.policy.variables import variable_catalog

    cat = variable_catalog()
    return dict(zip(cat["name"], cat["definition"], strict=True))


def variable_label(name: str, width: int = 48) -> str:
    """A short label of a panel variable from its definition in ``tradeflows variables`` (the
    first clause, without "1 if"), wrapped at ``width`` characters; the name if unknown. Lags
    and totals of a variable (``x_lag2``, ``x_total``) say so."""
    base, suffix = name, ""
    match = re.fullmatch(r"(.+?)_(lag|lead)(\d+)", name)
    if match:
        base, suffix = match.group(1), f", {match.group(2)} {match.group(3)} years"
    elif name.endswith("_total"):
        base, suffix = name[: -len("_total")], ", total effect"
    elif re.fullmatch(r".+_[A-Z]{3}", name) and name[:-4] in _definitions():
        base, suffix = name[:-4], f": pairs of {country_label(name[-3:])}"
    text = _definitions().get(base)
    if text is None:
        return name
    clause = re.split(r"(?<!\b[A-Z])\. | \(|: |; ", text, maxsplit=1)[0].rstrip(".")
    clause = re.sub(r"^1 if (the )?", "", clause)
    clause = clause[0].upper() + clause[1:] + suffix
    return textwrap.fill(clause, width=width, break_on_hyphens=False)


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Run a figure-drawing function inside the package style (fonts, spines, sizes)."""
    @wraps(draw)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return run


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1,
               **kwargs: object) -> tuple[Figure, object]:
    """A figure in the package style (constrained layout) and its axes (``Figure.subplots``;
    no pyplot, so no backend is selected and nothing is kept open)."""
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig: Figure, base: Path) -> list[Path]:
    """Write ``base.png`` (300 dpi) and ``base.svg`` atomically without dates or versions in
    the metadata (so equal figures give equal bytes)."""
    written = []
    for ext, meta in (("png", {"Software": None}),
                      ("svg", {"Date": None, "Creator": None})):
        target = base.with_suffix(f".{ext}")
        with matplotlib.rc_context(_STYLE), atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=DPI, metadata=meta)
        written.append(target)
    return written


@styled
def interval_figure(rows: pd.DataFrame, *, null: float | None, xlabel: str, title: str,
                    note: str = "", highlight_color: str = MAIN_COLOR) -> Figure:
    """Estimates with intervals, one row each, top to bottom in ``rows`` order (``rows``:
    label, estimate, conf_low, conf_high, highlight); highlighted rows in colour, others grey;
    each value printed beside its point (so no estimate is invisible at any scale); the
    decision threshold ``null`` as a dashed line."""
    n = len(rows)
    fig, ax = new_figure(6.4, 0.34 * n + 1.5)
    y = np.arange(n)[::-1]
    est = rows["estimate"].to_numpy(float)
    lo = rows["conf_low"].to_numpy(float)
    hi = rows["conf_high"].to_numpy(float)
    hl = rows["highlight"].to_numpy(bool)
    if null is not None:
        ax.axvline(null, color="#444444", lw=0.9, ls="--", zorder=1)
    for mask, color in ((~hl, OTHER_COLOR), (hl, highlight_color)):
        if mask.any():
            ax.errorbar(est[mask], y[mask], xerr=np.vstack([est[mask] - lo[mask],
                                                            hi[mask] - est[mask]]).clip(min=0),
                        fmt="o", color=color, ecolor=color, elinewidth=1.4, capsize=2.5,
                        markersize=4.5, zorder=3)
    span = np.nanmax(np.r_[hi, est, [null or 0.0]]) - np.nanmin(np.r_[lo, est, [null or 0.0]])
    right = np.nanmax(np.r_[hi, est, [null or 0.0]]) + 0.02 * (span or 1.0)
    for yi, e in zip(y, est, strict=True):
        ax.annotate(_short(e), (right, yi), xytext=(3, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=7, color="#333333", annotation_clip=False)
    ax.set_yticks(y, [x if len(x) <= 48 else textwrap.shorten(x, 48) for x in rows["label"]])
    for tick, bold in zip(ax.get_yticklabels(), hl, strict=True):
        if bold:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(xlabel)
    fig.suptitle(textwrap.shorten(title, 90), x=0.01, ha="left", fontsize=10,
                 fontweight="bold")
    if note:
        ax.set_title(textwrap.fill(textwrap.shorten(note, 600), 70), loc="left", fontsize=7,
                     color="#555555")
    ax.xaxis.grid(True, color="#e8e8e8", lw=0.6)
    ax.set_axisbelow(True)
    return fig


def _short(x: float) -> str:
    """Two significant digits, signed; scientific below 0.001."""
    if not np.isfinite(x):
        return ""
    if x != 0 and abs(x) < 1e-3:
        return f"{x:+.1e}"
    return f"{x:+.2g}" if abs(x) < 100 else f"{x:+,.0f}"
