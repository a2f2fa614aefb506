"""Analytical bias correction for three-way PPML gravity models (Weidner and Zylkin 2021,
"Bias and consistency in three-way gravity models", J. Int. Econ. 129).

Model: y_ijt = exp(x_ijt'b + a_it + g_jt + e_ij) w_ijt with exporter-time, importer-time and
pair fixed effects. With T fixed and N countries, b-hat is consistent but has a bias of order
1/N (from the 2NT exporter- and importer-time effects), and the pair-clustered sandwich is
biased downwards by a term of the same order. Notation per pair p = (i, j) over its T periods:
lambda (fitted), theta = lambda / sum_t lambda, S = y - lambda (the profile score),
H_p = sum(lambda) (diag(theta) - theta theta') (profile Hessian of the pair), x~ the regressors
with all three FE partialled out (weights lambda), W = sum_p x~_p' diag(lambda_p) x~_p.

Coefficients (the correction is subtracted):

    bias = W^-1 [N_i/(N_i - 1) sum_i (-B1_i + B2_i) + N_j/(N_j - 1) sum_j (-D1_j + D2_j)]
    B1_i = tr(Hbar_i^+ sum_{p in i} H_p x~_p S_p'),
    B2_i = 1/2 tr(G_i Hbar_i^+ (sum_{p in i} S_p S_p') Hbar_i^+),

with Hbar_i = sum_{p in i} H_p, ^+ the pseudo-inverse, and G_i = sum_{p in i} G_p[x~], the
third derivative of the pair's profile likelihood contracted with x~_p:
G_p[x] = -sum(lambda) (diag(a) - a theta' - theta a'), a = theta * (x - theta'x). D1, D2:
the same with importers.

Variance: each pair's score outer product is corrected for its leverage,
Omega = sum_p x~_p' (I - L_p)^-1 S_p S_p' x~_p with L_p = H_p (x~_p W^-1 x~_p' +
d_p V_FE d_p'), d_p the pair's exporter-time and importer-time dummies (T x F) and
V_FE = (sum_p d_p' H_p d_p)^+; V = G/(G - 1) W^-1 Omega W^-1 (G pairs; symmetrized). The
leverage term needs an F x F matrix, F = T (N_i + N_j); ``max_fe`` bounds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeflows.errors import SpecificationError
from tradeflows.estimation.demean import demean_coef

__all__ = ["BiasCorrectedPPML", "three_way_bias_correction"]


@dataclass
class BiasCorrectedPPML:
    """Uncorrected and bias-corrected coefficients, the estimated bias, the pair-clustered
    covariance matrices (uncorrected, Stata convention G/(G-1); corrected for leverage), and
    the sizes N_i (exporters), N_j (importers), T (periods), G (pairs)."""

    coef: pd.Series
    bias: pd.Series
    coef_corrected: pd.Series
    vcov: pd.DataFrame
    vcov_corrected: pd.DataFrame
    n_exporters: int
    n_importers: int
    n_periods: int
    n_pairs: int

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov)), index=self.coef.index, name="std_error")

    @property
    def se_corrected(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov_corrected)), index=self.coef.index,
                         name="std_error_corrected")

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """term, estimate, bias, estimate_corrected, std_error, std_error_corrected and the
        corrected normal interval at ``level``."""
        from scipy import stats

        z = stats.norm.ppf(0.5 + level / 2)
        b, s = self.coef_corrected, self.se_corrected
        return pd.DataFrame({"term": self.coef.index, "estimate": self.coef.to_numpy(),
                             "bias": self.bias.to_numpy(), "estimate_corrected": b.to_numpy(),
                             "std_error": self.se.to_numpy(), "std_error_corrected": s.to_numpy(),
                             "conf_low": (b - z * s).to_numpy(),
                             "conf_high": (b + z * s).to_numpy()})


def _check_fixed_effects(fit, codes: dict[str, np.ndarray]) -> None:
    """The fit's three FE must be exporter-time, importer-time and pair (any order)."""
    if fit.fe.shape[1] != 3:
        raise SpecificationError("three-way bias correction needs exactly three fixed effects "
                                 "(exporter-time, importer-time, pair)")
    found = set()
    for q in range(3):
        for name, combo in codes.items():
            pairs = np.unique(np.column_stack([fit.fe[:, q], combo]), axis=0)
            if len(pairs) == len(np.unique(pairs[:, 0])) == len(np.unique(pairs[:, 1])):
                found.add(name)
    if found != set(codes):
        raise SpecificationError(
            "three-way bias correction: the fixed effects of the fit must be exporter-time, "
            f"importer-time and pair; missing {sorted(set(codes) - found)}")


def _group_sum(values: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, *values.shape[1:]))
    np.add.at(out, groups, values)
    return out


