"""Streaming BACI ETL: yearly HS6 CSVs -> a Parquet dataset by year + sector aggregates.

Columnar library: **pyarrow** (already a dependency; the text is cut into blocks of
``block_bytes`` at line ends and each block parsed by pyarrow's multithreaded CSV parser, and
its Parquet writer appends row groups, so no year is ever held in memory; DuckDB or polars
would add a second engine for the same job). Each block is checked
and mapped with numpy and written out at once; the aggregates of the year being read are
dense ``numpy.bincount`` accumulators indexed by (exporter, importer, sector). Peak memory is
therefore one block plus the accumulators of one year (O(countries^2 x sectors), about
70 MB for HS2 chapters), whatever the number of years or rows.

Input: BACI release zips (``BACI_HS92_V202401.zip``, members read without extracting them)
or yearly CSVs (``BACI_HS92_Y2021_V202401.csv`` with ``country_codes_V*.csv`` beside them);
columns ``t,i,j,k,v,q`` (year, exporter, importer, HS6 product, value in thousands of USD,
quantity in tonnes), see :mod:`tradeflows.sources.baci`, whose country-code table is reused.

Output (``out_dir``, default ``data/processed/sectors``; written in a staging folder and
swapped in whole by :func:`tradeflows.io.replace_dir`, so a failed run leaves the previous
output intact and `tradeflows.io.recover` of the parent removes a killed run's stage):

* ``hs6/year=YYYY/part-0.parquet`` (hive partitions; :func:`read_hs6` adds ``year``):
  ``exporter, importer`` (ISO3), ``product`` (HS6, 6 characters), ``value_usd`` (USD),
  ``quantity_t`` (tonnes, may be null);
* ``<level>.parquet`` for ``total`` (all products), ``chapter`` (HS2), ``section`` and each
  requested concordance: ``year, exporter, importer, sector, value_usd, n_products``
  (HS6 lines summed);
* ``manifest.json``: inputs (file name and sha256), rows read and written, drops by
  reason, levels with their sectors and labels.

Checks (``DataError`` naming the file, its line and column): empty or non-numeric cells, a
year other than the file's, negative or non-finite values, codes outside the country table,
product codes outside 0-999999, duplicate ``(t, i, j, k)`` lines (checked in one pass with no
memory when the file is sorted, as BACI's are; otherwise by a second pass over the keys, 8
bytes per line of the year). Aggregate partners (e.g. "Other Asia, nes") are dropped and
counted as ``aggregate_exporter`` / ``aggregate_importer``.
"""

from __future__ import annotations

import re
import shutil
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from tradeflows import __version__
from tradeflows.errors import DataError
from tradeflows.io import replace_dir, sha256_file, staging_dir, write_json
from tradeflows.sectors.concordance import Concordance, chapter_concordance, load_concordance
from tradeflows.sources.archive import extract_member, is_zip, zip_members
from tradeflows.sources.baci import (
    CODES_FILE,
    UNIT,
    YEAR_FILE,
    find_country_codes,
    read_country_codes,
    same_release,
)

BLOCK_BYTES = 8 << 20
COLUMNS = ("t", "i", "j", "k", "v", "q")
DEFAULT_LEVELS = ("section", "energy_gold", "oil_gas")
_YEAR = re.compile(r"_Y(\d{4})_")
N_CODES = 1000  # BACI country codes are 0..999
N_PRODUCTS = 1_000_000
AGG_COLUMNS = ["year", "exporter", "importer", "sector", "value_usd", "n_products"]


@dataclass(frozen=True)
class YearFile:
    """One yearly BACI CSV: where it is (a path or a zip member) and its country codes."""

    year: int
    label: str  # for messages: "archive.zip:member.csv" or the path
    path: Path
    member: str | None
    codes: dict[int, str | None]

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The file's bytes (a zip member is decompressed as it is read)."""
        if self.member is None:
            with open(self.path, "rb") as fh:
                yield fh
        else:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as fh:
                yield fh

    def local_path(self) -> Path:
        """A path to the CSV (a zip member is extracted): for locating a bad line."""
        return self.path if self.member is None else extract_member(self.path, self.member)


