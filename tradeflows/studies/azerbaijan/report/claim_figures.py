"""Figures of the claims report: descriptive evidence and the claims' designs (placebo and
randomization distributions, event-study coefficients). Saved by ``figures.save_figure``."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tradeflows.report.figures import new_figure, styled

#: Colour of each verdict in the claims' figures.
VERDICT_COLORS = {
    "supported": "#1b7837",
    "not supported": "#b2182b",
    "inconclusive": "#d6a01d",
    "not testable with the bundled data": "#8c8c8c",
}

_SOURCE_MARKERS = {"imf_dots": "o", "national": "s", "press": "^"}


def trade_levels_figure(trade: pd.DataFrame, press: pd.DataFrame, country: str) -> Figure:
    """``country``'s trade with each partner (USD million, log scale) by year; the marker
    shows the source of each point (IMF DOTS, national statistics, press-quoted turnover)."""
    fig, ax = new_figure(6.8, 3.6)
    colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
    for k, (partner, g) in enumerate(trade.groupby("partner")):
        color = colors[k % len(colors)]
        ax.plot(g["year"], g["trade_usd_mn"], color=color, linewidth=1.2, label=partner)
        for src, marker in _SOURCE_MARKERS.items():
            pts = g[g["source"].str.contains(src)]
            ax.scatter(pts["year"], pts["trade_usd_mn"], marker=marker, color=color, s=18)
        p = press[press["partner"] == partner]
        ax.scatter(p["year"], p["trade_usd_mn"], marker="^", facecolors="none",
                   edgecolors=color, s=30)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year (o IMF DOTS, s national statistics, ^ press-quoted turnover)")
    ax.set_ylabel("USD million (log scale)")
    ax.set_title(f"{country}'s trade with each Central Asian state", loc="left")
    ax.legend(frameon=False, fontsize=7, ncol=5)
    return fig


def partner_shares_figure(shares: pd.DataFrame, country: str) -> Figure:
    """Stacked shares (percent) of ``country``'s partners in selected years."""
    fig, ax = new_figure(6.8, 3.4)
    wide = shares.pivot_table(index="year", columns="partner", values="share_pct",
                              aggfunc="sum").fillna(0.0)
    order = wide.drop(columns="other", errors="ignore").iloc[-1].sort_values(
        ascending=False).index.tolist() + (["other"] if "other" in wide.columns else [])
    bottom = np.zeros(len(wide))
    x = np.arange(len(wide))
    for col in order:
        ax.bar(x, wide[col].to_numpy(), bottom=bottom, label=col, width=0.6)
        bottom += wide[col].to_numpy()
    ax.set_xticks(x, [str(y) for y in wide.index])
    ax.set_ylabel("percent of total trade")
    ax.set_title(f"{country}'s partner shares (panel, IMF DOTS)", loc="left")
    ax.legend(frameon=False, fontsize=7, ncol=1, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    return fig


def cargo_figure(cargo: pd.DataFrame) -> Figure:
    """Middle Corridor and Port of Baku cargo by year (million tonnes)."""
    fig, ax = new_figure(6.4, 3.2)
    for series, g in cargo.groupby("series"):
        ax.plot(g["year"], g["value"], marker="o", label=series)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("million tonnes")
    ax.set_title("Middle Corridor and Port of Baku cargo (as reported)", loc="left")
    ax.legend(frameon=False, fontsize=7)
    return fig


def fdi_figure(fdi: pd.DataFrame, host: str) -> Figure:
    """CBAR gross FDI inflows into ``host`` by source country, latest two years (USD mn)."""
    fig, ax = new_figure(6.4, 3.4)
    cb = fdi[(fdi["source"].str.startswith("CBAR")) & (fdi["investor"] != "total")]
    years = sorted(cb["year"].unique())[-2:]
    wide = cb[cb["year"].isin(years)].pivot_table(index="investor", columns="year",
                                                  values="value_usd_mn", aggfunc="sum")
    wide = wide.loc[wide.max(axis=1).sort_values(ascending=True).index]
    y = np.arange(len(wide))
    for k, year in enumerate(wide.columns):
        ax.barh(y + 0.4 * k, wide[year].fillna(0).to_numpy(), height=0.4, label=str(year))
    ax.set_yticks(y + 0.2, wide.index.tolist())
    ax.set_xlabel("USD million (gross inflows; countries below the top ten not published)")
    ax.set_title(f"FDI into {host} by source country (CBAR)", loc="left")
    ax.legend(frameon=False, fontsize=7)
    return fig


def null_distribution_figure(draws: np.ndarray, estimate: float, label: str,
                             title: str) -> Figure:
    """Histogram of a placebo or randomization distribution with the estimate marked."""
    fig, ax = new_figure(6.0, 3.0)
    d = np.asarray(draws, dtype=float)
    d = d[np.isfinite(d)]
    ax.hist(d, bins=min(30, max(5, d.size // 3)), color="#bbbbbb", edgecolor="white")
    ax.axvline(estimate, color="#b2182b", linewidth=2, label=label)
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.set_xlabel("statistic (log points)")
    ax.set_ylabel("count")
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=8)
    return fig


def event_study_figure(coefs: pd.DataFrame, title: str) -> Figure:
    """Event-time coefficients with intervals (``event_time, estimate, conf_low,
    conf_high``), the omitted period -1 at zero."""
    fig, ax = new_figure(6.4, 3.2)
    c = pd.concat([coefs, pd.DataFrame({"event_time": [-1], "estimate": [0.0],
                                        "conf_low": [0.0], "conf_high": [0.0]})])
    c = c.sort_values("event_time")
    ax.errorbar(c["event_time"], c["estimate"],
                yerr=[c["estimate"] - c["conf_low"], c["conf_high"] - c["estimate"]],
                fmt="o", color="#2166ac", capsize=2)
    ax.axhline(0, color="#444444", linewidth=0.8)
    ax.axvline(-0.5, color="#888888", linestyle="--", linewidth=1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("years since the event (-1 omitted)")
    ax.set_ylabel("coefficient (log points)")
    ax.set_title(title, loc="left")
    return fig


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
