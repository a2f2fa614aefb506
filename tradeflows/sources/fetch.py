"""``tradeflows fetch SOURCE``: download a public source file into a checksummed cache.

Downloads go through ``pooch`` (retries, atomic writes, progress bar). Files land in
``<cache_dir>/<source>/``; a second call with the same address finds the file there and does
not download again. With ``sha256`` the file must match it (a mismatch stops with
``DataError`` and nothing is kept); without it, the checksum of the first download is
recorded beside the file (``<file>.sha256``) and every later call checks the cached file
against that record, so a corrupted or replaced cache file is detected.

The published addresses below change between releases; ``url=`` overrides them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pooch
import requests

from tradeflows.errors import DataError, SpecificationError
from tradeflows.io import sha256_file, write_text


@dataclass(frozen=True)
class Published:
    """A source's published download: address template (``{release}``) and default release."""

    url: str
    release: str | None
    note: str

    def address(self, year: int | None) -> str:
        if self.release is None:
            return self.url
        release = self.release if year is None else _release(self, year)
        return self.url.format(release=release)


def _release(entry: Published, year: int) -> str:
    """Release tag for a year: BACI/Gravity ``V{year}01``, others the year itself."""
    return f"V{year}01" if entry.release and entry.release.startswith("V") else str(year)


REGISTRY: dict[str, Published] = {
    "baci": Published(
        "https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_HS92_{release}.zip", "V202401",
        "CEPII BACI HS92, all years + country_codes_V*.csv (zip, ~2 GB); --year = release"),
    "cepii_gravity": Published(
        "https://www.cepii.fr/DATA_DOWNLOAD/gravity/data/Gravity_csv_{release}.zip", "V202211",
        "CEPII Gravity database, wide pair-year CSV (zip)"),
    "comtrade": Published(
        "https://comtradeapi.un.org/public/v1/preview/C/A/HS?reporterCode=31&period={release}"
        "&cmdCode=TOTAL&flowCode=M,X&includeDesc=true", "2022",
        "UN Comtrade API v1 preview: Azerbaijan's total trade by partner (JSON); --year"),
    "imf": Published(
        "https://dataservices.imf.org/REST/SDMX_JSON.svc/CompactData/DOT/"
        "A.AZ+KZ+KG+TJ+TM+UZ+GE+AM.TXG_FOB_USD+TMG_CIF_USD.?startPeriod=1992"
        "&endPeriod={release}", "2023",
        "IMF DOTS SDMX-JSON for the South Caucasus and Central Asia; --year = last year"),
    "itpd": Published(
        "https://www.usitc.gov/data/gravity/itpde_r02.zip", None,
        "USITC ITPD-E release 2 (zip)"),
    "wdi": Published(
        "https://api.worldbank.org/v2/en/indicator/NY.GDP.MKTP.CD?downloadformat=csv", None,
        "World Bank WDI bulk CSV of GDP, current US$ (zip)"),
    "unctad_fdi": Published(
        "https://unctad.org/system/files/non-official-document/webdiaeia2014d3_AZE.xls", None,
        "UNCTAD bilateral FDI statistics 2014, Azerbaijan's workbook (xls, 4 tables)"),
}


def sources() -> list[str]:
    """Names ``fetch`` accepts."""
    return sorted(REGISTRY)


def _file_name(source: str, url: str) -> str:
    """Cache file name: the address's last path part, made safe, plus a short hash of the
    full address so two addresses never share a file."""
    base = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or source
    query = url.split("?", 1)[1] if "?" in url else ""
    fmt = re.search(r"(?:downloadformat|format|fmt)=(\w+)", query)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", base)
    if fmt and not stem.lower().endswith(fmt.group(1).lower()):
        stem = f"{stem}.{fmt.group(1).lower()}"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:10]}-{stem}"


def fetch(source: str, url: str | None = None, sha256: str | None = None,
          year: int | None = None, cache_dir: str | Path = ".cache/downloads",
          progress: bool = True) -> Path:
    """Download ``source`` (or ``url``) into ``cache_dir/source`` and return the file path.

    ``sha256``: expected checksum (hex); a mismatch raises ``DataError``. ``year`` picks the
    release for sources with yearly releases (see ``REGISTRY``).
    """
    if source not in REGISTRY:
        raise SpecificationError(f"unknown source {source!r}; expected one of {sources()}")
    address = url or REGISTRY[source].address(year)
    folder = Path(cache_dir) / source
    name = _file_name(source, address)
    target = folder / name
    record = folder / f"{name}.sha256"
    expected = sha256.lower() if sha256 else None
    if expected is None and target.exists() and record.exists():
        recorded = record.read_text().split()[0]
        actual = sha256_file(target)
        if actual != recorded:
            raise DataError(f"cached file changed since it was downloaded: sha256 {actual}, "
                            f"recorded {recorded}; delete it to download again", file=target)
        return target
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # pooch logs each download at INFO; the CLI prints the path
    try:
        path = Path(pooch.retrieve(address, known_hash=f"sha256:{expected}" if expected else None,
                                   fname=name, path=folder, progressbar=progress))
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise DataError(f"checksum mismatch for {address}: expected sha256 {expected} ({exc})",
                        file=target) from exc
    except requests.RequestException as exc:
        raise DataError(f"download failed: {exc}", file=address) from exc
    finally:
        logger.setLevel(level)
    write_text(f"{sha256_file(path)}  {name}\n", record)
    return path
