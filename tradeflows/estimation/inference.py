"""Inference with few clusters: the wild cluster bootstrap (linear models) and randomization
inference for a policy indicator (any estimator).

**Wild cluster bootstrap** (Cameron, Gelbach and Miller 2008; the "11" variant of MacKinnon,
Nielsen and Webb 2023, computed as Roodman et al. 2019 "fast and wild"): the fixed effects are
projected out (Frisch-Waugh-Lovell), the null ``b_param = r`` is imposed (WCR, default) or not
(WCU), residuals are multiplied by one weight per cluster (Rademacher, Webb or Mammen), and
the bootstrap t statistics use the CRV1 standard error with the fit's small-sample factor.
With Rademacher weights and 2^G <= B every sign pattern is enumerated once (exact, no
randomness). p-value (two-tailed, as wildboottest): share of bootstrap |t*| above |t|.
Projecting out the fixed effects first is exact when every fixed effect is nested in the
cluster variable (unit FE, unit clusters) or absent; otherwise the bootstrap residuals are
not re-projected on the FE in each draw (as fwildclusterboot's ``fe=``).

**Score bootstrap for PPML** (Kline and Santos 2012; what Stata's boottest does after
maximum-likelihood estimation): the model is refitted with the null imposed
(``fixed_coefs={param: r}``), the regressors are demeaned with its weights, and the score
statistic t = sum_g C_g / sqrt(sum_g C_g^2), C_g = [H^-1 S_g]_param (S_g the cluster sums of
the scores x~_i (y_i - mu~_i), H = X~' diag(mu~) X~), is compared with its wild versions
with C_g multiplied by the cluster weights (all sign patterns when 2^G <= B).

**Randomization inference**: the treatment path of each unit (its treatment values over time)
is reassigned at random among units observed in the same periods, the model re-estimated,
and the observed statistic compared with the permutation distribution:
p = (1 + #{|stat*| >= |stat|}) / (1 + draws).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from tradeflows.errors import SpecificationError
from tradeflows.estimation.demean import demean_coef
from tradeflows.estimation.sample import build_sample
from tradeflows.estimation.vcov import fixef_dof

__all__ = ["BootstrapResult", "wild_cluster_bootstrap", "score_bootstrap",
           "RandomizationResult", "randomization_inference"]


@dataclass(frozen=True)
class BootstrapResult:
    """Wild cluster bootstrap test of ``param = r``: statistic (t, CRV1), pvalue, the
    bootstrap t statistics (B,), number of clusters G, whether all sign patterns were
    enumerated, the variant ("WCR11"/"WCU11") and the weight distribution."""

    param: str
    r: float
    statistic: float
    pvalue: float
    t_boot: np.ndarray
    G: int
    enumerated: bool
    variant: str
    weights: str

    def __repr__(self) -> str:
        return (f"{self.variant} wild cluster bootstrap ({self.weights}, B={self.t_boot.size}"
                f"{', all sign patterns' if self.enumerated else ''}, G={self.G}): "
                f"{self.param} = {self.r:g}: t = {self.statistic:.4f}, p = {self.pvalue:.4f}")


def _weights(kind: str, G: int, B: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """(G, B) weights and whether the Rademacher signs were fully enumerated."""
    if kind == "rademacher":
        if 2**G <= B:
            return np.array(list(product([-1.0, 1.0], repeat=G))).T, True
        return rng.choice([-1.0, 1.0], size=(G, B)), False
    if kind == "webb":
        vals = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
        return rng.choice(vals, size=(G, B)), False
    if kind == "mammen":
        s5 = np.sqrt(5.0)
        vals = np.array([-(s5 - 1) / 2, (s5 + 1) / 2])
        probs = np.array([(s5 + 1) / (2 * s5), (s5 - 1) / (2 * s5)])
        return rng.choice(vals, size=(G, B), p=probs), False
    raise SpecificationError(f"weights must be rademacher, webb or mammen, not {kind!r}")


def _n_clusters(codes: np.ndarray, what: str) -> int:
    """Number of clusters of the 0-based ``codes``; ``what`` needs at least 2."""
    G = int(codes.max()) + 1
    if G < 2:
        raise SpecificationError(f"{what} needs at least 2 clusters")
    return G


def _cluster_scores(codes: np.ndarray, G: int, X: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(G, k) cluster sums of the scores ``X[:, c] * u`` (``X``: (n, k), ``u``: (n,))."""
    return np.column_stack([np.bincount(codes, weights=X[:, c] * u, minlength=G)
                            for c in range(X.shape[1])])


