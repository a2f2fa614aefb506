"""Property-based tests (hypothesis): arbitrary bad input to every reader, the scenario
schema, the selection language and the formula boundary gives a DataError or a usage error
(SpecificationError), never another exception; what a reader returns is finite and valid.

Example counts are small (``EXAMPLES``) so the suite stays fast; the seed is fixed."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import tradeflows as tf
from tradeflows.errors import DataError, SpecificationError, TradeflowsError
from tradeflows.gravity.scenario_schema import TOP_KEYS, parse_scenario
from tradeflows.gravity.scenarios import load_scenario
from tradeflows.selection import SelectionError, check, evaluate, parse
from tradeflows.sources import bundled
from tradeflows.sources.baci import read_baci
from tradeflows.sources.base import YEAR_RANGE
from tradeflows.sources.cepii_gravity import read_cepii_gravity, read_cepii_gravity_covariates
from tradeflows.sources.comtrade import read_comtrade
from tradeflows.sources.fdi import read_unctad_fdi
from tradeflows.sources.imf import read_imf
from tradeflows.sources.itpd import read_itpd
from tradeflows.sources.wdi import read_wdi

EXAMPLES = int(os.environ.get("TRADEFLOWS_PROPERTY_EXAMPLES", "15"))  # more for a deep run
FIX = Path(__file__).parent / "fixtures" / "sources"
RAW = tf.config.paths().raw
SEED = 20261201
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 15, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Cells a hostile or broken file may hold.
CELLS = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "NaN", "Infinity", "1e999", "-1", "-0.5", "",
                     "..", "-", "True", "False", "2999", "1899", "0x10", "1,000", "1e308",
                     "9" * 30, '"', "'", "\x00", "é", "AZE", "WLD", "<script>", "2019.5",
                     "\n", ",", ";"]),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**12, max_value=10**12).map(str),
)


def _finite_output(df: pd.DataFrame) -> None:
    """What a reader returns: no infinite number anywhere, values present and finite,
    years within range, ``estimated`` boolean."""
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col]):
            assert not np.isinf(df[col].to_numpy()).any(), col
    if "value_usd" in df.columns:
        assert np.isfinite(df["value_usd"].to_numpy(dtype=float)).all()
    if "year" in df.columns and len(df):
        years = df["year"].to_numpy()
        assert ((years >= YEAR_RANGE[0]) & (years <= YEAR_RANGE[1])).all()
    if "estimated" in df.columns:
        assert pd.api.types.is_bool_dtype(df["estimated"])


def _read_or_data_error(read: Callable[[Path], pd.DataFrame | pd.Series], path: Path) -> None:
    try:
        out = read(path)
    except DataError:
        return
    _finite_output(out.to_frame() if isinstance(out, pd.Series) else out)


def _mutate_csv(text: str, line: int, field: int, cell: str) -> str:
    """Replace one field of one line of CSV text (quoted as needed)."""
    lines = text.splitlines(keepends=True)
    k = line % len(lines)
    row = next(csv.reader([lines[k]]), [""])
    row = row or [""]
    row[field % len(row)] = cell
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(row)
    lines[k] = buf.getvalue()
    return "".join(lines)


# --- public-format readers ---------------------------------------------------------------
CSV_READERS: dict[str, tuple[Path, Callable[[Path], pd.DataFrame]]] = {
    "baci": (FIX / "baci" / "BACI_HS92_Y2021_V202401.csv", read_baci),
    "baci_codes": (FIX / "baci" / "country_codes_V202401.csv",
                   lambda p: read_baci(p.parent / "BACI_HS92_Y2021_V202401.csv")),
    "gravity": (FIX / "cepii_gravity" / "Gravity_V202211.csv", read_cepii_gravity),
    "gravity_covariates": (FIX / "cepii_gravity" / "Gravity_V202211.csv",
                           read_cepii_gravity_covariates),
    "comtrade_plus": (FIX / "comtrade" / "TradeData_AZE_2021.csv", read_comtrade),
    "comtrade_legacy": (FIX / "comtrade" / "comtrade_legacy_KAZ_2018.csv", read_comtrade),
    "imf_csv": (FIX / "imf" / "imf_dots_export.csv", read_imf),
    "itpd": (FIX / "itpd" / "ITPD_E_R02.csv", read_itpd),
    "wdi": (FIX / "wdi" / "API_NY.GDP.MKTP.CD_DS2_en_csv_v2_6298258.csv", read_wdi),
    "wdi_databank": (FIX / "wdi" / "databank_wdi_gdp.csv", read_wdi),
    "unctad_flows": (FIX / "unctad_fdi" / "webdiaeia2014d3_AZE.csv", read_unctad_fdi),
    "unctad_stock": (FIX / "unctad_fdi" / "webdiaeia2014d3_KGZ_stock.csv", read_unctad_fdi),
}


@pytest.mark.parametrize("name", sorted(CSV_READERS))
def test_csv_readers_with_one_bad_cell(name: str) -> None:
    source, read = CSV_READERS[name]
    text = source.read_text(encoding="utf-8-sig")

    @PROPERTY
    @seed(SEED)
    @given(line=st.integers(0, 200), field=st.integers(0, 60), cell=CELLS)
    def check_one(line: int, field: int, cell: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for sibling in source.parent.iterdir():
                shutil.copy(sibling, folder / sibling.name)
            target = folder / source.name
            target.write_text(_mutate_csv(text, line, field, cell), encoding="utf-8")
            _read_or_data_error(read, target)

    check_one()


@pytest.mark.parametrize("name", sorted(CSV_READERS))
def test_readers_on_arbitrary_bytes(name: str) -> None:
    source, read = CSV_READERS[name]

    @PROPERTY
    @seed(SEED)
    @given(data=st.binary(max_size=300))
    def check_bytes(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for sibling in source.parent.iterdir():
                shutil.copy(sibling, folder / sibling.name)
            (folder / source.name).write_bytes(data)
            _read_or_data_error(read, folder / source.name)

    check_bytes()


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(),
              st.text(max_size=6), st.sampled_from(["2019", "6", "A", "AZ", "KZ", "inf"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)


def _leaves(obj: object, path: tuple = ()) -> list[tuple]:
    if isinstance(obj, dict):
        return [path] + [x for k, v in obj.items() for x in _leaves(v, (*path, k))]
    if isinstance(obj, list):
        return [path] + [x for i, v in enumerate(obj) for x in _leaves(v, (*path, i))]
    return [path]


def _replace(obj: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, *rest = path
    obj = obj.copy()
    obj[head] = _replace(obj[head], tuple(rest), new)
    return obj


@pytest.mark.parametrize("source,read", [
    (FIX / "imf" / "imf_dot_compactdata_AZ.json", read_imf),
    (FIX / "comtrade" / "comtrade_api_v1_AZE_2022.json", read_comtrade),
])
def test_json_readers_with_one_bad_value(source: Path, read) -> None:
    payload = json.loads(source.read_text(encoding="utf-8"))
    leaves = _leaves(payload)

    @PROPERTY
    @seed(SEED)
    @given(where=st.integers(0, len(leaves) - 1), new=JSON_VALUES)
    def check_one(where: int, new: object) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / source.name
            target.write_text(json.dumps(_replace(payload, leaves[where], new)),
                              encoding="utf-8")
            _read_or_data_error(read, target)

    check_one()


# --- bundled readers (small CSV copies of the bundled files) -----------------------------
def _head(rel: str, n: int = 6, **where: object) -> pd.DataFrame:
    df = pd.read_parquet(RAW / rel) if rel.endswith(".parquet") else pd.read_csv(RAW / rel)
    for col, value in where.items():
        df = df[df[col] == value]
    return df.head(n).reset_index(drop=True)


def _bundled_cases() -> dict[str, tuple[pd.DataFrame, Callable[[Path], pd.DataFrame]]]:
    rates = RAW / bundled.ECB_RATES
    return {
        "imf_dots": (_head(bundled.IMF_DOTS), bundled.read_imf_dots),
        "national": (_head(bundled.NATIONAL), bundled.read_national),
        "ecb_rates": (_head(bundled.ECB_RATES), bundled.read_ecb_rates),
        "eurostat": (_head(bundled.EUROSTAT), lambda p: bundled.read_eurostat(p, rates)),
        "penppml": (_head(bundled.PENPPML), bundled.read_penppml_trade),
        "wdi": (_head(bundled.WDI), bundled.read_wdi),
        "geodist": (_head(bundled.GEODIST), bundled.read_cepii_geodist),
        "geo": (_head(bundled.GEO_COUNTRIES, maincity=1), bundled.read_cepii_geo),
        "unctad": (_head(bundled.UNCTAD_FDI, 8), bundled.read_unctad_fdi),
        "reported_trade": (_head(bundled.REPORTED_TRADE), bundled.read_reported_trade),
        "reported_fdi": (_head(bundled.REPORTED_FDI), bundled.read_reported_fdi),
        "reported_corridor": (_head(bundled.REPORTED_CORRIDOR), bundled.read_reported_corridor),
    }


@pytest.fixture(scope="module")
def bundled_cases():
    return _bundled_cases()


@pytest.mark.parametrize("name", ["imf_dots", "national", "ecb_rates", "eurostat", "penppml",
                                  "wdi", "geodist", "geo", "unctad", "reported_trade",
                                  "reported_fdi", "reported_corridor"])
def test_bundled_readers_with_one_bad_cell(bundled_cases, name: str) -> None:
    frame, read = bundled_cases[name]
    text = frame.to_csv(index=False)
    with tempfile.TemporaryDirectory() as tmp:  # the unchanged copy reads
        good = Path(tmp) / "good.csv"
        good.write_text(text, encoding="utf-8")
        _finite_output(read(good).pipe(lambda x: x.to_frame() if isinstance(x, pd.Series)
                                       else x))

    @PROPERTY
    @seed(SEED)
    @given(line=st.integers(0, 20), field=st.integers(0, 20), cell=CELLS)
    def check_one(line: int, field: int, cell: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "bad.csv"
            target.write_text(_mutate_csv(text, line, field, cell), encoding="utf-8")
            _read_or_data_error(read, target)

    check_one()


@PROPERTY
@seed(SEED)
@given(data=st.binary(max_size=200))
def test_bundled_parquet_reader_on_arbitrary_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "x.parquet"
        target.write_bytes(data)
        _read_or_data_error(bundled.read_national, target)


# --- scenario schema and selection language -----------------------------------------------
TOML_VALUES = st.recursive(
    st.one_of(st.booleans(), st.integers(-10**4, 10**4), st.floats(), st.text(max_size=8),
              st.sampled_from(["latest", "AZE", "@OTS", "USA", "hetero", "trade ~ both_ots",
                               "both_ots", "zangezur_open"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["CL1", "variable", "value", "x"]),
                                            inner, max_size=3)),
    max_leaves=5)
CHANGE_KEYS = st.sampled_from(["variable", "value", "multiply", "add", "route_scenario",
                               "route_year", "exporters", "importers", "symmetric", "where",
                               "other"])


@PROPERTY
@seed(SEED)
@given(top=st.dictionaries(st.sampled_from([*TOP_KEYS, "other"]), TOML_VALUES, max_size=6),
       changes=st.lists(st.dictionaries(CHANGE_KEYS, TOML_VALUES, max_size=5), max_size=2))
def test_scenario_schema_on_arbitrary_tables(top: dict, changes: list) -> None:
    raw = {"title": "t", "formula": "trade ~ both_ots | exporter^year", **top}
    if changes:
        raw["change"] = [{"variable": "both_ots", "value": 1, **c} for c in changes]
    try:
        scn = parse_scenario(raw, Path("s.toml"))
    except DataError:
        return
    assert scn.draws >= 1 and math.isfinite(scn.sigma) and 0 < scn.level < 1
    for ch in scn.changes:
        for x in (ch.value, ch.multiply, ch.add):
            assert x is None or math.isfinite(x)


@PROPERTY
@seed(SEED)
@given(text=st.text(max_size=300))
def test_scenario_file_of_arbitrary_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "s.toml"
        f.write_text(text, encoding="utf-8")
        try:
            load_scenario(f)
        except (DataError, SpecificationError):
            pass


SELECTION_ALPHABET = st.sampled_from(
    ["exporter", "importer", "dist", "year", " ", "and", "or", "not", "in", "(", ")", "[", "]",
     ",", "==", "!=", "<", "<=", ">", ">=", "'AZE'", '"KAZ"', "@EU", "1", "-2.5", "1e3",
     "true", "inf", "'", "\"", "@", "x", "."])
COLUMNS = {"exporter": "text", "importer": "text", "dist": "number", "year": "number"}
FRAME = pd.DataFrame({"exporter": ["AZE", "KAZ", None], "importer": ["KAZ", "DEU", "AZE"],
                      "dist": [1500.0, np.nan, 30.0], "year": [2019, 2019, 2019]})


@PROPERTY
@seed(SEED)
@given(parts=st.lists(SELECTION_ALPHABET, max_size=14), noise=st.text(max_size=20))
def test_selection_on_arbitrary_text(parts: list[str], noise: str) -> None:
    for text in (" ".join(parts), noise):
        try:
            node = parse(text)
            check(node, COLUMNS)
        except SelectionError:
            continue
        mask = evaluate(node, FRAME, expand=lambda g: {"DEU"})
        assert mask.dtype == bool and mask.shape == (len(FRAME),)


# --- formula boundary ---------------------------------------------------------------------
FORMULA_ALPHABET = st.sampled_from(
    ["y", "x", "z", "g", "h", " ", "~", "+", "-", "|", "^", "*", ":", "(", ")", ",", "0", "1",
     "log", "exp", "i.", "C(", "fe", "'", "\"", "=", "[", "]", ".", "\\", "__import__"])
PPML_DATA = pd.DataFrame({
    "y": [0.0, 1.0, 2.0, 3.0, 1.5, 0.5, 4.0, 2.5],
    "x": [0.1, 0.4, 0.3, 0.9, 0.2, 0.7, 1.1, 0.6],
    "z": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
    "g": list("aabbccdd"), "h": list("abababab")})


@settings(max_examples=3 * EXAMPLES, deadline=None, derandomize=EXAMPLES <= 15, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@seed(SEED)
@given(parts=st.lists(FORMULA_ALPHABET, max_size=12), noise=st.text(max_size=20))
def test_ppml_formula_boundary(parts: list[str], noise: str) -> None:
    for formula in ("".join(parts), noise):
        for fit in (tf.ppml, tf.ols):
            try:
                fit(PPML_DATA, formula)
            except TradeflowsError:
                pass
