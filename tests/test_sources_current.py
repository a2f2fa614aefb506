"""Readers on the services' current formats: IMF IMTS SDMX-CSV (1.0 and 2.0), ITPD-E R03 zip,
BACI releases with suffixes, UNCTAD workbooks with sheet names and "Reporting economy"
tables; one-line errors naming the file's line for malformed IMF observations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _services import FIX, zip_bytes

from tradeflows.errors import DataError
from tradeflows.sources.baci import find_country_codes, read_baci
from tradeflows.sources.detect import kind_of
from tradeflows.sources.fdi import read_unctad_fdi
from tradeflows.sources.imf import read_imf
from tradeflows.sources.itpd import read_itpd

IMTS1 = FIX / "imf" / "imts_sdmx_csv_v1.csv"
IMTS2 = FIX / "imf" / "imts_sdmx_csv_v2.csv"
ITPD3 = FIX / "itpd" / "ITPDE_R03.csv"
SHEETS = FIX / "unctad_fdi" / "webdiaeia2014d3_KGZ_sheets.xls"


def _row(df, **match):
    hit = df
    for col, want in match.items():
        hit = hit[hit[col] == want]
    assert len(hit) == 1, match
    return hit.iloc[0]


def test_imts_sdmx_csv_v1():
    df = read_imf(IMTS1)
    assert df.attrs["drops"] == {"other_indicator": 2, "missing_value": 1,
                                 "aggregate_reporter": 1, "aggregate_partner": 1,
                                 "self_partner": 0, "unknown_code": 0}
    assert len(df) == 8 and set(df["source"]) == {"imf_imts"}
    # GEO's imports from AZE (CIF) are filed as AZE -> GEO, reported by the importer
    row = _row(df, year=2023, exporter="AZE", importer="GEO", reporter_side="importer")
    assert row["value_usd"] == 920e6 and row["flow"] == "import" and not row["estimated"]
    row = _row(df, year=2024, exporter="AZE", importer="GEO", reporter_side="exporter")
    assert row["value_usd"] == 910500000.5 and row["flow"] == "export"
    row = _row(df, year=2024, exporter="TKM", importer="AZE", reporter_side="importer")
    assert row["value_usd"] == 120e6  # values are USD: SCALE is not applied


def test_imts_sdmx_csv_v2_and_by_content(tmp_path):
    df = read_imf(IMTS2)
    assert len(df) == 2 and df.attrs["drops"]["aggregate_partner"] == 1
    misnamed = tmp_path / "answer.json"  # content, not the name, decides
    misnamed.write_bytes(IMTS2.read_bytes())
    pd.testing.assert_frame_equal(read_imf(misnamed), df)
    assert kind_of(IMTS1) == "imf_imts"


@pytest.mark.parametrize(("line", "fragment"), [
    ("IMF.STA:IMTS(1.0.0),AZE,XG_FOB_USD,GEO,M,2024-M01,5,6", "row 3, column 'FREQUENCY'"),
    ("IMF.STA:IMTS(1.0.0),AZE,XG_FOB_USD,GEO,A,2024,n/a,6", "row 3"),
    ("IMF.STA:IMTS(1.0.0),AZE,XG_FOB_USD,GEO,A,20x4,5,6", "row 3, column 'TIME_PERIOD'"),
    ("IMF.STA:IMTS(1.0.0),AZE,XG_FOB_USD,GEO,A,2023,-5,6", "negative value"),
    ("IMF.STA:IMTS(1.0.0),AZE,XG_FOB_USD,GEO,A,2023,7,6", "duplicate rows"),
    ("IMF.STA:IMTS(1.0.0),AZE,XG_FOB_USD,QQQ,A,2023,7,6", "unknown country code 'QQQ'"),
    ("IMF.STA:IMTS(1.0.0),AZE,XG_FOB_USD,GEO,A,2023", "fields"),
])
def test_imts_bad_lines_are_one_line_errors(tmp_path, line, fragment):
    path = tmp_path / "imts.csv"
    lines = IMTS1.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], line, *lines[2:]]) + "\n")
    with pytest.raises(DataError) as info:
        read_imf(path)
    message = str(info.value)
    assert fragment in message and "imts.csv" in message and "\n" not in message


def test_imts_unknown_codes_dropped_and_counted(tmp_path):
    path = tmp_path / "imts.csv"
    path.write_text(IMTS1.read_text() + "IMF.STA:IMTS(1.0.0),AZE,XG_FOB_USD,QQQ,A,2023,7,6\n")
    df = read_imf(path, unknown_codes="drop")
    assert df.attrs["drops"]["unknown_code"] == 1 and len(df) == 8


@pytest.mark.parametrize("payload", [
    {"CompactData": {"DataSet": {"Series": ["not a series"]}}},
    {"CompactData": {"DataSet": {"Series": {"@REF_AREA": "AZ", "@INDICATOR": "TXG_FOB_USD",
                                            "@COUNTERPART_AREA": "GE", "@UNIT_MULT": "6",
                                            "Obs": ["2019"]}}}},
    {"CompactData": {"DataSet": {"Series": {"@REF_AREA": "AZ", "@INDICATOR": "TXG_FOB_USD",
                                            "@COUNTERPART_AREA": "GE", "@UNIT_MULT": "6",
                                            "Obs": {"@TIME_PERIOD": "2019",
                                                    "@OBS_VALUE": {"x": 1}}}}}},
    {"CompactData": {"DataSet": {"Series": {"@REF_AREA": ["AZ"], "@INDICATOR": "TXG_FOB_USD",
                                            "@COUNTERPART_AREA": "GE", "@UNIT_MULT": "6",
                                            "Obs": {"@TIME_PERIOD": "2019",
                                                    "@OBS_VALUE": "5"}}}}},
])
def test_malformed_dots_sdmx_observations_are_one_line_errors(tmp_path, payload):
    path = tmp_path / "dots.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError) as info:
        read_imf(path)
    assert "dots.json" in str(info.value) and "\n" not in str(info.value)


def test_itpd_r03_zip_equals_csv(tmp_path):
    archive = tmp_path / "ITPDE_R03.zip"
    archive.write_bytes(zip_bytes({"ITPDE_R03.csv": ITPD3.read_bytes()}))
    from_zip, from_csv = read_itpd(archive), read_itpd(ITPD3)
    pd.testing.assert_frame_equal(from_zip, from_csv)
    row = _row(from_csv, year=2019, exporter="AZE", importer="GEO")
    assert row["value_usd"] == pytest.approx((1.5 + 455.25) * 1e6, rel=1e-12)
    assert from_csv.attrs["drops"]["unknown_zero"] == 1
    assert kind_of(archive) == "itpd"


def test_baci_release_with_suffix(tmp_path):
    v2023 = (FIX / "baci" / "BACI_HS92_Y2023_V202601.csv").read_bytes()
    codes = (FIX / "baci" / "country_codes_V202601.csv").read_bytes()
    archive = tmp_path / "BACI_HS92_V202401b.zip"
    archive.write_bytes(zip_bytes({"BACI_HS92_Y2023_V202401b.csv": v2023,
                                   "country_codes_V202401b.csv": codes}))
    got = read_baci(archive)
    assert got["value_usd"].sum() == pytest.approx(
        (612.5 + 15.25 + 48.4 + 22.75 + 30.125) * 1e3, rel=1e-12)  # R20 (aggregate) dropped
    (tmp_path / "BACI_HS92_Y2023_V202401b.csv").write_bytes(v2023)
    (tmp_path / "country_codes_V202401b.csv").write_bytes(codes)
    (tmp_path / "country_codes_V202401.csv").write_bytes(b"country_code,country_iso3\n")
    assert find_country_codes(tmp_path / "BACI_HS92_Y2023_V202401b.csv").name == \
        "country_codes_V202401b.csv"


def test_unctad_sheet_names_and_reporting_economy():
    df = read_unctad_fdi(SHEETS, tables=(1, 2, 3, 4))
    # "inflows": partners' own reports (Reporting economy) of their FDI into KGZ
    flows = df[df["measure"] == "flow"]
    assert set(flows["source"]) == {"unctad_outward"} and set(flows["host"]) == {"KGZ"}
    assert _row(flows, year=2011, investor="KAZ")["value_usd"] == 2012e6
    assert _row(flows, year=2010, investor="RUS")["value_usd"] == -5e6
    assert _row(flows, year=2009, investor="KAZ")["value_usd"] == 0.0
    assert _row(flows, year=2010, investor="TUR")["value_usd"] == 3.5e6
    # "instock": the host's own report, found by the sheet name (no "Table 3." title)
    stock = df[df["measure"] == "stock"]
    assert set(stock["source"]) == {"unctad"}
    assert _row(stock, year=2012, investor="KAZ")["value_usd"] == 177e6
    assert df.attrs["drops"]["unspecified_partner"] == 4
    assert np.isfinite(df["value_usd"]).all()
    with pytest.raises(DataError, match="named inflows/outflows/instock/outstock"):
        read_unctad_fdi(SHEETS, tables=(2,))


def test_wdi_and_unctad_files_are_told_by_content(tmp_path):
    from tradeflows.sources.detect import read_trade_file

    wdi_csv = FIX / "wdi" / "API_NY.GDP.MKTP.CD_DS2_en_csv_v2_6298258.csv"
    archive = tmp_path / "download"  # no name to go by
    archive.write_bytes(zip_bytes({wdi_csv.name: wdi_csv.read_bytes()}))
    workbook = tmp_path / "unctad.bin"
    workbook.write_bytes((FIX / "unctad_fdi" / "webdiaeia2014d3_AZE.xls").read_bytes())
    xlsx = tmp_path / "book"
    xlsx.write_bytes(zip_bytes({"[Content_Types].xml": b"<Types/>",
                                "xl/workbook.xml": b"<workbook/>"}))
    for path, kind in [(wdi_csv, "wdi"), (FIX / "wdi" / "databank_wdi_gdp.csv", "wdi"),
                       (archive, "wdi"), (workbook, "unctad_fdi"), (xlsx, "unctad_fdi"),
                       (FIX / "unctad_fdi" / "webdiaeia2014d3_AZE.csv", "unctad_fdi")]:
        assert kind_of(path) == kind, path
    with pytest.raises(DataError, match="a wdi file, not trade data"):
        read_trade_file(archive)


def test_wdi_covariates_and_their_merge():
    from tradeflows.panel.build import merge_covariates
    from tradeflows.sources.wdi import read_wdi_covariates

    got = read_wdi_covariates(FIX / "wdi" / "databank_wdi_gdp.csv")
    assert got.attrs["indicators"] == ["NY.GDP.MKTP.CD", "SP.POP.TOTL"]
    assert _row(got, iso3="AZE", year=2020)["gdp_usd"] == 42693000000
    assert _row(got, iso3="AZE", year=2020)["population"] == 10093121
    assert np.isnan(_row(got, iso3="UZB", year=2020)["population"])
    assert len(got[(got["iso3"] == "UZB") & (got["year"] == 2021)]) == 0  # ".." is no row
    bundled = pd.DataFrame({"iso3": ["AZE", "AZE", "GEO"], "year": [2019, 2018, 2019],
                            "gdp_usd": [1.0, 2.0, 3.0], "population": [10.0, 11.0, 12.0]})
    merged, counts = merge_covariates(bundled, [got])
    assert _row(merged, iso3="AZE", year=2019)["gdp_usd"] == got.loc[
        (got["iso3"] == "AZE") & (got["year"] == 2019), "gdp_usd"].item()
    assert _row(merged, iso3="AZE", year=2019)["population"] == 10024283
    assert _row(merged, iso3="AZE", year=2018)["gdp_usd"] == 2.0
    assert _row(merged, iso3="GEO", year=2019)["population"] == 12.0  # the file has none
    assert counts["gdp_usd"] == {"databank_wdi_gdp.csv": 5, "bundled": 2}
    assert counts["population"] == {"databank_wdi_gdp.csv": 3, "bundled": 2}


def test_gzip_told_by_signature_not_name(tmp_path):
    """Comtrade bulk files are gzip-compressed (.gz); the same bytes under another name are
    recognised and read alike (CSV and JSON)."""
    import gzip

    from tradeflows.sources.comtrade import read_comtrade

    for fixture in (FIX / "comtrade" / "TradeData_AZE_2021.csv",
                    FIX / "comtrade" / "comtrade_api_v1_classic_AZE_2023.json"):
        packed = gzip.compress(fixture.read_bytes())
        named, nameless = tmp_path / f"{fixture.name}.gz", tmp_path / f"{fixture.stem}.data"
        named.write_bytes(packed)
        nameless.write_bytes(packed)
        assert kind_of(nameless) == kind_of(fixture) == "comtrade"
        want = read_comtrade(fixture)
        for path in (named, nameless):
            got = read_comtrade(path)
            pd.testing.assert_frame_equal(got, want)
            assert got.attrs["drops"] == want.attrs["drops"]
