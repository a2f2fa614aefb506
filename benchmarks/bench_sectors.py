"""Benchmarks of the sectors layer (numbers in docs/sectors.md).

    python benchmarks/bench_sectors.py etl --sizes 10M,50M [--rows-per-year 5M] [--dir D]
    python benchmarks/bench_sectors.py ppml --sectors 100 [--workers 1,2]
    python benchmarks/bench_sectors.py ge --draws 100 [--workers 1,2]

``etl``: BACI-format files from ``tradeflows.sectors.synthetic`` (``--rows-per-year`` lines a
year, so a size is a number of years; the smaller sizes are the first years of the largest
set). For each size, in separate subprocesses on the same files: the streaming ETL
(``build_sectors``, HS6 dataset + all aggregate levels written) and a plain pandas read
(``pd.read_csv`` of every file, kept in memory as one would to aggregate them). Reported:
wall and CPU seconds (the machine may be shared), lines per second and peak RSS (``VmHWM``
of the subprocess).

``ppml``: ``tradeflows.sectors.synthetic.sector_panel_data`` with ``--sectors`` sectors
(40 countries, 10 years: 15,600 rows a sector), ``trade ~ policy | exp_year + imp_year +
pair`` per sector with ``ppml_by``: serial, and on a LocalCluster of 1 and 2 worker processes
(started and warmed up, one small fit on each worker, before the clock; start-up reported
apart). ``ge``: multi-sector GE draws (``simulate_draws``; 80 countries, 30 sectors) likewise.
CPU seconds add this process's and the workers' (so they show Dask's own cost when the
machine is shared and wall times mostly measure the load).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

_MEASURE = """
import glob, json, sys, time
mode, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.perf_counter()
if mode == "etl":
    from tradeflows.sectors.etl import build_sectors
    rows = build_sectors(files, out).rows_read
else:
    import pandas as pd
    frames = [pd.read_csv(f) for f in files]
    rows = sum(len(f) for f in frames)
seconds = time.perf_counter() - start
import resource
use = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
print(json.dumps({"mode": mode, "rows": rows, "seconds": seconds,
                  "cpu_seconds": use.ru_utime + use.ru_stime, "peak_mb": hwm / 1024}))
