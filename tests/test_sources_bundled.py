"""Bundled readers: values against the raw files, read independently; bad input stops clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.config import paths
from tradeflows.errors import DataError
from tradeflows.sources import bundled
from tradeflows.sources.base import TRADE_COLUMNS

RAW = paths().raw


@pytest.fixture(scope="module")
def imf_subset(tmp_path_factory):
    """Raw DOTS rows of KAZ, AZE, KGZ as reporters, 2014-2016, written as a small file."""
    raw = pd.read_parquet(RAW / bundled.IMF_DOTS)
    keep = (raw["reporter_iso3"].isin(["KAZ", "AZE", "KGZ"]) & raw["year"].between(2014, 2016))
    sub = raw[keep].reset_index(drop=True)
    path = tmp_path_factory.mktemp("imf") / "dots.parquet"
    sub.to_parquet(path)
    return path, sub


def test_imf_dots_values_and_sides(imf_subset):
    path, raw = imf_subset
    got = bundled.read_imf_dots(path)
    assert list(got.columns) == list(TRADE_COLUMNS)
    assert len(got) == len(raw) and got.attrs["rows_in"] == len(raw)
    # independent expectation from the file's own ISO3 columns (mapped by its publisher)
    exp_rows = raw[raw["flow"] == "exports_fob"]
    imp_rows = raw[raw["flow"] == "imports_cif"]
    expected = pd.concat([
        pd.DataFrame({"year": exp_rows["year"].astype(int),
                      "exporter": exp_rows["reporter_iso3"].astype(str),
                      "importer": exp_rows["partner_iso3"].astype(str),
                      "reporter_side": "exporter", "flow": "export",
                      "value_usd": exp_rows["value_usd_mn"] * 1e6,
                      "estimated": exp_rows["estimated"]}),
        pd.DataFrame({"year": imp_rows["year"].astype(int),
                      "exporter": imp_rows["partner_iso3"].astype(str),
                      "importer": imp_rows["reporter_iso3"].astype(str),
                      "reporter_side": "importer", "flow": "import",
                      "value_usd": imp_rows["value_usd_mn"] * 1e6,
                      "estimated": imp_rows["estimated"]})])
    key = ["year", "exporter", "importer", "reporter_side"]
    merged = expected.merge(got, on=key, suffixes=("_raw", ""), validate="one_to_one")
    assert len(merged) == len(got)
    np.testing.assert_allclose(merged["value_usd"], merged["value_usd_raw"], rtol=1e-12)
    assert (merged["flow"] == merged["flow_raw"]).all()
    assert (merged["estimated"] == merged["estimated_raw"]).all()
    assert set(got["source"]) == {"imf_dots"}
    # one named figure: Kazakhstan's reported exports to Azerbaijan in 2015
    kaz_aze = raw[(raw["reporter_imf_name"] == "Kazakhstan, Rep. of")
                  & (raw["partner_imf_name"] == "Azerbaijan, Rep. of")
                  & (raw["flow"] == "exports_fob") & (raw["year"] == 2015)]["value_usd_mn"]
    row = got[(got["exporter"] == "KAZ") & (got["importer"] == "AZE") & (got["year"] == 2015)
              & (got["reporter_side"] == "exporter")]
    assert row["value_usd"].item() == pytest.approx(kaz_aze.item() * 1e6, rel=1e-12)


def test_national_values():
    raw = pd.read_parquet(RAW / bundled.NATIONAL)
    got = bundled.read_national()
    kgz = raw[(raw["reporter_iso3"] == "KGZ") & (raw["partner_iso3"] == "AZE")
              & (raw["year"] == 2022)].set_index("flow")["value_usd_thousand"]
    exp_row = got[(got["exporter"] == "KGZ") & (got["importer"] == "AZE") & (got["year"] == 2022)]
    imp_row = got[(got["exporter"] == "AZE") & (got["importer"] == "KGZ") & (got["year"] == 2022)]
    assert exp_row["value_usd"].item() == pytest.approx(kgz["exports"] * 1e3, rel=1e-12)
    assert exp_row["reporter_side"].item() == "exporter" and exp_row["flow"].item() == "export"
    assert imp_row["value_usd"].item() == pytest.approx(kgz["imports"] * 1e3, rel=1e-12)
    assert imp_row["reporter_side"].item() == "importer"
    drops = got.attrs["drops"]
    assert drops["imports_by_consignment"] == int((raw["flow"] == "imports_by_consignment").sum())
    assert not (got["importer"] == "WLD").any() and not (got["exporter"] == "WLD").any()
    # Armenia's imports are by country of origin
    arm = raw[(raw["reporter_iso3"] == "ARM") & (raw["partner_iso3"] == "CHN")
              & (raw["year"] == 2020) & (raw["flow"] == "imports_by_origin")]
    row = got[(got["importer"] == "ARM") & (got["exporter"] == "CHN") & (got["year"] == 2020)]
    assert row["value_usd"].item() == pytest.approx(arm["value_usd_thousand"].item() * 1e3)
    kept = len(raw) - sum(drops.values())
    assert len(got) == kept


def test_eurostat_conversion_and_rates_against_imf():
    raw = pd.read_parquet(RAW / bundled.EUROSTAT)
    got = bundled.read_eurostat()
    eur = raw[(raw["partner_iso3"] == "KGZ") & (raw["year"] == 2021)]["value_eur"].item()
    row = got[(got["importer"] == "KGZ") & (got["year"] == 2021)]
    assert row["value_usd"].item() == pytest.approx(eur * 1.1827, rel=1e-12)
    assert row["exporter"].item() == bundled.EU_CODE
    assert got.attrs["drops"]["partner_without_iso3"] == int(raw["partner_iso3"].isna().sum())
    # the IMF's own USD figures for EU exports agree with EUR x ECB rate within 1% each year
    imf = pd.read_parquet(RAW / "ecb_eurusd" / "imf_dots_eu_exports_2010_2020.parquet")
    both = imf.merge(got, left_on=["partner_iso3", "year"], right_on=["importer", "year"])
    big = both[both["value_usd"] > 5e9]
    ratio = (big["value_usd_mn"] * 1e6 / big["value_usd"]).groupby(big["year"]).median()
    assert list(ratio.index) == list(range(2010, 2021))
    assert ((ratio - 1).abs() < 0.01).all(), ratio


def test_penppml_comtrade():
    trade = bundled.read_penppml_trade()
    row = trade[(trade["exporter"] == "AZE") & (trade["importer"] == "TUR")
                & (trade["year"] == 2016)]
    raw = pd.read_parquet(RAW / bundled.PENPPML)
    expected = raw[(raw["exp"] == "AZE") & (raw["imp"] == "TUR") & (raw["time"] == 2016)]
    assert row["value_usd"].item() == expected["export"].item()
    assert "ROU" in set(trade["exporter"]) and "ROM" not in set(trade["exporter"])
    non_country = [k for k, v in bundled.LEGACY_CODES.items() if v is None]
    either = raw["exp"].isin(non_country) | raw["imp"].isin(non_country)
    drops = trade.attrs["drops"]
    assert drops["non_country_exp"] + drops["non_country_imp"] == int(either.sum())


def test_wdi_and_geodist():
    wdi = bundled.read_wdi()
    raw_wdi = pd.read_parquet(RAW / bundled.WDI)
    aze = raw_wdi[(raw_wdi["iso3"] == "AZE") & (raw_wdi["year"] == 2015)]
    got = wdi[(wdi["iso3"] == "AZE") & (wdi["year"] == 2015)]
    assert got["gdp_usd"].item() == aze["gdp_current_usd"].item()

    geo = bundled.read_cepii_geodist()
    aze_tur = geo[(geo["exporter"] == "AZE") & (geo["importer"] == "TUR")]
    assert aze_tur["contig"].item() == 1
    assert {"ROU", "COD", "SCG"} <= set(geo["exporter"])


def test_cepii_geo_countries():
    geo = bundled.read_cepii_geo()
    raw = pd.read_parquet(RAW / bundled.GEO_COUNTRIES)
    assert geo["iso3"].is_unique and len(geo) == raw["iso3"].nunique()
    aze = geo.set_index("iso3").loc["AZE"]
    raw_aze = raw[(raw["iso3"] == "AZE") & (raw["maincity"] == 1)].iloc[0]
    assert aze["dis_int_km"] == raw_aze["dis_int"] and aze["area_km2"] == raw_aze["area"]
    landlocked = set(geo.loc[geo["landlocked"] == 1, "iso3"])
    assert {"KAZ", "KGZ", "UZB", "TJK", "TKM", "AZE", "ARM"} <= landlocked  # Caspian: landlocked
    assert "GEO" not in landlocked and "ROU" in set(geo["iso3"])
    assert geo.attrs["drops"]["not_main_city"] == int((raw["maincity"] != 1).sum())


def test_unctad_fdi():
    fdi = bundled.read_unctad_fdi()
    raw_fdi = pd.read_parquet(RAW / bundled.UNCTAD_FDI)
    pick = raw_fdi[(raw_fdi["host_iso3"] == "GEO") & (raw_fdi["partner_iso3"] == "AZE")
                   & (raw_fdi["measure"] == "inward_flow") & raw_fdi["value_musd"].notna()]
    got = fdi[(fdi["host"] == "GEO") & (fdi["investor"] == "AZE") & (fdi["measure"] == "flow")]
    merged = pick.merge(got, on="year")
    assert len(merged) == len(pick) > 0
    np.testing.assert_allclose(merged["value_usd"], merged["value_musd"] * 1e6)
    assert "SCG" in set(fdi["investor"])
    assert fdi.attrs["drops"]["not_available"] == int(
        (raw_fdi["partner_iso3"].notna() & raw_fdi["value_musd"].isna()).sum())


# ---- bad input -------------------------------------------------------------------------

def _national(**changes) -> pd.DataFrame:
    df = pd.DataFrame({
        "reporter_iso3": ["KGZ", "KGZ", "KGZ", "KAZ"],
        "partner_iso3": ["AZE", "AZE", "WLD", "AZE"],
        "partner_is_aggregate": [False, False, False, False],
        "flow": ["exports", "imports", "exports", "exports"],
        "year": [2022, 2022, 2022, 2022],
        "value_usd_thousand": [10.0, 20.0, 30.0, 40.0],
    })
    for col, (row, value) in changes.items():
        df[col] = df[col].astype(object)
        df.loc[row, col] = value
    return df


def _write(df: pd.DataFrame, path):
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path)
    return path


def test_good_small_national_file(tmp_path):
    got = bundled.read_national(_write(_national(), tmp_path / "nat.parquet"))
    assert got["value_usd"].tolist() == [10e3, 20e3, 40e3]
    assert got.attrs["drops"]["aggregate_partner"] == 1


def test_malformed_and_missing_files(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=r"broken\.parquet: cannot read"):
        bundled.read_imf_dots(bad)
    with pytest.raises(DataError, match=r"nope\.parquet: file not found"):
        bundled.read_national(tmp_path / "nope.parquet")


def test_missing_column(tmp_path):
    path = _write(_national().drop(columns="year"), tmp_path / "nat.parquet")
    with pytest.raises(DataError, match=r"nat\.parquet: missing column\(s\) \['year'\]"):
        bundled.read_national(path)


def test_unknown_country_code(tmp_path):
    path = _write(_national(partner_iso3=(3, "QQQ")), tmp_path / "nat.parquet")
    with pytest.raises(DataError, match=r"nat\.parquet, row 4, column 'partner_iso3'.*'QQQ'"):
        bundled.read_national(path)
    got = bundled.read_national(path, bad_rows="drop")
    assert got.attrs["drops"]["unknown_code_partner_iso3"] == 1 and len(got) == 2


def test_negative_value(tmp_path):
    path = _write(_national(value_usd_thousand=(1, -5.0)), tmp_path / "nat.parquet")
    with pytest.raises(DataError, match=r"nat\.parquet, row 2, column 'value_usd_thousand'.*negative"):
        bundled.read_national(path)
    got = bundled.read_national(path, bad_rows="drop")
    assert got.attrs["drops"]["negative_value_usd_thousand"] == 1 and len(got) == 2


def test_non_numeric_value_in_csv(tmp_path):
    path = _write(_national(value_usd_thousand=(3, "12a")), tmp_path / "nat.csv")
    with pytest.raises(DataError, match=r"nat\.csv, row 5, column 'value_usd_thousand'.*'12a'"):
        bundled.read_national(path)
    got = bundled.read_national(path, bad_rows="drop")
    assert got.attrs["drops"]["non-numeric_value_usd_thousand"] == 1
    assert got["value_usd"].tolist() == [10e3, 20e3]


def test_duplicate_pair_year(tmp_path):
    df = _national()
    df = pd.concat([df, df.iloc[[0]].assign(value_usd_thousand=11.0)], ignore_index=True)
    path = _write(df, tmp_path / "nat.parquet")
    with pytest.raises(DataError, match=r"nat\.parquet, row 1: duplicate key .*'KGZ'"):
        bundled.read_national(path)
    got = bundled.read_national(path, bad_rows="drop")
    assert got.attrs["drops"]["duplicate_key"] == 2 and len(got) == 2


def test_mixed_units(tmp_path):
    two_columns = _national().assign(value_usd_mn=1.0)
    with pytest.raises(DataError, match=r"mixed units: value columns"):
        bundled.read_national(_write(two_columns, tmp_path / "a.parquet"))
    unit_column = _national().assign(unit=["thousand USD"] * 3 + ["million USD"])
    with pytest.raises(DataError, match=r"b\.parquet, row 4, column 'unit': mixed units"):
        bundled.read_national(_write(unit_column, tmp_path / "b.parquet"))


def test_bad_year(tmp_path):
    path = _write(_national(year=(1, "20x2")), tmp_path / "nat.csv")
    with pytest.raises(DataError, match=r"nat\.csv, row 3, column 'year': year '20x2'; expected a whole number"):
        bundled.read_national(path)


def test_bad_flow_and_missing_rate(tmp_path):
    path = _write(_national(flow=(1, "re-exports")), tmp_path / "nat.parquet")
    with pytest.raises(DataError, match=r"nat\.parquet, row 2, column 'flow'.*'re-exports'"):
        bundled.read_national(path)
    eu = pd.DataFrame({"partner_iso3": ["KAZ"], "year": [2009], "value_eur": [5]})
    with pytest.raises(DataError, match=r"eu\.parquet.*no EUR/USD rate for year 2009"):
        bundled.read_eurostat(_write(eu, tmp_path / "eu.parquet"))


def test_ecb_rates_file():
    rates = bundled.read_ecb_rates()
    assert list(rates.index) == list(range(2010, 2024))
    assert rates[2022] == 1.0530 and rates[2010] == 1.3257


def test_reported_statistics_readers(tmp_path):
    raw = pd.read_parquet(RAW / bundled.REPORTED_TRADE)
    got = bundled.read_reported_trade(RAW / bundled.REPORTED_TRADE)
    assert len(got) == len(raw) == 109
    assert got["value_usd"].to_numpy() == pytest.approx(raw["value_usd_mn"].to_numpy() * 1e6)
    eligible = ((raw["period"] == "FY") & (raw["period_months"] == 12)
                & raw["flow"].isin(["exports", "imports"]) & ~raw["approx"] & ~raw["derived"]
                & ~raw["is_validation_row"] & ~raw["secondary_source"])
    assert got["panel_eligible"].tolist() == eligible.tolist()
    flows = bundled.reported_trade_flows(got)
    assert len(flows) == int(eligible.sum()) and set(flows["source"]) == {"reported_press"}
    tjk = flows[(flows["year"] == 2021) & (flows["exporter"] == "TJK")].iloc[0]
    assert tjk["importer"] == "AZE" and tjk["reporter_side"] == "importer"  # AZE's imports
    assert tjk["value_usd"] == pytest.approx(185_240.0)
    fdi = bundled.read_reported_fdi(RAW / bundled.REPORTED_FDI)
    assert len(fdi) == 43 and "WLD" in set(fdi["partner"])
    corridor = bundled.read_reported_corridor(RAW / bundled.REPORTED_CORRIDOR)
    assert len(corridor) == 58 and corridor["value"].notna().all()
    bad = raw.copy()
    bad["approx"] = bad["approx"].map({True: "true", False: "false"})
    bad.loc[4, "approx"] = "perhaps"
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"bad\.parquet, row 5, column 'approx'"):
        bundled.read_reported_trade(tmp_path / "bad.parquet")
    bad = raw.assign(flow=raw["flow"].astype(object))
    bad.loc[2, "flow"] = "re-exports"
    bad.to_parquet(tmp_path / "flow.parquet")
    with pytest.raises(DataError, match=r"row 3, column 'flow'.*re-exports"):
        bundled.read_reported_trade(tmp_path / "flow.parquet")