@dataclass
class SectorBuild:
    """What :func:`build_sectors` wrote, with counts; ``describe()`` for people."""

    out_dir: Path
    years: list[int]
    rows_read: int
    rows_written: int
    levels: dict[str, int]
    drops: dict[str, int]
    merged_codes: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def hs6(self) -> Path:
        return self.out_dir / "hs6"

    def level(self, name: str) -> Path:
        """Path of an aggregate level's Parquet file."""
        return self.out_dir / f"{name}.parquet"

    def describe(self) -> str:
        span = f"{self.years[0]}-{self.years[-1]}" if self.years else "none"
        rate = self.rows_read / self.seconds if self.seconds else float("nan")
        lines = [f"sectors    {self.out_dir}  (years {span}, {self.rows_read:,} BACI lines "
                 f"read, {self.rows_written:,} HS6 rows written)",
                 *(f"  {name:<14} {rows:>12,} rows  {self.level(name).name}"
                   for name, rows in self.levels.items()),
                 "rows dropped, by reason:",
                 *(f"  {k:<40} {v:>10,}" for k, v in sorted(self.drops.items())),
                 f"built in {self.seconds:.1f} s ({rate:,.0f} lines/s)"]
        if self.merged_codes:
            lines.append("BACI codes summed into one ISO3: " + ", ".join(
                f"{iso}={codes}" for iso, codes in sorted(self.merged_codes.items())))
        return "\n".join(lines)


# --- inputs ----------------------------------------------------------------------------------
def year_files(inputs: Sequence[str | Path], years: Sequence[int] | None = None
               ) -> list[YearFile]:
    """The yearly files of ``inputs`` (release zips or yearly CSVs), sorted by year; a year
    found twice, or a requested year found nowhere, raises ``DataError``."""
    found: dict[int, YearFile] = {}
    tables: dict[Path, dict[int, str | None]] = {}

    def codes_of(path: Path) -> dict[int, str | None]:
        if path.resolve() not in tables:
            tables[path.resolve()] = read_country_codes(path)
        return tables[path.resolve()]

    for raw in inputs:
        path = Path(raw)
        if not path.is_file():
            raise DataError("no such BACI file", file=path)
        if is_zip(path):  # a release zip, whatever its name
            code_members = zip_members(path, CODES_FILE)
            if not code_members:
                raise DataError("no country_codes_V*.csv in the archive", file=path)
            members = zip_members(path, YEAR_FILE)
            if not members:
                raise DataError("no BACI_*_Y<year>_V<release>.csv in the archive", file=path)
            codes = codes_of(extract_member(path, same_release(code_members, members[0])[-1]))
            entries = [(m, int(_YEAR.search(Path(m).name).group(1))) for m in members]
        else:
            codes = codes_of(find_country_codes(path))
            m = _YEAR.search(path.name)
            entries = [(None, int(m.group(1)) if m else _first_year(path))]
        for member, year in entries:
            label = f"{path}:{member}" if member else str(path)
            if year in found:
                raise DataError(f"year {year} found twice ({found[year].label} and {label})",
                                file=path)
            found[year] = YearFile(year, label, path, member, codes)
    wanted = sorted(found) if years is None else sorted(set(years))
    missing = [y for y in wanted if y not in found]
    if not found or missing:
        raise DataError(f"no BACI yearly file for {missing or 'any year'} "
                        f"(found {sorted(found)})", file=", ".join(str(p) for p in inputs))
    return [found[y] for y in wanted]


