"""Paths and study settings.

The project root is found from the environment variable ``TRADEFLOWS_ROOT``, else the
current directory if it holds ``data/raw``, else the source checkout that holds this file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA = PACKAGE_DIR / "data"

# Countries of the study (ISO3).
AZERBAIJAN = "AZE"
CENTRAL_ASIA = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
SOUTH_CAUCASUS = ("AZE", "ARM", "GEO")
# The build's validation table: the panel against this country's own reports, by partner.
VALIDATION_COUNTRY = AZERBAIJAN
VALIDATION_PARTNERS = ("TUR", "GEO", "KAZ", "UZB", "RUS", "CHN")


def _find_root() -> Path:
    env = os.environ.get("TRADEFLOWS_ROOT")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd()
    if (cwd / "data" / "raw").is_dir():
        return cwd
    return PACKAGE_DIR.parent


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
    """Paths under ``root`` (default: see module docstring)."""
    return Paths(Path(root).resolve() if root is not None else _find_root())
