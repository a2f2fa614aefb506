"""tradeflows outside its checkout: build the wheel, install it into a fresh virtual
environment, and run ``tradeflows init demo && cd demo && tradeflows build && tradeflows
estimate`` there, far from the repository.

The fresh environment gets the wheel (``--no-deps``) and sees the dependencies of the test
environment through a ``.pth`` line (no download, no second copy of numpy and friends); the
test checks that ``tradeflows`` itself is imported from the fresh environment. The whole
``reproduce`` runs in test_reproduce.py on the checkout; here build + estimate (the stages
that read ``data/raw`` and write the outputs) keep the test near a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE",
                "CHANGELOG.md")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info")

pytestmark = pytest.mark.slow


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900,
        ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if ok:
        assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a clean copy of the source tree (nothing written in the repo)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "tradeflows", src / "tradeflows", ignore=JUNK)
    shutil.copytree(REPO / "data" / "raw", src / "data" / "raw", ignore=JUNK)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"),
         str(src)], cwd=tmp, env=env)
    (found,) = (tmp / "dist").glob("tradeflows-*.whl")
    return found


def test_wheel_carries_data_licence_and_metadata_but_no_tests_or_caches(wheel):
    names = zipfile.ZipFile(wheel).namelist()
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
    meta = zipfile.ZipFile(wheel).read(meta_name).decode()
    assert "License-Expression: MIT" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    for dep in ("requests", "rich", "numpy", "click"):
        assert f"Requires-Dist: {dep}" in meta
    assert "Classifier: Programming Language :: Python :: 3.11" in meta
    assert "Project-URL: " in meta


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed and the test environment's packages visible."""
    env_dir = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True,
                             check=True).stdout.strip()
    Path(purelib, "test_env_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
         str(wheel)], cwd=env_dir, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env_dir


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TRADEFLOWS_ROOT", "PYTHONPATH", "TRADEFLOWS_CACHE")}
    return env | {"OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def test_init_then_build_and_estimate_in_a_fresh_venv(venv, tmp_path):
    tf = str(venv / "bin" / "tradeflows")
    py = str(venv / "bin" / "python")
    env = _env()
    where = run([py, "-c", "import tradeflows; print(tradeflows.__file__)"], tmp_path, env)
    assert where.stdout.strip().startswith(str(venv))

    # outside a project: one clear line, no traceback, no site-packages path
    lost = run([tf, "build"], tmp_path, env, ok=False)
    assert lost.returncode == 1 and "Traceback" not in lost.stderr
    assert lost.stderr.strip().splitlines() == [lost.stderr.strip()]
    assert "no tradeflows project" in lost.stderr and "tradeflows init" in lost.stderr

    made = run([tf, "init", "demo"], tmp_path, env)
    demo = tmp_path / "demo"
    assert "checksums verified" in made.stdout and "tradeflows reproduce" in made.stdout
    assert (demo / "tradeflows.toml").is_file() and (demo / "reports").is_dir()
    assert not any((demo / "data" / "processed").iterdir())
    for dataset in (REPO / "data" / "raw").iterdir():
        if dataset.is_dir():
            assert (demo / "data" / "raw" / dataset.name / "PROVENANCE.md").is_file()

    built = run([tf, "--quiet", "build"], demo, env)
    assert (demo / "data" / "processed" / "panel.parquet").is_file()
    assert str(demo) in built.stdout and "site-packages" not in built.stdout
    est = run([tf, "--quiet", "estimate"], demo, env)
    assert "both_ots" in est.stdout and "95% interval" in est.stdout
    assert (demo / "reports" / "tables" / "gravity_application.tex").is_file()
    assert (demo / "data" / "processed" / "estimates" / "application.parquet").is_file()


def test_replicate_outside_any_project_uses_the_installed_data(venv, tmp_path):
    code = ("from tradeflows.gravity.replication import load_agtpa; "
            "from tradeflows.config import raw_dir; df = load_agtpa(); "
            "print(len(df), raw_dir())")
    done = run([str(venv / "bin" / "python"), "-c", code], tmp_path, _env())
    n, folder = done.stdout.split()
    assert int(n) > 0 and folder.startswith(str(venv)) and "_bundled" in folder
