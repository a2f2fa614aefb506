"""Synthetic BACI-format files (same columns, codes and units as CEPII's) for tests and the
ETL benchmark: ``BACI_HS92_Y<year>_V202401.csv`` with ``t,i,j,k,v,q`` sorted by
exporter, importer and product as BACI's are, plus ``country_codes_V202401.csv``.

Values are thousands of USD with 3 decimals, quantities tonnes (about 3% empty); products
are drawn from a fixed pool of HS6 codes over every chapter. Deterministic given ``seed``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pycountry

from tradeflows.config import PACKAGE_DATA
from tradeflows.io import atomic_path

RELEASE = "V202401"
CHUNK_ROWS = 1_000_000
#: Countries every synthetic table includes (data, one ISO3 code a line).
MUST_FILE = PACKAGE_DATA / "synthetic_countries.csv"
# BACI reporting codes that differ from ISO numeric (tradeflows.countries knows them)
_BACI_CODES = {"USA": 842, "FRA": 251, "NOR": 579, "CHE": 757, "IND": 699}


def country_table(n_countries: int) -> list[tuple[int, str, str]]:
    """``(BACI code, name, ISO3)`` of ``n_countries`` countries (ISO numeric order, BACI's
    own codes where they differ), always including the countries of ``MUST_FILE`` (those the
    policy and route variables vary for)."""
    must = tuple(pd.read_csv(MUST_FILE, dtype=str)["iso3"])
    rows = [(_BACI_CODES.get(c.alpha_3, int(c.numeric)), c.name, c.alpha_3)
            for c in pycountry.countries if int(c.numeric) < 1000]
    rows.sort()
    chosen = [r for r in rows if r[2] in must]
    chosen += [r for r in rows if r[2] not in must][:max(0, n_countries - len(chosen))]
    return sorted(chosen[:n_countries])


def product_pool(n_products: int, seed: int = 1) -> np.ndarray:
    """``n_products`` distinct sorted HS6 codes spread over chapters 01-97 (not 77)."""
    rng = np.random.default_rng(seed)
    chapters = np.array([c for c in range(1, 98) if c != 77])
    codes = set()
    while len(codes) < n_products:
        ch = rng.choice(chapters, size=n_products)
        rest = rng.integers(100, 10_000, size=n_products)
        codes.update((ch * 10_000 + rest).tolist())
    return np.sort(np.fromiter(codes, dtype=np.int64))[:n_products]


def write_country_codes(folder: Path, n_countries: int) -> Path:
    """``country_codes_V202401.csv`` in ``folder`` (with one aggregate, code 697)."""
    target = folder / f"country_codes_{RELEASE}.csv"
    lines = ["country_code,country_name,country_iso2,country_iso3"]
    for code, name, iso3 in country_table(n_countries):
        lines.append(f'{code},"{name}",,{iso3}')
    lines.append('697,"Europe EFTA, nes",,R20')
    with atomic_path(target) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def write_baci_year(folder: Path, year: int, n_rows: int, *, n_countries: int = 200,
                    n_products: int = 5000, seed: int = 0) -> Path:
    """One yearly BACI CSV of ``n_rows`` lines (written in chunks: memory does not grow with
    ``n_rows``). Each ordered pair trades about ``n_rows / pairs`` products."""
    codes = np.array([c for c, _, _ in country_table(n_countries)], dtype=np.int64)
    pairs = np.array([(a, b) for a in codes for b in codes if a != b], dtype=np.int64)
    pool = product_pool(n_products)
    per_pair = np.full(len(pairs), n_rows // len(pairs))
    per_pair[: n_rows % len(pairs)] += 1
    if per_pair.max() > n_products:
        raise ValueError(f"{n_rows} rows need more than {n_products} products per pair")
    rng = np.random.default_rng([seed, year])
    starts = rng.integers(0, n_products, size=len(pairs))
    offsets = np.concatenate([[0], np.cumsum(per_pair)])
    target = folder / f"BACI_HS92_Y{year}_{RELEASE}.csv"
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(b"t,i,j,k,v,q\n")
        first = 0
        while first < len(pairs):
            last = int(np.searchsorted(offsets, offsets[first] + CHUNK_ROWS, side="right"))
            last = max(last, first + 1)
            last = min(last, len(pairs))
            m = per_pair[first:last]
            pair_idx = np.repeat(np.arange(first, last), m)
            within = np.arange(m.sum()) - np.repeat(offsets[first:last] - offsets[first], m)
            prod = pool[(starts[pair_idx] + within) % n_products]
            order = np.lexsort((prod, pair_idx))
            pair_idx, prod = pair_idx[order], prod[order]
            n = len(prod)
            value = np.round(rng.lognormal(2.0, 2.5, size=n), 3) + 0.001
            qty = np.round(value * rng.uniform(0.1, 5.0, size=n), 3)
            table = pa.table({
                "t": np.full(n, year, dtype=np.int64), "i": pairs[pair_idx, 0],
                "j": pairs[pair_idx, 1],
                "k": pc.utf8_lpad(pa.array(prod).cast(pa.string()), 6, "0"),
                "v": value,
                "q": pa.array(qty, mask=rng.random(n) < 0.03)})
            pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False,
                                                           quoting_style="none"))
            first = last
    return target


def write_baci(folder: str | Path, years: Sequence[int], rows_per_year: int, *,
               n_countries: int = 200, n_products: int = 5000, seed: int = 0,
               zip_name: str | None = None) -> list[Path]:
    """Yearly files and the country codes in ``folder``; with ``zip_name`` they are packed
    into one release zip (``[zip]`` is returned, the CSVs removed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = [write_country_codes(folder, n_countries)]
    files += [write_baci_year(folder, y, rows_per_year, n_countries=n_countries,
                              n_products=n_products, seed=seed) for y in years]
    if zip_name is None:
        return files[1:]
    target = folder / zip_name
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.name)
    for f in files:
        f.unlink()
    return [target]


