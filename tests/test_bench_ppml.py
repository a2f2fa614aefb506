"""The PPML benchmark's summary of repeated runs (benchmarks/bench_ppml.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "bench_ppml", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ppml.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def _run(engine: str, seconds: float, sweeps: int) -> dict:
    return {"panel": "1.2M", "model": "ppml", "engine": engine, "separation": "fe",
            "nobs": 10, "seconds": seconds, "cpu_seconds": seconds, "irls_steps": 6,
            "sweeps": sweeps, "peak_rss_mb": 500.0, "coef": [1.0], "se": [0.1]}


def test_repeated_runs_reduce_to_each_engines_median_run():
    runs = [_run("tf1", 4.0, 1), _run("tf2", 3.0, 1), _run("tf1", 5.0, 2),
            _run("tf2", 2.0, 2), _run("tf1", 4.5, 3), _run("tf2", 2.5, 3), _run("tf2", 9.0, 4)]
    med = {r["engine"]: r for r in bench.median_runs(runs)}
    assert med["tf1"]["seconds"] == 4.5 and med["tf1"]["sweeps"] == 3  # the whole median run
    assert med["tf1"]["runs"] == [4.0, 5.0, 4.5]
    assert med["tf2"]["seconds"] == 2.5  # even count: the lower of the two middle runs
    rows = bench.table(list(med.values())).splitlines()
    tf2 = next(line for line in rows if "| tf2 |" in line)
    assert "| 2.50 (2.00–9.00) |" in tf2 and "| 1.80 |" in tf2  # range; 4.5 / 2.5 vs 1 thread
    single = bench.table(bench.median_runs([_run("tf1", 4.0, 1)]))
    assert "| 4.00 |" in single and "| 500 |" in single  # one run: no range
    mapped = bench.table([_run("tf1", 4.0, 1) | {"file_rss_mb": 61.4}])
    assert "| 500 (61) |" in mapped  # the peak's pages of mapped files, when measured


def test_wide_warm_up_panel_takes_the_int32_code_path():
    """The warm-up panel for panels with more than 65,536 fixed-effect levels (10M rows) has
    enough levels for the layout's int32 codes, so that the timed fit compiles nothing; the
    usual one stays on the uint16 path."""
    import numpy as np
    import pandas as pd

    from tradeflows.estimation.demean import fe_index

    for wide, dtype in ((True, np.int32), (False, np.uint16)):
        tiny, _ = bench._tiny("ppml", wide=wide)
        codes = np.column_stack([pd.factorize(tiny[c])[0]
                                 for c in ("exp_year", "imp_year", "pair")])
        assert fe_index(codes).other.dtype == dtype
