"""Wild cluster bootstrap against the wildboottest package (full enumeration of Rademacher
signs: identical bootstrap distributions, so t and p agree to rounding) and randomization
inference by permuting unit treatment paths."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tradeflows as tf
from tradeflows.errors import SpecificationError
from tradeflows.estimation import ssc
from tradeflows.estimation.inference import (
    _permuted_paths,
    randomization_inference,
    wild_cluster_bootstrap,
)

sm = pytest.importorskip("statsmodels.api")
wbt = pytest.importorskip("wildboottest.wildboottest")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    G, per = 9, 20
    df = pd.DataFrame({"g": np.repeat(np.arange(G), per), "x": rng.normal(size=G * per),
                       "z": rng.normal(size=G * per)})
    df["y"] = (0.15 * df.x + 0.5 * df.z + rng.normal(size=len(df))
               + np.repeat(rng.normal(size=G), per))
    return df


def _reference(df: pd.DataFrame, dummies: bool, impose_null: bool):
    X = sm.add_constant(df[["x", "z"]])
    if dummies:
        X = pd.concat([X, pd.get_dummies(df.g, prefix="g", drop_first=True).astype(float)],
                      axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return wbt.wildboottest(sm.OLS(df.y, X), B=999, cluster=df.g.to_numpy(), param="x",
                                seed=1, impose_null=impose_null, show=False,
                                parallel=False)


@pytest.mark.parametrize("impose_null", [True, False])
def test_wild_bootstrap_matches_wildboottest_without_fe(data, impose_null) -> None:
    ref = _reference(data, dummies=False, impose_null=impose_null)
    ours = wild_cluster_bootstrap(data, "y ~ x + z", "x", "g", B=999, impose_null=impose_null)
    assert ours.enumerated and ours.t_boot.size == 2**9
    assert ours.statistic == pytest.approx(float(ref["statistic"].iloc[0]), rel=1e-10)
    assert ours.pvalue == pytest.approx(float(ref["p-value"].iloc[0]), abs=1e-12)
    fit = tf.ols(data, "y ~ x + z", vcov={"CL": "g"})
    assert ours.statistic == pytest.approx(fit.tstat["x"], rel=1e-10)


def test_wild_bootstrap_with_fe_nested_in_clusters_matches_dummies(data) -> None:
    ref = _reference(data, dummies=True, impose_null=True)
    ours = wild_cluster_bootstrap(data, "y ~ x + z | g", "x", "g", B=999,
                                  ssc=ssc(fixef_k="full"))
    assert ours.statistic == pytest.approx(float(ref["statistic"].iloc[0]), rel=1e-8)
    assert ours.pvalue == pytest.approx(float(ref["p-value"].iloc[0]), abs=1e-12)


def test_wild_bootstrap_random_weights_are_seeded(data) -> None:
    a = wild_cluster_bootstrap(data, "y ~ x + z", "x", "g", B=299, weights="webb", seed=4)
    b = wild_cluster_bootstrap(data, "y ~ x + z", "x", "g", B=299, weights="webb", seed=4)
    assert not a.enumerated and np.array_equal(a.t_boot, b.t_boot) and 0 <= a.pvalue <= 1
    with pytest.raises(SpecificationError, match="not a regressor"):
        wild_cluster_bootstrap(data, "y ~ x + z", "w", "g")


def _policy_panel(effect: float, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units, years = np.arange(20), np.arange(2000, 2010)
    df = pd.DataFrame([(u, t) for u in units for t in years], columns=["unit", "year"])
    df["policy"] = ((df.unit < 6) & (df.year >= 2000 + 2 * (df.unit % 3) + 3)).astype(float)
    mu = np.exp(1.0 + rng.normal(size=20)[df.unit] + 0.05 * (df.year - 2000)
                + effect * df.policy)
    df["y"] = rng.poisson(mu).astype(float)
    return df


def test_permutation_reassigns_whole_unit_paths() -> None:
    df = _policy_panel(0.0)
    new = _permuted_paths(df, "policy", ["unit"], "year", np.random.default_rng(0))
    old_paths = sorted(map(tuple, df.policy.to_numpy().reshape(20, 10)))
    new_paths = sorted(map(tuple, new.reshape(20, 10)))
    assert old_paths == new_paths and not np.array_equal(new, df.policy.to_numpy())


def test_randomization_inference_detects_effect_and_not_absence() -> None:
    strong = randomization_inference(_policy_panel(0.8), "y ~ policy | unit + year",
                                     "policy", "unit", "year", draws=39, vcov="hetero")
    assert strong.pvalue == pytest.approx(1 / 40)
    null = randomization_inference(_policy_panel(0.0), "y ~ policy | unit + year", "policy",
                                   "unit", "year", draws=39, statistic="coef")
    assert null.pvalue > 0.1 and null.permuted.size == 39


def test_score_bootstrap_equals_explicit_computation() -> None:
    """Restricted Poisson fit with explicit dummies (statsmodels GLM, null as an offset),
    regressors partialled out by weighted least squares on the dummies, cluster scores and
    every sign pattern by loops."""
    import itertools

    rng = np.random.default_rng(5)
    G, per = 8, 15
    df = pd.DataFrame({"g": np.repeat(np.arange(G), per), "x": rng.normal(size=G * per),
                       "z": rng.normal(size=G * per), "f": np.tile(np.arange(5), G * per // 5)})
    df["y"] = rng.poisson(np.exp(0.5 + 0.2 * df.x + 0.3 * df.z + 0.1 * df.f)).astype(float)
    ours = tf.score_bootstrap(df, "y ~ x + z | f", "x", "g", r=0.1, B=999, tol=1e-12)

    D = pd.get_dummies(df.f, prefix="f").astype(float).to_numpy()
    glm = sm.GLM(df.y, np.column_stack([df.z, D]), family=sm.families.Poisson(),
                 offset=0.1 * df.x).fit(tol=1e-13)
    mu = glm.fittedvalues.to_numpy()
    X = df[["z", "x"]].to_numpy()
    sw = np.sqrt(mu)
    coef = np.linalg.lstsq(D * sw[:, None], X * sw[:, None], rcond=None)[0]
    Xt = X - D @ coef
    H = Xt.T @ (Xt * mu[:, None])
    S = np.array([Xt[df.g == g].T @ (df.y[df.g == g] - mu[df.g == g]) for g in range(G)])
    C = S @ np.linalg.inv(H)[-1]
    t = C.sum() / np.sqrt((C**2).sum())
    boot = [np.dot(v, C) / np.sqrt(np.sum((np.array(v) * C) ** 2))
            for v in itertools.product([-1.0, 1.0], repeat=G)]
    assert ours.statistic == pytest.approx(t, rel=1e-7)
    assert ours.enumerated and ours.pvalue == pytest.approx(np.mean(np.abs(t) < np.abs(boot)))
    assert ours.variant == "score" and ours.G == G
