"""tradeflows outside its checkout: the wheel's contents and metadata, and, in a fresh venv
with the wheel installed, ``tradeflows init demo && cd demo && tradeflows reproduce`` far
from the repository (the shared run of tests/_fresh_venv.py; test_reproduce.py checks the
report it writes)."""

from __future__ import annotations

import zipfile

import pytest
from _fresh_venv import REPO, fresh_venv_group, run, user_env

import tradeflows

pytestmark = [pytest.mark.slow, fresh_venv_group]


def test_wheel_carries_data_licence_and_metadata_but_no_tests_or_caches(fresh_wheel):
    names = zipfile.ZipFile(fresh_wheel).namelist()
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n
                or n.endswith((".pyc", ".pyo")) or ".pytest_cache" in n]
    raw = {n.split("/")[3] for n in names if n.startswith("tradeflows/_bundled/raw/")}
    expected = {p.name for p in (REPO / "data" / "raw").iterdir() if p.is_dir()}
    assert raw == expected
    for dataset in expected:
        assert f"tradeflows/_bundled/raw/{dataset}/PROVENANCE.md" in names
    assert "tradeflows/_bundled/SHA256SUMS" in names
    assert "tradeflows/studies/azerbaijan/claims.toml" in names
    meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
    meta = zipfile.ZipFile(fresh_wheel).read(meta_name).decode()
    assert "License-Expression: MIT" in meta
    assert f"\nVersion: {tradeflows.__version__}\n" in meta  # one version source
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    for dep in ("requests", "rich", "numpy", "click"):
        assert f"Requires-Dist: {dep}" in meta
    assert "Classifier: Programming Language :: Python :: 3.11" in meta


def test_outside_a_project_commands_stop_with_one_line(fresh_venv, tmp_path):
    env = user_env()
    where = run([str(fresh_venv / "bin" / "python"), "-c",
                 "import tradeflows; print(tradeflows.__file__)"], tmp_path, env)
    assert where.stdout.strip().startswith(str(fresh_venv))
    lost = run([str(fresh_venv / "bin" / "tradeflows"), "build"], tmp_path, env, ok=False)
    assert lost.returncode == 1 and "Traceback" not in lost.stderr
    assert lost.stderr.strip().splitlines() == [lost.stderr.strip()]
    assert "no tradeflows project" in lost.stderr and "tradeflows init" in lost.stderr


def test_init_then_reproduce_in_a_fresh_venv(fresh_reproduce):
    run_ = fresh_reproduce
    demo = run_.demo
    assert "checksums verified" in run_.init_stdout
    assert "tradeflows reproduce" in run_.init_stdout
    # init: tradeflows.toml, data/raw with every data set and its provenance, empty
    # data/processed and reports
    assert {"tradeflows.toml", "data/processed", "reports"} <= run_.after_init
    assert not [n for n in run_.after_init if n.startswith(("data/processed/", "reports/"))]
    for dataset in (REPO / "data" / "raw").iterdir():
        if dataset.is_dir():
            assert f"data/raw/{dataset.name}/PROVENANCE.md" in run_.after_init
    # reproduce: every stage wrote into the demo project and printed its summary
    out = run_.reproduce_stdout
    assert str(demo) in out and "site-packages" not in out
    assert "both_ots" in out and "95% interval" in out  # estimate
    assert "Real GDP" in out  # simulate
    assert "index.html" in out  # report
    for name in ("panel.parquet", "manifest.json", "estimates/application.parquet"):
        assert (demo / "data" / "processed" / name).is_file(), name
    assert any((demo / "data" / "processed" / "counterfactuals").glob("*.parquet"))
    assert (demo / "reports" / "tables" / "gravity_application.tex").is_file()
    assert (demo / "reports" / "index.html").is_file()


def test_replicate_outside_any_project_uses_the_installed_data(fresh_venv, tmp_path):
    code = ("from tradeflows.gravity.replication import load_agtpa; "
            "from tradeflows.config import raw_dir; df = load_agtpa(); "
            "print(len(df), raw_dir())")
    done = run([str(fresh_venv / "bin" / "python"), "-c", code], tmp_path, user_env())
    n, folder = done.stdout.split()
    assert int(n) > 0 and folder.startswith(str(fresh_venv)) and "_bundled" in folder
