"""Two checkouts of one commit (copies of the package and data in two folders) give
byte-identical outputs, and no output holds an absolute path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from test_claims_data import synthetic_tree
from test_panel_build import _make_raw

import tradeflows

PACKAGE = Path(tradeflows.__file__).resolve().parent


def _checkout(folder: Path) -> Path:
    """A copy of the package (imported from there) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PACKAGE, folder / "tradeflows",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return folder


def _run(checkout: Path, *args: str, own_package: bool = True) -> None:
    """Run the CLI in ``checkout``, importing its copy of the package if ``own_package``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TRADEFLOWS_ROOT": str(checkout)}
    if own_package:
        env["PYTHONPATH"] = str(checkout)
    done = subprocess.run([sys.executable, "-m", "tradeflows.cli", "--root", str(checkout),
                           "--quiet", *args], cwd=checkout, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _no_paths(outputs: dict[str, bytes], *folders: Path) -> None:
    for name, data in outputs.items():
        for folder in folders:
            for text in {str(folder), str(folder.resolve())}:
                assert text.encode() not in data, (name, text)


def test_build_is_identical_across_checkouts(tmp_path) -> None:
    raw = tmp_path / "raw"
    _make_raw(raw)
    results, checkouts = [], []
    for name in ("one", "elsewhere/two"):
        checkout = _checkout(tmp_path / name)
        shutil.copytree(raw, checkout / "data" / "raw")
        _run(checkout, "build")
        results.append(_outputs(checkout / "data" / "processed"))
        checkouts.append(checkout)
    assert set(results[0]) >= {"flows.parquet", "investment.parquet", "panel.parquet",
                               "manifest.json"}
    assert results[0].keys() == results[1].keys()
    assert [k for k in results[0] if results[0][k] != results[1][k]] == []
    _no_paths(results[0], *checkouts, tmp_path)


def test_report_is_identical_across_checkouts(tmp_path) -> None:
    """Two project folders; the installed package (a copy would recompile its numba
    kernels, which costs more than the whole report)."""
    results, checkouts = [], []
    for name in ("one", "elsewhere/two"):
        checkout = tmp_path / name
        synthetic_tree(checkout)
        _run(checkout, "report", own_package=False)
        results.append(_outputs(checkout / "reports"))
        checkouts.append(checkout)
    assert "index.html" in results[0] and "manifest.json" in results[0]
    assert results[0].keys() == results[1].keys()
    assert [k for k in results[0] if results[0][k] != results[1][k]] == []
    _no_paths(results[0], *checkouts, tmp_path)
