"""Sector-pair-year panel and per-sector gravity (serial; Dask in test_distributed.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.errors import DataError
from tradeflows.estimation import ppml
from tradeflows.estimation.models import FitCollection
from tradeflows.gravity.application import estimation_sample
from tradeflows.policy import add_policy_variables
from tradeflows.sectors.etl import build_sectors, read_level
from tradeflows.sectors.gravity import policy_effects_table, ppml_by, sector_policy_effects
from tradeflows.sectors.panel import sector_panel
from tradeflows.sectors.synthetic import country_table, sector_panel_data, write_baci

FORMULA = "trade ~ policy | exp_year + imp_year + pair"


@pytest.fixture(scope="module")
def baci_section(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("baci")
    files = write_baci(tmp / "in", list(range(2016, 2022)), 4000, n_countries=14,
                       n_products=300, seed=4)
    build_sectors(files, tmp / "out", write_hs6=False)
    return read_level(tmp / "out", "section")


def _covariate_tables(countries: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    geo = pd.DataFrame([(a, b) for a in countries for b in countries],
                       columns=["exporter", "importer"])
    geo["dist"] = rng.uniform(100, 9000, len(geo))
    geo["contig"] = 0
    geo["comlang_off"] = 0
    geo["colony"] = 0
    wdi = pd.DataFrame([(c, y) for c in countries for y in range(2010, 2020)],
                       columns=["iso3", "year"])
    wdi["gdp_usd"] = rng.uniform(1e9, 1e12, len(wdi))
    return geo, wdi


def test_sector_panel_is_square_with_aggregate_covariates(baci_section):
    countries = [iso for _, _, iso in country_table(14)]
    geo, wdi = _covariate_tables(countries)
    sectors = ["V", "XI", "XVI"]
    panel, drops = sector_panel(baci_section, geo, wdi, sectors=sectors)
    flows = baci_section[baci_section["sector"].isin(sectors)]
    assert drops["outside_selection"] == len(baci_section) - len(flows)
    n_by_year = {y: len(set(g["exporter"]) | set(g["importer"]))
                 for y, g in flows.groupby("year")}
    assert len(panel) == sum(n * (n - 1) for n in n_by_year.values()) * len(sectors)
    assert not panel.duplicated(["year", "exporter", "importer", "sector"]).any()
    got = panel.groupby(["year", "sector"])["trade"].sum()
    want = flows.groupby(["year", "sector"])["value_usd"].sum()
    pd.testing.assert_series_equal(got, want, check_names=False)
    assert (panel["trade_basis"] == "baci_fob").sum() == len(flows)
    assert (panel.loc[panel["trade_basis"] == "zero_not_listed", "trade"] == 0).all()
    # one pair-year: the same covariates and policy variables in every sector, equal to
    # the aggregate policy layer's values
    pair_year = panel.drop_duplicates(["year", "exporter", "importer"])[
        ["year", "exporter", "importer"]].reset_index(drop=True)
    policy = add_policy_variables(pair_year)
    for col in ("both_ots", "uses_btk", "fta", "dist", "gdp_exporter"):
        spread = panel.groupby(["year", "exporter", "importer"])[col].nunique(dropna=False)
        assert (spread == 1).all(), col
    one = panel[panel["sector"] == "V"].reset_index(drop=True)
    for col in ("both_ots", "uses_btk", "sanctioned_pair_rus"):
        np.testing.assert_array_equal(one[col].to_numpy(), policy[col].to_numpy())


def test_sector_panel_selection_left_empty_is_an_error(baci_section):
    geo, wdi = _covariate_tables(["AZE"])
    with pytest.raises(DataError, match="no sector flows"):
        sector_panel(baci_section, geo, wdi, years=[1990])


def test_ppml_by_equals_one_fit_per_sector_and_lists_failures():
    df = sector_panel_data(10, 5, 3, seed=1)
    df.loc[df["sector"] == "S002", "trade"] = 0.0  # cannot be estimated
    coll = ppml_by(df, FORMULA, serial=True, vcov={"CL1": "pair"})
    assert isinstance(coll, FitCollection) and list(coll) == ["S000", "S001"]
    assert "S002" in coll.failed and "no observation left" in coll.failed["S002"]
    for name in coll:
        direct = ppml(df[df["sector"] == name], FORMULA, vcov={"CL1": "pair"})
        np.testing.assert_allclose(coll[name].coef, direct.coef, rtol=1e-12)
        np.testing.assert_allclose(coll[name].se, direct.se, rtol=1e-12)
    tidy = coll.tidy()
    assert list(tidy.columns[:3]) == ["sector", "term", "estimate"]
    assert len(tidy) == 2 and (tidy["nobs"] > 0).all()
    assert "S001" in coll.etable(format="markdown")
    from tradeflows import etable

    assert etable(coll, format="markdown") == coll.etable(format="markdown")


def test_sector_policy_effects_use_the_aggregate_specification(baci_section):
    countries = [iso for _, _, iso in country_table(14)]
    geo, wdi = _covariate_tables(countries)
    panel, _ = sector_panel(baci_section, geo, wdi, sectors=["V", "XVI"])
    effects = sector_policy_effects(panel, models=("ots",), serial=True)
    coll = effects["ots"]
    assert set(coll) | set(coll.failed) == {"V", "XVI"}
    sample = estimation_sample(panel[panel["sector"] == "XVI"].reset_index(drop=True))
    total = sample.groupby("pair")["trade"].transform("sum")
    sample = sample[sample["trade"].notna() & (total > 0)]
    terms = [t for t in ("both_ots", "ots_observer_pair")
             if (sample.groupby("pair")[t].nunique() > 1).any()]
    direct = ppml(sample, f"trade ~ {' + '.join(terms)} | exp_year + imp_year + pair",
                  vcov={"CL1": "pair"})
    np.testing.assert_allclose(coll["XVI"].coef, direct.coef, rtol=1e-10)
    table = policy_effects_table(effects)
    assert {"model", "sector", "term", "estimate", "note"} <= set(table.columns)


def test_fit_warnings_are_kept_per_group():
    df = sector_panel_data(10, 5, 2, seed=1)
    df["policy_copy"] = df["policy"]
    coll = ppml_by(df, "trade ~ policy + policy_copy | exp_year + imp_year + pair",
                   serial=True)
    assert set(coll.warnings) == {"S000", "S001"}
    assert any("collinear" in w for w in coll.warnings["S000"])


def test_cli_sectors_estimate(tmp_path):
    from click.testing import CliRunner

    from tradeflows.cli import main
    from tradeflows.config import PACKAGE_DIR

    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    for name in ("cepii_geodist", "wdi_gdp_pop"):
        (raw / name).symlink_to(PACKAGE_DIR.parent / "data" / "raw" / name)
    files = write_baci(tmp_path / "in", list(range(2016, 2020)), 3000, n_countries=12,
                       n_products=200, seed=1)
    runner = CliRunner()
    res = runner.invoke(main, ["--quiet", "--root", str(tmp_path), "sectors", "build",
                               *map(str, files), "--no-hs6"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["--quiet", "--root", str(tmp_path), "sectors", "estimate",
                               "--serial", "--country", "AZE", "--country", "KAZ",
                               "--country", "UZB", "--country", "TUR", "--country", "RUS",
                               "--country", "CHN", "--country", "GEO"])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(tmp_path / "data" / "processed" / "estimates"
                            / "sectors_section.parquet")
    assert set(table["model"]) == {"ots", "corridor"}
    assert (tmp_path / "reports" / "tables" / "sector_effects_section.md").exists()


def test_only_the_columns_a_fit_reads_are_sent():
    from tradeflows.estimation.models import used_columns

    df = sector_panel_data(6, 3, 1).assign(wide="x", w=1.0)
    assert used_columns(df, [FORMULA], {"vcov": {"CL1": "pair"}, "weights": "w"}) == \
        ["trade", "policy", "exp_year", "imp_year", "pair", "w"]
    assert used_columns(df, ["trade ~ policy | exporter^year", "trade ~ ln_dist"], {}) == \
        ["trade", "policy", "exporter", "year", "ln_dist"]
    assert used_columns(df, ["trade ~ missing_column"], {}) is None  # the fit will say so


def test_ppml_and_ols_by_sector_equal_separate_fits_and_feed_etable():
    import tradeflows as tf

    df = sector_panel_data(10, 5, 3, seed=5)
    coll = tf.ppml(df, FORMULA, by="sector", vcov={"CL1": "pair"})
    assert isinstance(coll, FitCollection) and coll.by == "sector"
    assert list(coll) == ["S000", "S001", "S002"] and not coll.failed
    for name in coll:
        sub = df[df["sector"] == name]
        direct = ppml(sub, FORMULA, vcov={"CL1": "pair"})
        np.testing.assert_array_equal(coll[name].coef.to_numpy(), direct.coef.to_numpy())
        np.testing.assert_array_equal(coll[name].se.to_numpy(), direct.se.to_numpy())
        # predictions come back on the input's index
        assert coll[name].predict().index.equals(sub.index)
    table = tf.etable(coll, format="markdown")
    assert all(name in table for name in coll) and "policy" in table
    assert list(coll.tidy().columns[:3]) == ["sector", "term", "estimate"]
    assert len(coll.coefplot().axes) == 1
    df["ltrade"] = np.log1p(df["trade"])
    ols_fits = tf.ols(df, "ltrade ~ policy | exp_year + imp_year", by="sector")
    for name in ols_fits:
        direct = tf.ols(df[df["sector"] == name], "ltrade ~ policy | exp_year + imp_year")
        np.testing.assert_array_equal(ols_fits[name].coef.to_numpy(), direct.coef.to_numpy())
    # several formulas: one fit per formula and sector
    many = tf.ppml(df, "trade ~ sw(policy, ln_dist) | exp_year + imp_year", by="sector")
    assert len(many) == 6 and "trade ~ ln_dist | exp_year + imp_year; sector=S002" in many


def test_by_rejects_missing_groups_and_conflicting_splits():
    import tradeflows as tf
    from tradeflows.errors import SpecificationError

    df = sector_panel_data(8, 4, 2, seed=1)
    with pytest.raises(SpecificationError, match="one of split"):
        tf.ppml(df, FORMULA, by="sector", split="sector")
    df.loc[3, "sector"] = None
    with pytest.raises(DataError, match="1 missing values in the grouping column 'sector'"):
        tf.ppml(df, FORMULA, by="sector")
    with pytest.raises(DataError, match="no column 'industry'"):
        tf.ppml(df, FORMULA, by="industry")


def test_by_goes_to_dask_only_when_asked(monkeypatch):
    import tradeflows as tf
    import tradeflows.distributed as distributed

    seen = []
    real = distributed.fan_out

    def spy(func, items, **kw):
        seen.append((kw["serial"], kw["scheduler"], kw["workers"]))
        return real(func, items, shared=kw["shared"], serial=True)

    monkeypatch.setattr(distributed, "fan_out", spy)
    monkeypatch.delenv(distributed.ENV_SCHEDULER, raising=False)
    df = sector_panel_data(8, 4, 2, seed=1)
    tf.ppml(df, FORMULA, by="sector")
    tf.ppml(df, FORMULA, by="sector", scheduler="tcp://127.0.0.1:9")
    tf.ppml(df, FORMULA, by="sector", workers=2)
    monkeypatch.setenv(distributed.ENV_SCHEDULER, "tcp://127.0.0.1:9")
    tf.ppml(df, FORMULA, by="sector")
    tf.ppml(df, FORMULA)  # one fit stays here whatever the environment says
    assert seen == [(True, None, 1), (False, "tcp://127.0.0.1:9", 1), (False, None, 2),
                    (False, None, 1), (True, None, 1)]
