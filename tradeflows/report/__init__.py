"""The claims report: tables, figures, HTML and Markdown pages, manifest (docs/claims.md)."""
