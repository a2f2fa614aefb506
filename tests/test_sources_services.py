"""End to end against the publishers' current formats: ``tradeflows fetch`` every source from a
server on 127.0.0.1 that answers at the real paths and query strings (tests/_services.py),
then ``tradeflows build --extra`` on the fetched trade files; the panel and flows carry the
fixtures' values (units converted by hand here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _services import FIX, start
from click.testing import CliRunner
from test_panel_build import _make_raw  # the small copy of the bundled raw data

from tradeflows.cli import main
from tradeflows.config import paths
from tradeflows.sources.cepii_gravity import read_cepii_gravity
from tradeflows.sources.fdi import read_unctad_fdi
from tradeflows.sources.registry import resolve
from tradeflows.sources.wdi import read_wdi

TRADE = ("imf", "baci", "itpd", "cepii_gravity", "comtrade")


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    """Every source fetched through the CLI; yields {source: path}, the CLI outputs."""
    service, stop = start()
    cache = tmp_path_factory.mktemp("cache")
    env = {"TRADEFLOWS_CACHE": str(cache), "NO_PROXY": "127.0.0.1", "http_proxy": "",
           "HTTP_PROXY": "", "COMTRADE_API_KEY": ""}
    out, outputs = {}, {}
    try:
        for source in (*TRADE, "wdi", "unctad_fdi"):
            result = CliRunner().invoke(main, ["--quiet", "fetch", source, "--mirror",
                                               service.base], env=env)
            assert result.exit_code == 0, result.output
            outputs[source] = result.output
            out[source] = Path(result.output.strip().splitlines()[-1])
        requested = [r["path"] for r in service.log]
    finally:
        stop()
    return out, outputs, requested


@pytest.fixture(scope="module")
def built(fetched, tmp_path_factory):
    files, _, _ = fetched
    raw = tmp_path_factory.mktemp("raw")
    _make_raw(raw)
    root = tmp_path_factory.mktemp("root")
    (root / "data").mkdir()
    (root / "data" / "raw").symlink_to(raw, target_is_directory=True)
    args = ["--quiet", "--root", str(root), "build"]
    for source in (*TRADE, "wdi", "unctad_fdi"):  # covariates and investment too
        args += ["--extra", str(files[source])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    p = paths(root)
    return p, pd.read_parquet(p.panel), pd.read_parquet(p.flows), result.output


def _pair(panel, year, i, j):
    row = panel[(panel["year"] == year) & (panel["exporter"] == i) & (panel["importer"] == j)]
    assert len(row) == 1
    return row.iloc[0]


def test_fetched_at_the_real_paths(fetched):
    files, outputs, requested = fetched
    for source, path in files.items():
        parts = resolve(source if source != "comtrade" else "comtrade").url.split("/", 3)[3]
        assert f"/{parts}" in requested, source
        assert path.name == resolve(source).file_name
        assert "warning: " in outputs[source] and "pinned sha256" in outputs[source]
    assert files["wdi"].read_bytes()[:4] == b"PK\x03\x04"  # downloadformat=csv answers a zip


def _value_of_basis(row) -> float:
    """The panel's ``trade`` implied by the row's basis (FOB: importer reports / 1.06)."""
    if row["trade_basis"].startswith("importer"):
        return row["imports_reported"] / 1.06
    return row["exports_reported"]


def test_imts_feeds_the_panel_as_dots_does(built):
    _, panel, flows, _ = built
    # both IMTS reports of AZE -> GEO 2023 are in the panel; the mirror rule picks one
    row = _pair(panel, 2023, "AZE", "GEO")
    assert row["imports_reported"] == 920e6 and row["exports_reported"] == 850e6
    assert row["imports_source"] == row["exports_source"] == row["trade_source"] == "imf_imts"
    assert row["trade"] == pytest.approx(_value_of_basis(row), rel=1e-12)
    # 2024: GEO's report is missing (empty OBS_VALUE), AZE's export report is used
    row = _pair(panel, 2024, "AZE", "GEO")
    assert np.isnan(row["imports_reported"]) or row["imports_source"] != "imf_imts"
    assert row["trade_basis"] == "exporter_fob" and row["trade_source"] == "imf_imts"
    assert row["trade"] == 910500000.5
    row = _pair(panel, 2024, "TKM", "AZE")
    assert row["imports_reported"] == 120e6 and row["exports_reported"] == 101e6
    assert row["trade"] == pytest.approx(_value_of_basis(row), rel=1e-12)
    assert row["trade"] in (pytest.approx(120e6 / 1.06, rel=1e-12), 101e6)
    # IMTS (the successor of DOTS) takes the place of the bundled DOTS copy where both exist
    row = _pair(panel, 2019, "KAZ", "AZE")
    assert row["imports_source"] == "imf_imts" and row["imports_reported"] == 190e6
    assert row["exports_source"] == "imf_imts" and row["exports_reported"] == 150e6
    imts = flows[flows["source"] == "imf_imts"]
    assert len(imts) == 8  # 13 lines: 2 other indicators, 1 missing, 2 groups dropped
    assert not imts["estimated"].any()


def test_other_sources_reach_the_flows(built):
    _, panel, flows, _ = built
    baci = flows[flows["source"] == "baci"].set_index(["year", "exporter", "importer"])
    assert baci.loc[(2023, "AZE", "GEO"), "value_usd"] == pytest.approx(627_750.0, rel=1e-12)
    assert baci.loc[(2024, "KAZ", "AZE"), "value_usd"] == pytest.approx(80_400.0, rel=1e-12)
    assert (2023, "AZE", "R20") not in baci.index  # "Europe EFTA, nes" is an aggregate
    itpd = flows[flows["source"] == "itpd"].set_index(["year", "exporter", "importer"])
    assert itpd.loc[(2018, "AZE", "GEO"), "value_usd"] == pytest.approx(411.75e6, rel=1e-12)
    assert bool(itpd.loc[(2018, "AZE", "GEO"), "estimated"])  # one industry used the mirror
    assert (2018, "TKM", "AZE") not in itpd.index  # flag_zero "u": missing, not zero
    comtrade = flows[flows["source"] == "comtrade"].set_index(
        ["year", "exporter", "importer", "flow"])
    assert comtrade.loc[(2023, "AZE", "KAZ", "export"), "value_usd"] == 128874236.84
    gravity = flows[flows["source"].str.startswith("cepii_gravity")]
    expected = read_cepii_gravity(FIX / "cepii_gravity" / "Gravity_V202211.csv",
                                  unknown_codes="drop")
    assert len(gravity) == len(expected) > 0
    assert gravity["value_usd"].sum() == pytest.approx(expected["value_usd"].sum(), rel=1e-12)
    # TKM -> AZE 2023: IMTS has only AZE's import report; BACI fills the exporter's slot
    row = _pair(panel, 2023, "TKM", "AZE")
    assert row["exports_source"] == "baci" and row["exports_reported"] == 22_750.0
    assert row["imports_source"] == "imf_imts" and row["imports_reported"] == 95e6
    assert row["trade"] == pytest.approx(_value_of_basis(row), rel=1e-12)


def test_manifest_lists_the_fetched_files(built, fetched):
    p, _, _, output = built
    files, _, _ = fetched
    manifest = json.loads(p.manifest.read_text())
    for source in TRADE:
        entry = manifest["inputs"][f"external/{files[source].name}"]  # outside the project
        assert entry["sha256"] == files[source].with_name(
            files[source].name + ".sha256").read_text().split()[0]
    assert "pair-years" in output


def test_fetched_wdi_updates_the_gdp_covariates(built, fetched):
    p, panel, _, _ = built
    files, _, _ = fetched
    wdi = read_wdi(FIX / "wdi" / "API_NY.GDP.MKTP.CD_DS2_en_csv_v2_6298258.csv")
    assert len(wdi) == 8
    checked = 0
    for r in wdi.itertuples(index=False):
        rows = panel[(panel["year"] == r.year) & (panel["exporter"] == r.country)
                     & ~panel["eu_aggregate"]]
        if len(rows):
            assert (rows["gdp_exporter"] == r.value).all(), (r.country, r.year)
            checked += 1
    assert checked >= 6  # AZE, KAZ, ... 2019-2021 are panel years
    manifest = json.loads(p.manifest.read_text())
    assert manifest["inputs"][f"external/{files['wdi'].name}"]["role"] == "covariates"
    by_source = manifest["steps"]["covariates"]["country_years_by_source"]["gdp_usd"]
    assert by_source[files["wdi"].name] == len(wdi) and by_source["bundled"] > 0


def test_fetched_unctad_workbook_reaches_investment(built, fetched):
    p, _, _, _ = built
    files, _, _ = fetched
    investment = pd.read_parquet(p.investment)
    fetched_rows = read_unctad_fdi(files["unctad_fdi"])
    key = ["year", "investor", "host", "measure"]
    got = investment[investment["source"] == "unctad"].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, fetched_rows.sort_values(key).reset_index(drop=True),
                                  check_like=True, check_dtype=False)
    # the bundled (host-reported) copy of the same keys is replaced, not doubled
    assert not investment.duplicated(key).any()
    manifest = json.loads(p.manifest.read_text())
    step = manifest["steps"]["investment"]
    assert step["rows_out"] == len(investment)
    assert step["rows_in"] - step["rows_out"] == \
        step["drops"].get("bundled_replaced_by_added_file", 0)
    assert manifest["inputs"][f"external/{files['unctad_fdi'].name}"]["role"] == "investment"


def test_wdi_zip_read_by_content_whatever_its_name(fetched, tmp_path):
    files, _, _ = fetched
    expected = read_wdi(FIX / "wdi" / "API_NY.GDP.MKTP.CD_DS2_en_csv_v2_6298258.csv")
    pd.testing.assert_frame_equal(read_wdi(files["wdi"]), expected)
    misnamed = tmp_path / "NY.GDP.MKTP.CD.csv"  # what the old cache name looked like
    misnamed.write_bytes(files["wdi"].read_bytes())
    got = read_wdi(misnamed)
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs["drops"] == expected.attrs["drops"]


def test_unctad_workbook_fetched(fetched):
    files, _, _ = fetched
    pd.testing.assert_frame_equal(read_unctad_fdi(files["unctad_fdi"]),
                                  read_unctad_fdi(FIX / "unctad_fdi" / "webdiaeia2014d3_AZE.xls"))
