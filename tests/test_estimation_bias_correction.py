"""Three-way PPML bias correction (Weidner and Zylkin 2021): the vectorized computation
against a pair-by-pair loop over the paper's formulas (third-derivative tensor by cases,
explicit dummy matrices), the uncorrected variance against the fit's pair-clustered one, and
a small simulation from a known DGP (the full one: benchmarks/bench_bias_correction.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tradeflows as tf
from tradeflows.errors import SpecificationError
from tradeflows.estimation.bias_correction import three_way_bias_correction
from tradeflows.estimation.demean import demean
from tradeflows.estimation.synthetic import three_way_panel

FML = "y ~ x + x2 | exporter^year + importer^year + exporter^importer"


def _fit(df: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.ppml(df, FML, vcov={"CL": "exporter^importer"}, ssc="stata", tol=1e-12)


def _reference(fit, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(bias, corrected vcov) by loops over pairs, straight from the formulas."""
    rows = df.iloc[fit.sample_index].reset_index(drop=True)
    lam = np.exp(fit.eta)
    xt, _ = demean(fit.X, fit.fe, lam, tol=1e-13)
    ex = sorted(rows.exporter.unique())
    im = sorted(rows.importer.unique())
    years = sorted(rows.year.unique())
    T, K = len(years), xt.shape[1]
    W = xt.T @ (xt * lam[:, None])
    Winv = np.linalg.inv(W)
    blocks = {}
    for (e, m), g in rows.groupby(["exporter", "importer"]):
        lt, yt, xx = np.zeros(T), np.zeros(T), np.zeros((T, K))
        pos = [years.index(v) for v in g.year]
        lt[pos], yt[pos], xx[pos] = lam[g.index], fit.y[g.index], xt[g.index]
        s = lt.sum()
        th = lt / s
        H = s * (np.diag(th) - np.outer(th, th))
        Gt = np.zeros((T, T, T))
        for t in range(T):
            for u in range(T):
                for r in range(T):
                    if t == u == r:
                        v = -th[t] * (1 - th[t]) * (1 - 2 * th[t])
                    elif u == r:
                        v = th[u] * (1 - 2 * th[u]) * th[t]
                    elif t == u:
                        v = th[u] * (1 - 2 * th[u]) * th[r]
                    elif r == t:
                        v = th[t] * (1 - 2 * th[t]) * th[u]
                    else:
                        v = -2 * th[r] * th[u] * th[t]
                    Gt[t, u, r] = v * s
        blocks[(e, m)] = dict(H=H, S=yt - lt, x=xx, G=Gt)

    def side(index: int, members: list) -> np.ndarray:
        total = np.zeros(K)
        for c in members:
            mine = [b for key, b in blocks.items() if key[index] == c]
            Hinv = np.linalg.pinv(sum(b["H"] for b in mine))
            SS = sum(np.outer(b["S"], b["S"]) for b in mine)
            for k in range(K):
                HXS = sum(np.outer(b["H"] @ b["x"][:, k], b["S"]) for b in mine)
                GX = sum(np.einsum("tur,r->tu", b["G"], b["x"][:, k]) for b in mine)
                total[k] += -np.trace(Hinv @ HXS) + 0.5 * np.trace(GX @ Hinv @ SS @ Hinv)
        return len(members) / (len(members) - 1) * total

    bias = Winv @ (side(0, ex) + side(1, im))
    F = T * (len(ex) + len(im))
    dmat = {}
    info = np.zeros((F, F))
    for (e, m), b in blocks.items():
        d = np.zeros((T, F))
        for t in range(T):
            d[t, ex.index(e) * T + t] = 1
            d[t, len(ex) * T + im.index(m) * T + t] = 1
        dmat[(e, m)] = d
        info += d.T @ b["H"] @ d
    Vfe = np.linalg.pinv(info)
    omega = np.zeros((K, K))
    for key, b in blocks.items():
        d = dmat[key]
        lev = b["H"] @ (b["x"] @ Winv @ b["x"].T + d @ Vfe @ d.T)
        omega += b["x"].T @ np.linalg.solve(np.eye(T) - lev, np.outer(b["S"], b["S"])) @ b["x"]
    P = len(blocks)
    V = P / (P - 1) * Winv @ omega @ Winv
    return bias, (V + V.T) / 2


def test_vectorized_correction_equals_pairwise_loops() -> None:
    df = three_way_panel(7, 4, seed=2).assign(x2=lambda d: np.sin(d.x) + 0.1 * d.year)
    df = df.drop(index=[3, 17, 40]).reset_index(drop=True)  # unbalanced: a few pair-years gone
    fit = _fit(df)
    bc = three_way_bias_correction(fit, df)
    bias, V = _reference(fit, df)
    np.testing.assert_allclose(bc.bias.to_numpy(), bias, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(bc.vcov_corrected.to_numpy(), V, rtol=1e-7)
    np.testing.assert_allclose(bc.vcov.to_numpy(), fit.vcov_matrix, rtol=1e-8)
    np.testing.assert_allclose(bc.coef_corrected, fit.coef - bias, rtol=0, atol=1e-10)
    assert (bc.n_exporters, bc.n_periods) == (7, 4) and len(bc.tidy()) == 2


def test_simulation_bias_shrinks_and_se_grows() -> None:
    """20 panels of 14 countries x 4 periods (WZ design 1, beta = 1). The first-order term
    of b-hat - b, computed with the true means (mean zero), is subtracted from both
    estimators as a control variate, leaving the bias plus higher-order noise (sd 0.03
    instead of 0.06). Measured: bias 0.0385 uncorrected, 0.0108 corrected."""
    raw, corrected, se, se_c = [], [], [], []
    for seed in range(20):
        df = three_way_panel(14, 4, seed=seed, dgp=1)
        fit = tf.ppml(df, "y ~ x | exporter^year + importer^year + exporter^importer",
                      vcov={"CL": "exporter^importer"}, ssc="stata", separation=())
        bc = three_way_bias_correction(fit, df)
        mu = df.mu.to_numpy()[fit.sample_index]
        xt, _ = demean(df[["x"]].to_numpy()[fit.sample_index], fit.fe, mu, tol=1e-12)
        first_order = xt[:, 0] @ (df.y.to_numpy()[fit.sample_index] - mu) / (xt[:, 0] ** 2 @ mu)
        raw.append(bc.coef["x"] - 1.0 - first_order)
        corrected.append(bc.coef_corrected["x"] - 1.0 - first_order)
        se.append(bc.se["x"])
        se_c.append(bc.se_corrected["x"])
    assert np.mean(raw) > 0.02 and abs(np.mean(corrected)) < 0.5 * np.mean(raw)
    assert np.mean(se_c) > 1.05 * np.mean(se)


def test_requires_three_way_fixed_effects() -> None:
    df = three_way_panel(6, 3, seed=1)
    fit = tf.ppml(df, "y ~ x | exporter^year + importer^year")
    with pytest.raises(SpecificationError, match="exactly three"):
        three_way_bias_correction(fit, df)
    fit3 = tf.ppml(df, "y ~ x | exporter^year + importer^year + exporter")
    with pytest.raises(SpecificationError, match="pair"):
        three_way_bias_correction(fit3, df)
