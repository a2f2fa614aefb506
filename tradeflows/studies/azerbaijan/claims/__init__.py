"""The claims catalog and its verdicts by pre-stated rules (see docs/claims.md)."""
