"""The study's countries and files: Azerbaijan's pivot to Central Asia (ISO3 codes)."""

from __future__ import annotations

from pathlib import Path

STUDY_DIR = Path(__file__).resolve().parent
#: The claims catalog (entries + change log).
CATALOG_FILE = STUDY_DIR / "claims.toml"
#: GE scenarios of the study (``tradeflows simulate NAME``) and their route scenarios.
SCENARIO_DIR = STUDY_DIR / "scenarios"
ROUTE_SCENARIO_DIR = SCENARIO_DIR / "routes"

AZERBAIJAN = "AZE"
CENTRAL_ASIA = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
SOUTH_CAUCASUS = ("AZE", "ARM", "GEO")
#: Neighbours and large partners shown with the focus countries in tables and figures.
NEIGHBOURS = ("TUR", "RUS", "IRN", "CHN")
#: The study's countries: Azerbaijan, Central Asia, the South Caucasus and the neighbours.
FOCUS = tuple(dict.fromkeys((AZERBAIJAN, *CENTRAL_ASIA, *SOUTH_CAUCASUS, *NEIGHBOURS)))
#: Countries whose changes the command line prints first (``simulate`` summary).
HEADLINE = (AZERBAIJAN, *CENTRAL_ASIA)
#: The build's validation table: the panel against this country's own reports, by partner.
VALIDATION_COUNTRY = AZERBAIJAN
VALIDATION_PARTNERS = ("TUR", "GEO", "KAZ", "UZB", "RUS", "CHN")
#: OTS members in 2019 (the application's ``ots_by_member`` model) and Uzbekistan's
#: accession (October 2019; the event study's default event year).
OTS_MEMBERS_2019 = ("AZE", "KAZ", "KGZ", "TUR", "UZB")
UZB_ACCESSION = 2019
#: ``tradeflows.panel.build.build_panel(validation=...)``.
VALIDATION = (VALIDATION_COUNTRY, VALIDATION_PARTNERS)