def three_way_bias_correction(fit, data: pd.DataFrame, exporter: str = "exporter",
                              importer: str = "importer", time: str = "year", *,
                              variance: bool = True, max_fe: int = 6000) -> BiasCorrectedPPML:
    """Bias-corrected coefficients and variance of a three-way PPML ``fit`` (see the module
    docstring). ``data``: the frame the model was fitted on; exporter, importer, time: its
    columns identifying the origin, destination and period of each row. variance=False skips
    the leverage-corrected variance (whose cost grows with F^3, F = T (N_i + N_j); above
    ``max_fe`` it raises)."""
    if fit.model != "ppml":
        raise SpecificationError("three-way bias correction applies to PPML fits")
    rows = data.iloc[fit.sample_index]
    ex, ex_lv = pd.factorize(rows[exporter], sort=True)
    im, im_lv = pd.factorize(rows[importer], sort=True)
    tt, t_lv = pd.factorize(rows[time], sort=True)
    Ni, Nj, T = len(ex_lv), len(im_lv), len(t_lv)
    pair, pair_lv = pd.factorize(ex.astype(np.int64) * Nj + im, sort=True)
    P = len(pair_lv)
    _check_fixed_effects(fit, {"exporter-time": ex * T + tt, "importer-time": im * T + tt,
                               "pair": pair})
    lam = np.exp(fit.eta)
    y = fit.y if fit.y is not None else None
    if y is None:
        raise SpecificationError("three-way bias correction needs a fit from tradeflows.ppml "
                                 "(it keeps the dependent variable)")
    Xd, _, _, _, _ = demean_coef(fit.X, fit.fe, lam, tol=1e-12)
    K = Xd.shape[1]
    # dense (P, T) layout; missing periods have lambda = y = x~ = 0
    L = np.zeros((P, T))
    Yp = np.zeros((P, T))
    Xp = np.zeros((P, T, K))
    L[pair, tt], Yp[pair, tt], Xp[pair, tt] = lam, y, Xd
    pe, pm = pair_lv // Nj, pair_lv % Nj  # exporter and importer of each pair
    sl = L.sum(axis=1)
    theta = L / sl[:, None]
    S = Yp - L
    eye = np.eye(T)
    H = sl[:, None, None] * (theta[:, :, None] * eye - theta[:, :, None] * theta[:, None, :])
    W = np.einsum("ptk,pt,ptl->kl", Xp, L, Xp)
    Winv = np.linalg.inv(W)
    Hx = np.einsum("pts,psk->ptk", H, Xp)
    SS = S[:, :, None] * S[:, None, :]
    m = np.einsum("pt,ptk->pk", theta, Xp)
    a = theta[:, :, None] * (Xp - m[:, None, :])          # (P, T, K)
    G = -sl[:, None, None, None] * (
        np.einsum("ptk,ts->pkts", a, eye)
        - a.transpose(0, 2, 1)[:, :, :, None] * theta[:, None, None, :]
        - theta[:, None, :, None] * a.transpose(0, 2, 1)[:, :, None, :])  # (P, K, T, T)
    HXS = Hx.transpose(0, 2, 1)[:, :, :, None] * S[:, None, None, :]   # (P, K, T, T)

    def side(groups: np.ndarray, n: int) -> np.ndarray:
        Hbar = np.linalg.pinv(_group_sum(H, groups, n), hermitian=True)     # (n, T, T)
        B1 = np.einsum("nts,nkst->nk", Hbar, _group_sum(HXS, groups, n))
        mid = Hbar @ _group_sum(SS, groups, n) @ Hbar
        B2 = 0.5 * np.einsum("nkts,nst->nk", _group_sum(G, groups, n), mid)
        return n / (n - 1) * (-B1 + B2).sum(axis=0)

    bias = Winv @ (side(pe, Ni) + side(pm, Nj))
    names = list(fit.coefnames)
    beta = np.asarray(fit.coef_values)
    xSSx = np.einsum("ptk,pts,psl->kl", Xp, SS, Xp)
    V0 = P / (P - 1) * Winv @ xSSx @ Winv
    V1 = np.full_like(V0, np.nan)
    if variance:
        V1 = _corrected_vcov(Xp, H, SS, Winv, pe, pm, Ni, Nj, T, max_fe) * P / (P - 1)
    return BiasCorrectedPPML(
        coef=pd.Series(beta, index=names, name="estimate"),
        bias=pd.Series(bias, index=names, name="bias"),
        coef_corrected=pd.Series(beta - bias, index=names, name="estimate_corrected"),
        vcov=pd.DataFrame(V0, index=names, columns=names),
        vcov_corrected=pd.DataFrame(V1, index=names, columns=names),
        n_exporters=Ni, n_importers=Nj, n_periods=T, n_pairs=P)


def _corrected_vcov(Xp, H, SS, Winv, pe, pm, Ni, Nj, T, max_fe) -> np.ndarray:
    """W^-1 Omega W^-1 with leverage-corrected pair score outer products (no G/(G-1))."""
    F = T * (Ni + Nj)
    if F > max_fe:
        raise SpecificationError(
            f"leverage-corrected variance needs a {F} x {F} matrix (more than max_fe={max_fe}); "
            "pass variance=False or a larger max_fe")
    t = np.arange(T)
    ie = pe[:, None] * T + t                   # (P, T) columns of exporter-time dummies
    im = Ni * T + pm[:, None] * T + t          # importer-time dummies
    info = np.zeros((F, F))
    for r in (ie, im):
        for c in (ie, im):
            np.add.at(info, (r[:, :, None], c[:, None, :]), H)
    Vfe = np.linalg.pinv(info, hermitian=True)
    dVd = sum(Vfe[r[:, :, None], c[:, None, :]] for r in (ie, im) for c in (ie, im))
    xVx = np.einsum("ptk,kl,psl->pts", Xp, Winv, Xp)
    lev = H @ (xVx + dVd)
    corrected = np.linalg.solve(np.eye(T)[None] - lev, SS)
    omega = np.einsum("ptk,pts,psl->kl", Xp, corrected, Xp)
    V = Winv @ omega @ Winv
    return (V + V.T) / 2
