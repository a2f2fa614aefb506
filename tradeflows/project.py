"""Create a project folder from the installed package (``tradeflows init DIR``).

A project holds ``tradeflows.toml`` (marks the folder; see :mod:`tradeflows.config`),
``data/raw`` (the bundled raw data with their PROVENANCE.md files, checked against the
package's SHA256SUMS when it has them), an empty ``data/processed`` and ``reports``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tradeflows.config import PROJECT_FILE, bundled_raw, is_project
from tradeflows.errors import DataError, TradeflowsError
from tradeflows.io import sha256_file, write_text

_SKIP = {"__pycache__", ".DS_Store", ".gitkeep"}


@dataclass(frozen=True)
class InitSummary:
    """What ``init`` wrote: the project root, the raw files copied and their bytes, the data
    sets (folders of data/raw) and whether checksums were verified."""

    root: Path
    files: int
    size: int
    datasets: tuple[str, ...]
    verified: bool


def _checksums(raw: Path) -> dict[str, str] | None:
    """``relative path -> sha256`` from the installed SHA256SUMS (None in a checkout)."""
    sums = raw.parent / "SHA256SUMS"
    if not sums.is_file():
        return None
    out = {}
    for n, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), start=1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64:
            raise DataError("expected '<sha256>  <path>'", file=sums, row=n)
        out[rel] = digest
    return out


def _version() -> str:
    try:
        return version("tradeflows")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def init_project(folder: str | Path) -> InitSummary:
    """Create the project ``folder`` (new, or empty) with the bundled raw data.

    Raises :class:`TradeflowsError` if ``folder`` is already a project or not empty, and
    :class:`DataError` if a copied file does not match the package's checksum.
    """
    root = Path(folder).resolve()
    if root.exists() and not root.is_dir():
        raise TradeflowsError(f"{root} exists and is not a folder")
    if root.is_dir() and is_project(root):
        raise TradeflowsError(f"{root} is already a tradeflows project")
    if root.is_dir() and any(root.iterdir()):
        raise TradeflowsError(f"{root} is not empty; give a new or empty folder")
    source = bundled_raw()
    sums = _checksums(source)
    files = sorted(p for p in source.rglob("*")
                   if p.is_file() and not _SKIP & set(p.relative_to(source).parts))
    if sums is not None:
        listed = {p.relative_to(source).as_posix() for p in files}
        missing = sorted(set(sums) - listed)
        if missing:
            raise DataError(f"bundled raw data incomplete: {missing[:3]} missing",
                            file=source.parent / "SHA256SUMS")
    raw = root / "data" / "raw"
    size = 0
    for src in files:
        rel = src.relative_to(source)
        dst = raw / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        if sums is not None and sha256_file(dst) != sums.get(rel.as_posix()):
            raise DataError("copied file does not match the package's checksum", file=dst)
        size += dst.stat().st_size
    for sub in ("data/processed", "reports"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    write_text(f"# tradeflows project: run `tradeflows reproduce` in this folder.\n"
               f"# Raw inputs in data/raw (each set with its PROVENANCE.md); outputs go to\n"
               f"# data/processed and reports.\n"
               f"[project]\ncreated_with = \"tradeflows {_version()}\"\n", root / PROJECT_FILE)
    datasets = tuple(sorted(p.name for p in raw.iterdir() if p.is_dir()))
    return InitSummary(root=root, files=len(files), size=size, datasets=datasets,
                       verified=sums is not None)
