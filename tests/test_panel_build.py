"""``build_panel`` end to end on a small copy of the bundled data (focus countries only);
values are compared with the real raw files, read here independently."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tradeflows.policy
from tradeflows.config import paths
from tradeflows.errors import DataError
from tradeflows.panel.build import PANEL_COLUMNS, build_panel, read_extra
from tradeflows.sources import bundled
from tradeflows.studies.azerbaijan.config import VALIDATION

RAW = paths().raw
FOCUS = ["AZE", "KAZ", "KGZ", "UZB", "RUS", "TUR", "GEO", "ARM", "TKM"]
NON_COUNTRY = [k for k, v in bundled.LEGACY_CODES.items() if v is None]
COPIED = [bundled.EUROSTAT, bundled.ECB_RATES, bundled.WDI, bundled.GEODIST,
          bundled.REPORTED_TRADE, bundled.REPORTED_FDI, bundled.REPORTED_CORRIDOR]


Keep = Callable[[pd.DataFrame], pd.Series]


def write_raw_subset(target: Path, *, dots: Keep, national: Keep, penppml: Keep,
                     fdi: Keep) -> None:
    """Write a small raw tree into ``target``: the COPIED files as they are, and of the
    bundled DOTS, national, PENPPML and UNCTAD FDI files the rows each filter keeps (a
    function of the file's frame giving a boolean mask)."""
    for rel in COPIED:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RAW / rel, target / rel)
    for rel, keep in ((bundled.IMF_DOTS, dots), (bundled.NATIONAL, national),
                      (bundled.PENPPML, penppml), (bundled.UNCTAD_FDI, fdi)):
        df = pd.read_parquet(RAW / rel)
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        df[keep(df)].reset_index(drop=True).to_parquet(target / rel)


def _make_raw(target: Path) -> None:
    """Write the small raw tree: DOTS and national data of FOCUS pairs, the rest copied."""
    write_raw_subset(
        target,
        dots=lambda d: (d["reporter_iso3"].isin(FOCUS) & d["partner_iso3"].isin(FOCUS)
                        & (d["year"] >= 2012)),
        national=lambda d: ((d["partner_iso3"].isin([*FOCUS, "WLD"])
                             | d["partner_iso3"].isna()) & (d["year"] >= 2012)),
        penppml=lambda d: d["exp"].isin(FOCUS) & d["imp"].isin([*FOCUS, "ROM", *NON_COUNTRY]),
        fdi=lambda d: d["host_iso3"].isin(FOCUS))


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    _make_raw(raw)
    return raw


def _root(tmp_path_factory, raw, name):
    root = tmp_path_factory.mktemp(name)
    (root / "data").mkdir()
    (root / "data" / "raw").symlink_to(raw, target_is_directory=True)
    return paths(root)


@pytest.fixture(scope="module")
def built(tmp_path_factory, small_raw):
    p = _root(tmp_path_factory, small_raw, "root")
    summary = build_panel(p, progress=False, validation=VALIDATION)
    return p, summary, pd.read_parquet(p.panel)


def _pair(panel, year, i, j):
    row = panel[(panel["year"] == year) & (panel["exporter"] == i) & (panel["importer"] == j)]
    assert len(row) == 1
    return row.iloc[0]


def _dots(reporter, partner, flow, year):
    raw = pd.read_parquet(RAW / bundled.IMF_DOTS,
                          filters=[("reporter_imf_name", "==", reporter),
                                   ("partner_imf_name", "==", partner), ("flow", "==", flow),
                                   ("year", "==", year)])
    return raw["value_usd_mn"].item() * 1e6


def test_outputs_and_summary(built):
    p, summary, panel = built
    for path in (p.panel, p.flows, p.investment, p.manifest):
        assert path.is_file()
    assert list(panel.columns[:len(PANEL_COLUMNS)]) == PANEL_COLUMNS
    assert len(panel.columns) > len(PANEL_COLUMNS)  # policy variables were added
    assert summary.panel_rows == len(panel)
    assert not panel.duplicated(["year", "exporter", "importer"]).any()
    text = summary.describe()
    assert "pair-years" in text and "importer_cif" in text
    # square: n (n - 1) country rows in each year, then the EU27's rows as one exporter
    countries = panel[~panel["eu_aggregate"]]
    for year, grp in countries.groupby("year"):
        n = len(set(grp["exporter"]) | set(grp["importer"]))
        assert len(grp) == n * (n - 1)
        eu = panel[panel["eu_aggregate"] & (panel["year"] == year)]
        assert (eu["exporter"] == bundled.EU_CODE).all()
        assert set(grp["importer"]) <= set(eu["importer"])  # every country, 0 if not listed
    assert panel["eu_aggregate"].any() and not countries["exporter"].eq(bundled.EU_CODE).any()


