"""Coefficient plots of fitted models, returned as matplotlib Figures (Agg canvas: no display
needed; save with ``fig.savefig`` or :func:`tradeflows.report.figures.save_figure`).

- :func:`coefplot`: estimates and confidence intervals of one or several fits;
- :func:`iplot`: the coefficients of an ``i()`` term against its levels (event studies),
  the reference level(s) drawn at 0 with a hollow marker and a dashed line;
- :func:`event_study_figure`: the same from a table of relative periods.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tradeflows.errors import SpecificationError

__all__ = ["coefplot", "iplot", "event_study_figure", "new_figure"]


def new_figure(width: float = 6.4, height: float = 4.0) -> tuple[Any, Any]:
    """A figure and axes on the non-interactive Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _as_models(fits: Any) -> dict[str, Any]:
    """label -> fit from one fit, a list, a dict or a FitCollection."""
    if isinstance(fits, Mapping):
        return {str(k): v for k, v in fits.items()}
    if isinstance(fits, Sequence) and not isinstance(fits, str):
        return {f"({j + 1})": f for j, f in enumerate(fits)}
    if hasattr(fits, "coef") and hasattr(fits, "confint"):
        return {getattr(fits, "formula", "model"): fits}
    raise SpecificationError("plots take a fit, a list or dict of fits, or a FitCollection")


def _selected(names: Sequence[str], keep: str | Sequence[str] | None,
              drop: str | Sequence[str] | None) -> list[str]:
    def hit(name: str, pats: str | Sequence[str]) -> bool:
        return any(re.search(p, name) for p in ([pats] if isinstance(pats, str) else pats))
    out = [n for n in names if keep is None or hit(n, keep)]
    return [n for n in out if drop is None or not hit(n, drop)]


def coefplot(fits: Any, *, keep: str | Sequence[str] | None = None,
             drop: str | Sequence[str] | None = "^Intercept$", level: float = 0.95,
             labels: Mapping[str, str] | None = None, title: str = "") -> Any:
    """Estimates (points) and ``level`` confidence intervals (bars) of every coefficient, one
    row per term, models side by side (offset vertically, in colour).

    fits: a fit, a list or dict of fits, or a FitCollection. keep / drop: regular expressions
    on coefficient names. labels: display names of terms. Returns a matplotlib Figure.
    """
    models = _as_models(fits)
    terms: list[str] = []
    for r in models.values():
        terms += [t for t in _selected(list(r.coef.index), keep, drop) if t not in terms]
    if not terms:
        raise SpecificationError("coefplot: no coefficient to plot (check keep / drop)")
    labels = dict(labels or {})
    fig, ax = new_figure(6.4, 0.9 + 0.35 * len(terms) * max(1, min(len(models), 3)))
    width = 0.7
    step = width / max(len(models), 1)
    for m, (name, r) in enumerate(models.items()):
        ci = r.confint(level)
        ys, est, lo, hi = [], [], [], []
        for i, t in enumerate(terms):
            if t in r.coef.index:
                ys.append(len(terms) - 1 - i + width / 2 - step * (m + 0.5))
                est.append(float(r.coef[t]))
                lo.append(float(ci.loc[t, "conf_low"]))
                hi.append(float(ci.loc[t, "conf_high"]))
        est_a, lo_a, hi_a = map(np.asarray, (est, lo, hi))
        ax.errorbar(est_a, ys, xerr=[est_a - lo_a, hi_a - est_a], fmt="o", capsize=3,
                    color=f"C{m % 10}", label=name if len(models) > 1 else None)
    ax.axvline(0.0, color="0.5", lw=0.8)
    ax.set_yticks(range(len(terms)), [labels.get(t, t) for t in reversed(terms)])
    ax.set_xlabel(f"estimate and {level:.0%} confidence interval")
    if len(models) > 1:
        ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _iterm_table(fit: Any, term: str | None, level: float) -> tuple[pd.DataFrame, list, str]:
    """(table of level, estimate, conf_low, conf_high; reference levels; factor name)."""
    design = getattr(fit.formula_spec, "design", None)
    iterms = list(design.iterms) if design is not None else []
    if term is not None:
        iterms = [t for t in iterms if term in (t.factor, t.text)]
    if not iterms:
        raise SpecificationError(f"iplot: the model {fit.formula!r} has no i() term"
                                 + (f" for {term!r}" if term else ""))
    it = iterms[0]
    if it.by is not None and not it.by_numeric:
        raise SpecificationError("iplot: i(f, g) with two factors is not supported; "
                                 "use coefplot")
    ci = fit.confint(level)
    rows = []
    for name, lv, _ in it.columns():
        if name in fit.coef.index:
            rows.append((lv, float(fit.coef[name]), float(ci.loc[name, "conf_low"]),
                         float(ci.loc[name, "conf_high"])))
    for lv in it.ref:
        rows.append((lv, 0.0, np.nan, np.nan))
    table = pd.DataFrame(rows, columns=["level", "estimate", "conf_low", "conf_high"])
    return table.sort_values("level", kind="stable").reset_index(drop=True), list(it.ref), \
        it.factor


