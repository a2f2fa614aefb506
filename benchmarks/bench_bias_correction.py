"""Monte Carlo of the three-way PPML bias correction (Weidner and Zylkin 2021 design).

Usage: python benchmarks/bench_bias_correction.py [N] [T] [R] [dgp]   (default 20 5 200 1)

For R panels from :func:`tradeflows.estimation.synthetic.three_way_panel` (beta = 1), fits
PPML with exporter-time, importer-time and pair FE (pair-clustered, Stata convention) and
prints the mean bias of the uncorrected and corrected estimates (with the Monte Carlo
standard error), the standard deviation of the estimates, the mean standard errors and the
coverage of nominal 95% intervals. Results are in docs/estimation.md.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

import tradeflows as tf
from tradeflows.estimation.bias_correction import three_way_bias_correction
from tradeflows.estimation.synthetic import three_way_panel


def main(n: int = 20, periods: int = 5, reps: int = 200, dgp: int = 1) -> None:
    rows = []
    start = time.perf_counter()
    for seed in range(reps):
        df = three_way_panel(n, periods, seed=seed, dgp=dgp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = tf.ppml(df, "y ~ x | exporter^year + importer^year + exporter^importer",
                          vcov={"CL": "exporter^importer"}, ssc="stata")
        bc = three_way_bias_correction(fit, df)
        rows.append((bc.coef["x"], bc.coef_corrected["x"], bc.se["x"], bc.se_corrected["x"]))
    b, bc_, se, se_c = np.array(rows).T
    z = 1.959963984540054
    print(f"N={n} T={periods} R={reps} dgp={dgp}  ({time.perf_counter() - start:.0f} s)")
    for name, est, s in (("uncorrected", b, se), ("corrected", bc_, se_c)):
        print(f"{name:12s} bias {est.mean() - 1:+.4f} (MC se {est.std() / np.sqrt(reps):.4f})"
              f"  sd {est.std():.4f}  mean se {s.mean():.4f}"
              f"  coverage {np.mean(np.abs(est - 1) < z * s):.3f}")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