def sector_panel_data(n_countries: int = 12, n_years: int = 6, n_sectors: int = 3,
                      seed: int = 0) -> pd.DataFrame:
    """A synthetic sector-pair-year panel for per-sector PPML: ``sector, year, exporter,
    importer, trade`` (Poisson counts around a gravity mean), ``policy`` (0/1, switched on
    for a third of the pairs from a pair-specific year), ``ln_dist`` and the identifiers
    ``exp_year, imp_year, pair``. The true effect of ``policy`` in sector ``s`` is
    ``0.1 + 0.4 s / n_sectors``."""
    rng = np.random.default_rng(seed)
    names = np.array([f"C{i:03d}" for i in range(n_countries)], dtype=object)
    e, i = np.meshgrid(np.arange(n_countries), np.arange(n_countries), indexing="ij")
    off = e != i
    e, i = e[off], i[off]
    n_pairs = len(e)
    dist = rng.uniform(5.0, 9.0, size=n_pairs)
    treated = rng.random(n_pairs) < 1 / 3
    start = rng.integers(1, max(n_years, 2), size=n_pairs)
    frames = []
    for s in range(n_sectors):
        year = np.repeat(np.arange(n_years), n_pairs)
        pe, pi = np.tile(e, n_years), np.tile(i, n_years)
        policy = (np.tile(treated, n_years) & (year >= np.tile(start, n_years))).astype(float)
        fe_e = rng.normal(0, 1, size=(n_countries, n_years))[pe, year]
        fe_i = rng.normal(0, 1, size=(n_countries, n_years))[pi, year]
        beta = 0.1 + 0.4 * s / n_sectors
        mu = np.exp(2.0 + fe_e + fe_i - 0.8 * (np.tile(dist, n_years) - 7) + beta * policy)
        frames.append(pd.DataFrame({
            "sector": f"S{s:03d}", "year": 2000 + year, "exporter": names[pe],
            "importer": names[pi], "trade": rng.poisson(mu).astype(float),
            "policy": policy, "ln_dist": np.tile(dist, n_years)}))
    df = pd.concat(frames, ignore_index=True)
    year = df["year"].astype(str)
    df["exp_year"] = df["exporter"] + "_" + year
    df["imp_year"] = df["importer"] + "_" + year
    df["pair"] = df["exporter"] + "_" + df["importer"]
    return df