def _first_year(path: Path) -> int:
    """The year (column ``t``) of the first data line, for a file whose name lacks it."""
    import csv

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        rows = csv.reader(fh)
        header = [c.strip() for c in next(rows, [])]
        first = next(rows, None)
    if "t" not in header or first is None or len(first) != len(header):
        raise DataError("cannot tell the year: no _Y<year>_ in the file name and no data "
                        "line with a column t", file=path, row=2)
    try:
        return int(first[header.index("t")].strip())
    except ValueError:
        raise DataError(f"year {first[header.index('t')]!r} is not a whole number",
                        file=path, row=2, column="t") from None


# --- reading ---------------------------------------------------------------------------------
def _header(yf: YearFile) -> list[str]:
    with yf.open() as fh:
        raw = fh.readline()
    try:
        first = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise DataError(f"not a UTF-8 text file ({exc})", file=yf.label, row=1) from exc
    names = [c.strip().strip('"') for c in first.split(",")]
    missing = [c for c in COLUMNS[:5] if c not in names]
    if missing:
        raise DataError(f"missing column(s) {missing}; expected BACI columns t,i,j,k,v,q, "
                        f"found {names}", file=yf.label, row=1)
    return first.split(",")


def iter_blocks(yf: YearFile, block_bytes: int = BLOCK_BYTES
                ) -> Iterator[tuple[int, pa.Table]]:
    """``(first line number, table)`` of ``t,i,j,k,v[,q]`` (int64 codes, float64 values),
    about ``block_bytes`` of CSV text at a time: the text is cut at a line end and parsed by
    pyarrow (multithreaded), so at most one block is held (pyarrow's own streaming reader
    reads many blocks ahead). A malformed line or non-number raises DataError naming its
    line."""
    raw = _header(yf)
    names = [c.strip().strip('"') for c in raw]
    types = {c: (pa.float64() if c in "vq" else pa.int64()) for c in COLUMNS if c in names}
    read = pacsv.ReadOptions(column_names=names, block_size=max(block_bytes // 4, 1 << 16))
    parse = pacsv.ParseOptions(ignore_empty_lines=False)
    convert = pacsv.ConvertOptions(include_columns=list(types), column_types=types,
                                   null_values=["", "NA"], strings_can_be_null=False)
    line = 2
    try:
        with yf.open() as fh:
            fh.readline()  # the header
            for chunk in _line_chunks(fh, block_bytes):
                table = pacsv.read_csv(pa.py_buffer(chunk), read_options=read,
                                       parse_options=parse, convert_options=convert)
                yield line, table
                line += table.num_rows
    except pa.ArrowInvalid as exc:
        _locate(yf, str(exc), len(raw))
        raise DataError(f"malformed CSV file ({exc})", file=yf.label) from exc


def _line_chunks(fh: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    """Successive pieces of ``fh`` of about ``block_bytes``, each ending at a line end."""
    rest = b""
    while True:
        data = fh.read(block_bytes)
        if not data:
            if rest.strip(b"\r\n"):
                yield rest
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        rest = data[cut:]
        yield data[:cut]


def _locate(yf: YearFile, message: str, n_fields: int) -> None:
    """Raise DataError at the first line with a wrong field count or a non-integer code /
    non-numeric value (slow path, only after pyarrow refused the file)."""
    import csv

    with open(yf.local_path(), encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        header = [c.strip() for c in next(reader)]
        for row in reader:
            if len(row) != n_fields:
                raise DataError(f"malformed CSV file: the line has {len(row)} fields, the "
                                f"header {n_fields}", file=yf.label, row=reader.line_num)
            for col, cell in zip(header, row, strict=True):
                cell = cell.strip()
                if col not in COLUMNS or cell in ("", "NA"):
                    continue
                try:
                    if col in "vq":
                        float(cell)
                    else:
                        int(cell)
                except ValueError:
                    kind = "a number" if col in "vq" else "a whole number"
                    raise DataError(f"{cell!r} is not {kind}", file=yf.label,
                                    row=reader.line_num, column=col) from None


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _check_block(yf: YearFile, first_line: int, batch: pa.RecordBatch, known: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """numpy columns of a block after the checks of the module docstring."""
    for c in COLUMNS[:5]:
        col = batch.column(c)
        if col.null_count:
            pos = _first(pc.is_null(col).to_numpy(zero_copy_only=False))
            raise DataError("empty cell; expected a value", file=yf.label,
                            row=first_line + pos, column=c)
    cols = {c: batch.column(c).to_numpy() for c in COLUMNS[:5]}
    q = (batch.column("q").to_numpy(zero_copy_only=False).astype(np.float64)
         if "q" in batch.schema.names else np.full(batch.num_rows, np.nan))
    cols["q"] = q

    def fail(mask: np.ndarray, col: str, what: str) -> None:
        if mask.any():
            pos = _first(mask)
            raise DataError(f"{what} ({cols[col][pos]!r})", file=yf.label,
                            row=first_line + pos, column=col)

    fail(cols["t"] != yf.year, "t", f"year differs from the file's year {yf.year}")
    for side in ("i", "j"):
        code = cols[side]
        inside = (code >= 0) & (code < N_CODES)
        fail(~inside, side, "country code outside 0-999")
        fail(~known[code], side, "unknown BACI country code; expected a code listed in the "
             "country-code file")
    fail((cols["k"] < 0) | (cols["k"] >= N_PRODUCTS), "k", "HS6 product code outside 0-999999")
    fail(~np.isfinite(cols["v"]) | (cols["v"] < 0), "v", "value must be finite and >= 0")
    fail(q < 0, "q", "quantity must be >= 0")
    return cols


class _KeyCheck:
    """Duplicate ``(i, j, k)`` lines of one year file: free while the file is sorted; when it
    is not, ``needs_second_pass`` is set and :func:`_check_keys_stored` does the work."""

    def __init__(self) -> None:
        self.last = -1
        self.sorted = True

    def add(self, keys: np.ndarray, first_line: int, label: str) -> None:
        if not self.sorted or keys.size == 0:
            return
        steps = np.diff(keys)
        if keys[0] < self.last or (steps < 0).any():
            self.sorted = False
            return
        if keys[0] == self.last:
            _duplicate(label, first_line - 1, first_line)
        if (steps == 0).any():
            pos = _first(steps == 0)
            _duplicate(label, first_line + pos, first_line + pos + 1)
        self.last = int(keys[-1])


def _duplicate(label: str, a: int, b: int) -> None:
    raise DataError(f"duplicate rows for t/i/j/k (lines {a} and {b}); expected one row per "
                    "year, exporter, importer and product", file=label, row=b)


def _keys(cols: dict[str, np.ndarray]) -> np.ndarray:
    return (cols["i"] * N_CODES + cols["j"]) * N_PRODUCTS + cols["k"]


def _check_keys_stored(yf: YearFile, block_bytes: int) -> None:
    """Second pass over an unsorted file: all its keys (8 bytes a line), sorted."""
    parts = []
    for _, batch in iter_blocks(yf, block_bytes):
        parts.append(_keys({c: batch.column(c).to_numpy() for c in "ijk"}))
    keys = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    del parts
    keys.sort()
    dup = keys[1:] == keys[:-1]
    if not dup.any():
        return
    key = int(keys[_first(dup)])
    del keys
    lines = []
    for first_line, batch in iter_blocks(yf, block_bytes):
        hit = _keys({c: batch.column(c).to_numpy() for c in "ijk"}) == key
        lines += (first_line + np.flatnonzero(hit)).tolist()
    _duplicate(yf.label, lines[0], lines[1])


# --- aggregation -----------------------------------------------------------------------------
class _Accumulator:
    """Dense sums of value and line counts over (exporter, importer, sector) for one year."""

    def __init__(self, concordance: Concordance | None, n_countries: int) -> None:
        self.concordance = concordance
        self.n_s = 1 if concordance is None else len(concordance.sectors)
        self.size = n_countries * n_countries * self.n_s
        self.value = np.zeros(self.size)
        self.count = np.zeros(self.size, dtype=np.int64)

    def add(self, pair: np.ndarray, k: np.ndarray, v: np.ndarray, label: str,
            lines: np.ndarray) -> None:
        if self.concordance is None:
            key = pair
        else:
            sector = self.concordance.table[k]
            if (sector < 0).any():
                self.concordance.codes(k, file=label, lines=lines)
            key = pair * self.n_s + sector
        if key.size and (key[1:] >= key[:-1]).all():
            # sorted keys (BACI's order for total, chapter, section): sums by segment, no
            # pass over the whole accumulator
            start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
            self.value[key[start]] += np.add.reduceat(v, start)
            self.count[key[start]] += np.diff(np.append(start, key.size))
            return
        self.value += np.bincount(key, weights=v, minlength=self.size)
        self.count += np.bincount(key, minlength=self.size)

    def tables(self, year: int, countries: np.ndarray, rows: int = 1 << 20
               ) -> Iterator[pa.Table]:
        """The year's non-empty cells as tables of at most ``rows`` rows (so the year's
        output is never materialized at once); resets the accumulator afterwards."""
        names = ("all",) if self.concordance is None else self.concordance.sectors
        country_names = pa.array(countries.astype(str))
        sector_names = pa.array(list(names), pa.string())
        n_c = len(countries)
        nz_all = np.flatnonzero(self.count)
        for first in range(0, nz_all.size, rows):
            nz = nz_all[first:first + rows]
            pair, sector = np.divmod(nz, self.n_s)
            exp, imp = np.divmod(pair, n_c)
            yield pa.Table.from_arrays([
                pa.array(np.full(nz.size, year, dtype=np.int64)),
                pa.DictionaryArray.from_arrays(pa.array(exp.astype(np.int32)), country_names),
                pa.DictionaryArray.from_arrays(pa.array(imp.astype(np.int32)), country_names),
                pa.DictionaryArray.from_arrays(pa.array(sector.astype(np.int32)), sector_names),
                pa.array(self.value[nz] * UNIT), pa.array(self.count[nz])], schema=AGG_SCHEMA)
        self.value[:] = 0.0
        self.count[:] = 0


def _country_index(codes: dict[int, str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ISO3 names, code -> ISO3 index (-1 aggregate), code known?) for codes 0..999."""
    names = np.array(sorted({v for v in codes.values() if v is not None}), dtype=object)
    pos = {n: i for i, n in enumerate(names)}
    lut = np.full(N_CODES, -1, dtype=np.int64)
    known = np.zeros(N_CODES, dtype=bool)
    for code, iso in codes.items():
        if 0 <= code < N_CODES:
            known[code] = True
            lut[code] = -1 if iso is None else pos[iso]
    return names, lut, known


_DICT = pa.dictionary(pa.int32(), pa.string())
HS6_SCHEMA = pa.schema([("exporter", _DICT), ("importer", _DICT), ("product", _DICT),
                        ("value_usd", pa.float64()), ("quantity_t", pa.float64())])
AGG_SCHEMA = pa.schema([("year", pa.int64()), ("exporter", _DICT), ("importer", _DICT),
                        ("sector", _DICT), ("value_usd", pa.float64()),
                        ("n_products", pa.int64())])


# --- the build -------------------------------------------------------------------------------
def build_sectors(inputs: Sequence[str | Path], out_dir: str | Path, *,
                  concordances: Sequence[str | Path] = DEFAULT_LEVELS,
                  years: Sequence[int] | None = None, block_bytes: int = BLOCK_BYTES,
                  write_hs6: bool = True, progress: bool = False) -> SectorBuild:
    """Stream the BACI ``inputs`` into ``out_dir`` (layout in the module docstring).

    ``concordances``: extra aggregate levels besides ``total``, ``chapter`` and ``section``
    (bundled names or CSV files, :func:`tradeflows.sectors.concordance.load_concordance`).
    ``years``: which years to read (default all found). ``write_hs6=False`` writes only the
    aggregates.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    files = year_files(inputs, years)
    levels: dict[str, Concordance | None] = {"total": None, "chapter": chapter_concordance()}
    for spec in ("section", *concordances):
        conc = load_concordance(spec)
        if conc.name in levels:
            continue
        levels[conc.name] = conc
    drops = {"aggregate_exporter": 0, "aggregate_importer": 0}
    rows_read = rows_written = 0
    level_rows = dict.fromkeys(levels, 0)
    merged: dict[str, list[int]] = {}
    stage = staging_dir(out_dir)  # removed by io.recover if this process is killed
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        writers = {name: pq.ParquetWriter(stage / f"{name}.parquet", AGG_SCHEMA)
                   for name in levels}
        for yf in tqdm(files, desc="BACI years", unit="year", disable=not progress):
            countries, lut, known = _country_index(yf.codes)
            for iso in set(v for v in yf.codes.values() if v is not None):
                codes = sorted(c for c, v in yf.codes.items() if v == iso)
                if len(codes) > 1:
                    merged[iso] = codes
            accs = {name: _Accumulator(conc, len(countries)) for name, conc in levels.items()}
            part = stage / "hs6" / f"year={yf.year}" / "part-0.parquet"
            if write_hs6:
                part.parent.mkdir(parents=True, exist_ok=True)
            hs6 = (pq.ParquetWriter(part, HS6_SCHEMA, compression="zstd",
                                    use_dictionary=["exporter", "importer", "product"])
                   if write_hs6 else None)
            if hs6 is not None:
                writers[f"hs6/{yf.year}"] = hs6  # closed on failure too
            keys = _KeyCheck()
            for first_line, batch in iter_blocks(yf, block_bytes):
                cols = _check_block(yf, first_line, batch, known)
                rows_read += batch.num_rows
                keys.add(_keys(cols), first_line, yf.label)
                exp, imp = lut[cols["i"]], lut[cols["j"]]
                agg_i = exp < 0
                agg_j = (imp < 0) & ~agg_i
                drops["aggregate_exporter"] += int(agg_i.sum())
                drops["aggregate_importer"] += int(agg_j.sum())
                ok = ~(agg_i | agg_j)
                line_no = first_line + np.flatnonzero(ok)
                if not ok.all():
                    cols = {c: a[ok] for c, a in cols.items()}
                    exp, imp = exp[ok], imp[ok]
                pair = exp * len(countries) + imp
                for acc in accs.values():
                    acc.add(pair, cols["k"], cols["v"], yf.label, line_no)
                if hs6 is not None:
                    hs6.write_batch(_hs6_batch(countries, exp, imp, cols))
                    rows_written += len(pair)
            if hs6 is not None:
                hs6.close()
            if not keys.sorted:
                _check_keys_stored(yf, block_bytes)
            for name, acc in accs.items():
                for table in acc.tables(yf.year, countries):
                    writers[name].write_table(table)
                    level_rows[name] += table.num_rows
        for w in writers.values():
            w.close()
        write_json({
            "tradeflows_version": __version__,
            # by file name (with its checksum): no absolute path in an output
            "inputs": {p.name: sha256_file(p) for p in dict.fromkeys(f.path for f in files)},
            "years": [f.year for f in files], "rows_read": rows_read,
            "rows_written_hs6": rows_written, "drops": drops,
            "levels": {name: {"rows": level_rows[name],
                              "concordance": None if c is None else c.source,
                              "sectors": None if c is None else list(c.sectors),
                              "labels": None if c is None else c.labels}
                       for name, c in levels.items()},
            "merged_codes": merged, "block_bytes": block_bytes,
        }, stage / "manifest.json")
        replace_dir(stage, out_dir)
    finally:
        for w in writers.values():
            w.close()  # no-op when already closed
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return SectorBuild(out_dir=out_dir, years=[f.year for f in files], rows_read=rows_read,
                       rows_written=rows_written, levels=level_rows, drops=drops,
                       merged_codes=merged, seconds=time.perf_counter() - start)


def _hs6_batch(countries: np.ndarray, exp: np.ndarray, imp: np.ndarray,
               cols: dict[str, np.ndarray]) -> pa.RecordBatch:
    """Dictionary-encoded country and product columns (fast to write, small to read)."""
    names = pa.array(countries.astype(str))
    present = np.zeros(N_PRODUCTS, dtype=bool)
    present[cols["k"]] = True
    products = np.flatnonzero(present)
    inverse = (np.cumsum(present) - 1)[cols["k"]]  # rank of each product among those present
    labels = pc.utf8_lpad(pc.cast(pa.array(products), pa.string()), 6, "0")
    return pa.RecordBatch.from_arrays([
        pa.DictionaryArray.from_arrays(pa.array(exp.astype(np.int32)), names),
        pa.DictionaryArray.from_arrays(pa.array(imp.astype(np.int32)), names),
        pa.DictionaryArray.from_arrays(pa.array(inverse.astype(np.int32)), labels),
        pa.array(cols["v"] * UNIT),
        pa.array(cols["q"], mask=np.isnan(cols["q"]))], schema=HS6_SCHEMA)


# --- reading the outputs ---------------------------------------------------------------------
def read_level(out_dir: str | Path, level: str = "section") -> pd.DataFrame:
    """An aggregate level written by :func:`build_sectors` as a DataFrame (text columns as
    ``str``)."""
    path = Path(out_dir) / f"{level}.parquet"
    if not path.exists():
        raise DataError(f"no sector level {level!r}: run `tradeflows sectors build` (with "
                        "the concordance) first", file=path)
    df = pd.read_parquet(path)
    for col in ("exporter", "importer", "sector"):
        df[col] = df[col].astype(str)  # stored dictionary-encoded
    return df


def read_hs6(out_dir: str | Path, years: Sequence[int] | None = None,
             columns: Sequence[str] | None = None) -> pd.DataFrame:
    """HS6 rows of ``years`` (default all) from the ``hs6/`` dataset, with ``year`` (int64)
    first and text columns as ``str`` (stored dictionary-encoded). Reads only the partitions
    asked for."""
    import pyarrow.dataset as ds

    root = Path(out_dir) / "hs6"
    if not root.is_dir():
        raise DataError("no HS6 dataset: run `tradeflows sectors build` first", file=root)
    dataset = ds.dataset(root, format="parquet", partitioning=ds.partitioning(
        pa.schema([("year", pa.int64())]), flavor="hive"))
    filt = None if years is None else pc.field("year").isin(list(years))
    table = dataset.to_table(columns=None if columns is None else ["year", *columns],
                             filter=filt)
    df = table.to_pandas()
    for col in ("exporter", "importer", "product"):
        if col in df.columns:
            df[col] = df[col].astype(str)
    df = df[["year", *[c for c in df.columns if c != "year"]]]
    return df.sort_values("year", kind="stable").reset_index(drop=True)


def baci_trade_table(out_dir: str | Path) -> pd.DataFrame:
    """The canonical trade table (``tradeflows.sources``) from the ``total`` level: one row
    per year, exporter and importer, like ``read_baci`` (``attrs["drops"]`` from the
    manifest)."""
    import json

    from tradeflows.sources.base import validate_trade

    out_dir = Path(out_dir)
    total = read_level(out_dir, "total")
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    df = pd.DataFrame({"year": total["year"], "exporter": total["exporter"],
                       "importer": total["importer"], "value_usd": total["value_usd"],
                       "reporter_side": "exporter", "flow": "export", "source": "baci",
                       "estimated": False})
    df = df.sort_values(["year", "exporter", "importer"], kind="stable").reset_index(drop=True)
    out = validate_trade(df, file=out_dir / "total.parquet")
    out.attrs["drops"] = dict(manifest["drops"])
    return out
