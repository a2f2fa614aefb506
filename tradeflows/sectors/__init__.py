"""Product-level trade: streaming BACI ETL, HS concordances, the sector-pair-year panel and
per-sector gravity (see docs/sectors.md)."""
