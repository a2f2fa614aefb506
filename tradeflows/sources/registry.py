"""The published downloads ``tradeflows fetch`` knows, with their releases, in one place.

Each source has an address template (``{release}`` is replaced), the file name it is cached
under, the release names it accepts (a pattern, so ``V202401b`` is as valid as ``V202401``),
the current release, the licence and units as the publisher states them, and the checksum
where the publisher gives one (none of these publishers does today, so the first download is
pinned: see ``tradeflows.sources.fetch``). Addresses and layouts were checked on 2026-12-01
against the sources listed in docs/sources.md ("What was verified, and where").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tradeflows.errors import SpecificationError

GIB = 1 << 30
MIB = 1 << 20
SDMX_CSV = "application/vnd.sdmx.data+csv;version=1.0.0"


@dataclass(frozen=True)
class Source:
    """A publisher's download: everything ``fetch`` needs to build its address."""

    name: str
    title: str
    url: str  # address template, ``{release}`` replaced
    file_name: str  # cache file name template, ``{release}`` replaced
    release_pattern: str  # regular expression a release name must match in full
    current: str  # the release fetched by default
    releases: tuple[str, ...]  # releases known to exist (newest first), for --list
    covers: str  # years of the current release
    units: str
    licence: str
    reader: str  # function that reads the file
    max_bytes: int  # refuse a larger response
    headers: tuple[tuple[str, str], ...] = ()
    checksums: dict[str, str] = field(default_factory=dict)  # release -> published sha256
    allowed_hosts: tuple[str, ...] = ()  # hosts the publisher is known to redirect to


@dataclass(frozen=True)
class Release:
    """One concrete download: a source at a release."""

    source: Source
    release: str
    url: str
    file_name: str
    sha256: str | None
    headers: dict[str, str]


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source(
        "baci", "CEPII BACI, HS 1992 nomenclature, all years (zip of one CSV per year)",
        "https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_HS92_{release}.zip",
        "BACI_HS92_{release}.zip", r"V\d{6}[a-z]?", "V202601",
        ("V202601", "V202501", "V202401b", "V202401"), "1995-2024",
        "thousands of current USD (FOB), tonnes", "Etalab Open Licence 2.0 (cite CEPII)",
        "tradeflows.sources.baci.read_baci", 8 * GIB),
    Source(
        "cepii_gravity", "CEPII Gravity database (zip of the wide pair-year CSV)",
        "https://www.cepii.fr/DATA_DOWNLOAD/gravity/data/Gravity_csv_{release}.zip",
        "Gravity_csv_{release}.zip", r"V\d{6}[a-z]?", "V202211", ("V202211",), "1948-2021",
        "trade flows and GDP in thousands of current USD", "Etalab Open Licence 2.0 (cite CEPII)",
        "tradeflows.sources.cepii_gravity.read_cepii_gravity", 4 * GIB),
    Source(
        "itpd", "USITC International Trade and Production Database for Estimation (ITPD-E)",
        "https://www.usitc.gov/data/gravity/itpd_e/{release_lower}/ITPDE_{release}.zip",
        "ITPDE_{release}.zip", r"R\d{2}", "R03", ("R03",), "see the release notes",
        "millions of current USD", "US government work, public domain (cite Borchert et al. 2020)",
        "tradeflows.sources.itpd.read_itpd", 8 * GIB),
    Source(
        "imf", "IMF International Trade in Goods (IMTS, successor of DOTS): every reporter's "
        "exports FOB and imports CIF by counterpart, annual, SDMX-CSV",
        "https://api.imf.org/external/sdmx/2.1/data/IMF.STA,IMTS/.XG_FOB_USD+MG_CIF_USD..A"
        "?startPeriod=1990&endPeriod={release}",
        "IMTS_XG_FOB_USD+MG_CIF_USD_A_1990-{release}.csv", r"\d{4}", "2025", (), "1990-2025",
        "US dollars (not millions; SCALE only says how the IMF displays them)",
        "IMF Copyright and Usage terms (free use with attribution)",
        "tradeflows.sources.imf.read_imf", 4 * GIB, headers=(("Accept", SDMX_CSV),)),
    Source(
        "comtrade", "UN Comtrade API v1: one reporter's (M49 code in the address) total goods "
        "trade by partner, one year, classic breakdown (JSON)",
        "https://comtradeapi.un.org/public/v1/preview/C/A/HS?reporterCode=31&period={release}"
        "&cmdCode=TOTAL&flowCode=M,X&breakdownMode=classic&includeDesc=true",
        "comtrade_C_A_HS_31_{release}.json", r"\d{4}", "2023", (), "the year asked for",
        "US dollars", "UN Comtrade terms of use (free preview; redistribution restricted)",
        "tradeflows.sources.comtrade.read_comtrade", 256 * MIB),
    Source(
        "wdi", "World Bank WDI bulk download of GDP, current US$ (NY.GDP.MKTP.CD; a zip)",
        "https://api.worldbank.org/v2/en/indicator/NY.GDP.MKTP.CD?downloadformat=csv",
        "API_NY.GDP.MKTP.CD_DS2_en_csv_v2.zip", r"current", "current", ("current",),
        "1960 to the latest year", "current US dollars", "CC BY 4.0",
        "tradeflows.sources.wdi.read_wdi", 256 * MIB),
    Source(
        "unctad_fdi", "UNCTAD bilateral FDI statistics 2014 (last edition), one economy's "
        "workbook; the release names the economy (ISO3)",
        "https://unctad.org/system/files/non-official-document/webdiaeia2014d3_{release}.xls",
        "webdiaeia2014d3_{release}.xls", r"[A-Z]{3}", "AZE", ("AZE",), "2001-2012",
        "millions of current USD", "UNCTAD terms of use (free use with attribution)",
        "tradeflows.sources.fdi.read_unctad_fdi", 64 * MIB),
)}
# Comtrade with a subscription key (COMTRADE_API_KEY): the data endpoint, up to 100 000 records.
COMTRADE_KEYED_URL = ("https://comtradeapi.un.org/data/v1/get/C/A/HS?reporterCode=31"
                      "&period={release}&cmdCode=TOTAL&flowCode=M,X&breakdownMode=classic"
                      "&includeDesc=true&maxRecords=100000")


