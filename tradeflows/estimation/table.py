"""Several fitted models side by side (like fixest's ``etable``): text, LaTeX, HTML, Markdown,
frame.

A model is any object with the attributes of ``tradeflows`` results (docs/ARCHITECTURE.md):
``coef``, ``se``, ``pvalue`` (pandas Series or dicts indexed by regressor name), ``nobs``,
``fixef_vars``, ``vcov_type``, ``model``, ``depvar``, ``drops`` (reason -> count) and
``pseudo_r2`` (Poisson) or ``r2`` (OLS).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tradeflows.errors import SpecificationError
from tradeflows.tabular import Table, number, render

FORMATS = ("text", "markdown", "latex", "html", "dataframe")
#: fixest's significance codes (``etable``/``summary`` default): mark -> p-value threshold.
FIXEST_STARS: dict[str, float] = {"***": 0.001, "**": 0.01, "*": 0.05, ".": 0.1}
#: The common economics-journal codes (tradeflows' earlier default): * .1, ** .05, *** .01.
ECONOMICS_STARS: tuple[float, ...] = (0.1, 0.05, 0.01)


@dataclass
class _Row:
    """One table row: a label (plain text, optional raw LaTeX) and one cell per model."""

    label: str
    cells: list[str]
    kind: str  # "coef", "se", "fixef", "stat", "header"

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


def _codes(stars: Sequence[float] | Mapping[str, float] | None) -> list[tuple[str, float]]:
    """Significance codes as (mark, threshold), strictest first. A sequence of thresholds
    gives one star per threshold passed (``(0.1, 0.05, 0.01)``: * ** ***)."""
    if not stars:
        return []
    if isinstance(stars, Mapping):
        pairs = [(str(m), float(t)) for m, t in stars.items()]
    else:
        levels = sorted((float(t) for t in stars), reverse=True)
        pairs = [("*" * (i + 1), t) for i, t in enumerate(levels)]
    return sorted(pairs, key=lambda mt: mt[1])


def _stars(p: float, codes: list[tuple[str, float]]) -> str:
    if p is None or math.isnan(p):
        return ""
    return next((mark for mark, t in codes if p < t), "")


def _num(v: float | None, digits: int) -> str:
    """``digits`` significant digits (see :func:`tradeflows.tabular.number`)."""
    return number(v, digits) if v is not None else ""


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
    stars: list[tuple[str, float]],
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
    for attr, label in (("pseudo_r2", "Pseudo R²"), ("r2", "R²")):
        values = [getattr(r, attr, None) for r in models.values()]
        if any(v is not None and not math.isnan(v) for v in values):
            rows.append(_Row(label, [_num(v, digits) for v in values], "stat"))
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


def _stars_note(codes: list[tuple[str, float]], fixest: bool) -> str | None:
    """Legend of the significance codes, naming fixest's when they are used."""
    if not codes:
        return None
    name = "fixest's significance codes" if fixest else "Significance codes"
    return f"{name}: " + ", ".join(f"{m} p<{t:g}" for m, t in codes)


def etable(
    models: Any,
    *,
    format: str = "text",
    digits: int = 3,
    se_below: bool = True,
    stars: Sequence[float] | Mapping[str, float] | None = FIXEST_STARS,
    keep: str | Sequence[str] | None = None,
    drop: str | Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
) -> str | pd.DataFrame:
    """Fitted models side by side: coefficients (standard errors in parentheses below),
    fixed effects ("Yes"/"No"), observations, (pseudo) R², vcov type and dropped rows by reason.

    models: one result, a list (columns "(1)", "(2)", ...) or a dict label -> result.
    format: "text" (aligned plain text for a terminal, the default), "markdown" (pipe table),
    "latex" (booktabs ``tabular``; in a ``table`` with ``\\caption`` when ``title`` is
    given), "html" (``<table class="tradeflows-etable">``) or "dataframe" (strings; index =
    row labels, standard-error rows labelled ""). All but "dataframe" come from the package's
    one table writer (:mod:`tradeflows.tabular`).
    digits: significant digits of estimates, standard errors and R² (as fixest's ``digits``).
    stars: significance codes, mark -> p-value threshold; default fixest's (*** p<0.001,
    ** p<0.01, * p<0.05, . p<0.1); a sequence of thresholds gives one star per threshold
    passed (``ECONOMICS_STARS``: * p<0.1, ** p<0.05, *** p<0.01); None for none. The legend
    below the table says which codes are used.
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
    codes = _codes(stars)
    rows = _rows(named, digits=digits, se_below=se_below, stars=codes, keep=keep, drop=drop,
                 labels=labels or {})
    columns = list(named)
    if format == "dataframe":
        return pd.DataFrame([r.cells for r in rows], index=[r.label for r in rows],
                            columns=columns)
    extra = [notes] if isinstance(notes, str) else list(notes or [])
    legend = _stars_note(codes, fixest=isinstance(stars, Mapping)
                         and dict(stars) == FIXEST_STARS)
    table = Table(columns=["", *columns], rows=[[r.label, *r.cells] for r in rows],
                  caption=title, notes=extra + ([legend] if legend else []),
                  sections=[r.section for r in rows], kinds=[r.kind for r in rows], stub=True,
                  marks=True, html_class="tradeflows-etable")
    return render(table, format)