"""


def _count(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * scale)


def bench_etl(sizes: list[int], rows_per_year: int, folder: Path) -> list[dict]:
    from tradeflows.sectors.synthetic import write_baci

    n_years = -(-max(sizes) // rows_per_year)
    years = list(range(2000, 2000 + n_years))
    start = time.perf_counter()
    have = sorted(folder.glob("BACI_*.csv"))
    if len(have) < n_years:
        write_baci(folder, years, rows_per_year)
    print(f"generated {n_years} years x {rows_per_year:,} lines in "
          f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    files = sorted(folder.glob("BACI_*.csv"))
    results = []
    for size in sizes:
        chosen = [str(f) for f in files[: -(-size // rows_per_year)]]
        for mode in ("etl", "pandas"):
            with tempfile.TemporaryDirectory(dir=folder) as out:
                res = subprocess.run([sys.executable, "-c", _MEASURE, mode, out + "/s",
                                      *chosen], capture_output=True, text=True, check=True)
            row = json.loads(res.stdout.strip().splitlines()[-1]) | {"size": size}
            row["rows_per_s"] = row["rows"] / row["seconds"]
            row["rows_per_cpu_s"] = row["rows"] / row["cpu_seconds"]
            print(json.dumps(row), file=sys.stderr)
            results.append(row)
    return results


def _timed(label: str, run, client=None) -> dict:
    """Wall seconds and CPU seconds (this process plus, on a cluster, its workers)."""
    workers_before = _worker_cpu(client)
    cpu = time.process_time()
    start = time.perf_counter()
    out = run()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu + _worker_cpu(client) - workers_before
    return {"run": label, "seconds": wall, "cpu_seconds": cpu, "result": out}


def _cpu_now() -> float:
    import resource

    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _worker_cpu(client) -> float:
    return 0.0 if client is None else float(sum(client.run(_cpu_now).values()))


def _warm_up() -> None:
    from tradeflows.sectors.gravity import ppml_by
    from tradeflows.sectors.synthetic import sector_panel_data

    ppml_by(sector_panel_data(6, 3, 1), "trade ~ policy | exp_year + imp_year + pair",
            serial=True)


def _with_clusters(work, workers: list[int]) -> list[dict]:
    """``work(**fan_out_options)`` serially and on local clusters of each size."""
    from tradeflows.distributed import dask_client

    rows = [_timed("serial", lambda: work(serial=True))]
    for n in workers:
        start = time.perf_counter()
        with dask_client(workers=n, processes=True) as client:
            started = time.perf_counter() - start
            client.run(_warm_up)  # imports and numba's compiled-code cache, on every worker
            row = _timed(f"local, {n} worker(s)", lambda c=client: work(client=c), client)
        row["cluster_start_s"] = started
        rows.append(row)
    return rows


def bench_ppml(n_sectors: int, workers: list[int]) -> list[dict]:
    from tradeflows.sectors.gravity import ppml_by
    from tradeflows.sectors.synthetic import sector_panel_data

    df = sector_panel_data(n_countries=40, n_years=10, n_sectors=n_sectors, seed=0)
    formula = "trade ~ policy | exp_year + imp_year + pair"
    _warm_up()
    rows = _with_clusters(lambda **kw: ppml_by(df, formula, **kw), workers)
    ref = rows[0]["result"]
    for row in rows:
        coll = row.pop("result")
        row["fits"] = len(coll)
        row["max_rel_diff_vs_serial"] = max(
            float(np.max(np.abs(coll[s].coef.to_numpy() / ref[s].coef.to_numpy() - 1)))
            for s in ref)
        row["rows"] = len(df)
        row["sectors"] = n_sectors
    return rows


def bench_ge(n_draws: int, workers: list[int], n_countries: int = 80,
             n_sectors: int = 30) -> list[dict]:
    from tradeflows.gravity.ge_multisector import MultiSectorGE, simulate_draws

    rng = np.random.default_rng(0)
    names = [f"C{i:02d}" for i in range(n_countries)]
    e, i = np.meshgrid(np.arange(n_countries), np.arange(n_countries), indexing="ij")
    dist = np.where(e == i, 0.0, rng.uniform(5, 9, size=e.shape))
    frames = []
    for s in range(n_sectors):
        frames.append(pd.DataFrame({
            "sector": f"S{s:02d}", "exporter": np.array(names)[e.ravel()],
            "importer": np.array(names)[i.ravel()],
            "trade": rng.lognormal(3, 1.5, size=e.size) * np.where(e == i, 30, 1).ravel(),
            "ln_dist": dist.ravel(), "fta": 0.0}))
    data = pd.concat(frames, ignore_index=True)
    sigma = {f"S{s:02d}": 3.0 + 0.3 * s for s in range(n_sectors)}
    model = MultiSectorGE(data, ["ln_dist", "fta"], {"ln_dist": -0.9, "fta": 0.4}, sigma)
    new = {"fta": np.where(data["exporter"] != data["importer"], 1.0, 0.0)}
    draws = model.coefs[None] + rng.normal(0, 0.05, size=(n_draws, *model.coefs.shape))
    rows = _with_clusters(lambda **kw: simulate_draws(model, new, draws, **kw), workers)
    ref = rows[0]["result"][0]
    for row in rows:
        stack, failed = row.pop("result")
        row["draws"], row["failed"] = n_draws, failed
        row["max_abs_diff_vs_serial_pct"] = float(np.nanmax(np.abs(stack - ref)))
        row["countries"], row["sectors"] = n_countries, n_sectors
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    etl = sub.add_parser("etl")
    etl.add_argument("--sizes", default="10M,50M", help="e.g. 10M,50M,100M")
    etl.add_argument("--rows-per-year", default="5M")
    etl.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bench_baci")
    for name, flag, default in (("ppml", "--sectors", 100), ("ge", "--draws", 100)):
        p = sub.add_parser(name)
        p.add_argument(flag, type=int, default=default)
        p.add_argument("--workers", default="1,2")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    if args.what == "etl":
        args.dir.mkdir(parents=True, exist_ok=True)
        rows = bench_etl([_count(s) for s in args.sizes.split(",")],
                         _count(args.rows_per_year), args.dir)
    else:
        workers = [int(w) for w in args.workers.split(",")]
        rows = (bench_ppml(args.sectors, workers) if args.what == "ppml"
                else bench_ge(args.draws, workers))
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".4g"))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=float))


if __name__ == "__main__":
    main()
