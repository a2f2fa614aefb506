"""tradeflows outside its checkout, as a new user gets it: the wheel built from a clean copy
of the source tree, installed into a fresh virtual environment, ``tradeflows init demo``,
``cd demo``, ``tradeflows reproduce`` (then a second ``tradeflows report`` for determinism).

Run once per test session by the fixtures of ``conftest.py`` and checked by test_wheel.py
(packaging, the project outside the checkout) and test_reproduce.py (the report: files,
manifest, figures, determinism, browser); those tests carry the mark :data:`fresh_venv_group`.
Once even under pytest-xdist: each step runs under a file lock in the folder the workers of a
session share (:func:`once`), and the first worker to need it runs it while the others wait
for and reuse its result; ``conftest.py`` moves the marked tests to the front of the
collection, so that ``-n 2`` sends them all to one worker in its first batch and nobody
waits. (xdist's own ``xdist_group``/``--dist loadgroup`` does not group with pytest 9.2:
it renames ``item._nodeid``, which pytest no longer reads.)

The fresh environment gets the wheel (``--no-deps``) and sees the dependencies of the test
environment through a ``.pth`` line (no download, no second copy of numpy and friends);
test_wheel.py checks that ``tradeflows`` itself is imported from the fresh environment.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE",
                "CHANGELOG.md")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info")

# the mark of every test that uses one of the fixtures of conftest.py (module docstring)
fresh_venv_group = pytest.mark.fresh_venv


def once(factory: pytest.TempPathFactory, name: str,
         make: Callable[[Path], dict[str, object]]) -> dict[str, object]:
    """``make(folder)`` run once per test session even across xdist workers: under a lock in
    the temporary folder the workers share, the first caller runs it and stores its result
    (JSON), later callers (any worker) wait for the lock and read that result. ``folder`` is
    ``<shared>/<name>``, new and empty."""
    shared = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above each worker's popen-gwN
    folder, result = shared / name, shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if result.is_file():
            return json.loads(result.read_text(encoding="utf-8"))
        if folder.exists():  # a failed attempt: start again
            shutil.rmtree(folder)
        folder.mkdir()
        value = make(folder)
        result.write_text(json.dumps(value), encoding="utf-8")
        return value


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
    """One ``init`` + ``reproduce`` + ``report`` in a fresh venv (see :func:`init_and_reproduce`).

    ``after_init`` lists the project's files (relative POSIX paths) right after ``init``;
    ``first`` holds ``reports/`` after ``reproduce`` (kept in ``reports_after_reproduce``
    beside the project), ``second`` after a second ``report``.
    """

    venv: Path
    demo: Path
    init_stdout: str
    reproduce_stdout: str
    after_init: frozenset[str]

    @classmethod
    def from_json(cls, value: dict[str, object]) -> FreshRun:
        return cls(Path(value["venv"]), Path(value["demo"]), value["init_stdout"],
                   value["reproduce_stdout"], frozenset(value["after_init"]))

    @property
    def first(self) -> dict[str, bytes]:
        return snapshot(self.demo.parent / "reports_after_reproduce")

    @property
    def second(self) -> dict[str, bytes]:
        return snapshot(self.demo / "reports")


def init_and_reproduce(venv: Path, where: Path) -> dict[str, object]:
    """``tradeflows init demo && cd demo && tradeflows reproduce && tradeflows report``
    with the venv's ``tradeflows``, in ``where``, far from the repository; the reports after
    ``reproduce`` are copied to ``where/reports_after_reproduce``. Returns the fields of
    :class:`FreshRun` (JSON)."""
    tf = str(venv / "bin" / "tradeflows")
    env = user_env()
    init = run([tf, "init", "demo"], where, env)
    demo = where / "demo"
    after_init = sorted(p.relative_to(demo).as_posix() for p in demo.rglob("*"))
    reproduce = run([tf, "--quiet", "reproduce"], demo, env)
    shutil.copytree(demo / "reports", where / "reports_after_reproduce")
    run([tf, "--quiet", "report"], demo, env)
    return {"venv": str(venv), "demo": str(demo), "init_stdout": init.stdout,
            "reproduce_stdout": reproduce.stdout, "after_init": after_init}