def wild_cluster_bootstrap(data: pd.DataFrame, formula: str, param: str, cluster: str, *,
                           r: float = 0.0, B: int = 9999, weights: str = "rademacher",
                           impose_null: bool = True, seed: int = 0, ssc: object = None,
                           weights_col: object = None) -> BootstrapResult:
    """Wild cluster bootstrap test of ``param = r`` in the OLS model ``formula``, clusters
    ``cluster`` (a column or ``a^b``). See the module docstring for the method.

    ssc: small-sample convention as in ``tradeflows.ols`` (the t statistic equals the fit's
    clustered t statistic). weights_col: regression weights (column or array).
    """
    s = build_sample(data, formula, model="ols", vcov={"CL": cluster}, weights=weights_col,
                     ssc=ssc)
    if param not in s.coefnames:
        raise SpecificationError(f"wild bootstrap: {param!r} is not a regressor of {formula!r}")
    sw = np.sqrt(s.weights)
    M = np.column_stack([s.y, s.X])
    Md, _, _, _, ok = demean_coef(M, s.fe, s.weights, tol=1e-12)
    yd, Xd = Md[:, 0] * sw, Md[:, 1:] * sw[:, None]
    n, k = Xd.shape
    codes = s.clusters[0]
    G = _n_clusters(codes, "wild bootstrap")
    A = np.linalg.inv(Xd.T @ Xd)
    j = s.coefnames.index(param)
    beta = A @ (Xd.T @ yd)
    if impose_null:
        a = A[:, j]
        beta_r = beta - a * (beta[j] - r) / A[j, j]
    else:
        beta_r = beta
    u = yd - Xd @ beta_r
    S = _cluster_scores(codes, G, Xd, u)  # cluster scores X_g' u_g
    XgXg = np.zeros((G, k, k))
    for c in range(k):
        for d in range(c + 1):
            XgXg[:, c, d] = XgXg[:, d, c] = np.bincount(codes, weights=Xd[:, c] * Xd[:, d],
                                                        minlength=G)
    K = k + fixef_dof(s.fe, [codes], s.ssc.fixef_k)
    factor = ((n - 1) / (n - K) if s.ssc.adj else 1.0) * (G / (G - 1) if s.ssc.cluster_adj
                                                          else 1.0)
    C = S @ A[:, j]                                   # (G,) R A S_g
    H = np.einsum("i,gik,kh->gh", A[j], XgXg, A @ S.T)  # (G, G) R A Xg'Xg A S_h
    V, enumerated = _weights(weights, G, B, np.random.default_rng(seed))
    numer = C @ V
    Z = C[:, None] * V - H @ V
    t_boot = numer / np.sqrt(factor * np.sum(Z**2, axis=0))
    # the observed t: unrestricted residuals, CRV1
    e = yd - Xd @ beta
    se = np.sqrt(factor * np.sum((_cluster_scores(codes, G, Xd, e) @ A[:, j]) ** 2))
    t = (beta[j] - r) / se
    pvalue = float(np.mean(np.abs(t) < np.abs(t_boot)))
    return BootstrapResult(param, float(r), float(t), pvalue, t_boot, G, enumerated,
                           "WCR11" if impose_null else "WCU11", weights)


def score_bootstrap(data: pd.DataFrame, formula: str, param: str, cluster: str, *,
                    r: float = 0.0, B: int = 9999, weights: str = "rademacher", seed: int = 0,
                    **fit_kw: Any) -> BootstrapResult:
    """Wild cluster score bootstrap test of ``param = r`` in the PPML model ``formula``
    (module docstring); ``cluster``: a column or ``a^b``. Other keyword arguments go to
    ``tradeflows.ppml`` (not ``weights``/``fixed_coefs``). ``statistic``: the score t."""
    from tradeflows.estimation.formula import factorize_fe
    from tradeflows.estimation.models import ppml

    if "fixed_coefs" in fit_kw or "weights" in fit_kw:
        raise SpecificationError("score bootstrap: weights and fixed_coefs are not supported")
    fit = ppml(data, formula, vcov={"CL": cluster}, fixed_coefs={param: r}, **fit_kw)
    design = fit.formula_spec.design
    if param not in design.columns:
        raise SpecificationError(f"score bootstrap: {param!r} is not a regressor of {formula!r}")
    rows = data.iloc[fit.sample_index]
    x = design.matrix(rows)[:, design.columns.index(param)]
    X = np.column_stack([fit.X, x])
    mu = np.exp(fit.eta)
    Xd, _, _, _, _ = demean_coef(X, fit.fe, mu, tol=1e-12)
    codes = factorize_fe(rows, cluster)[0]
    G = _n_clusters(codes, "score bootstrap")
    S = _cluster_scores(codes, G, Xd, fit.y - mu)
    Hinv = np.linalg.inv(Xd.T @ (Xd * mu[:, None]))
    C = S @ Hinv[-1]
    t = float(C.sum() / np.sqrt(np.sum(C**2)))
    V, enumerated = _weights(weights, G, B, np.random.default_rng(seed))
    t_boot = (C @ V) / np.sqrt(np.sum((C[:, None] * V) ** 2, axis=0))
    pvalue = float(np.mean(np.abs(t) < np.abs(t_boot)))
    return BootstrapResult(param, float(r), t, pvalue, t_boot, G, enumerated, "score",
                           weights)


