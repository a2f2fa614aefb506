"""Benchmark: one GE counterfactual solved by tradeflows and by gegravity 0.3, in one run.

The counterfactual is gegravity's documented example on its sample data (30 countries, 2006):
Canada and Japan sign a PTA (``pta`` = 1 for CAN-JPN and JPN-CAN), sigma = 5, reference
importer DEU, the published example coefficients. Output and expenditure are set to the row and
column sums of trade so that both packages see the same margins.

Prints wall-clock times (best of ``--repeat``), the ratio, and the maximum absolute differences:
baseline and conditional consumer price indexes (the same system in both packages, so they must
agree), and full-GE factory-gate prices (gegravity 0.3 keeps baseline output shares inside the MR
system in its "full GE" stage, whereas tradeflows solves the full-endowment equilibrium of
Yotov et al. (2016, ch. 2); the difference is the model difference, not a solver error).

    python benchmarks/bench_ge.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings

import numpy as np
import pandas as pd

from tradeflows.config import paths
from tradeflows.gravity.ge import GEModel

COEFS = {"lndist": -0.3898623, "contiguity": 0.891577, "common_language": 0.0326249,
         "pta": 0.4711383, "international": -3.412584}
PAIRS = (("CAN", "JPN"), ("JPN", "CAN"))


def load() -> pd.DataFrame:
    d = pd.read_csv(paths().raw / "gegravity_sample" / "sample_data_set.csv")
    d["Y"] = d.groupby("exporter")["trade"].transform("sum")
    d["E"] = d.groupby("importer")["trade"].transform("sum")
    d["constant"] = 1.0
    return d


def run_gegravity(d: pd.DataFrame):
    import gegravity as ge

    coefs = COEFS | {"constant": 16.32434}
    ests = pd.DataFrame({"var": list(coefs), "beta": list(coefs.values())})
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = ge.BaselineData(d, imp_var_name="importer", exp_var_name="exporter",
                               year_var_name="year", trade_var_name="trade",
                               expend_var_name="E", output_var_name="Y")
        cc = ge.CostCoeffs(estimates=ests, identifier_col="var", coeff_col="beta")
        model = ge.OneSectorGE(baseline=base, cost_coeff_values=cc, cost_variables=list(coefs),
                               year="2006", reference_importer="DEU", sigma=5)
        model.build_baseline(omr_rescale=1)
        exp = model.baseline_data.copy()
        for a, b in PAIRS:
            exp.loc[(exp["exporter"] == a) & (exp["importer"] == b), "pta"] = 1
        model.define_experiment(exp)
        model.simulate()
    return model


def run_tradeflows(d: pd.DataFrame, method: str):
    m = GEModel(d, cost_terms=list(COEFS), sigma=5, reference="DEU", coefs=COEFS)
    hit = np.zeros(len(d), bool)
    for a, b in PAIRS:
        hit |= ((d["exporter"] == a) & (d["importer"] == b)).to_numpy()
    res = m.counterfactual({"pta": np.where(hit, 1.0, d["pta"])}, method=method)
    return m, res


def best_time(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    d = load()
    t_gg, gg = best_time(lambda: run_gegravity(d), args.repeat)
    t_fp, (model, fp_res) = best_time(lambda: run_tradeflows(d, "fixed_point"), args.repeat)
    t_pp, (_, pp_res) = best_time(lambda: run_tradeflows(d, "ge_ppml"), args.repeat)
    mr = gg.country_mr_terms
    ours = fp_res.country.set_index("country")
    base_p = model.baseline().set_index("country")["imr"] ** (1 / (1 - 5))
    d_base = np.max(np.abs(base_p / mr.loc[base_p.index, "baseline imr"] - 1))
    theirs_cdl = 100 * (mr["conditional imr"] / mr["baseline imr"] - 1)
    d_cdl = np.max(np.abs(ours["consumer_price_cdl"] - theirs_cdl.loc[ours.index]))
    theirs_p = gg.country_results["factory gate price change (percent)"]
    d_full = np.max(np.abs(ours["producer_price"] - theirs_p.loc[ours.index]))
    d_solvers = np.max(np.abs(fp_res.country["real_gdp"] - pp_res.country["real_gdp"]))
    print(f"gegravity 0.3 OneSectorGE (baseline + experiment): {t_gg:8.3f} s")
    print(f"tradeflows fixed_point (baseline + counterfactual): {t_fp:8.3f} s   "
          f"ratio gegravity/tradeflows = {t_gg / t_fp:7.1f}")
    print(f"tradeflows ge_ppml     (baseline + counterfactual): {t_pp:8.3f} s   "
          f"ratio gegravity/tradeflows = {t_gg / t_pp:7.1f}")
    print(f"max rel. diff, baseline consumer price index:        {d_base:.2e}")
    print(f"max abs. diff, conditional consumer price (pp):      {d_cdl:.2e}")
    print(f"max abs. diff, full-GE factory-gate price (pp):      {d_full:.2e}  (model difference)")
    print(f"max abs. diff, real GDP fixed_point vs ge_ppml (pp): {d_solvers:.2e}")


if __name__ == "__main__":
    main()
