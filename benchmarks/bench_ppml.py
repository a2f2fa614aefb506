"""Benchmark: tradeflows vs pyfixest PPML on synthetic three-way gravity panels.

    python benchmarks/bench_ppml.py --sizes 50x20,100x25,200x30

For each size N x T (N*(N-1)*T rows, ~40% zeros; see tradeflows.estimation.synthetic),
each estimator runs in its own subprocess on the same data and at the same tolerance
(deviance 1e-8, fixed effects 1e-8) for ``flow ~ x1 + x2 | exp_year + imp_year + pair``
with standard errors clustered by pair and the same separation checks (``--separation``,
default "fe", pyfixest's default; tradeflows' own default adds "simplex" and "relu"). Reported: wall seconds of the fit alone, peak RSS of
the subprocess (ru_maxrss: data generation, imports and fit), the RSS increase during the fit,
the coefficients, and the time ratios. Wall time and CPU time (all threads of the process)
are both reported because the machine is shared: CPU time is less sensitive to other load. tradeflows' numba kernels are compiled (or loaded from
the cache) by a warm-up fit on a tiny panel before timing; pyfixest is warmed up the same way.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

FML = "flow ~ x1 + x2 | exp_year + imp_year + pair"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _worker(engine: str, n: int, t: int, tol: float, separation: tuple[str, ...]) -> dict:
    from tradeflows.estimation.synthetic import gravity_panel

    df = gravity_panel(n, t, seed=0)
    tiny = gravity_panel(10, 5, seed=1)
    warnings.simplefilter("ignore")
    if engine == "tradeflows":
        from tradeflows.estimation import ppml

        def fit(d):
            r = ppml(d, FML, vcov={"CL": "pair"}, tol=tol, separation=separation)
            return list(r.coef), list(r.se), r.nobs
    else:
        import pyfixest as pf

        def fit(d):
            m = pf.fepois(FML, data=d, vcov={"CRV1": "pair"}, iwls_tol=tol, fixef_tol=tol,
                          iwls_maxiter=100, separation_check=list(separation))
            return list(m.coef()), list(m.se()), int(m._N)
    fit(tiny)
    before = _rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    coef, se, nobs = fit(df)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"engine": engine, "rows": len(df), "nobs": nobs, "seconds": seconds, "cpu_seconds": cpu,
            "peak_rss_mb": _rss_mb(), "fit_rss_increase_mb": _rss_mb() - before,
            "coef": coef, "se": se}


def run(sizes: list[tuple[int, int]], tol: float, engines: list[str],
        separation: str = "fe") -> list[dict]:
    """Run every engine on every size in subprocesses; returns one dict per (size, engine)."""
    out = []
    for n, t in sizes:
        for engine in engines:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", engine, "--sizes", f"{n}x{t}",
                 "--tol", str(tol), "--separation", separation],
                capture_output=True, text=True, check=True)
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res["size"] = f"{n}x{t}"
            out.append(res)
    return out


def table(results: list[dict]) -> str:
    """Markdown table of the results, with pyfixest/tradeflows time and memory ratios."""
    lines = ["| size | rows | engine | wall s | CPU s | peak RSS (MB) | fit RSS increase (MB) "
             "| x1 | x2 | time ratio pyfixest/tradeflows (wall, CPU) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["size"], r["engine"]): r for r in results}
    for r in results:
        other = by.get((r["size"], "pyfixest"))
        ratio = (f"{other['seconds'] / r['seconds']:.1f}, "
                 f"{other['cpu_seconds'] / r['cpu_seconds']:.1f}"
                 if other and r["engine"] == "tradeflows" else "")
        lines.append(
            f"| {r['size']} | {r['rows']:,} | {r['engine']} | {r['seconds']:.2f} "
            f"| {r['cpu_seconds']:.2f} | {r['peak_rss_mb']:.0f} | {r['fit_rss_increase_mb']:.0f} "
            f"| {r['coef'][0]:.10f} | {r['coef'][1]:.10f} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50x20,100x25,200x30")
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--engines", default="tradeflows,pyfixest")
    ap.add_argument("--separation", default="fe",
                    help="separation checks of both engines (pyfixest's default: fe)")
    ap.add_argument("--worker", choices=["tradeflows", "pyfixest"])
    ap.add_argument("--json", help="also write the raw results to this file")
    a = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    if a.worker:
        print(json.dumps(_worker(a.worker, *sizes[0], a.tol, tuple(a.separation.split(",")))))
        return
    results = run(sizes, a.tol, a.engines.split(","), a.separation)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(results, fh, indent=1)
    print(table(results))


if __name__ == "__main__":
    main()