def source(name: str) -> Source:
    """The registry entry ``name``; an unknown name raises ``SpecificationError``."""
    if name not in SOURCES:
        raise SpecificationError(f"unknown source {name!r}; expected one of {sorted(SOURCES)}")
    return SOURCES[name]


def resolve(name: str, release: str | None = None, url_template: str | None = None) -> Release:
    """The download of source ``name`` at ``release`` (default: the current one).

    A release name that does not match the source's pattern raises ``SpecificationError``
    (e.g. ``baci`` accepts ``V202601`` or ``V202401b``, not ``2024``).
    """
    entry = source(name)
    chosen = entry.current if release is None else release.strip()
    if not re.fullmatch(entry.release_pattern, chosen):
        known = ", ".join(entry.releases) or entry.current
        raise SpecificationError(f"release {chosen!r} of {name} does not match "
                                 f"{entry.release_pattern!r}; known releases: {known}")
    fill = {"release": chosen, "release_lower": chosen.lower()}
    return Release(entry, chosen, (url_template or entry.url).format(**fill),
                   entry.file_name.format(**fill), entry.checksums.get(chosen),
                   dict(entry.headers))


def listing() -> list[dict[str, str]]:
    """One row per source for ``tradeflows fetch --list``."""
    rows = []
    for entry in SOURCES.values():
        rel = resolve(entry.name)
        rows.append({"source": entry.name, "release": entry.current, "covers": entry.covers,
                     "file": rel.file_name, "url": rel.url, "units": entry.units,
                     "licence": entry.licence,
                     "checksum": rel.sha256 or "none published (pinned on first download)",
                     "releases": ", ".join(entry.releases) or f"any matching {entry.release_pattern}",
                     "reader": entry.reader, "title": entry.title})
    return rows
