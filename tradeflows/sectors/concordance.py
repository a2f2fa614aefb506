"""Product concordances: HS6 product code -> sector, by longest matching HS prefix.

A concordance is a CSV with columns ``hs_prefix, sector`` and optionally ``label``:
``hs_prefix`` is 2, 4 or 6 digits (an HS chapter, heading or subheading) or ``*`` (the sector
of every product no prefix matches). The longest matching prefix wins, so ``27 -> energy``
with ``7108 -> gold`` and ``* -> other`` splits trade into energy, gold and the rest.
Without a ``*`` row, a product no prefix matches is an error (nothing is dropped silently).

Bundled (``tradeflows/data/concordances``): ``section`` (HS chapter -> the 21 HS sections,
roman numerals), ``energy`` (HS 27), ``gold`` (HS 7108, non-monetary gold), ``oil_gas``
(HS 2709 crude, 2710 refined, 2711 gas), ``energy_gold`` (HS 27, HS 7108, rest). ``chapter``
(the HS2 chapter itself) needs no file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tradeflows.config import PACKAGE_DATA
from tradeflows.errors import DataError
from tradeflows.sources._common import read_csv_text

CONCORDANCE_DIR = PACKAGE_DATA / "concordances"
BUNDLED = {"section": "hs_sections.csv", "energy": "energy.csv", "gold": "gold.csv",
           "oil_gas": "oil_gas.csv", "energy_gold": "energy_gold.csv"}
N_PRODUCTS = 1_000_000  # HS6 codes are 0..999999
_PREFIX = re.compile(r"\d{2}|\d{4}|\d{6}|\*")
_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")
UNASSIGNED = -1


@dataclass(frozen=True)
class Concordance:
    """HS6 -> sector. ``sectors``: sector names (index = sector code); ``labels``: name ->
    description; ``table``: int16 array of length 1,000,000, the sector code of each HS6 code
    (``-1``: no sector)."""

    name: str
    sectors: tuple[str, ...]
    table: np.ndarray = field(repr=False)
    labels: dict[str, str] = field(default_factory=dict, repr=False)
    source: str = ""

    def codes(self, products: np.ndarray, file: object = None,
              lines: np.ndarray | None = None) -> np.ndarray:
        """Sector codes of integer HS6 ``products``; an unassigned product raises DataError
        naming the product (and its line when ``lines`` are given)."""
        out = self.table[products]
        bad = out == UNASSIGNED
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataError(f"product {int(products[pos]):06d} has no sector in concordance "
                            f"{self.name!r} ({self.source}); add its prefix or a '*' row",
                            file=file, row=None if lines is None else int(lines[pos]),
                            column="k")
        return out


def chapter_concordance() -> Concordance:
    """HS6 -> HS2 chapter ("01".."99")."""
    sectors = tuple(f"{c:02d}" for c in range(100))
    table = (np.arange(N_PRODUCTS) // 10_000).astype(np.int16)
    return Concordance("chapter", sectors, table, source="HS2 chapter of the product code")


def load_concordance(spec: str | Path) -> Concordance:
    """A bundled concordance by name (``chapter`` or a key of :data:`BUNDLED`) or a CSV file
    (``hs_prefix, sector[, label]``); the file's stem names it."""
    if str(spec) == "chapter":
        return chapter_concordance()
    if str(spec) in BUNDLED:
        return _read(CONCORDANCE_DIR / BUNDLED[str(spec)], str(spec))
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"no concordance {str(spec)!r}: expected 'chapter', one of "
                        f"{sorted(BUNDLED)} or a CSV file", file=path)
    return _read(path, path.stem)


def _read(path: Path, name: str) -> Concordance:
    if not _NAME.fullmatch(name):
        raise DataError(f"concordance name {name!r} must be 1-40 letters, digits or '_'",
                        file=path)
    table = read_csv_text(path)
    table.columns = [c.strip() for c in table.columns]
    for col in ("hs_prefix", "sector"):
        if col not in table.columns:
            raise DataError(f"missing column {col!r}; found {list(table.columns)}", file=path,
                            column=col)
    prefixes = table["hs_prefix"].str.strip().tolist()
    sectors = table["sector"].str.strip().tolist()
    labels = (table["label"].str.strip().tolist() if "label" in table.columns
              else [""] * len(table))
    seen: dict[str, int] = {}
    for row, (p, s) in enumerate(zip(prefixes, sectors, strict=True), start=2):
        if not _PREFIX.fullmatch(p):
            raise DataError(f"hs_prefix {p!r} is not 2, 4 or 6 digits or '*'", file=path,
                            row=row, column="hs_prefix")
        if not _NAME.fullmatch(s):
            raise DataError(f"sector {s!r} must be 1-40 letters, digits or '_'", file=path,
                            row=row, column="sector")
        if p in seen:
            raise DataError(f"hs_prefix {p!r} listed twice (lines {seen[p]} and {row})",
                            file=path, row=row, column="hs_prefix")
        seen[p] = row
    names = tuple(dict.fromkeys(sectors))
    code = {s: i for i, s in enumerate(names)}
    lookup = np.full(N_PRODUCTS, UNASSIGNED, dtype=np.int16)
    # shortest prefixes first, so longer (more specific) ones overwrite them
    for p, s in sorted(zip(prefixes, sectors, strict=True),
                       key=lambda ps: -1 if ps[0] == "*" else len(ps[0])):
        if p == "*":
            lookup[:] = code[s]
            continue
        width = 10 ** (6 - len(p))
        lookup[int(p) * width:(int(p) + 1) * width] = code[s]
    first_label = {}
    for s, lab in zip(sectors, labels, strict=True):
        first_label.setdefault(s, lab)
    return Concordance(name, names, lookup, first_label, source=str(path.name))
