"""Which source a downloaded file comes from, told by its content rather than its name.

``read_trade_file(path)`` is what ``tradeflows build --extra`` uses: a zip is recognised by
its signature and its members (``BACI_*_Y*_V*.csv``, ``Gravity_V*.csv``, ``ITPD*.csv``), a
JSON file by its first character and its keys (Comtrade ``data``/``dataset``, IMF
``CompactData``), a CSV by its header (IMF SDMX-CSV, BACI ``t,i,j,k,v,q``, Gravity
``iso3_o``, ITPD-E ``exporter_iso3``, Comtrade ``refYear``/``Trade Flow Code``).

Two more kinds are not trade: World Bank WDI (a bulk-download zip with ``API_*.csv``, or the
CSV: ``"Data Source","World Development Indicators"`` first line, or a ``Country Name,
Country Code, ... Indicator Code|Series Code`` header) feeds the panel's GDP and population
covariates, and an UNCTAD bilateral FDI workbook (OLE2 ``.xls`` or ``.xlsx`` zip signature, or
a sheet saved as CSV with a ``Table N. FDI ...`` title) feeds ``investment.parquet``
(:data:`TRADE_KINDS` lists the trade kinds).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd

from tradeflows.errors import DataError
from tradeflows.sources.archive import is_gzip, is_zip, zip_members

_SNIFF_BYTES = 4096
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TRADE_KINDS = ("baci", "cepii_gravity", "itpd", "comtrade", "imf_imts", "imf")
_UNCTAD_TITLE = re.compile(r"Table \d+\.\s*FDI ", re.IGNORECASE)


def _head(path: str | Path) -> bytes:
    """The first bytes of the file's content (decompressed when it is gzip, by signature)."""
    opener = gzip.open if is_gzip(path) else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read the file ({exc})", file=path) from exc


def is_json(path: str | Path) -> bool:
    """True when the file's first non-blank character opens a JSON object or array."""
    return _head(path).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def first_line(path: str | Path) -> str:
    """The first line of a text file (BOM removed); '' when it is not UTF-8 text."""
    head = _head(path)
    try:
        return head.decode("utf-8-sig").splitlines()[0] if head.strip() else ""
    except UnicodeDecodeError:
        return ""


def _head_lines(path: Path, n: int = 6) -> list[str]:
    try:
        return _head(path).decode("utf-8-sig").splitlines()[:n]
    except UnicodeDecodeError:
        return []


def kind_of(path: str | Path) -> str:
    """``baci``, ``cepii_gravity``, ``itpd``, ``comtrade``, ``imf_imts``, ``imf`` (DOTS),
    ``wdi``, ``unctad_fdi`` or raise ``DataError`` naming what was found."""
    path = Path(path)
    if not path.is_file():
        raise DataError("cannot tell which source this file is from: no such file", file=path)
    with open(path, "rb") as fh:
        if fh.read(len(_OLE2)) == _OLE2:  # an .xls workbook: UNCTAD's format
            return "unctad_fdi"
    if is_zip(path):
        for kind, pattern in (("baci", r"^BACI_.*_Y\d{4}_V\d{6}[a-z]?\.csv$"),
                              ("cepii_gravity", r"^Gravity_V\d{6}[a-z]?\.csv$"),
                              ("itpd", r"^ITPD_?E_R\d{2}\.csv$"),
                              ("wdi", r"^API_.*\.csv$"),
                              ("unctad_fdi", r"^workbook\.xml$")):  # an .xlsx workbook
            if zip_members(path, pattern):
                return kind
        raise DataError("a zip archive without a BACI, CEPII Gravity, ITPD-E or WDI data "
                        "file, nor a workbook", file=path)
    if is_json(path):
        return "imf" if b"CompactData" in _head(path) else "comtrade"
    header = first_line(path)
    fields = {f.strip().strip('"') for f in header.replace("\t", ",").split(",")}
    if {"TIME_PERIOD", "OBS_VALUE", "COUNTERPART_COUNTRY"} <= fields:
        return "imf_imts"
    for kind, needed in (("baci", {"t", "i", "j", "k", "v"}),
                         ("cepii_gravity", {"iso3_o", "iso3_d"}),
                         ("itpd", {"exporter_iso3", "importer_iso3", "trade"}),
                         ("imf", {"Counterpart Country Name", "Indicator Code"})):
        if needed <= fields:
            return kind
    if fields & {"refYear", "RefYear", "Trade Flow Code"}:
        return "comtrade"
    if (header.startswith('"Data Source","World Development Indicators"')
            or ({"Country Name", "Country Code"} <= fields
                and fields & {"Indicator Code", "Series Code"})):
        return "wdi"
    if any(_UNCTAD_TITLE.search(line) for line in _head_lines(path)):
        return "unctad_fdi"
    raise DataError(f"cannot tell which source this file is from its content (first line "
                    f"{header[:80]!r}); expected a BACI, CEPII Gravity, ITPD-E, UN Comtrade, "
                    "IMF, WDI or UNCTAD FDI file", file=path)


def read_trade_file(path: str | Path, *, progress: bool = False) -> pd.DataFrame:
    """Read a downloaded trade file with the reader its content calls for (canonical trade
    table, USD). Codes the country table does not know are dropped and counted
    (``unknown_code``) for the world-wide files (IMTS, Gravity, ITPD-E)."""
    kind = kind_of(path)
    if kind not in TRADE_KINDS:
        raise DataError(f"a {kind} file, not trade data", file=path)
    if kind == "baci":
        from tradeflows.sources.baci import read_baci

        return read_baci(path, progress=progress)
    if kind == "cepii_gravity":
        from tradeflows.sources.cepii_gravity import read_cepii_gravity

        return read_cepii_gravity(path, progress=progress, unknown_codes="drop")
    if kind == "itpd":
        from tradeflows.sources.itpd import read_itpd

        return read_itpd(path, progress=progress, unknown_codes="drop")
    if kind == "comtrade":
        from tradeflows.sources.comtrade import read_comtrade

        return read_comtrade(path)
    from tradeflows.sources.imf import read_imf

    return read_imf(path, unknown_codes="drop") if kind == "imf_imts" else read_imf(path)