@dataclass(frozen=True)
class RandomizationResult:
    """Randomization inference for ``treatment``: the observed statistic, its permutation
    distribution (draws,), the p-value and the statistic used ("coef" or "t")."""

    treatment: str
    observed: float
    permuted: np.ndarray
    pvalue: float
    statistic: str
    #: The fit on the data (its coefficients, standard errors, N).
    result: Any = None

    def __repr__(self) -> str:
        return (f"randomization inference for {self.treatment} ({self.statistic}, "
                f"{self.permuted.size} draws): observed {self.observed:.4f}, "
                f"p = {self.pvalue:.4f}")


class _Paths:
    """Treatment paths as a dense (units, periods) table, for repeated permutation."""

    def __init__(self, data: pd.DataFrame, treatment: str, units: list[str], time: str) -> None:
        self.unit = data.groupby(units, sort=True, dropna=False).ngroup().to_numpy()
        self.period, periods = pd.factorize(data[time], sort=True)
        table = np.full((self.unit.max() + 1, len(periods)), np.nan)
        if pd.Series(self.unit * len(periods) + self.period).duplicated().any():
            raise SpecificationError(f"randomization inference: several rows per unit and "
                                     f"{time!r}; the unit must identify a panel series")
        table[self.unit, self.period] = data[treatment].to_numpy(dtype=float)
        self.table = table
        observed = ~np.isnan(table)
        _, self.pattern = np.unique(observed, axis=0, return_inverse=True)

    def permuted(self, rng: np.random.Generator) -> np.ndarray:
        """Row values after reassigning whole unit paths among units with the same
        observed periods."""
        order = np.arange(self.table.shape[0])
        for g in np.unique(self.pattern):
            members = np.flatnonzero(self.pattern == g)
            order[members] = members[rng.permutation(members.size)]
        return self.table[order][self.unit, self.period]


def _permuted_paths(data: pd.DataFrame, treatment: str, units: list[str], time: str,
                    rng: np.random.Generator) -> np.ndarray:
    """One permutation of the treatment paths (see :class:`_Paths`)."""
    return _Paths(data, treatment, units, time).permuted(rng)


def randomization_inference(data: pd.DataFrame, formula: str, treatment: str,
                            unit: str | list[str] | None = None, time: str | None = None, *,
                            estimator: str = "ppml", draws: int = 199, statistic: str = "t",
                            seed: int = 0,
                            assign: Callable[[np.random.Generator], np.ndarray] | None = None,
                            **fit_kw: Any) -> RandomizationResult:
    """Randomization inference for the coefficient of the policy column ``treatment``
    (a regressor of ``formula``): unit paths permuted ``draws`` times (module docstring).

    unit: column(s) identifying a series (a pair: ["exporter", "importer"]); estimator:
    "ppml" or "ols"; statistic: "t" (studentized, default; robust to heteroskedasticity) or
    "coef"; other keyword arguments go to the estimator (vcov, ssc...). ``assign``: another
    design's placebo assignment instead of permuting unit paths, a function of the random
    generator returning the treatment column (one value per row of ``data``), e.g. start
    years reassigned among countries; ``unit`` and ``time`` are then not used. A draw whose
    treatment is constant is not identified (NaN, left out of the p-value).
    """
    from tradeflows.estimation.models import ols, ppml

    fit_fn = {"ppml": ppml, "ols": ols}.get(estimator)
    if fit_fn is None:
        raise SpecificationError(f"estimator must be 'ppml' or 'ols', not {estimator!r}")
    if statistic not in ("t", "coef"):
        raise SpecificationError(f"statistic must be 't' or 'coef', not {statistic!r}")

    def value(res: Any) -> float:
        if treatment not in res.coef.index:
            return np.nan
        return float(res.tstat[treatment] if statistic == "t" else res.coef[treatment])

    def stat(column: np.ndarray) -> float:
        if np.nanmin(column) == np.nanmax(column):
            return np.nan
        return value(fit_fn(data.assign(**{treatment: column}), formula, **fit_kw))

    fitted = fit_fn(data, formula, **fit_kw)
    observed = value(fitted)
    if not np.isfinite(observed):
        raise SpecificationError(f"randomization inference: {treatment!r} not estimated")
    rng = np.random.default_rng(seed)
    if assign is None:
        if unit is None or time is None:
            raise SpecificationError("randomization inference: give unit and time (or assign)")
        units = [unit] if isinstance(unit, str) else list(unit)
        paths = _Paths(data, treatment, units, time)
        assign = paths.permuted
    perm = np.empty(draws)
    for b in range(draws):
        perm[b] = stat(np.asarray(assign(rng), dtype=float))
    valid = perm[np.isfinite(perm)]
    p = (1 + np.sum(np.abs(valid) >= abs(observed))) / (1 + valid.size)
    return RandomizationResult(treatment, observed, perm, float(p), statistic, fitted)