def iplot(fits: Any, *, term: str | None = None, level: float = 0.95, title: str = "",
          xlabel: str | None = None, ylabel: str = "estimate") -> Any:
    """Coefficients of an ``i()`` term against its levels, with ``level`` intervals; the
    reference level(s) at 0 (hollow marker, dashed vertical line). Several fits are drawn
    side by side. term: the factor (or the i() text) when the model has several i() terms.
    Returns a matplotlib Figure."""
    models = _as_models(fits)
    fig, ax = new_figure()
    ax.axhline(0.0, color="0.5", lw=0.8)
    shift = np.linspace(-0.15, 0.15, len(models)) if len(models) > 1 else [0.0]
    factor = ""
    for m, (name, fit) in enumerate(models.items()):
        table, refs, factor = _iterm_table(fit, term, level)
        x = pd.to_numeric(table["level"], errors="coerce")
        numeric = x.notna().all()
        xs = (x.to_numpy(float) if numeric else np.arange(len(table))) + shift[m]
        est = table["estimate"].to_numpy()
        ok = table["conf_low"].notna().to_numpy()
        color = f"C{m % 10}"
        ax.errorbar(xs[ok], est[ok], yerr=[est[ok] - table["conf_low"].to_numpy()[ok],
                                           table["conf_high"].to_numpy()[ok] - est[ok]],
                    fmt="o-", capsize=3, color=color,
                    label=name if len(models) > 1 else f"estimate, {level:.0%} interval")
        ax.plot(xs[~ok], est[~ok], "o", mfc="white", color=color,
                label="reference" if m == 0 else None)
        if m == 0:
            for r in refs:
                pos = float(r) if numeric else float(list(table["level"]).index(r))
                ax.axvline(pos, color="0.6", lw=0.8, ls="--")
        if not numeric:
            ax.set_xticks(np.arange(len(table)), [str(v) for v in table["level"]])
    ax.set_xlabel(xlabel if xlabel is not None else factor)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def event_study_figure(table: pd.DataFrame, reference: int | Sequence[int], *,
                       title: str = "", xlabel: str = "periods relative to the event",
                       ylabel: str = "coefficient", level: float = 0.95) -> Any:
    """Event-study plot from ``table`` (columns k, estimate, std_error): points with normal
    ``level`` intervals, reference period(s) hollow at 0 with a dashed line. Returns a Figure."""
    refs = [reference] if np.isscalar(reference) else list(reference)
    crit = float(stats.norm.ppf(0.5 + level / 2))
    fig, ax = new_figure()
    ok = table["std_error"].notna()
    ax.axhline(0.0, color="0.5", lw=0.8)
    for r in refs:
        ax.axvline(r, color="0.7", lw=0.8, ls="--")
    ax.errorbar(table.loc[ok, "k"], table.loc[ok, "estimate"],
                yerr=crit * table.loc[ok, "std_error"], fmt="o", color="C0", capsize=3,
                label=f"estimate, {level:.0%} interval")
    ax.plot(refs, [0.0] * len(refs), "o", mfc="white", color="C0", label="reference period")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(frameon=False)
    return fig
