"""The package's figure style and the report's figures (matplotlib, Agg): 300 dpi PNG plus
SVG with reproducible bytes, country names from the code table, variable labels from
``tradeflows variables``, intervals always drawn with the decision threshold."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from tradeflows.io import atomic_path  # noqa: E402

P = ParamSpec("P")
R = TypeVar("R")
VERDICT_COLORS = {
    "supported": "#1b7837",
    "not supported": "#b2182b",
    "inconclusive": "#d6a01d",
    "not testable with the bundled data": "#8c8c8c",
}
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
        with plt.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return run


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1,
               **kwargs: object) -> tuple[Figure, object]:
    """A figure in the package style (constrained layout) and its axes."""
    with plt.rc_context(_STYLE):
        return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained",
                            **kwargs)


def save_figure(fig: Figure, base: Path) -> list[Path]:
    """Write ``base.png`` (300 dpi) and ``base.svg`` atomically without dates or versions in
    the metadata (so equal figures give equal bytes); closes ``fig``."""
    written = []
    for ext, meta in (("png", {"Software": None}),
                      ("svg", {"Date": None, "Creator": None})):
        target = base.with_suffix(f".{ext}")
        with plt.rc_context(_STYLE), atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=DPI, metadata=meta)
        written.append(target)
    plt.close(fig)
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
        ax.set_title(textwrap.fill(textwrap.shorten(note, 600), 95), loc="left", fontsize=7,
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


@styled
def claims_summary_figure(rows: pd.DataFrame) -> Figure:
    """Every claim's statistic against its decision threshold, one small panel per claim (the
    statistics have different units). ``rows``: id, title, statistic, estimate, conf_low,
    conf_high, null, verdict, reason. Point and interval in the verdict's colour, the
    threshold as a dashed line; a claim without an estimate shows why."""
    n = len(rows)
    fig, axes = new_figure(7.0, 0.62 * n + 0.6, nrows=n, ncols=1, squeeze=False)
    for ax, r in zip(axes[:, 0], rows.itertuples(index=False), strict=True):
        color = VERDICT_COLORS.get(r.verdict, "#cccccc")
        ax.set_yticks([])
        ax.spines[["left", "top", "right"]].set_visible(False)
        ax.set_ylabel(f"{r.id}", rotation=0, ha="right", va="center", fontweight="bold",
                      fontsize=9)
        head = f"{textwrap.shorten(r.title, 48)}: {r.verdict}"
        if not np.isfinite(r.estimate):
            ax.set_xticks([])
            ax.spines["bottom"].set_visible(False)
            ax.text(0.0, 0.5, textwrap.shorten(str(r.reason), 110), transform=ax.transAxes,
                    va="center", ha="left", fontsize=7, color="#555555")
            ax.set_title(head, loc="left", fontsize=8, color=color, pad=2)
            continue
        lo = r.conf_low if np.isfinite(r.conf_low) else r.estimate
        hi = r.conf_high if np.isfinite(r.conf_high) else r.estimate
        ax.axvline(r.null, color="#444444", lw=0.9, ls="--")
        # interval and point drawn apart: a rule's statistic (e.g. a minimum over countries)
        # may lie outside the interval its rule reports
        ax.hlines(0, min(lo, hi), max(lo, hi), color=color, lw=2.0)
        ax.plot([r.estimate], [0], "o", color=color, markersize=5)
        xs = [lo, hi, r.null, r.estimate]
        pad = 0.08 * ((max(xs) - min(xs)) or abs(r.estimate) or 1.0)
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
        ax.set_ylim(-1, 1)
        ax.tick_params(axis="x", labelsize=7, length=2, pad=1)
        ax.set_title(f"{head}  ({textwrap.shorten(r.statistic, 60)})", loc="left",
                     fontsize=8, color=color, pad=2)
    fig.suptitle("Each claim's statistic, its interval and the threshold of its rule "
                 "(dashed)", x=0.01, ha="left", fontsize=10, fontweight="bold")
    return fig


@styled
def concentration_figure(series: pd.DataFrame, country: str, kink: int) -> Figure:
    """HHI of a country's partner shares by year (``series``: year, hhi); the claim's break
    year as a dashed line."""
    fig, ax = new_figure(6.4, 3.2)
    ax.plot(series["year"], series["hhi"], marker="o", color=MAIN_COLOR)
    ax.axvline(kink, color="#888888", linestyle="--", linewidth=1)
    ax.annotate(f"{kink}", (kink, 1), xycoords=("data", "axes fraction"), xytext=(3, -10),
                textcoords="offset points", fontsize=7, color="#555555")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("HHI of partner shares (0-10,000)")
    ax.set_title(f"Concentration of {country_label(country)}'s trade across partners",
                 loc="left")
    return fig


@styled
def corridor_figure(cargo: pd.DataFrame, groups: pd.DataFrame | None) -> Figure:
    """Two panels on one year axis (no second y-axis): Middle Corridor cargo (Mt, bars) and,
    if given, the trade of Middle/Northern-route pairs (``groups``: year, group, trade USD) as
    indices of their first year (= 100). The years each series covers are stated."""
    has_trade = groups is not None and not groups.empty
    fig, axes = new_figure(6.4, 5.0 if has_trade else 3.0, nrows=2 if has_trade else 1,
                           ncols=1, sharex=True, squeeze=False)
    top = axes[0, 0]
    top.bar(cargo["year"], cargo["cargo_mt"], color="#92c5de")
    top.set_ylabel("million tonnes")
    top.set_title("Middle Corridor cargo (Kazakhstan Ministry of Transport), "
                  f"{int(cargo['year'].min())}-{int(cargo['year'].max())}", loc="left")
    top.xaxis.set_major_locator(MaxNLocator(integer=True))
    if has_trade:
        bottom = axes[1, 0]
        spans = []
        for name, color in (("middle", "#2166ac"), ("northern", "#b2182b")):
            g = groups[groups["group"] == name].sort_values("year")
            if not g.empty and g["trade"].iloc[0] > 0:
                bottom.plot(g["year"], 100 * g["trade"] / g["trade"].iloc[0], marker="o",
                            color=color, label=f"{name}-route pairs")
                spans.append((int(g["year"].min()), int(g["year"].max())))
        bottom.axhline(100, color="#888888", lw=0.8)
        bottom.set_ylabel("trade index (first year = 100)")
        years = (f"{min(a for a, _ in spans)}-{max(b for _, b in spans)}" if spans else "")
        bottom.set_title(f"Trade of Central Asia/China-Europe pairs by route, {years}\n"
                         "(the panel's trade data end in the last year shown)", loc="left")
        bottom.legend(loc="upper left")
    axes[-1, 0].set_xlabel("year")
    return fig


@styled
def fdi_figure(series: pd.DataFrame, host: str) -> Figure:
    """FDI into ``host`` (USD million), flows and stocks side by side: Central Asia and the
    three largest other investors of each measure (``series``: year, group, measure,
    value_usd). A group keeps its colour in both panels."""
    fig, axes = new_figure(8.0, 3.2, nrows=1, ncols=2)
    data = series.dropna(subset=["value_usd"])
    by = data.groupby(["measure", "group", "year"])["value_usd"].sum()
    shown: dict[str, list[str]] = {}
    for measure in ("flow", "stock"):
        if measure in by.index.get_level_values(0):
            totals = by.loc[measure].groupby("group").sum().drop("Central Asia", errors="ignore")
            shown[measure] = totals.sort_values(ascending=False, kind="stable").index[:3].tolist()
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
    others = sorted({g for groups in shown.values() for g in groups})
    colors = {"Central Asia": "#000000"} | {g: palette[i % len(palette)]
                                            for i, g in enumerate(others)}
    for ax, measure in zip(axes, ("flow", "stock"), strict=True):
        for group in ["Central Asia", *shown.get(measure, [])]:
            if (measure, group) in by.index.droplevel("year"):
                s = by.loc[(measure, group)]
                ax.plot(s.index, s.to_numpy() / 1e6, marker="o",
                        label=group if group == "Central Asia" else country_label(group),
                        color=colors[group], linewidth=2.2 if group == "Central Asia" else 1.2)
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("year")
        ax.set_ylabel("USD million")
        ax.set_title(f"FDI {measure}s into {country_label(host)} (UNCTAD)", loc="left")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False, fontsize=7)
    return fig
