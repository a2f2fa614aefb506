"""Report figures (matplotlib, Agg), saved as PNG and SVG with reproducible bytes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from tradeflows.io import atomic_path  # noqa: E402

VERDICT_COLORS = {
    "supported": "#1b7837",
    "not supported": "#b2182b",
    "inconclusive": "#d6a01d",
    "not testable with the bundled data": "#8c8c8c",
}
_STYLE = {"svg.hashsalt": "tradeflows", "svg.fonttype": "path", "font.size": 9,
          "axes.spines.top": False, "axes.spines.right": False}


def save_figure(fig: Figure, base: Path) -> list[Path]:
    """Write ``base.png`` and ``base.svg`` atomically without dates or versions in the
    metadata (so equal figures give equal bytes); closes ``fig``."""
    written = []
    for ext, meta in (("png", {"Software": None}),
                      ("svg", {"Date": None, "Creator": None})):
        target = base.with_suffix(f".{ext}")
        with plt.rc_context(_STYLE), atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=110, metadata=meta)
        written.append(target)
    plt.close(fig)
    return written


def _figure(width: float, height: float) -> tuple[Figure, plt.Axes]:
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def verdict_figure(table: pd.DataFrame) -> Figure:
    """One row per claim, coloured by verdict (``table``: id, verdict columns)."""
    fig, ax = _figure(6.0, 0.26 * len(table) + 0.5)
    n = len(table)
    for i, (cid, verdict) in enumerate(zip(table["id"], table["verdict"], strict=True)):
        y = n - 1 - i
        ax.barh(y, 1.0, color=VERDICT_COLORS.get(verdict, "#cccccc"), height=0.85)
        ax.text(0.02, y, f"{cid}  {verdict}", va="center", ha="left", color="white",
                fontsize=8, fontweight="bold")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_axis_off()
    ax.set_title("Verdicts by claim (rules stated before estimation)", loc="left")
    return fig


def concentration_figure(series: pd.DataFrame, country: str, kink: int) -> Figure:
    """HHI of a country's partner shares by year (``series``: year, hhi)."""
    fig, ax = _figure(6.4, 3.2)
    ax.plot(series["year"], series["hhi"], marker="o", color="#2166ac")
    ax.axvline(kink, color="#888888", linestyle="--", linewidth=1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("HHI (0-10000)")
    ax.set_title(f"Concentration of {country}'s trade across partners", loc="left")
    return fig


def corridor_figure(cargo: pd.DataFrame, groups: pd.DataFrame | None) -> Figure:
    """Middle Corridor cargo (Mt) and, if given, the trade of Middle/Northern-route pairs
    (``groups``: year, group, trade USD) as indices of their first year (= 100)."""
    fig, ax = _figure(6.4, 3.2)
    ax.bar(cargo["year"], cargo["cargo_mt"], color="#92c5de", label="Middle Corridor cargo (Mt)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("million tonnes")
    ax.set_title("Middle Corridor cargo (Kazakhstan Ministry of Transport)", loc="left")
    if groups is not None and not groups.empty:
        ax2 = ax.twinx()
        for name, color in (("middle", "#2166ac"), ("northern", "#b2182b")):
            g = groups[groups["group"] == name].sort_values("year")
            if not g.empty and g["trade"].iloc[0] > 0:
                ax2.plot(g["year"], 100 * g["trade"] / g["trade"].iloc[0], marker="o",
                         color=color, label=f"trade, {name}-route pairs (index)")
        ax2.set_ylabel("trade index (first year = 100)")
        ax2.legend(loc="upper left", frameon=False, fontsize=8)
    return fig


def fdi_figure(series: pd.DataFrame, host: str) -> Figure:
    """FDI into ``host`` (USD million), flows and stocks side by side: Central Asia and the
    three largest other investors of each measure (``series``: year, group, measure,
    value_usd). A group keeps its colour in both panels."""
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2), layout="constrained")
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
                ax.plot(s.index, s.to_numpy() / 1e6, marker="o", label=group,
                        color=colors[group], linewidth=2.2 if group == "Central Asia" else 1.2)
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("year")
        ax.set_ylabel("USD million")
        ax.set_title(f"FDI {measure}s into {host} (UNCTAD)", loc="left")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False, fontsize=7)
    return fig