def test_kaz_aze_2015_equals_dots(built):
    _, _, panel = built
    row = _pair(panel, 2015, "KAZ", "AZE")
    exports = _dots("Kazakhstan, Rep. of", "Azerbaijan, Rep. of", "exports_fob", 2015)
    imports = _dots("Azerbaijan, Rep. of", "Kazakhstan, Rep. of", "imports_cif", 2015)
    assert row["exports_reported"] == pytest.approx(exports, rel=1e-12)
    assert row["imports_reported"] == pytest.approx(imports, rel=1e-12)
    # KAZ is on the energy-exporter list: mirror rule v2 takes its own report
    assert row["trade_basis"] == "exporter_fob" and row["trade_source"] == "imf_dots"
    assert row["trade_rule"] == "energy_exporter_report" and row["trade_side"] == "exporter"
    assert row["trade"] == pytest.approx(exports, rel=1e-12)
    assert row["trade_other_rule"] == pytest.approx(imports / 1.06, rel=1e-12)
    assert row["rule_moved"]
    back = _pair(panel, 2015, "AZE", "KGZ")  # KGZ, the importer, is not on the list
    assert back["trade_rule"] == "energy_exporter_report"  # ... but AZE, the exporter, is
    turkey = _pair(panel, 2015, "TUR", "AZE")
    assert turkey["trade_basis"] == "importer_cif" and turkey["trade_rule"] == "importer_first"
    assert turkey["trade"] == pytest.approx(
        _dots("Azerbaijan, Rep. of", "Turkey", "imports_cif", 2015) / 1.06, rel=1e-12)


def test_kgz_aze_2022_equals_national_statistics(built):
    _, _, panel = built
    nat = pd.read_parquet(RAW / bundled.NATIONAL)
    nat = nat[(nat["reporter_iso3"] == "KGZ") & (nat["partner_iso3"] == "AZE")
              & (nat["year"] == 2022)].set_index("flow")["value_usd_thousand"]
    out = _pair(panel, 2022, "KGZ", "AZE")
    assert out["exports_reported"] == pytest.approx(nat["exports"] * 1e3, rel=1e-12)
    assert np.isnan(out["imports_reported"])
    assert out["trade_basis"] == "exporter_fob" and out["trade_source"] == "national"
    assert out["trade"] == pytest.approx(nat["exports"] * 1e3, rel=1e-12)
    back = _pair(panel, 2022, "AZE", "KGZ")
    assert back["imports_reported"] == pytest.approx(nat["imports"] * 1e3, rel=1e-12)
    assert back["trade"] == pytest.approx(nat["imports"] * 1e3 / 1.06, rel=1e-12)


def test_dots_takes_precedence_over_national_before_2021(built):
    _, _, panel = built
    row = _pair(panel, 2019, "KGZ", "UZB")
    assert row["exports_source"] == "imf_dots"
    exports = _dots("Kyrgyz Rep.", "Uzbekistan, Rep. of", "exports_fob", 2019)
    assert row["exports_reported"] == pytest.approx(exports, rel=1e-12)


def test_zero_and_missing(built):
    _, _, panel = built
    zeros = panel[panel["trade_basis"] == "zero_not_listed"]
    assert (zeros["trade"] == 0).all()
    missing = panel[panel["trade_basis"] == "none"]
    assert missing["trade"].isna().all()
    # 2023: only KAZ, KGZ (exports) and UZB report; a TKM->GEO flow nobody reports is missing
    assert _pair(panel, 2023, "TKM", "GEO")["trade_basis"] == "none"
    # ... KAZ's exports to partners other than the reporter UZB: KAZ's figure, or zero if
    # KAZ does not list the partner
    kaz = panel[(panel["year"] == 2023) & (panel["exporter"] == "KAZ")
                & (panel["importer"] != "UZB")]
    assert set(kaz["trade_basis"]) <= {"exporter_fob", "zero_not_listed"}
    assert (kaz["trade"].notna()).all()


