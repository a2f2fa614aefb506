"""Size of tests with few clusters: pair-clustered Wald z test vs the PPML score bootstrap.

Usage: python benchmarks/bench_few_clusters.py [G] [R]   (default 8 clusters, 300 samples)

Each sample: G clusters of 40 rows, a regressor mostly constant within clusters, a
cluster-level random effect in the Poisson mean, 4 fixed-effect groups; the true coefficient
(0.2) is tested at 5%. Prints the rejection rates (nominal 0.05). Results: docs/estimation.md.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd

import tradeflows as tf


def main(G: int = 8, R: int = 300, per: int = 40) -> None:
    rej_wald = rej_score = 0
    start = time.perf_counter()
    for s in range(R):
        rng = np.random.default_rng(s)
        g = np.repeat(np.arange(G), per)
        x = rng.normal(size=G)[g] + 0.3 * rng.normal(size=G * per)
        u = 0.5 * rng.normal(size=G)[g] + 0.3 * rng.normal(size=G * per)
        f = np.tile(np.arange(4), G * per // 4)
        y = rng.poisson(np.exp(1.0 + 0.2 * x + u + 0.1 * f)).astype(float)
        df = pd.DataFrame({"y": y, "x": x, "g": g, "f": f})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = tf.ppml(df, "y ~ x | f", vcov={"CL": "g"})
            rej_wald += abs((fit.coef["x"] - 0.2) / fit.se["x"]) > 1.959963984540054
            rej_score += tf.score_bootstrap(df, "y ~ x | f", "x", "g", r=0.2, B=999).pvalue < 0.05
    print(f"G={G} R={R}: clustered Wald rejects {rej_wald / R:.3f}, score bootstrap "
          f"{rej_score / R:.3f} at 5% ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
