"""Readers refuse bad values: non-finite numbers, non-boolean flags, implausible rates and
years; errors name the file's own row (Parquet: 1-based row; CSV: 1-based line) and column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_sources_bundled import _national, _write

import tradeflows as tf
from tradeflows.errors import DataError, SpecificationError
from tradeflows.sources import bundled
from tradeflows.sources._common import iter_csv
from tradeflows.sources.base import parse_bool, validate_investment, validate_trade
from tradeflows.sources.imf import read_imf


@pytest.mark.parametrize("value", [np.inf, -np.inf, "inf", "1e999", "nan", "Infinity"])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_national_refuses_non_finite(tmp_path, value, suffix) -> None:
    if suffix == ".parquet" and isinstance(value, str):
        value = float(value)  # a float column in Parquet
    path = _write(_national(value_usd_thousand=(1, value)), tmp_path / f"nat{suffix}")
    row = 2 if suffix == ".parquet" else 3  # second data row: row 2 / line 3
    with pytest.raises(DataError, match=rf"nat{suffix}, row {row}, column 'value_usd_thousand'"):
        bundled.read_national(path)


def test_national_year_out_of_range(tmp_path) -> None:
    path = _write(_national(year=(3, 2999)), tmp_path / "nat.parquet")
    with pytest.raises(DataError, match=r"nat\.parquet, row 4, column 'year': year 2999"):
        bundled.read_national(path)


def test_national_boolean_flag_parsed_strictly(tmp_path) -> None:
    text = _national(partner_is_aggregate=(0, "False"))
    text["partner_is_aggregate"] = ["False", "false", "FALSE", "True"]
    got = bundled.read_national(_write(text, tmp_path / "nat.parquet"))
    # the WLD row (an aggregate by its code) and the KAZ row (flagged True)
    assert got.attrs["drops"]["aggregate_partner"] == 2 and len(got) == 2
    bad = text.assign(partner_is_aggregate=["False", "perhaps", "False", "True"])
    with pytest.raises(DataError, match=r"row 2, column 'partner_is_aggregate'.*'perhaps'"):
        bundled.read_national(_write(bad, tmp_path / "bad.parquet"))


def _dots(estimated) -> pd.DataFrame:
    return pd.DataFrame({
        "reporter_imf_name": ["Kazakhstan, Rep. of", "Azerbaijan, Rep. of"],
        "partner_imf_name": ["Azerbaijan, Rep. of", "Kazakhstan, Rep. of"],
        "flow": ["exports_fob", "exports_fob"], "year": [2015, 2015],
        "value_usd_mn": [1.5, 2.5], "estimated": estimated})


def test_imf_dots_estimated_text_is_not_truthy(tmp_path) -> None:
    got = bundled.read_imf_dots(_write(_dots(["False", "True"]), tmp_path / "d.parquet"))
    assert got.set_index("exporter")["estimated"].to_dict() == {"KAZ": False, "AZE": True}
    with pytest.raises(DataError, match=r"d2\.parquet, row 2, column 'estimated'.*'yes please'"):
        bundled.read_imf_dots(_write(_dots(["0", "yes please"]), tmp_path / "d2.parquet"))


@pytest.mark.parametrize("rate", [0.0, -1.3, 130.0, np.inf])
def test_ecb_rates_must_be_plausible(tmp_path, rate) -> None:
    rates = pd.DataFrame({"year": [2010, 2011], "usd_per_eur": [1.3257, rate]})
    path = _write(rates, tmp_path / "ecb.csv")
    with pytest.raises(DataError, match=r"ecb\.csv, row 3, column 'usd_per_eur'"):
        bundled.read_ecb_rates(path)


def test_ecb_rate_year_out_of_range(tmp_path) -> None:
    path = _write(pd.DataFrame({"year": [2010, 2999], "usd_per_eur": [1.3, 1.2]}),
                  tmp_path / "ecb.csv")
    with pytest.raises(DataError, match=r"ecb\.csv, row 3, column 'year'"):
        bundled.read_ecb_rates(path)


def test_validate_names_file_rows_not_subset_positions() -> None:
    inv = pd.DataFrame({"year": [2010, 2010, 2011, 2011], "investor": ["KAZ"] * 4,
                        "host": ["AZE"] * 4, "measure": ["flow", "stock", "flow", "stock"],
                        "value_usd": [1.0, 2.0, np.inf, -3.0], "source": "x"},
                       index=[10, 11, 12, 13])
    with pytest.raises(DataError, match=r"row 13, column 'value_usd'.*-3"):
        validate_investment(inv.iloc[[0, 1, 3]], file="inv")
    with pytest.raises(DataError, match=r"row 12, column 'value_usd'.*non-finite"):
        validate_investment(inv[inv["measure"] == "flow"], file="inv")
    trade = pd.DataFrame({"year": [2010, 2999], "exporter": ["KAZ", "AZE"],
                          "importer": ["AZE", "KAZ"], "value_usd": [1.0, 2.0],
                          "reporter_side": "exporter", "flow": "export", "source": "x",
                          "estimated": [False, "False"], "_line": [7, 9]})
    with pytest.raises(DataError, match=r"row 9, column 'year': year 2999"):
        validate_trade(trade, file="t")
    assert validate_trade(trade.assign(year=2010), file="t")["estimated"].tolist() == [False,
                                                                                       False]


def test_parse_bool() -> None:
    got = parse_bool(pd.Series(["False", "TRUE", "0", "1", "", None, "n", "yes"]),
                     column="c", file="f")
    assert got.tolist() == [False, True, False, True, False, False, False, True]
    assert parse_bool(pd.Series([0, 1, 1]), column="c", file="f").tolist() == [False, True, True]
    with pytest.raises(DataError, match="not a boolean"):
        parse_bool(pd.Series([0, 2]), column="c", file="f")


@pytest.mark.parametrize("cell", ["inf", "-inf", "nan", "NaN", "1e999"])
def test_iter_csv_refuses_non_finite(tmp_path, cell) -> None:
    path = tmp_path / "x.csv"
    path.write_text(f"a,b\n1,2\n3,{cell}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.csv, row 3, column 'b': non-finite"):
        list(iter_csv(path, {"a": "number", "b": "number"}))


def _sdmx(series) -> dict:
    return {"CompactData": {"Header": {}, "DataSet": {"Series": series}}}


GOOD_SERIES = {"@FREQ": "A", "@REF_AREA": "AZ", "@INDICATOR": "TXG_FOB_USD",
               "@COUNTERPART_AREA": "KZ", "@UNIT_MULT": "6",
               "Obs": [{"@TIME_PERIOD": "2019", "@OBS_VALUE": "96.0"}]}


@pytest.mark.parametrize("series", [
    ["not an object"],
    [{**GOOD_SERIES, "Obs": ["2019"]}],
    [{**GOOD_SERIES, "Obs": [{"@TIME_PERIOD": "2019", "@OBS_VALUE": ["96"]}]}],
    [{**GOOD_SERIES, "Obs": [{"@TIME_PERIOD": "2019", "@OBS_VALUE": {"v": 1}}]}],
    [{**GOOD_SERIES, "Obs": [{"@TIME_PERIOD": "2019-01", "@OBS_VALUE": "1"}]}],
    [{**GOOD_SERIES, "Obs": [{"@TIME_PERIOD": "2999", "@OBS_VALUE": "1"}]}],
    [{**GOOD_SERIES, "Obs": [{"@TIME_PERIOD": None, "@OBS_VALUE": "1"}]}],
    [{**GOOD_SERIES, "Obs": [{"@TIME_PERIOD": "2019", "@OBS_VALUE": "Infinity"}]}],
    [{**GOOD_SERIES, "Obs": [{"@TIME_PERIOD": "2019", "@OBS_VALUE": True}]}],
    [{**GOOD_SERIES, "@UNIT_MULT": ["6"]}],
    [{**GOOD_SERIES, "@UNIT_MULT": "400"}],
    [{**GOOD_SERIES, "@UNIT_MULT": None}],
    [{**GOOD_SERIES, "@REF_AREA": 7}],
    [{**GOOD_SERIES, "@REF_AREA": ["AZ"]}],
])
def test_malformed_sdmx_is_a_data_error(tmp_path, series) -> None:
    path = tmp_path / "dots.json"
    path.write_text(json.dumps(_sdmx(series)), encoding="utf-8")
    with pytest.raises(DataError, match=r"dots\.json"):
        read_imf(path)


def test_good_sdmx_still_reads(tmp_path) -> None:
    path = tmp_path / "dots.json"
    path.write_text(json.dumps(_sdmx(GOOD_SERIES)), encoding="utf-8")
    got = read_imf(path)
    assert got["value_usd"].tolist() == [96e6] and got["year"].tolist() == [2019]


@pytest.mark.filterwarnings("ignore:collinear regressor")
def test_ppml_one_row_or_one_cluster_is_a_clear_error() -> None:
    one = pd.DataFrame({"y": [1.0], "x": [0.5]})
    with pytest.raises(SpecificationError, match="degrees of freedom"):
        tf.ppml(one, "y ~ x")
    df = pd.DataFrame({"y": [1.0, 2, 3, 4], "x": [0.1, 0.5, 0.3, 0.9], "g": ["a"] * 4})
    with pytest.raises(SpecificationError, match="at least 2 clusters"):
        tf.ppml(df, "y ~ x", vcov={"CL1": "g"})


def _zip(path, text: str) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data.csv", text)


def test_replaced_archive_is_extracted_again(tmp_path) -> None:
    from tradeflows.sources._common import extract_member

    archive = tmp_path / "set.zip"
    _zip(archive, "a,b\n1,2\n")
    first = extract_member(archive, "data.csv")
    assert first.read_text() == "a,b\n1,2\n"
    _zip(archive, "a,b\n7,9\n")  # same member size, other contents
    again = extract_member(archive, "data.csv")
    assert again == first and again.read_text() == "a,b\n7,9\n"
    mtime = again.stat().st_mtime_ns
    assert extract_member(archive, "data.csv").stat().st_mtime_ns == mtime  # reused
    with pytest.raises(DataError, match=r"set\.zip: cannot extract 'nope\.csv'"):
        extract_member(archive, "nope.csv")