def test_covariates_equal_sources(built):
    _, _, panel = built
    geo = pd.read_parquet(RAW / bundled.GEODIST)
    g = geo[(geo["iso_o"] == "AZE") & (geo["iso_d"] == "TUR")].iloc[0]
    row = _pair(panel, 2016, "AZE", "TUR")
    assert row["dist"] == g["dist"] and row["ln_dist"] == pytest.approx(np.log(g["dist"]))
    assert (row["contig"], row["comlang_off"], row["colony"]) == (
        g["contig"], g["comlang_off"], g["colony"])
    wdi = pd.read_parquet(RAW / bundled.WDI)
    gdp = wdi.set_index(["iso3", "year"])["gdp_current_usd"]
    assert row["gdp_exporter"] == gdp[("AZE", 2016)]
    assert row["gdp_importer"] == gdp[("TUR", 2016)]
    assert np.isnan(_pair(panel, 2021, "AZE", "TUR")["gdp_exporter"])  # WDI copy ends 2019


def test_manifest_contents(built, small_raw):
    p, _, panel = built
    manifest = json.loads(p.manifest.read_text())
    for rel in (bundled.IMF_DOTS, bundled.NATIONAL, bundled.EUROSTAT, bundled.ECB_RATES,
                bundled.PENPPML, bundled.WDI, bundled.GEODIST, bundled.UNCTAD_FDI):
        entry = manifest["inputs"][f"data/raw/{rel}"]
        assert entry["sha256"] == hashlib.sha256((small_raw / rel).read_bytes()).hexdigest()
    nat_raw = pd.read_parquet(small_raw / bundled.NATIONAL)
    nat = manifest["inputs"][f"data/raw/{bundled.NATIONAL}"]
    assert nat["rows_in"] == len(nat_raw)
    assert nat["drops"]["imports_by_consignment"] == int(
        (nat_raw["flow"] == "imports_by_consignment").sum())
    assert nat["rows_in"] - sum(nat["drops"].values()) == nat["rows_out"]
    pen = manifest["inputs"][f"data/raw/{bundled.PENPPML}"]
    n_non_country = int(pd.read_parquet(small_raw / bundled.PENPPML)["imp"].isin(
        NON_COUNTRY).sum())
    assert n_non_country > 0 and pen["drops"] == {"non_country_imp": n_non_country}
    out = manifest["outputs"]["data/processed/panel.parquet"]
    assert out["rows"] == len(panel)
    assert out["sha256"] == hashlib.sha256(p.panel.read_bytes()).hexdigest()
    flows = pd.read_parquet(p.flows)
    assert manifest["outputs"]["data/processed/flows.parquet"]["rows"] == len(flows)
    step = manifest["steps"]["panel"]
    assert step["rows_out"] == len(panel)
    assert step["drops"]["source_not_in_panel"] == int((flows["source"] == "comtrade").sum())
    eu = flows[flows["source"] == "eurostat"]
    assert step["drops"]["aggregate_report_outside_panel_years"] == int(
        (eu["year"] < panel["year"].min()).sum())  # the small DOTS copy starts in 2012
    eu_rows = panel[panel["eu_aggregate"] & (panel["trade_basis"] == "exporter_fob")]
    assert len(eu_rows) == int((eu["year"] >= panel["year"].min()).sum())
    rule = manifest["steps"]["mirror_rule"]
    assert rule["rule"] == "v2" and rule["rows"]["moved_by_rule_choice"] == int(
        panel["rule_moved"].sum()) > 0
    assert rule["rows"]["chosen_by_energy_exporter_report"] == int(
        (panel["trade_rule"] == "energy_exporter_report").sum())
    for name in ("validation.csv", "source_overlap.csv", "mirror_moves.parquet",
                 "reported.parquet", "reported_fdi.parquet", "reported_corridor.parquet"):
        out = manifest["outputs"][f"data/processed/{name}"]
        assert out["sha256"] == hashlib.sha256((p.processed / name).read_bytes()).hexdigest()
    assert manifest["settings"]["interval"] is None


def test_interval_build(tmp_path_factory, small_raw, built):
    p = _root(tmp_path_factory, small_raw, "interval")
    summary = build_panel(p, interval=4, progress=False)
    panel = pd.read_parquet(p.panel)
    assert sorted(panel["year"].unique()) == [2012, 2016, 2020]
    assert summary.interval == 4 and "every 4 years" in summary.describe()
    manifest = json.loads(p.manifest.read_text())
    assert manifest["settings"]["interval"] == 4
    every_year = built[2]
    kept = every_year[every_year["year"].isin([2012, 2016, 2020])].reset_index(drop=True)
    pd.testing.assert_frame_equal(panel, kept)
    assert manifest["steps"]["panel"]["drops"]["pair_years_outside_interval"] == (
        len(every_year) - len(kept))


