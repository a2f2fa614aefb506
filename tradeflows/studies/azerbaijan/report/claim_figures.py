"""Figures of the claims report: descriptive evidence and the claims' designs (placebo and
randomization distributions, event-study coefficients). Saved by ``figures.save_figure``."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tradeflows.report import figures as fg
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


@styled
def period_means_figure(series: pd.DataFrame, pre: tuple[int, int], post: tuple[int, int],
                        estimate: float, ylabel: str, title: str) -> Figure:
    """An annual series (``year, value``) with the claim's two periods shaded and each
    period's mean drawn across it; the statistic (log growth of the mean) is printed."""
    fig, ax = new_figure(6.4, 3.2)
    s = series.sort_values("year")
    for (first, last), color in ((pre, "#d1e5f0"), (post, "#fddbc7")):
        ax.axvspan(first - 0.5, last + 0.5, color=color, zorder=0)
        inside = s[s["year"].between(first, last)]["value"]
        if len(inside):
            ax.hlines(inside.mean(), first - 0.5, last + 0.5, color="#444444", lw=1.2,
                      ls="--", zorder=2)
    ax.plot(s["year"], s["value"], marker="o", color=fg.MAIN_COLOR, zorder=3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"year (blue: {pre[0]}-{pre[1]}, red: {post[0]}-{post[1]}; dashed: "
                  "period means)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}\nlog growth of the period mean: {estimate:+.3f}", loc="left")
    return fig


@styled
def worst_off_figure(countries: pd.DataFrame, minimum: tuple[float, float, float],
                     null: float, xlabel: str, title: str, note: str) -> Figure:
    """Each country's change with its interval, sorted by change, and the claim's statistic
    (the minimum over countries within each draw) as the last, highlighted row
    (``countries``: country, estimate, conf_low, conf_high)."""
    rows = countries.sort_values("estimate", ascending=False, kind="stable")
    table = pd.DataFrame({"label": [fg.country_label(c) for c in rows["country"]],
                          "estimate": rows["estimate"].to_numpy(float),
                          "conf_low": rows["conf_low"].to_numpy(float),
                          "conf_high": rows["conf_high"].to_numpy(float),
                          "highlight": False})
    low_row = pd.DataFrame({"label": ["Minimum over these countries (within draws)"],
                            "estimate": [minimum[0]], "conf_low": [minimum[1]],
                            "conf_high": [minimum[2]], "highlight": [True]})
    return fg.interval_figure(pd.concat([table, low_row], ignore_index=True), null=null,
                              xlabel=xlabel, title=title, note=note,
                              highlight_color="#b2182b")


@styled
def record_figure(events: pd.DataFrame, title: str) -> Figure:
    """The documented record: one row per item (``institution_or_corridor``), a mark at each
    dated event of it (``start_date``, partial dates at their first day)."""
    ev = events.assign(date=pd.to_datetime(events["start_date"].str.slice(0, 10),
                                           format="mixed", errors="coerce"))
    ev = ev.dropna(subset=["date"])
    first = ev.groupby("institution_or_corridor")["date"].min().sort_values()
    items = first.index.tolist()
    fig, ax = new_figure(6.8, 0.32 * max(len(items), 1) + 1.4)
    y = {item: k for k, item in enumerate(reversed(items))}
    ax.scatter(ev["date"], ev["institution_or_corridor"].map(y), color=fg.MAIN_COLOR, s=22,
               zorder=3)
    for k in y.values():
        ax.axhline(k, color="#eeeeee", lw=0.6, zorder=0)
    ax.set_yticks(list(y.values()), [textwrap.shorten(i, 48) for i in y])
    ax.set_xlabel("date of the documented event (events.csv)")
    ax.set_title(f"{title}\n{len(items)} distinct item(s), {len(ev)} dated event(s)",
                 loc="left")
    return fig


@styled
def share_bounds_figure(bounds: pd.DataFrame, null: float, title: str) -> Figure:
    """The bounds of a share by year (``year, share_low, share_high``; percent): the lower
    bound is the statistic, the upper bound what unlisted investors could add; the rule's
    threshold dashed."""
    rows = pd.DataFrame({"label": bounds["year"].astype(int).astype(str),
                         "estimate": bounds["share_low"].to_numpy(float),
                         "conf_low": bounds["share_low"].to_numpy(float),
                         "conf_high": bounds["share_high"].to_numpy(float),
                         "highlight": bounds["year"] == bounds["year"].max()})
    return fg.interval_figure(rows.iloc[::-1].reset_index(drop=True), null=null,
                              xlabel="share of gross FDI inflows (%): listed (point) to "
                              "at most (bar end)", title=title,
                              note="Latest year highlighted (the statistic).")


@styled
def route_value_figure(table: pd.DataFrame, estimate: float, destination: str,
                       title: str) -> Figure:
    """Per origin, the log rise of the route cost to ``destination`` when the alternative
    route is also closed (``origin, log_value_of_alternative``; infinite = no route left);
    the mean over origins (the statistic) dashed."""
    t = table.sort_values("log_value_of_alternative", ascending=True, kind="stable")
    fig, ax = new_figure(6.4, 0.35 * len(t) + 1.4)
    vals = t["log_value_of_alternative"].to_numpy(float)
    finite = np.isfinite(vals)
    top = np.nanmax(vals[finite]) if finite.any() else 1.0
    y = np.arange(len(t))
    ax.scatter(np.where(finite, vals, top), y, color=np.where(finite, fg.MAIN_COLOR, "#b2182b"),
               s=26, zorder=3)
    for yi, v, ok in zip(y, vals, finite, strict=True):
        ax.annotate(f"{v:+.2f}" if ok else "no route left", (v if ok else top, yi),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    if np.isfinite(estimate):
        ax.axvline(estimate, color="#444444", ls="--", lw=0.9)
    ax.set_yticks(y, [fg.country_label(o) for o in t["origin"]])
    ax.set_xlabel(f"log rise of the route cost to {fg.country_label(destination)} without "
                  "the alternative (mean dashed)")
    ax.set_title(title, loc="left")
    return fig
