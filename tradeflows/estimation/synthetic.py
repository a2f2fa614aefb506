"""Synthetic structural-gravity panels with known coefficients (for tests and benchmarks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["gravity_panel"]


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
