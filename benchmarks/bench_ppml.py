"""Benchmark: tradeflows (1 and 2 threads) vs pyfixest, PPML and OLS with three-way fixed effects.

    python benchmarks/bench_ppml.py                       # 50k, 250k, 1.2M (+ without intra)
    python benchmarks/bench_ppml.py --panels 1.2M --engines tf1,tf2,pyfixest
    python benchmarks/bench_ppml.py --panels real --real data/processed/panel.parquet
    python benchmarks/bench_ppml.py --panels 10M --engines tf2   # the 10M-row run
    python benchmarks/bench_ppml.py --panels 1.2M,real --models ppml --engines tf1,tf2 --repeat 3

Panels come from the project's synthetic generator ``gen_gravity.py`` (``--generator``,
default ``../shared/bench/gen_gravity.py`` next to the repository, seed 1; written once into
``--cache``): 50k = 50 countries x 20 years, 250k = 100 x 25, 1.2M = 200 x 30, all with
intra-national flows; ``1.2M-nointra`` drops them; 10M = 500 x 40. ``real`` is the built
panel (``tradeflows build``), non-domestic rows. Models (tolerance 1e-8, clustered by pair):

- ppml: ``flow ~ rta + ots | exp_year + imp_year + pair`` (real panel: ``trade ~ both_ots +
  fta + both_eaeu | exporter^year + importer^year + pair``), separation check ``fe`` on both
  engines (``--separation``; the real panel also runs tradeflows' default checks);
- ols: ``log(flow) ~ rta + ots | ...`` on the positive flows.

Engines: ``tf<threads>`` (tradeflows), ``pyfixest``, ``fixest<threads>`` (R fixest through
``Rscript``; skipped with a message when ``library(fixest)`` cannot be loaded; the panel is
handed over as a CSV written once next to the parquet cache, read by ``data.table::fread``).
Every (panel, model, engine) runs in a fresh subprocess: data loaded from parquet (pyarrow,
the needed columns), a warm-up fit on a tiny panel (numba's compiled kernels come from the
cache; on panels with more than 65,536 fixed-effect levels a wider one, for the kernels'
int32 variants; pyfixest's first-call overheads), then the timed fit. Reported: wall and
CPU seconds of the fit (CPU over all threads), IRLS steps, demeaning sweeps (summed over
columns and calls), tradeflows' split of the fit time into demeaning / singletons and
separation / rest, the whole process's peak RSS (ru_maxrss: interpreter, imports, data and fit;
in brackets the resident pages of mapped files, the shared libraries', which vary with the
page cache's state), and coefficients
and standard errors (relative differences to pyfixest in the same run). ``--repeat N`` runs
the whole list N times in rounds (the engines compared see the same spells of a noisy host)
and reports each engine's median run with the range of its wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PANELS = {"50k": (50, 20), "250k": (100, 25), "1.2M": (200, 30), "1.2M-nointra": (200, 30),
          "10M": (500, 40)}
DEFAULT_PANELS = "50k,250k,1.2M,1.2M-nointra"
SYNTH = {"ppml": "flow ~ rta + ots | exp_year + imp_year + pair",
         "ols": "ln_flow ~ rta + ots | exp_year + imp_year + pair"}
REAL = {"ppml": "trade ~ both_ots + fta + both_eaeu | exporter^year + importer^year + pair",
        "ols": "ln_trade ~ both_ots + fta + both_eaeu | exporter^year + importer^year + pair"}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _file_mb() -> float | None:
    """Resident pages of mapped files (the shared libraries' code and data), MB: part of the
    peak RSS, though not memory the process allocated. How many of a library's pages a
    process maps depends on the page cache (pages cached in large folios are mapped whole):
    llvmlite's 179 MB library added 41 MB to a fresh process's RSS after the cache was
    dropped and 99 MB after it had been read in other ways. None off Linux."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    kb = [int(line.split()[1]) for line in status.splitlines()
          if line.startswith(("RssFile:", "RssShmem:"))]
    return sum(kb) / 1024.0 if kb else None


