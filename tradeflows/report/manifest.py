"""The report manifest: checksums of inputs and outputs, package versions, git commit.

No timestamps or absolute paths: the same inputs and code give the same bytes.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from tradeflows.config import Paths
from tradeflows.io import sha256_file

PACKAGES = ("tradeflows", "numpy", "pandas", "pyarrow", "scipy", "statsmodels", "numba",
            "networkx", "matplotlib", "jinja2", "pycountry", "tabulate", "tqdm", "click")


def checksums(folder: Path, root: Path, exclude: tuple[Path, ...] = ()) -> dict[str, str]:
    """sha256 of every file under ``folder`` keyed by its path relative to ``root`` (posix),
    skipping hidden files (atomic-write temporaries, ``.gitkeep``) and ``exclude``."""
    if not folder.is_dir():
        return {}
    out = {}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(root)
        if f.is_file() and f not in exclude and not any(p.startswith(".") for p in rel.parts):
            out[rel.as_posix()] = sha256_file(f)
    return out


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that produce the numbers."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(root: Path) -> str:
    """``git rev-parse HEAD`` of ``root``, or ``"unknown"`` outside a git checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else "unknown"


def build_manifest(paths: Paths, manifest_file: Path,
                   reports: Path | None = None) -> dict[str, object]:
    """Manifest of a report: raw inputs, processed intermediates, report outputs.

    ``reports``: where the report's files are now (a staging folder, see
    ``tradeflows.io.StagedOutputs``); they are named by their place under ``paths.reports``.
    """
    folder = reports if reports is not None else paths.reports
    prefix = paths.reports.relative_to(paths.root)
    outputs = {(prefix / rel).as_posix(): sha for rel, sha in
               checksums(folder, folder, exclude=(manifest_file,)).items()}
    return {
        "inputs": checksums(paths.raw, paths.root),
        "processed": checksums(paths.processed, paths.root),
        "outputs": outputs,
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_commit": git_commit(paths.root),
    }
