"""Results of PPML and OLS fits: coefficients, inference, fixed effects, predictions."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tradeflows.errors import SpecificationError
from tradeflows.estimation.demean import solve_fixef
from tradeflows.estimation.formula import Formula
from tradeflows.estimation.hypotheses import WaldTest, delta_method, hypothesis_matrix, wald_test
from tradeflows.estimation.vcov import SSC

__all__ = ["Results", "PPMLResults", "OLSResults", "Summary", "attach_data"]


class Summary(str):
    """Text of a fit's summary; shows as text in terminals and notebooks (not as a quoted
    string)."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def attach_data(res: Results, data: pd.DataFrame) -> Results:
    """Record the input's index, for ``predict()``/``resid()`` on the data's index (done by
    ``tradeflows.ppml``/``ols``; the estimators keep the sample's dependent variable)."""
    res.data_index = data.index
    return res


@dataclass(repr=False)
class Results:
    """Shared base. Arrays: coef (p,), vcov (p, p); sample arrays have nobs rows."""

    model: str
    formula_spec: Formula
    coefnames: list[str]
    coef_values: np.ndarray
    vcov_matrix: np.ndarray
    vcov_type: str
    ssc: SSC
    nobs: int
    nobs_original: int
    drops: dict[str, int]
    df_k: int
    df_t: int | None
    iterations: int
    converged: bool
    collinear: list[str]
    fixed_coefs: dict[str, float]
    fe_levels: list[pd.Index]
    sample_index: np.ndarray
    eta: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    fe: np.ndarray = field(repr=False)
    offset: np.ndarray = field(repr=False)
    offset_name: str | None = None
    _fixef: dict[str, pd.Series] | None = field(default=None, repr=False)
    data_index: pd.Index | None = field(default=None, repr=False)
    y: np.ndarray | None = field(default=None, repr=False)
    fit_stats: dict = field(default_factory=dict, repr=False)
    """Where the fit spent its effort: seconds by stage, demeaning sweeps, threads, IRLS trace."""

    # --- identification -------------------------------------------------------------------
    @property
    def formula(self) -> str:
        return self.formula_spec.text

    @property
    def depvar(self) -> str:
        return self.formula_spec.depvar

    @property
    def fixef_vars(self) -> list[str]:
        return list(self.formula_spec.fixef)

    # --- coefficients and inference -------------------------------------------------------
    @property
    def coef(self) -> pd.Series:
        return pd.Series(self.coef_values, index=self.coefnames, name="estimate")

    @property
    def vcov(self) -> pd.DataFrame:
        return pd.DataFrame(self.vcov_matrix, index=self.coefnames, columns=self.coefnames)

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov_matrix)), index=self.coefnames, name="std_error")

    @property
    def tstat(self) -> pd.Series:
        return (self.coef / self.se).rename("statistic")

    def _dist(self):
        """t(df_t) for OLS; standard normal for PPML (as fixest's z values)."""
        from scipy import stats  # imported here: scipy.stats costs ~25 MB and 1-3 s to load

        return stats.t(self.df_t) if self.model == "ols" and self.df_t else stats.norm()

    @property
    def pvalue(self) -> pd.Series:
        return pd.Series(2 * self._dist().sf(np.abs(self.tstat.to_numpy())),
                         index=self.coefnames, name="p_value")

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals (conf_low, conf_high) at ``level``."""
        crit = self._dist().ppf(0.5 + level / 2)
        b, s = self.coef.to_numpy(), self.se.to_numpy()
        return pd.DataFrame({"conf_low": b - crit * s, "conf_high": b + crit * s},
                            index=self.coefnames)

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per coefficient: term, estimate, std_error, statistic, p_value, conf_*."""
        ci = self.confint(level)
        return pd.DataFrame({
            "term": self.coefnames, "estimate": self.coef_values,
            "std_error": self.se.to_numpy(), "statistic": self.tstat.to_numpy(),
            "p_value": self.pvalue.to_numpy(), "conf_low": ci["conf_low"].to_numpy(),
            "conf_high": ci["conf_high"].to_numpy()})

    def wald(self, terms: str | list[str] | np.ndarray | None = None,
             q: np.ndarray | float | None = None, *, regex: str | None = None) -> WaldTest:
        """Wald test of linear hypotheses; returns a :class:`WaldTest` (statistic, pvalue,
        df1, df2; unpacks as ``(statistic, pvalue, df1)``).

        terms: coefficient names (each = ``q``, default 0), hypotheses written with names
        (``"x1 = x2"``, ``"x1 + 2*x2 = 1"``), or an (r, p) matrix R (then ``q``: (r,)).
        regex: test that every coefficient whose name matches is zero (``regex="^es_m"``:
        joint pre-trend test). statistic = W / r; p-value from F(r, df_t) for OLS, from
        chi2(r) of W for PPML.
        """
        names = self.coefnames
        if regex is not None:
            if terms is not None:
                raise SpecificationError("wald: give terms or regex, not both")
            terms = [t for t in names if re.search(regex, t)]
            if not terms:
                raise SpecificationError(f"wald: no coefficient matches {regex!r}")
        if terms is None:
            raise SpecificationError("wald: give coefficient names, hypotheses, R or regex=")
        if isinstance(terms, np.ndarray) and terms.dtype.kind == "f":
            R = np.atleast_2d(terms)
            if R.shape[1] != len(names):
                raise SpecificationError(f"wald: R has {R.shape[1]} columns, model has "
                                         f"{len(names)} coefficients")
            r = R.shape[0]
            qv = np.zeros(r) if q is None else np.broadcast_to(np.asarray(q, float), (r,))
            texts = [f"row {i + 1} of R" for i in range(r)]
        else:
            items = [terms] if isinstance(terms, str) else list(terms)
            R, qv, texts = hypothesis_matrix(items, names)
            if q is not None:
                qv = qv + np.broadcast_to(np.asarray(q, float), qv.shape)
                texts = [f"{t.split('=')[0].strip()} = {v:g}" for t, v in zip(texts, qv,
                                                                                   strict=True)]
        df2 = self.df_t if self.model == "ols" and self.df_t else None
        return wald_test(self.coef_values, self.vcov_matrix, R, qv, texts, df2)

    def delta_method(self, expr: str | list[str], level: float = 0.95) -> pd.DataFrame:
        """Estimate, standard error, test and interval of non-linear functions of the
        coefficients, e.g. ``"100 * (exp(fta) - 1)"`` (% change) or ``"x1 / x2"``.
        One row per expression (columns as :meth:`tidy`)."""
        return delta_method(self.coef_values, self.vcov_matrix, self.coefnames, expr,
                            self._dist(), level)

    # --- fixed effects and predictions ----------------------------------------------------
    def fixef(self) -> dict[str, pd.Series]:
        """Fixed-effect values by FE term (level -> value), from the fitted linear predictor.

        Normalization: every FE dimension after the first has its first level (sorted order)
        at 0, the shift moved into the first dimension. This is the unique solution for two
        connected FE dimensions; with three or more, the values are one solution among
        several (sums over the FE of an observation, hence predictions, are unique).
        """
        if self._fixef is None:
            d = self.eta - self.offset - self.X @ self.coef_values
            alphas, _ = solve_fixef(d, self.fe) if self.fe.shape[1] else ([], True)
            self._fixef = {name: pd.Series(a, index=lv, name=name)
                           for name, a, lv in zip(self.fixef_vars, alphas, self.fe_levels,
                                                  strict=True)}
        return self._fixef

    def _on_data_index(self, values: np.ndarray, name: str) -> pd.Series:
        """(nobs,) sample values as a Series on the input's index, NaN for dropped rows."""
        index = self.data_index if self.data_index is not None else pd.RangeIndex(
            self.nobs_original)
        out = np.full(len(index), np.nan)
        out[self.sample_index] = values
        return pd.Series(out, index=index, name=name)

    def predict(self, newdata: pd.DataFrame | None = None, type: str = "response",
                offset: np.ndarray | None = None) -> pd.Series:
        """Predictions as a Series: on the fitted data's index (rows not in the estimation
        sample get NaN), or on ``newdata``'s index.

        type: "response" (exp of the linear predictor for PPML) or "link". Rows with a
        missing regressor or a fixed-effect level not estimated get NaN. The offset of new
        rows comes from the same column as in the fit, or from ``offset``.
        """
        if type not in ("response", "link"):
            raise SpecificationError(f"predict type must be 'response' or 'link', not {type!r}")
        eta = self.eta if newdata is None else self._link_new(newdata, offset)
        values = np.exp(eta) if (type == "response" and self.model == "ppml") else eta
        if newdata is None:
            return self._on_data_index(values, "predicted")
        return pd.Series(values, index=newdata.index, name="predicted")

    def resid(self) -> pd.Series:
        """Response residuals y - fitted (y - exp(eta) for PPML) on the fitted data's index,
        NaN for rows not in the estimation sample."""
        if self.y is None:
            raise SpecificationError("resid(): fit through tradeflows.ppml / tradeflows.ols, "
                                     "which keep the dependent variable")
        fitted = np.exp(self.eta) if self.model == "ppml" else self.eta
        return self._on_data_index(self.y - fitted, "residual")

    def _link_new(self, data: pd.DataFrame, offset: np.ndarray | None) -> np.ndarray:
        n = len(data)
        eta = np.zeros(n)
        design = self.formula_spec.design
        needed = design.spec_columns + [c for t in design.simple for c in t.split(":")] + [
            c for t in design.iterms for c in (t.factor, t.by) if c]
        missing = [c for c in needed if c not in data.columns]
        if missing:
            raise SpecificationError(f"predict: newdata lacks column {missing[0]!r}")
        try:
            X = design.matrix(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise SpecificationError(f"predict: cannot build the regressors of newdata: "
                                     f"{type(exc).__name__}: {exc}") from None
        col = {name: j for j, name in enumerate(design.columns)}
        fx = dict(zip(self.coefnames, self.coef_values, strict=True)) | self.fixed_coefs
        for term, b in fx.items():
            eta += b * X[:, col[term]]
        fixef = self.fixef()
        for term, values in fixef.items():
            cols = term.split("^")
            missing = [c for c in cols if c not in data.columns]
            if missing:
                raise SpecificationError(f"predict: newdata lacks fixed-effect column {missing[0]!r}")
            keys = data[cols[0]]
            if len(cols) > 1:
                keys = keys.astype(str)
                for c in cols[1:]:
                    keys = keys + "^" + data[c].astype(str)
            pos = values.index.get_indexer(pd.Index(keys))
            vals = np.where(pos >= 0, values.to_numpy()[np.maximum(pos, 0)], np.nan)
            eta += vals
        if offset is not None:
            eta += np.asarray(offset, dtype=float)
        elif self.offset_name is not None:
            if self.offset_name not in data.columns:
                raise SpecificationError(f"predict: newdata lacks offset column {self.offset_name!r}")
            eta += data[self.offset_name].to_numpy(dtype=float)
        return eta

    # --- display --------------------------------------------------------------------------
    def _fit_lines(self) -> list[str]:
        return []

    def summary(self) -> Summary:
        """A plain-text report of the fit (a str that notebooks show as text)."""
        head = [f"{self.model.upper()}: {self.formula}",
                f"Observations: {self.nobs:,} (of {self.nobs_original:,})",
                "Dropped: " + (", ".join(f"{k} {v:,}" for k, v in self.drops.items() if v)
                               or "none"),
                f"Fixed effects: {', '.join(self.fixef_vars) or 'none'}",
                f"Standard errors: {self.vcov_type}"]
        if self.collinear:
            head.append(f"Collinear, dropped: {', '.join(self.collinear)}")
        if self.fixed_coefs:
            head.append("Held fixed: " + ", ".join(f"{k} = {v:g}"
                                                  for k, v in self.fixed_coefs.items()))
        stat = "t" if self.model == "ols" else "z"
        table = self.tidy().set_index("term")[["estimate", "std_error", "statistic", "p_value"]]
        table.columns = ["Estimate", "Std. Error", f"{stat} value", f"Pr(>|{stat}|)"]
        body = table.to_string(float_format=lambda v: f"{v:.6g}")
        return Summary("\n".join(head + ["", body, ""] + self._fit_lines()))

    def __repr__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


@dataclass(repr=False)
class PPMLResults(Results):
    """PPML fit: adds deviance, log-likelihood and pseudo R2 (McFadden, as fixest)."""

    deviance: float = np.nan
    loglik: float = np.nan
    loglik_null: float = np.nan

    @property
    def pseudo_r2(self) -> float:
        return 1.0 - self.loglik / self.loglik_null

    def _fit_lines(self) -> list[str]:
        return [f"Deviance: {self.deviance:.8g}  Log-likelihood: {self.loglik:.8g}  "
                f"Pseudo R2: {self.pseudo_r2:.6f}",
                f"IRLS iterations: {self.iterations}  converged: {self.converged}"]


@dataclass(repr=False)
class OLSResults(Results):
    """OLS fit: adds the residual sum of squares and R2 (total and within)."""

    rss: float = np.nan
    tss: float = np.nan
    tss_within: float = np.nan

    @property
    def r2(self) -> float:
        return 1.0 - self.rss / self.tss

    @property
    def r2_within(self) -> float:
        return 1.0 - self.rss / self.tss_within

    def _fit_lines(self) -> list[str]:
        return [f"RSS: {self.rss:.8g}  R2: {self.r2:.6f}  Within R2: {self.r2_within:.6f}"]
