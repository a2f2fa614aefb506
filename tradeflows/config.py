"""Paths and study settings.

A *project* is a folder holding a ``tradeflows.toml`` file (written by ``tradeflows init``)
or a ``data/raw`` folder (a source checkout). The project root is, in order: the ``root``
given (``--root``), the environment variable ``TRADEFLOWS_ROOT``, else the current directory
or the nearest of its parents that is a project. Outside any project :func:`paths` raises
:class:`ProjectNotFoundError`; it never falls back to the installed package's folder.

The bundled raw data (``data/raw`` of the checkout) travel with the installed package
(``tradeflows/_bundled/raw`` in a wheel): :func:`bundled_raw` finds them, ``tradeflows init``
copies them into a new project, and readers fall back to them outside a project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tradeflows.errors import TradeflowsError

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA = PACKAGE_DIR / "data"
#: File that marks a project folder (written by ``tradeflows init``).
PROJECT_FILE = "tradeflows.toml"
#: Raw data installed with the package (wheels); a checkout keeps them in ``data/raw``.
INSTALLED_RAW = PACKAGE_DIR / "_bundled" / "raw"
CHECKOUT_RAW = PACKAGE_DIR.parent / "data" / "raw"

#: Study packages (``tradeflows/studies/<study>/``): the library finds their scenario files by
#: name without importing them (:func:`study_files`); it names no study and no country.
STUDIES_DIR = PACKAGE_DIR / "studies"


class ProjectNotFoundError(TradeflowsError, FileNotFoundError):
    """No project folder where one was needed."""


def study_files(subfolder: str) -> dict[str, Path]:
    """``name -> file`` of the TOML files in ``tradeflows/studies/<study>/<subfolder>/`` of
    every study package (e.g. ``"scenarios"``, ``"scenarios/routes"``), sorted by name; a
    name found in two studies raises ``ValueError`` (give the file path instead)."""
    found: dict[str, Path] = {}
    for file in sorted(STUDIES_DIR.glob(f"*/{subfolder}/*.toml")):
        if file.stem in found:
            raise ValueError(f"scenario name {file.stem!r} in two studies: {found[file.stem]} "
                             f"and {file}")
        found[file.stem] = file
    return dict(sorted(found.items()))


def is_project(folder: Path) -> bool:
    """True if ``folder`` holds ``tradeflows.toml`` or ``data/raw``."""
    return (folder / PROJECT_FILE).is_file() or (folder / "data" / "raw").is_dir()


def find_root(start: str | Path | None = None) -> Path | None:
    """``TRADEFLOWS_ROOT`` if set, else the nearest project folder at or above ``start``
    (default: the current directory); None if there is none."""
    env = os.environ.get("TRADEFLOWS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    return None


def bundled_raw() -> Path:
    """Folder of the raw data bundled with the package (installed copy, else the checkout's
    ``data/raw``); raises :class:`ProjectNotFoundError` if neither exists."""
    for folder in (INSTALLED_RAW, CHECKOUT_RAW):
        if folder.is_dir():
            return folder
    raise ProjectNotFoundError(f"the bundled raw data are missing from this installation "
                               f"(looked in {INSTALLED_RAW} and {CHECKOUT_RAW}); reinstall "
                               "tradeflows from its wheel")


def raw_dir() -> Path:
    """``data/raw`` of the current project, else the bundled raw data (for readers' defaults:
    the same files, so library calls such as ``replicate("Table 3")`` work anywhere)."""
    root = find_root()
    if root is not None and (root / "data" / "raw").is_dir():
        return root / "data" / "raw"
    return bundled_raw()


@dataclass(frozen=True)
class Paths:
    """Where each stage reads and writes; every stage derives its files from here."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def cache(self) -> Path:
        return Path(os.environ.get("TRADEFLOWS_CACHE", self.root / ".cache" / "downloads"))

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def flows(self) -> Path:
        """Canonical long table of all trade flows (every source, both sides' reports)."""
        return self.processed / "flows.parquet"

    @property
    def panel(self) -> Path:
        """Square pair-year gravity panel with covariates and policy variables."""
        return self.processed / "panel.parquet"

    @property
    def investment(self) -> Path:
        """Canonical long table of bilateral FDI."""
        return self.processed / "investment.parquet"

    @property
    def manifest(self) -> Path:
        return self.processed / "manifest.json"

    @property
    def estimates(self) -> Path:
        return self.processed / "estimates"

    @property
    def counterfactuals(self) -> Path:
        return self.processed / "counterfactuals"


def paths(root: str | Path | None = None) -> Paths:
    """Paths under ``root`` (default: see module docstring).

    Raises :class:`ProjectNotFoundError` when no root is given and no project is found.
    """
    if root is not None:
        return Paths(Path(root).resolve())
    found = find_root()
    if found is None:
        raise ProjectNotFoundError(
            f"no tradeflows project in {Path.cwd()} or its parents (a project holds "
            f"{PROJECT_FILE} or data/raw); create one with `tradeflows init DIR`, or pass --root")
    return Paths(found)
