"""tradeflows outside its checkout, as a new user gets it: the wheel built from a clean copy
of the source tree, installed into a fresh virtual environment, ``tradeflows init demo``,
``cd demo``, ``tradeflows reproduce`` (then a second ``tradeflows report`` for determinism).

Run once per test session by the fixtures of ``conftest.py`` and checked by test_wheel.py
(packaging, the project outside the checkout) and test_reproduce.py (the report: files,
manifest, figures, determinism, browser). Those tests carry the ``xdist_group`` mark
:data:`GROUP`, and ``make test`` runs pytest with ``--dist loadgroup``, so that one xdist
worker runs them all and the pipeline runs once.

The fresh environment gets the wheel (``--no-deps``) and sees the dependencies of the test
environment through a ``.pth`` line (no download, no second copy of numpy and friends);
test_wheel.py checks that ``tradeflows`` itself is imported from the fresh environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GROUP = "fresh_venv"
SOURCE_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE",
                "CHANGELOG.md")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info")

# the mark of every test that uses one of the fixtures below (see the module docstring)
fresh_venv_group = pytest.mark.xdist_group(GROUP)


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 1800,
        ok: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd``; if ``ok``, fail with the tail of its output unless it exits 0."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if ok:
        assert done.returncode == 0, (f"{' '.join(cmd)}:\n{done.stdout[-3000:]}\n"
                                      f"{done.stderr[-3000:]}")
    return done


def user_env() -> dict[str, str]:
    """The environment of a user's shell: no project or package path from the test run."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TRADEFLOWS_ROOT", "PYTHONPATH", "TRADEFLOWS_CACHE")}
    return env | {"OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
                  "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``: relative POSIX path -> bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build_wheel(tmp: Path) -> Path:
    """The wheel built from a clean copy of the source tree (nothing written in the repo)."""
    src = tmp / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "tradeflows", src / "tradeflows", ignore=JUNK)
    shutil.copytree(REPO / "data" / "raw", src / "data" / "raw", ignore=JUNK)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"),
         str(src)], cwd=tmp, env=user_env())
    (found,) = (tmp / "dist").glob("tradeflows-*.whl")
    return found


def make_venv(wheel: Path, env_dir: Path) -> Path:
    """A fresh venv in ``env_dir`` with ``wheel`` installed and the test environment's
    packages visible."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True,
                             check=True).stdout.strip()
    Path(purelib, "test_env_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
         str(wheel)], cwd=env_dir, env=user_env())
    return env_dir


@dataclass(frozen=True)
class FreshRun:
    """One ``init`` + ``reproduce`` + ``report`` in a fresh venv.

    ``after_init`` lists the project's files (relative POSIX paths) right after ``init``;
    ``first`` holds ``reports/`` after ``reproduce``, ``second`` after a second ``report``.
    """

    venv: Path
    demo: Path
    init: subprocess.CompletedProcess
    reproduce: subprocess.CompletedProcess
    after_init: frozenset[str]
    first: dict[str, bytes]
    second: dict[str, bytes]


def init_and_reproduce(venv: Path, where: Path) -> FreshRun:
    """``tradeflows init demo && cd demo && tradeflows reproduce && tradeflows report``
    with the venv's ``tradeflows``, in ``where``, far from the repository."""
    tf = str(venv / "bin" / "tradeflows")
    env = user_env()
    init = run([tf, "init", "demo"], where, env)
    demo = where / "demo"
    after_init = frozenset(p.relative_to(demo).as_posix() for p in demo.rglob("*"))
    reproduce = run([tf, "--quiet", "reproduce"], demo, env)
    first = snapshot(demo / "reports")
    run([tf, "--quiet", "report"], demo, env)
    return FreshRun(venv, demo, init, reproduce, after_init, first,
                    snapshot(demo / "reports"))