def test_failed_build_leaves_old_outputs_intact(tmp_path_factory, small_raw, monkeypatch):
    p = _root(tmp_path_factory, small_raw, "atomic")
    build_panel(p, progress=False)
    before = {f: f.read_bytes() for f in (p.panel, p.flows, p.manifest)}
    build_panel(p, progress=False)  # a rebuild gives the same bytes (deterministic)
    assert all(f.read_bytes() == content for f, content in before.items())

    def broken_to_parquet(self, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken_to_parquet)
    with pytest.raises(OSError, match="disk full"):
        build_panel(p, progress=False)
    monkeypatch.undo()

    def broken_policy(panel, *args, **kwargs):
        raise RuntimeError("policy step failed")

    monkeypatch.setattr(tradeflows.policy, "add_policy_variables", broken_policy)
    with pytest.raises(RuntimeError, match="policy step failed"):
        build_panel(p, progress=False)
    for f, content in before.items():
        if f != p.flows:  # flows.parquet was rewritten (complete) before the policy step
            assert f.read_bytes() == content, f
    pd.read_parquet(p.flows)  # complete, readable
    assert not list(p.processed.glob(".*.tmp"))


def test_bad_rows_raise_or_are_dropped_and_counted(tmp_path_factory, small_raw):
    raw = tmp_path_factory.mktemp("badraw")
    _make_raw(raw)
    nat = pd.read_parquet(raw / bundled.NATIONAL)
    nat.loc[5, "value_usd_thousand"] = -1.0
    nat.to_parquet(raw / bundled.NATIONAL)
    p = _root(tmp_path_factory, raw, "bad")
    with pytest.raises(DataError, match=r"national_trade_by_partner\.parquet, row 6.*negative"):
        build_panel(p, progress=False)
    assert not p.panel.exists()
    build_panel(p, progress=False, bad_rows="drop")
    manifest = json.loads(p.manifest.read_text())
    drops = manifest["inputs"][f"data/raw/{bundled.NATIONAL}"]["drops"]
    assert drops["negative_value_usd_thousand"] == 1


def test_extra_files(tmp_path_factory, small_raw, monkeypatch, tmp_path):
    with pytest.raises(DataError, match=r"mystery\.csv: cannot tell which source"):
        read_extra(tmp_path / "mystery.csv")
    extra = pd.DataFrame({"year": [2022, 2022], "exporter": ["TKM", "KAZ"],
                          "importer": ["GEO", "AZE"], "value_usd": [5e6, 1.0],
                          "reporter_side": ["exporter", "exporter"],
                          "flow": ["export", "export"], "source": ["baci", "baci"],
                          "estimated": [False, False]})
    calls = []

    def fake_build_sectors(files, out_dir, **kwargs):  # BACI goes through the sector ETL
        calls.append((files, out_dir))

    import tradeflows.sectors.etl

    monkeypatch.setattr(tradeflows.sectors.etl, "build_sectors", fake_build_sectors)
    monkeypatch.setattr(tradeflows.sectors.etl, "baci_trade_table", lambda out_dir: extra)
    baci = tmp_path / "BACI_HS92_Y2022_V202401.csv"
    baci.write_text("t,i,j,k,v,q\n")
    p = _root(tmp_path_factory, small_raw, "extra")
    build_panel(p, extra_files=[baci], progress=False)
    assert calls == [([baci], p.processed / "sectors")]
    panel = pd.read_parquet(p.panel)
    row = _pair(panel, 2022, "TKM", "GEO")  # no DOTS or national figure: BACI fills it
    assert row["trade"] == 5e6 and row["trade_source"] == "baci"
    row = _pair(panel, 2022, "KAZ", "AZE")  # national statistics rank before BACI
    assert row["exports_source"] == "national" and row["exports_reported"] != 1.0
    manifest = json.loads(p.manifest.read_text())
    assert manifest["settings"]["extra_files"] == [f"external/{baci.name}"]  # no local path
    assert manifest["inputs"][f"external/{baci.name}"]["sha256"] == hashlib.sha256(
        baci.read_bytes()).hexdigest()
