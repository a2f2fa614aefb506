"""Readers of public source formats: each fixture (written in the published layout) is read
back with values checked by hand against the fixture's cells, and each kind of bad input
stops with a DataError naming the file and the line (or record / code)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tradeflows.errors import DataError
from tradeflows.sources.baci import read_baci
from tradeflows.sources.base import TRADE_COLUMNS, validate_trade
from tradeflows.sources.cepii_gravity import read_cepii_gravity, read_cepii_gravity_covariates
from tradeflows.sources.comtrade import read_comtrade
from tradeflows.sources.fdi import read_unctad_fdi
from tradeflows.sources.imf import read_imf
from tradeflows.sources.itpd import read_itpd
from tradeflows.sources.wdi import read_wdi

FIX = Path(__file__).parent / "fixtures" / "sources"
BACI = FIX / "baci" / "BACI_HS92_Y2021_V202401.csv"
GRAVITY = FIX / "cepii_gravity" / "Gravity_V202211.csv"
COMTRADE_JSON = FIX / "comtrade" / "comtrade_api_v1_AZE_2022.json"
COMTRADE_PLUS = FIX / "comtrade" / "TradeData_AZE_2021.csv"
COMTRADE_LEGACY = FIX / "comtrade" / "comtrade_legacy_KAZ_2018.csv"
IMF_JSON = FIX / "imf" / "imf_dot_compactdata_AZ.json"
IMF_CSV = FIX / "imf" / "imf_dots_export.csv"
ITPD = FIX / "itpd" / "ITPD_E_R02.csv"
WDI = FIX / "wdi" / "API_NY.GDP.MKTP.CD_DS2_en_csv_v2_6298258.csv"
WDI_DATABANK = FIX / "wdi" / "databank_wdi_gdp.csv"
FDI_FLOWS = FIX / "unctad_fdi" / "webdiaeia2014d3_AZE.csv"
FDI_STOCK = FIX / "unctad_fdi" / "webdiaeia2014d3_KGZ_stock.csv"


def value(df: pd.DataFrame, **match: object) -> float:
    """The single value_usd of the row matching ``match``."""
    hit = df
    for col, want in match.items():
        hit = hit[hit[col] == want]
    assert len(hit) == 1, f"{len(hit)} rows match {match}"
    return float(hit["value_usd"].iloc[0])


def canonical(df: pd.DataFrame) -> None:
    """The table is in the canonical schema and passes validation unchanged."""
    assert list(df.columns[: len(TRADE_COLUMNS)]) == list(TRADE_COLUMNS)
    assert {str(t) for t in df.dtypes[["year", "value_usd", "estimated"]]} == {
        "int64", "float64", "bool"}
    validate_trade(df[list(TRADE_COLUMNS)])


def edited(tmp_path: Path, src: Path, old: str, new: str, *, keep_dir: bool = True) -> Path:
    """A copy of ``src`` (with its sibling files) where ``old`` is replaced by ``new`` once."""
    if keep_dir:
        for sibling in src.parent.iterdir():
            shutil.copy(sibling, tmp_path / sibling.name)
    text = src.read_text(encoding="utf-8-sig")
    assert old in text, old
    target = tmp_path / src.name
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def raises(path: Path, reader, *fragments: str, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        reader(path, **kwargs)
    message = str(info.value)
    assert path.name in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return info.value


# --- BACI -------------------------------------------------------------------------------

def test_baci_totals_in_usd():
    df = read_baci(BACI)
    canonical(df)
    # v is thousands of USD: 1523.418 + 12.05 thousand
    assert value(df, exporter="AZE", importer="KAZ") == pytest.approx(1_535_468.0, rel=1e-12)
    assert value(df, exporter="AZE", importer="TUR") == pytest.approx(2_480_492.0, rel=1e-12)
    assert value(df, exporter="KAZ", importer="AZE") == pytest.approx(256_370.0, rel=1e-12)
    assert value(df, exporter="TWN", importer="AZE") == pytest.approx(3_250.0)  # 490 / S19
    assert value(df, exporter="USA", importer="AZE") == pytest.approx(150_000.0)  # code 842
    assert value(df, exporter="FRA", importer="AZE") == pytest.approx(875.0)  # code 251
    assert len(df) == 8
    assert set(df["reporter_side"]) == {"exporter"} and set(df["flow"]) == {"export"}
    assert set(df["source"]) == {"baci"} and set(df["year"]) == {2021}
    assert df.attrs["drops"] == {"aggregate_exporter": 0, "aggregate_importer": 1}


def test_baci_keep_product():
    df = read_baci(BACI, keep_product=True)
    assert len(df) == 11
    assert value(df, exporter="AZE", importer="KAZ", product="080211") == pytest.approx(12_050.0)
    assert df.groupby(["exporter", "importer"])["value_usd"].sum()["AZE", "TUR"] == \
        pytest.approx(read_baci(BACI).pipe(value, exporter="AZE", importer="TUR"))


@pytest.mark.parametrize("old,new,fragments", [
    ("2021,31,792,711319,0.392,", "2021,31,792,711319,abc,", ["row 5", "'v'", "non-numeric"]),
    ("2021,31,792,711319,0.392,", "2021,31,792,711319,-0.392,", ["row 5", "negative"]),
    ("2021,643,268,", "2021,999,268,", ["row 13", "999", "unknown"]),
    ("t,i,j,k,v,q", "t,i,j,k,value,q", ["missing column", "'v'"]),
    ("2021,31,792,711319,0.392,", "2021,31,792,711319,0.392,,7", ["malformed", "row 5"]),
    ("2021,398,31,100199,210.77,820.33\n", "2021,398,31,100199,210.77\n", ["malformed", "row 6"]),
    ("2021,398,31,720839,45.6,71.2", "2021,398,31,100199,45.6,71.2", ["duplicate", "lines 6, 7"]),
    ("2021,31,792,711319,0.392,", "2021,31,792,711319,,", ["row 5", "empty"]),
])
def test_baci_bad_input(tmp_path, old, new, fragments):
    raises(edited(tmp_path, BACI, old, new), read_baci, *fragments)


def test_baci_needs_its_country_codes(tmp_path):
    shutil.copy(BACI, tmp_path / BACI.name)
    raises(tmp_path / BACI.name, read_baci, "country_codes_V")
    codes = edited(tmp_path, BACI.parent / "country_codes_V202401.csv", "842,USA,US,USA\n", "")
    raises(tmp_path / BACI.name, read_baci, "842", country_codes=codes)


# --- CEPII Gravity ----------------------------------------------------------------------

def test_cepii_gravity_trade_rows():
    df = read_cepii_gravity(GRAVITY)
    canonical(df)
    src = {"source": "cepii_gravity_comtrade"}
    assert value(df, **src, exporter="AZE", importer="KAZ", reporter_side="exporter") == \
        pytest.approx(96_012_400.0)
    assert value(df, **src, exporter="AZE", importer="KAZ", reporter_side="importer") == \
        pytest.approx(101_311_700.0)
    assert value(df, **src, year=1990, exporter="SUN", importer="TUR") == \
        pytest.approx(1_243_002_000.0)
    assert value(df, source="cepii_gravity_baci", exporter="TKM", importer="AZE") == 0.0
    assert value(df, source="cepii_gravity_imf", exporter="KAZ", importer="AZE") == \
        pytest.approx(171_200_000.0)
    # empty cells are missing figures, not rows: KAZ->AZE has no comtrade_d, no imf_o
    assert len(df[(df.exporter == "KAZ") & (df.importer == "AZE")]) == 3
    assert len(df) == 15
    assert df.attrs["drops"] == {"other_year": 0, "country_not_existing": 1, "no_value": 1,
                                 "unknown_code": 0, "aggregate_exporter": 0,
                                 "aggregate_importer": 0}


def test_cepii_gravity_years_and_unknown_codes(tmp_path):
    recent = read_cepii_gravity(GRAVITY, years=range(1995, 2022))
    assert set(recent["year"]) == {2019} and recent.attrs["drops"]["other_year"] == 1
    path = edited(tmp_path, GRAVITY, "2019,TKM,AZE,TKM,AZE", "2019,EAZ,AZE,EAZ,AZE")
    raises(path, read_cepii_gravity, "EAZ", "row 7")
    kept = read_cepii_gravity(path, unknown_codes="drop")
    assert kept.attrs["drops"]["unknown_code"] == 1
    pd.testing.assert_frame_equal(kept, read_cepii_gravity(GRAVITY).query("exporter != 'TKM'")
                                  .reset_index(drop=True))


def test_cepii_gravity_covariates():
    cov = read_cepii_gravity_covariates(GRAVITY).set_index(["year", "exporter", "importer"])
    row = cov.loc[(2019, "AZE", "KAZ")]
    assert row["dist"] == pytest.approx(1076.87)
    assert row["gdp_exporter"] == pytest.approx(48_174_235_300.0)
    assert row["gdp_importer"] == pytest.approx(181_665_906_600.0)
    assert cov.loc[(2019, "AZE", "TUR"), "contig"] == 1
    assert (2019, "AZE", "DDR") not in cov.index  # country_exists_d = 0


@pytest.mark.parametrize("old,new,fragments", [
    ("96012.4,", "96k,", ["row 2", "tradeflow_comtrade_o", "non-numeric"]),
    ("96012.4,", "-96012.4,", ["row 2", "negative"]),
    ("2019,TKM,AZE,TKM,AZE", "2019,TKM,AZE,XYZ,AZE", ["row 7", "XYZ"]),
    ("tradeflow_baci,", "tradeflow_bac,", ["missing column", "tradeflow_baci"]),
    ("96012.4,", "96012.4,,", ["malformed", "row 2", "88 fields"]),
    ("165032.9,", "165032.9,,", ["malformed", "row 3"]),
])
def test_cepii_gravity_bad_input(tmp_path, old, new, fragments):
    raises(edited(tmp_path, GRAVITY, old, new), read_cepii_gravity, *fragments)


def test_cepii_gravity_duplicate_pair_year(tmp_path):
    text = GRAVITY.read_text()
    line = text.splitlines()[1]
    path = tmp_path / GRAVITY.name
    path.write_text(text + line + "\n")
    raises(path, read_cepii_gravity, "duplicate", "lines 2, 9")


# --- UN Comtrade ------------------------------------------------------------------------

def test_comtrade_api_json():
    df = read_comtrade(COMTRADE_JSON)
    canonical(df)
    assert value(df, exporter="AZE", importer="KAZ") == 120_443_212.0
    assert value(df, exporter="AZE", importer="UZB") == 91_022_614.0
    # import by land (motCode 3000) is a breakdown of the total; the total is kept
    assert value(df, exporter="TUR", importer="AZE", reporter_side="importer") == 2_148_722_030.0
    assert value(df, exporter="TWN", importer="AZE") == 20_111_456.0  # partner 490
    assert value(df, exporter="USA", importer="AZE") == 622_115_678.0  # partner 842
    assert set(df.loc[df.exporter == "AZE", "flow"]) == {"export"}
    assert set(df.loc[df.importer == "AZE", "reporter_side"]) == {"importer"}
    assert df.attrs["drops"] == {"aggregate_reporter": 0, "aggregate_partner": 2,
                                 "self_partner": 0, "other_flow": 1, "breakdown": 1,
                                 "product_detail": 0}


def test_comtrade_plus_csv_and_legacy_csv():
    plus = read_comtrade(COMTRADE_PLUS)
    canonical(plus)
    assert value(plus, exporter="AZE", importer="UZB") == 60_112_004.5
    assert value(plus, exporter="KAZ", importer="AZE") == 365_002_117.0
    assert len(plus) == 3 and set(plus["year"]) == {2021}
    legacy = read_comtrade(COMTRADE_LEGACY)
    canonical(legacy)
    # two HS chapters summed: 5 120 334 + 48 110 976
    assert value(legacy, exporter="KAZ", importer="AZE") == 53_231_310.0
    assert value(legacy, exporter="AZE", importer="KAZ", flow="import") == 2_219_003.0
    assert value(legacy, exporter="KAZ", importer="TWN") == 3_102_455.0
    assert legacy.attrs["drops"]["other_flow"] == 1  # re-export
    by_product = read_comtrade(COMTRADE_LEGACY, keep_product=True)
    assert value(by_product, exporter="KAZ", importer="AZE", product="72") == 48_110_976.0


@pytest.mark.parametrize("old,new,fragments", [
    (",31,Azerbaijan,AZE,,,,,,,,72,", ",123,Atlantis,ATL,,,,,,,,72,", ["row 3", "123"]),
    ("48110976", "-48110976", ["row 3", "negative"]),
    ("48110976", "48.1M", ["row 3", "non-numeric"]),
    (",72,Iron and steel,1,No Quantity,,,,,,,48110976", ",7208,Flat-rolled,1,No Quantity,,,,,,,"
     "48110976", ["HS levels", "row 3"]),
    ("Trade Value (US$)", "Trade Value", ["missing column", "Trade Value (US$)"]),
    (",72,Iron and steel,1,No Quantity,,,,,,,48110976", ",27,Fuels,1,No Quantity,,,,,,,48110976",
     ["duplicate", "lines 2, 3"]),
])
def test_comtrade_bad_csv(tmp_path, old, new, fragments):
    raises(edited(tmp_path, COMTRADE_LEGACY, old, new), read_comtrade, *fragments)


def test_comtrade_bad_json(tmp_path):
    doc = json.loads(COMTRADE_JSON.read_text(encoding="utf-8"))
    path = tmp_path / COMTRADE_JSON.name
    path.write_text(json.dumps({**doc, "count": 500}))
    raises(path, read_comtrade, "incomplete")
    path.write_text(COMTRADE_JSON.read_text(encoding="utf-8")[:-40])
    raises(path, read_comtrade, "malformed JSON")
    monthly = [dict(r, freqCode="M") if i == 3 else r for i, r in enumerate(doc["data"])]
    path.write_text(json.dumps({**doc, "data": monthly}))
    raises(path, read_comtrade, "row 3", "annual")
    unknown = [dict(r, partnerCode=123) if i == 2 else r for i, r in enumerate(doc["data"])]
    path.write_text(json.dumps({**doc, "data": unknown}))
    raises(path, read_comtrade, "row 2", "123")


# --- IMF --------------------------------------------------------------------------------

def test_imf_sdmx_json():
    df = read_imf(IMF_JSON)
    canonical(df)
    assert value(df, year=2019, exporter="AZE", importer="KAZ") == pytest.approx(96_012_000.0)
    assert value(df, year=2020, exporter="AZE", importer="KAZ") == pytest.approx(71_347_500.0)
    assert value(df, year=2019, exporter="KAZ", importer="AZE", reporter_side="importer") == \
        pytest.approx(171_200_000.0)
    assert value(df, exporter="AZE", importer="TKM") == pytest.approx(832_000.0)  # single Obs
    assert len(df) == 6
    assert df.attrs["drops"] == {"other_indicator": 1, "aggregate_reporter": 0,
                                 "aggregate_partner": 2, "self_partner": 0}


def test_imf_csv_export():
    df = read_imf(IMF_CSV)
    canonical(df)
    assert value(df, year=2019, exporter="KAZ", importer="AZE") == pytest.approx(165_032_900.0)
    assert value(df, year=2019, exporter="AZE", importer="KAZ") == pytest.approx(101_311_700.0)
    tkm = df[df.exporter == "TKM"]
    assert list(tkm["estimated"]) == [True, True]  # Status "e"
    assert value(df, year=2018, exporter="TKM", importer="AZE") == pytest.approx(310_400_000.0)
    assert not df.loc[df.exporter == "KAZ", "estimated"].any()
    assert df.attrs["drops"]["other_indicator"] == 2
    assert df.attrs["drops"]["aggregate_partner"] == 3


def test_imf_bad_input(tmp_path):
    doc = json.loads(IMF_JSON.read_text())
    series = doc["CompactData"]["DataSet"]["Series"]
    path = tmp_path / IMF_JSON.name
    mixed = [dict(s, **{"@UNIT_MULT": "3"}) if i == 2 else s for i, s in enumerate(series)]
    path.write_text(json.dumps({"CompactData": {"DataSet": {"Series": mixed}}}))
    raises(path, read_imf, "mixed units", "series 2")
    unknown = [dict(s, **{"@COUNTERPART_AREA": "QQ"}) if i == 2 else s
               for i, s in enumerate(series)]
    path.write_text(json.dumps({"CompactData": {"DataSet": {"Series": unknown}}}))
    raises(path, read_imf, "QQ")
    negative = [dict(s, Obs={"@TIME_PERIOD": "2020", "@OBS_VALUE": "-1"}) if i == 3 else s
                for i, s in enumerate(series)]
    path.write_text(json.dumps({"CompactData": {"DataSet": {"Series": negative}}}))
    raises(path, read_imf, "negative", "row 3")
    path.write_text(json.dumps({"CompactData": {"Header": {}}}))
    raises(path, read_imf, "CompactData.DataSet.Series")
    bad_year = [dict(s, Obs={"@TIME_PERIOD": "2020-Q1", "@OBS_VALUE": "1"}) if i == 3 else s
                for i, s in enumerate(series)]
    path.write_text(json.dumps({"CompactData": {"DataSet": {"Series": bad_year}}}))
    raises(path, read_imf, "2020-Q1", "row 3")
    no_value = [dict(s, Obs={"@TIME_PERIOD": "2020"}) if i == 3 else s
                for i, s in enumerate(series)]
    path.write_text(json.dumps({"CompactData": {"DataSet": {"Series": no_value}}}))
    assert "TKM" not in set(read_imf(path)["importer"])  # missing, not an error
    csv_path = edited(tmp_path, IMF_CSV, '"TXG_FOB_USD","World"', '"TXG_FOB_XDC","World"')
    raises(csv_path, read_imf, "not in US dollars", "row 8")
    csv_path = edited(tmp_path, IMF_CSV, '"150.1"', '"1O5.1"')
    raises(csv_path, read_imf, "non-numeric", "1O5.1")
    csv_path = edited(tmp_path, IMF_CSV, '"Counterpart Country Name"', '"Partner Name"')
    raises(csv_path, read_imf, "missing column", "Counterpart Country Name")


def test_imf_duplicate_series(tmp_path):
    doc = json.loads(IMF_JSON.read_text())
    series = doc["CompactData"]["DataSet"]["Series"]
    path = tmp_path / IMF_JSON.name
    path.write_text(json.dumps({"CompactData": {"DataSet": {"Series": [*series, series[2]]}}}))
    raises(path, read_imf, "duplicate", "lines 2, 7")


# --- ITPD-E -----------------------------------------------------------------------------

def test_itpd_totals():
    df = read_itpd(ITPD)
    canonical(df)
    assert value(df, exporter="AZE", importer="TUR") == pytest.approx(2_406_375_000.0)
    assert value(df, exporter="AZE", importer="AZE") == pytest.approx(152_341_700.0)  # domestic
    assert value(df, exporter="KAZ", importer="AZE") == pytest.approx(119_812_500.0)
    # a reported zero (r) plus a mirror figure: 0 + 12.5 million, flagged as mirror-based
    assert value(df, exporter="AZE", importer="KAZ") == pytest.approx(12_500_000.0)
    assert df.set_index(["exporter", "importer"])["estimated"].to_dict() == {
        ("AZE", "AZE"): False, ("AZE", "KAZ"): True, ("AZE", "TUR"): False,
        ("KAZ", "AZE"): False}
    assert "TKM" not in set(df["exporter"])  # only a 'u' (unknown) row
    assert df.attrs["drops"] == {"unknown_zero": 3, "unknown_code": 0,
                                 "aggregate_exporter": 0, "aggregate_importer": 0}


def test_itpd_unknown_codes_can_be_dropped(tmp_path):
    path = edited(tmp_path, ITPD, "AZE,AZE,Azerbaijan,TUR,TUR,Turkey,2016,27,",
                  "AZE,AZE,Azerbaijan,XYZ,XYZ,Nowhere,2016,27,")
    raises(path, read_itpd, "row 6", "XYZ")
    df = read_itpd(path, unknown_codes="drop")
    assert df.attrs["drops"]["unknown_code"] == 1
    assert value(df, exporter="AZE", importer="TUR") == pytest.approx(601_125_000.0)


def test_itpd_by_industry():
    df = read_itpd(ITPD, keep_industry=True, keep_unknown_zeros=True)
    assert len(df) == 10
    mirror = df[(df.exporter == "AZE") & (df.importer == "KAZ") & (df.industry_id == 27)]
    assert mirror[["reporter_side", "flow"]].values.tolist() == [["exporter", "export"]]
    assert value(df, exporter="AZE", importer="KAZ", industry_id=1) == 0.0


@pytest.mark.parametrize("old,new,fragments", [
    ("601.125,0,p", "601.125,0,x", ["row 7", "flag_zero"]),
    ("601.125,0,p", "-601.125,0,p", ["row 7", "negative"]),
    ("601.125,0,p", "6O1.125,0,p", ["row 7", "non-numeric"]),
    ("TKM,TKM,Turkmenistan", "TMK,TKM,Turkmenistan", ["row 11", "TMK"]),
    ("KAZ,KAZ,Kazakhstan,AZE,AZE,Azerbaijan,2016,90,", "KAZ,KAZ,Kazakhstan,AZE,AZE,Azerbaijan,"
     "2016,1,", ["duplicate", "lines 8, 9"]),
    (",trade,", ",trade_value,", ["missing column", "trade"]),
])
def test_itpd_bad_input(tmp_path, old, new, fragments):
    raises(edited(tmp_path, ITPD, old, new), read_itpd, *fragments)


# --- WDI --------------------------------------------------------------------------------

def test_wdi_bulk_csv():
    df = read_wdi(WDI).set_index(["country", "year"])["value"]
    assert df["AZE", 2019] == pytest.approx(48_174_235_294.1176)
    assert df["KAZ", 2021] == pytest.approx(197_112_255_360.218)
    assert df["XKX", 2019] == pytest.approx(7_899_737_577.0)
    assert ("TKM", 2020) not in df.index  # empty cell
    assert len(df) == 8
    assert read_wdi(WDI).attrs["drops"] == {"aggregate_country": 2, "non_iso_economy": 1}


def test_wdi_databank_csv():
    df = read_wdi(WDI_DATABANK).set_index(["country", "year"])["value"]
    assert df["UZB", 2019] == pytest.approx(59_907_611_923.3396)
    assert ("UZB", 2021) not in df.index  # ".."
    assert len(df) == 5
    pop = read_wdi(WDI_DATABANK, "SP.POP.TOTL")
    assert pop["value"].tolist() == [10024283.0, 10093121.0, 10137750.0]


def test_wdi_bad_input(tmp_path):
    raises(WDI, read_wdi, "NE.EXP.GNFS.CD", indicator="NE.EXP.GNFS.CD")
    path = edited(tmp_path, WDI, '"48174235294.1176"', '"48,174bn"')
    raises(path, read_wdi, "non-numeric")
    path = edited(tmp_path, WDI, '"48174235294.1176"', '"-48174235294.1176"')
    raises(path, read_wdi, "negative", "row 6")
    path = edited(tmp_path, WDI, '"Kosovo","XKX"', '"Atlantis","ATL"')
    raises(path, read_wdi, "ATL", "row 9")
    path = edited(tmp_path, WDI, '"Country Name"', '"Economy"')
    raises(path, read_wdi, "Country Name")
    path = edited(tmp_path, WDI, '"Kosovo","XKX"', '"Azerbaijan","AZE"')
    raises(path, read_wdi, "duplicate", "lines 6, 9")


# --- UNCTAD bilateral FDI ---------------------------------------------------------------

def test_unctad_fdi_flows():
    df = read_unctad_fdi(FDI_FLOWS)
    assert set(df["host"]) == {"AZE"} and set(df["measure"]) == {"flow"}
    v = df.set_index(["investor", "year"])["value_usd"]
    assert v["TUR", 2012] == pytest.approx(186e6)
    assert v["RUS", 2012] == pytest.approx(1_019e6)  # "1 019"
    assert v["KAZ", 2008] == pytest.approx(-15e6)  # disinvestment
    assert v["KAZ", 2005] == 0.0  # "-"
    assert ("KAZ", 2001) not in v.index  # ".."
    assert v["IRN", 2006] == pytest.approx(18e6)
    assert set(df["investor"]) == {"FRA", "GBR", "USA", "IRN", "TUR", "KAZ", "RUS"}
    assert len(df) == 6 * 12 + 7
    # World, 11 groups (12 years each); Unspecified (12 years)
    assert df.attrs["drops"] == {"aggregate_partner": 12 * 11, "unspecified_partner": 12,
                                 "self_partner": 0}


def test_unctad_fdi_stock():
    df = read_unctad_fdi(FDI_STOCK)
    assert set(df["host"]) == {"KGZ"} and set(df["measure"]) == {"stock"}
    v = df.set_index(["investor", "year"])["value_usd"]
    assert v["KAZ", 2012] == pytest.approx(177e6)
    assert v["UZB", 2010] == 0.0
    assert len(df) == 12


@pytest.mark.parametrize("src,old,new,fragments", [
    (FDI_STOCK, ",,,Uzbekistan,,,..,..,..,..,..,..,..,..,8,", ",,,Uzbekistan,,,..,..,..,..,..,..,"
     "..,..,-8,", ["row 10", "negative stock"]),
    (FDI_FLOWS, "Iran, Islamic Republic of", "Atlantis", ["row 16", "Atlantis"]),
    (FDI_FLOWS, "(Millions of US dollars)", "(Thousands of US dollars)", ["Millions"]),
    (FDI_FLOWS, "35,1 022", "35,n/a", ["row 19", "n/a"]),
    (FDI_FLOWS, ",,,,France,", ",,,,United Kingdom,", ["duplicate"]),
    (FDI_FLOWS, "Region / economy", "Economy", ["Region / economy"]),
])
def test_unctad_fdi_bad_input(tmp_path, src, old, new, fragments):
    raises(edited(tmp_path, src, old, new), read_unctad_fdi, *fragments)


def test_baci_and_gravity_release_zips(tmp_path):
    """The downloaded archives (BACI release zip with several years, Gravity csv zip)."""
    import zipfile

    baci_zip = tmp_path / "BACI_HS92_V202401.zip"
    with zipfile.ZipFile(baci_zip, "w") as zf:
        zf.write(BACI, BACI.name)
        zf.writestr("BACI_HS92_Y2022_V202401.csv", "t,i,j,k,v,q\n2022,31,398,270900,2.5,1\n")
        zf.write(BACI.parent / "country_codes_V202401.csv", "country_codes_V202401.csv")
        zf.writestr("product_codes_HS92_V202401.csv", "code,description\n270900,Crude oil\n")
    both = read_baci(baci_zip)
    assert value(both, year=2022, exporter="AZE", importer="KAZ") == pytest.approx(2_500.0)
    assert value(both, year=2021, exporter="AZE", importer="KAZ") == pytest.approx(1_535_468.0)
    assert both.attrs["drops"] == {"aggregate_exporter": 0, "aggregate_importer": 1}
    assert set(read_baci(baci_zip, years=[2022])["year"]) == {2022}
    with pytest.raises(DataError, match="2019"):
        read_baci(baci_zip, years=[2019])
    gravity_zip = tmp_path / "Gravity_csv_V202211.zip"
    with zipfile.ZipFile(gravity_zip, "w") as zf:
        zf.write(GRAVITY, GRAVITY.name)
    pd.testing.assert_frame_equal(read_cepii_gravity(gravity_zip), read_cepii_gravity(GRAVITY))
    bad = tmp_path / "Gravity_broken.zip"
    bad.write_bytes(b"not a zip")
    raises(bad, read_cepii_gravity, "zip")


def test_comtrade_bulk_tab_gz_and_legacy_json(tmp_path):
    import gzip

    plus = read_comtrade(COMTRADE_PLUS)
    text = COMTRADE_PLUS.read_text(encoding="utf-8")
    bulk = tmp_path / "COMTRADE-FINAL-CA031202100H6.txt.gz"
    rows = [line.split(",") for line in text.splitlines()]
    rows = [r[:47] for r in rows]  # bulk files: camelCase header, no trailing field
    rows[0] = [c[:1].lower() + c[1:] for c in rows[0]]
    with gzip.open(bulk, "wt", encoding="utf-8") as fh:
        fh.write("\n".join("\t".join(r) for r in rows) + "\n")
    pd.testing.assert_frame_equal(read_comtrade(bulk), plus)
    legacy = {"validation": {"status": {"name": "Ok"}, "count": {"value": 3}},
              "dataset": [
                  {"pfCode": "H5", "yr": 2018, "rtCode": 398, "ptCode": 31, "rgCode": 2,
                   "cmdCode": "TOTAL", "TradeValue": 53231310, "pt2Code": None,
                   "cstCode": None, "motCode": None},
                  {"pfCode": "H5", "yr": 2018, "rtCode": 398, "ptCode": 31, "rgCode": 1,
                   "cmdCode": "TOTAL", "TradeValue": 2219003, "pt2Code": None,
                   "cstCode": None, "motCode": None},
                  {"pfCode": "H5", "yr": 2018, "rtCode": 398, "ptCode": 0, "rgCode": 1,
                   "cmdCode": "TOTAL", "TradeValue": 37221463211, "pt2Code": None,
                   "cstCode": None, "motCode": None}]}
    path = tmp_path / "comtrade_legacy_api.json"
    path.write_text(json.dumps(legacy))
    df = read_comtrade(path)
    assert value(df, exporter="KAZ", importer="AZE") == 53_231_310.0
    assert value(df, exporter="AZE", importer="KAZ", reporter_side="importer") == 2_219_003.0
    assert df.attrs["drops"]["aggregate_partner"] == 1


def test_wdi_bulk_zip(tmp_path):
    import zipfile

    archive = tmp_path / "API_NY.GDP.MKTP.CD_DS2_en_csv_v2_6298258.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in WDI.parent.glob("*_6298258.csv"):
            zf.write(f, f.name)
    pd.testing.assert_frame_equal(read_wdi(archive), read_wdi(WDI))
    assert read_wdi(archive).attrs["drops"] == read_wdi(WDI).attrs["drops"]


def test_unctad_fdi_outward_table(tmp_path):
    path = edited(tmp_path, FDI_FLOWS, "Table 1. FDI flows in the host economy, by geographical "
                  "origin", "Table 2. FDI flows abroad, by geographical destination")
    out = read_unctad_fdi(path)
    assert set(out["investor"]) == {"AZE"} and set(out["source"]) == {"unctad_outward"}
    inward = read_unctad_fdi(FDI_FLOWS)
    assert out["value_usd"].sum() == pytest.approx(inward["value_usd"].sum())
    assert out.set_index(["host", "year"])["value_usd"]["TUR", 2012] == pytest.approx(186e6)


def test_comtrade_self_partner_is_dropped(tmp_path):
    doc = json.loads(COMTRADE_JSON.read_text(encoding="utf-8"))
    data = [dict(r, partnerCode=31) if i == 5 else r for i, r in enumerate(doc["data"])]
    path = tmp_path / COMTRADE_JSON.name
    path.write_text(json.dumps({**doc, "data": data}))
    df = read_comtrade(path)
    assert df.attrs["drops"]["self_partner"] == 1
    assert "KAZ" not in set(df.loc[df.importer == "AZE", "exporter"])  # record 5 was KAZ


def test_unctad_fdi_workbook():
    """The published workbook (.xls): numbers stored as numbers, some as text ("2 012")."""
    book = read_unctad_fdi(FDI_FLOWS.with_suffix(".xls"))
    flows = book[book.measure == "flow"].reset_index(drop=True)
    pd.testing.assert_frame_equal(flows, read_unctad_fdi(FDI_FLOWS), check_like=True)
    stock = book[book.measure == "stock"].set_index("year")["value_usd"]
    assert stock.to_dict() == {2010: 1_150e6, 2011: 1_330e6, 2012: 1_606e6}
    assert book.attrs["drops"]["unspecified_partner"] == 12 + 3
    only_stock = read_unctad_fdi(FDI_FLOWS.with_suffix(".xls"), tables=(3,))
    assert set(only_stock["measure"]) == {"stock"}
    with pytest.raises(DataError, match="Table 2"):
        read_unctad_fdi(FDI_FLOWS.with_suffix(".xls"), tables=(2,))


def test_unctad_fdi_broken_workbook(tmp_path):
    path = tmp_path / "webdiaeia2014d3_AZE.xls"
    path.write_bytes(b"not a workbook")
    raises(path, read_unctad_fdi, "unreadable workbook")


def test_unctad_fdi_knows_every_published_partner_name(tmp_path):
    """All partner labels of the 2014 tables (207 hosts, as listed in the bundled parse) are
    resolved: groups dropped, countries matched to the ISO3 the bundled parse gives them
    (Serbia and Montenegro stays SCG under the successor-state rule)."""
    bundled = pd.read_parquet(Path(__file__).parents[1] / "data" / "raw" / "unctad_bilateral_fdi"
                              / "unctad_bilateral_fdi_2001_2012.parquet",
                              columns=["partner_name", "partner_iso3"]).drop_duplicates()
    names = sorted(set(bundled["partner_name"]) - {"World"})
    lines = ["Azerbaijan,,", '"Table 1. FDI flows in the host economy, by geographical origin",,',
             "(Millions of US dollars),,", "Region / economy,,2012", "World,,1"]
    lines += [f',"{name}",1' for name in names]
    path = tmp_path / "webdiaeia2014d3_AZE.csv"
    path.write_text("\n".join(lines) + "\n")
    out = read_unctad_fdi(path).set_index("investor")
    expected = bundled.dropna().set_index("partner_name")["partner_iso3"].to_dict()
    # leaves the bundled parse left without a code, and the successor-state rule
    expected |= {"Serbia and Montenegro": "SCG", "Faeroe Islands": "FRO", "Guyana": "GUY", "Norfolk Island": "NFK",
                "Tuvalu": "TUV", "Yugoslavia (former)": "YUG"}
    got = {name: iso for name, iso in expected.items() if iso != "AZE"}
    assert sorted(out.index) == sorted(got.values())
    assert out.attrs["drops"]["aggregate_partner"] == 1 + 24  # World + the other 24 groups
    assert out.attrs["drops"]["self_partner"] == 1
