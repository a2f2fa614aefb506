"""Synthetic structural-gravity panels with known coefficients (for tests and benchmarks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["gravity_panel", "three_way_panel"]


def gravity_panel(n_countries: int, n_years: int, *, seed: int = 0, beta1: float = 0.3,
                  beta2: float = -0.15, zero_share: float = 0.4) -> pd.DataFrame:
    """N*(N-1)*T rows (exporter != importer) with exporter-year, importer-year and pair
    effects and two policy dummies.

    flow = D * exp(a_it + m_jt + d_ij + beta1*x1 + beta2*x2) * LogNormal(-0.125, 0.5) with
    D ~ Bernoulli(1 - zero_share) (about ``zero_share`` zeros, independent of the regressors,
    so PPML is consistent for beta1, beta2). x1: a pair agreement switching on in a random
    year (staggered, 40% of pairs ever); x2: a pair-year dummy depending on both countries.
    Columns: exporter, importer, year (int), exp_year, imp_year, pair (int codes), x1, x2,
    flow (float64). Deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    N, T = n_countries, n_years
    ex, im = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    off = ex != im
    ex, im = ex[off], im[off]
    P = ex.size
    exp_p = np.repeat(ex, T)
    imp_p = np.repeat(im, T)
    year = np.tile(np.arange(T), P)
    pair = np.repeat(np.arange(P), T)
    a = rng.normal(0.0, 1.0, (N, T)) + np.linspace(0, 0.5, T)
    m = rng.normal(0.0, 1.0, (N, T))
    d = rng.normal(0.0, 1.5, P)
    start = np.where(rng.random(P) < 0.4, rng.integers(1, T, P), T + 1)
    x1 = (year >= start[pair]).astype(np.float64)
    member = rng.random((N, T)) < 0.3
    x2 = (member[exp_p, year] & member[imp_p, year]).astype(np.float64)
    mu = np.exp(a[exp_p, year] + m[imp_p, year] + d[pair] + beta1 * x1 + beta2 * x2)
    noise = rng.lognormal(-0.125, 0.5, mu.size)
    flow = np.where(rng.random(mu.size) < zero_share, 0.0, mu * noise)
    return pd.DataFrame({
        "exporter": exp_p, "importer": imp_p, "year": year,
        "exp_year": exp_p * T + year, "imp_year": imp_p * T + year, "pair": pair,
        "x1": x1, "x2": x2, "flow": flow})


def three_way_panel(n_countries: int, n_periods: int, *, seed: int = 0, beta: float = 1.0,
                    dgp: int = 2) -> pd.DataFrame:
    """Three-way gravity panel in the design of Weidner and Zylkin (2021, section 5):
    N*(N-1)*T rows (exporter != importer) with y = lambda * omega,
    lambda = exp(beta*x + a_it + g_jt + e_ij), FE ~ N(0, 1/16), x_ijt = x_ij,t-1 / 2 + FE sum
    + N(0, 1/4) (correlated with the FE), omega log-normal with mean 1, AR(1) (0.3) over time
    and variance 1/lambda^2 (dgp 1), 1/lambda (dgp 2, Poisson-like) or 1 (dgp 3).
    Columns: exporter, importer, year (0..T-1), x, y, mu (the true conditional mean).
    """
    rng = np.random.default_rng(seed)
    n, T = n_countries, n_periods
    i, j = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    keep = i != j
    i, j = i[keep], j[keep]
    P = i.size
    alpha, gamma = rng.normal(0, 0.25, (n, T + 1)), rng.normal(0, 0.25, (n, T + 1))
    eta = rng.normal(0, 0.25, P)
    x, z = np.empty((P, T + 1)), np.empty((P, T + 1))
    x[:, 0], z[:, 0] = eta + rng.normal(0, 0.5, P), rng.normal(size=P)
    for t in range(1, T + 1):
        x[:, t] = x[:, t - 1] / 2 + alpha[i, t] + gamma[j, t] + eta + rng.normal(0, 0.5, P)
        z[:, t] = 0.3 * z[:, t - 1] + rng.normal(0, np.sqrt(1 - 0.09), P)
    X, Z = x[:, 1:], z[:, 1:]
    lam = np.exp(beta * X + alpha[i][:, 1:] + gamma[j][:, 1:] + eta[:, None])
    s2 = {1: 1 / lam**2, 2: 1 / lam, 3: np.ones_like(lam)}[dgp]
    omega = np.exp(-0.5 * np.log1p(s2) + np.sqrt(np.log1p(s2)) * Z)
    return pd.DataFrame({"exporter": [f"C{k:02d}" for k in np.repeat(i, T)],
                         "importer": [f"C{k:02d}" for k in np.repeat(j, T)],
                         "year": np.tile(np.arange(T), P), "x": X.ravel(),
                         "y": (lam * omega).ravel(), "mu": lam.ravel()})
