"""The catalog of the product-level tables' columns (``tradeflows variables`` lists it after
the aggregate panel's): the sector-pair-year panel (:func:`tradeflows.sectors.panel.
sector_panel`), the aggregate levels and the HS6 dataset of the BACI build
(:mod:`tradeflows.sectors.etl`). Covariates and policy variables of the sector panel are the
aggregate panel's (:func:`tradeflows.policy.variables.variable_catalog`), repeated over
sectors."""

from __future__ import annotations

import pandas as pd

_BACI = "CEPII BACI (HS6, reconciled mirror flows); tradeflows.sectors.etl"
_PANEL = "tradeflows.sectors.panel"
_LEVEL = "data/processed/sectors/<level>.parquet"
_HS6 = "data/processed/sectors/hs6/year=YYYY/"
_SPANEL = "data/processed/sectors/panel_<level>.parquet"

#: (table, name, label, unit, definition, source)
_CATALOG: list[tuple[str, str, str, str, str, str]] = [
    (_SPANEL, "year", "Year", "calendar year", "BACI year (t).", _BACI),
    (_SPANEL, "exporter", "Exporter", "ISO3 code",
     "Exporting country, BACI code mapped to ISO3 (tradeflows.countries).", _BACI),
    (_SPANEL, "importer", "Importer", "ISO3 code", "Importing country, as exporter.", _BACI),
    (_SPANEL, "sector", "Sector", "sector code",
     "Sector of the aggregate level: HS section (I-XXI), HS2 chapter (01-99), 'total', or a "
     "concordance's sector name (bundled: energy, gold, oil_gas, or a user CSV).", _BACI),
    (_SPANEL, "trade", "Trade in the sector", "USD (FOB)",
     "Exports of exporter to importer in the sector: BACI values (thousands of USD) x 1000, "
     "summed over the sector's HS6 products; 0 = the pair is in the year's square but BACI "
     "lists no flow in the sector.", f"{_BACI}; {_PANEL}"),
    (_SPANEL, "n_products", "HS6 products traded", "count",
     "Number of HS6 lines summed into `trade` (0 for zeros).", _BACI),
    (_SPANEL, "trade_basis", "Basis of trade", "category",
     "baci_fob (a BACI line) or zero_not_listed (no line: zero).", _PANEL),
    (_SPANEL, "trade_source", "Source of trade", "category", "Always 'baci'.", _PANEL),
    (_SPANEL, "domestic", "Domestic flow", "bool",
     "Always False (BACI has no intra-national flows; listed ones are dropped and counted).",
     _PANEL),
    (_LEVEL, "value_usd", "Trade in the sector", "USD (FOB)",
     "Sum of the sector's HS6 values in the pair-year (listed flows only, no zeros); "
     "other columns: year, exporter, importer, sector, n_products as in the sector panel.",
     _BACI),
    (_HS6, "product", "HS6 product", "6-character HS code",
     "Product in BACI's HS nomenclature of the release (HS92 ... HS22), zero-padded.", _BACI),
    (_HS6, "value_usd", "Trade in the product", "USD (FOB)",
     "BACI value (thousands of USD) x 1000.", _BACI),
    (_HS6, "quantity_t", "Quantity", "metric tonnes",
     "BACI quantity (q); null where BACI has none.", _BACI),
]


def sector_variable_catalog() -> pd.DataFrame:
    """The product-level tables' own columns: ``table, name, label, unit, definition,
    source`` (``table``: where the column lives). The sector panel's covariates and policy
    variables are those of the aggregate catalog."""
    return pd.DataFrame(_CATALOG, columns=["table", "name", "label", "unit", "definition",
                                           "source"])