def _panel_path(name: str, cache: Path, generator: Path) -> Path:
    countries, years = PANELS[name]
    path = cache / f"gravity_{countries}x{years}_s1.parquet"
    if not path.exists():
        if not generator.exists():
            raise SystemExit(f"generator {generator} not found (--generator)")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(generator), "--countries", str(countries),
                        "--years", str(years), "--seed", "1", "--out", str(path), "--no-csv"],
                       check=True, capture_output=True)
    return path


def _load(panel: str, path: Path, model: str):
    """(DataFrame, formula) of a panel, with only the columns the model needs."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    # the system allocator returns the reader's freed buffers (Arrow's default pool keeps
    # ~40 MB of them): the same for every engine
    pa.set_memory_pool(pa.system_memory_pool())
    if panel == "real":
        cols = ["year", "exporter", "importer", "trade", "domestic", "both_ots", "fta",
                "both_eaeu"]
        df = pq.read_table(path, columns=cols).to_pandas(self_destruct=True, split_blocks=True)
        df = df[~df.pop("domestic").astype(bool)].reset_index(drop=True)
        df["pair"] = df["exporter"].astype(str) + "-" + df["importer"].astype(str)
        y, fml = "trade", REAL[model]
    else:
        cols = ["flow", "rta", "ots", "exp_year", "imp_year", "pair"]
        if panel.endswith("nointra"):
            cols.append("intra")
        df = pq.read_table(path, columns=cols).to_pandas(self_destruct=True, split_blocks=True)
        if panel.endswith("nointra"):
            df = df[df.pop("intra") == 0].reset_index(drop=True)
        y, fml = "flow", SYNTH[model]
    if model == "ols":
        df = df[df[y] > 0].reset_index(drop=True)
        df["ln_" + y] = np.log(df.pop(y))
    return df, fml


WIDE_LEVELS = 65_536  # above this many fixed-effect levels the kernels take int32 codes


def _tiny(model: str, wide: bool = False):
    """A small panel for the warm-up fit; ``wide``: 70,000 pairs of two rows each, so that
    the warm-up also loads the kernels' variants for int32 codes (more than WIDE_LEVELS
    levels), which the 10M panel needs."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 140_000 if wide else 2000
    pair = np.repeat(np.arange(n // 2), 2) if wide else rng.integers(0, 60, n)
    df = pd.DataFrame({"exp_year": rng.integers(0, 20, n), "imp_year": rng.integers(0, 20, n),
                       "pair": pair, "rta": rng.uniform(size=n) < 0.3,
                       "ots": rng.normal(size=n)}).astype(float)
    df["flow"] = rng.poisson(np.exp(0.3 * df.rta - 0.2 * df.ots + 1))
    df["ln_flow"] = np.log1p(df.flow)
    return df, SYNTH[model]


def _worker(a: argparse.Namespace) -> dict:
    warnings.simplefilter("ignore")
    df, fml = _load(a.panel, Path(a.path), a.model)
    # the synthetic panels' fixed-effect columns (the real panel's 55k levels, of which only
    # "pair" is a column here, stay below WIDE_LEVELS)
    fe_cols = [c for c in ("exp_year", "imp_year", "pair") if c in df]
    tiny, tiny_fml = _tiny(a.model, wide=sum(df[c].nunique() for c in fe_cols) > WIDE_LEVELS)
    sep = tuple(a.separation.split(","))
    if a.engine.startswith("tf"):
        from tradeflows.estimation import ols, ppml

        threads = int(a.engine[2:])

        def fit(d, f):
            if a.model == "ppml":
                return ppml(d, f, vcov={"CL": "pair"}, tol=a.tol, separation=sep,
                            threads=threads)
            return ols(d, f, vcov={"CL": "pair"}, tol=a.tol, threads=threads)
    else:
        import pyfixest as pf

        def fit(d, f):
            if a.model == "ppml":
                return pf.fepois(f, data=d, vcov={"CRV1": "pair"}, iwls_tol=a.tol,
                                 fixef_tol=a.tol, iwls_maxiter=100, separation_check=list(sep))
            return pf.feols(f, data=d, vcov={"CRV1": "pair"}, fixef_tol=a.tol)
    fit(tiny, tiny_fml)
    before = _peak_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    res = fit(df, fml)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"panel": a.panel, "model": a.model, "engine": a.engine, "rows": len(df),
           "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": _peak_mb(),
           "file_rss_mb": _file_mb(), "peak_before_fit_mb": before,
           "separation": a.separation}
    if a.engine.startswith("tf"):
        st = res.fit_stats
        out |= {"nobs": res.nobs, "coef": list(res.coef_values), "se": list(res.se),
                "irls_steps": res.iterations if a.model == "ppml" else None,
                "sweeps": int(sum(st["sweeps"])), "split": st["seconds"],
                "threads": st["threads"]}
    else:
        out |= {"nobs": int(res._N), "coef": list(res.coef()), "se": list(res.se()),
                "irls_steps": None}  # pyfixest does not report it
    return out


R_SCRIPT = r"""
suppressMessages({library(fixest); library(data.table)})
args <- commandArgs(trailingOnly = TRUE)
csv <- args[1]; model <- args[2]; fml <- as.formula(args[3]); tol <- as.numeric(args[4])
setFixest_nthreads(as.integer(args[5]))
fit <- function(d, f) {
  # fixef.rm = "both": singletons and all-zero groups dropped, as tradeflows' "fe" check
  if (model == "ppml") fepois(f, data = d, vcov = ~pair, glm.tol = tol, fixef.tol = tol,
                              glm.iter = 100, fixef.rm = "both", notes = FALSE)
  else feols(f, data = d, vcov = ~pair, fixef.tol = tol, fixef.rm = "both", notes = FALSE)
}
set.seed(0); n <- 2000
tiny <- data.table(exp_year = sample(20, n, TRUE), imp_year = sample(20, n, TRUE),
                   pair = sample(60, n, TRUE), rta = as.numeric(runif(n) < 0.3), ots = rnorm(n))
tiny$flow <- rpois(n, exp(0.3 * tiny$rta - 0.2 * tiny$ots + 1)); tiny$ln_flow <- log1p(tiny$flow)
invisible(fit(tiny, as.formula(paste(if (model == "ppml") "flow" else "ln_flow",
                                     "~ rta + ots | exp_year + imp_year + pair"))))
d <- fread(csv, showProgress = FALSE)
hwm <- function() as.numeric(sub("[^0-9]*([0-9]+).*", "\\1",
  grep("^VmHWM", readLines("/proc/self/status"), value = TRUE))) / 1024
filerss <- function() sum(as.numeric(sub("[^0-9]*([0-9]+).*", "\\1",
  grep("^Rss(File|Shmem)", readLines("/proc/self/status"), value = TRUE)))) / 1024
before <- hwm()
t0 <- proc.time()
res <- fit(d, fml)
t1 <- proc.time() - t0
cat(sprintf('{"seconds": %.17g, "cpu_seconds": %.17g, "peak_rss_mb": %.17g, ',
            t1[["elapsed"]], t1[["user.self"]] + t1[["sys.self"]], hwm()),
    sprintf('"file_rss_mb": %.17g, ', filerss()),
    sprintf('"peak_before_fit_mb": %.17g, "nobs": %d, "irls_steps": %s, ', before, nobs(res),
            if (model == "ppml") res$iterations else "null"),
    '"coef": [', paste(sprintf("%.17g", coef(res)), collapse = ", "), '], ',
    '"se": [', paste(sprintf("%.17g", se(res)), collapse = ", "), ']}
', sep = "")
"""


def _fixest_available() -> str | None:
    """None when ``Rscript -e 'library(fixest)'`` works, else why not."""
    try:
        proc = subprocess.run(["Rscript", "-e", "suppressMessages({library(fixest); "
                               "library(data.table)})"], capture_output=True, text=True)
    except FileNotFoundError:
        return "Rscript not found (install r-base-core)"
    return None if proc.returncode == 0 else proc.stderr.strip().splitlines()[-1]


def _fixest_worker(a: argparse.Namespace, panel: str, path: Path, model: str, engine: str,
                   cache: Path) -> dict:
    """One R fixest fit in a fresh Rscript process, on the panel written as CSV once."""
    csv = cache / f"{panel}-{model}.csv"
    if not csv.exists():
        df, _ = _load(panel, path, model)
        cache.mkdir(parents=True, exist_ok=True)
        df.to_csv(csv.with_suffix(".tmp"), index=False)
        csv.with_suffix(".tmp").replace(csv)
    fml = (REAL if panel == "real" else SYNTH)[model]
    script = cache / "bench_fixest.R"
    script.write_text(R_SCRIPT)
    proc = subprocess.run(["Rscript", str(script), str(csv), model, fml, str(a.tol),
                           engine[len("fixest"):] or "1"], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"panel": panel, "model": model, "engine": engine, "separation": "fe",
            "rows": None} | out


def run(a: argparse.Namespace) -> list[dict]:
    """Every (panel, model, engine) in its own subprocess, ``a.repeat`` times in rounds over
    the whole list (so that the engines compared share the host's quiet and busy spells);
    one dict per run."""
    results = []
    if a.mmap_threshold:  # every engine's process: glibc maps large blocks and unmaps them
        os.environ["MALLOC_MMAP_THRESHOLD_"] = str(a.mmap_threshold)  # when freed
    for panel in a.panels.split(","):
        path = Path(a.real) if panel == "real" else _panel_path(panel, Path(a.cache),
                                                                 Path(a.generator))
        jobs = [(m, e, a.separation) for m in a.models.split(",") for e in a.engines.split(",")]
        if panel == "real" and a.model_default_separation:
            jobs += [("ppml", e, "fe,simplex,relu") for e in a.engines.split(",")
                     if e.startswith("tf") and "ppml" in a.models]
        for model, engine, sep in [job for _ in range(a.repeat) for job in jobs]:
            if engine == "pyfixest" and (a.skip_pyfixest == "all"
                                         or panel in a.skip_pyfixest.split(",")):
                continue
            if engine.startswith("fixest"):
                why = _fixest_available()
                if why:
                    print(f"{panel} {model} {engine}: skipped, R fixest not available: {why}",
                          file=sys.stderr)
                    continue
                try:
                    res = _fixest_worker(a, panel, path, model, engine, Path(a.cache))
                except RuntimeError as err:
                    print(f"{panel} {model} {engine}: failed\n{err}", file=sys.stderr)
                    continue
                results.append(res)
                print(json.dumps(res), file=sys.stderr, flush=True)
                continue
            cmd = [sys.executable, __file__, "--worker", "--panel", panel, "--path", str(path),
                   "--model", model, "--engine", engine, "--tol", str(a.tol),
                   "--separation", sep]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(f"{panel} {model} {engine}: failed\n{proc.stderr[-2000:]}",
                      file=sys.stderr)
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(res)
            print(json.dumps(res), file=sys.stderr, flush=True)
    return results


def median_runs(results: list[dict]) -> list[dict]:
    """One record per (panel, model, engine, separation): its run of median wall time (the
    lower of the two middle ones for an even count), with every run's wall time in "runs"."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["panel"], r["model"], r["engine"], r["separation"]), []).append(r)
    out = []
    for runs in groups.values():
        middle = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
        out.append(middle | {"runs": [r["seconds"] for r in runs]})
    return out


def _rel(a: list[float], b: list[float]) -> float:
    return max(abs(x / y - 1) for x, y in zip(a, b, strict=True)) if a and b else float("nan")


def _family(engine: str) -> tuple[str, int]:
    """("tf" | "fixest" | "pyfixest", threads)."""
    for fam in ("fixest", "tf"):
        if engine.startswith(fam) and engine[len(fam):].isdigit():
            return fam, int(engine[len(fam):])
    return engine, 0


def table(results: list[dict]) -> str:
    """Markdown table: one row per record (the median run when repeated: its wall time, then
    the range of the runs'), with ratios to the same engine on 1 thread, to pyfixest and to
    R fixest on as many threads (wall-clock, same invocation)."""
    head = ("| panel | model | engine | separation | obs | wall s | CPU s | IRLS steps | sweeps "
            "| demean / separation / rest s | peak MB (of which file pages) | wall 1 thread / this | pyfixest wall / "
            "this | R fixest wall / this | coef, SE max rel. diff to pyfixest | coef, SE max "
            "rel. diff to R fixest |")
    lines = [head, "|" + "---|" * 16]
    key = {(r["panel"], r["model"], r["engine"], r["separation"]): r for r in results}

    def peer(k, engine):
        return next((v for kk, v in key.items() if kk[:3] == (*k, engine)), None)

    def diff(r, ref):
        if ref and r["engine"] != ref["engine"] and r["nobs"] == ref["nobs"]:
            return f"{_rel(r['coef'], ref['coef']):.1e}, {_rel(r['se'], ref['se']):.1e}"
        return ""

    for r in results:
        k = (r["panel"], r["model"])
        fam, threads = _family(r["engine"])
        one = key.get((*k, f"{fam}1", r["separation"])) if threads else None
        pf = peer(k, "pyfixest")
        rf = peer(k, f"fixest{threads}") if fam == "tf" else None
        split = r.get("split")
        split_s = (f"{split['demean']:.2f} / {split['separation']:.2f} / {split['rest']:.2f}"
                   if split else "")
        speed = f"{one['seconds'] / r['seconds']:.2f}" if one else ""
        vs_pf = f"{pf['seconds'] / r['seconds']:.1f}" if pf and r is not pf else ""
        vs_rf = f"{rf['seconds'] / r['seconds']:.2f}" if rf else ""
        runs = r.get("runs", [])
        wall = f"{r['seconds']:.2f}" + (f" ({min(runs):.2f}–{max(runs):.2f})"
                                          if len(runs) > 1 else "")
        peak = f"{r['peak_rss_mb']:.0f}" + (f" ({r['file_rss_mb']:.0f})"
                                            if r.get("file_rss_mb") is not None else "")
        lines.append(
            f"| {r['panel']} | {r['model']} | {r['engine']} | {r['separation']} "
            f"| {r['nobs']:,} | {wall} | {r['cpu_seconds']:.2f} "
            f"| {r['irls_steps'] if r['irls_steps'] is not None else ''} "
            f"| {r.get('sweeps', '')} | {split_s} | {peak} | {speed} "
            f"| {vs_pf} | {vs_rf} | {diff(r, pf) if fam == 'tf' else ''} "
            f"| {diff(r, rf) if fam == 'tf' else ''} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panels", default=DEFAULT_PANELS,
                    help=f"comma list of {', '.join(PANELS)}, real (default {DEFAULT_PANELS})")
    ap.add_argument("--models", default="ppml,ols")
    ap.add_argument("--engines", default="tf1,tf2,pyfixest,fixest1,fixest2",
                    help="tf<threads> (tradeflows), pyfixest, fixest<threads> (R fixest)")
    ap.add_argument("--skip-pyfixest", default="10M",
                    help="panels on which pyfixest is not run (default 10M; 'all': every panel; "
                    "pyfixest takes 3-5 min at 1.2M rows)")
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of every engine, in rounds over the list; the table shows "
                         "each one's median run and the range")
    ap.add_argument("--separation", default="fe")
    ap.add_argument("--no-default-separation", dest="model_default_separation",
                    action="store_false",
                    help="on the real panel, skip the extra run with tradeflows' default checks")
    ap.add_argument("--real", default=str(ROOT / "data" / "processed" / "panel.parquet"))
    ap.add_argument("--generator", default=str(ROOT.parent / "shared" / "bench" /
                                               "gen_gravity.py"))
    ap.add_argument("--cache", default=os.environ.get("TMPDIR", "/tmp") + "/tradeflows-bench")
    ap.add_argument("--mmap-threshold", type=int, default=0,
                    help="set glibc's MALLOC_MMAP_THRESHOLD_ (bytes) for every engine, e.g. "
                    "65536: freed arrays go back to the system at once (default: glibc's "
                    "dynamic threshold, which keeps some freed memory in the heap)")
    ap.add_argument("--json", help="also write the raw results to this file")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--panel", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(_worker(a)))
        return
    results = run(a)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    print(table(median_runs(results)))


if __name__ == "__main__":
    main()
