"""add_policy_variables on a small panel with hand-checked values, the catalog and the CLI."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tradeflows.cli import main
from tradeflows.errors import DataError
from tradeflows.policy import add_policy_variables, load_events, route_variables
from tradeflows.policy.corridors import ROUTE_COLUMNS
from tradeflows.policy.events import EVENTS_FILE
from tradeflows.policy.variables import policy_variable_names, variable_catalog

COUNTRIES = ["AZE", "KAZ", "RUS", "UZB", "TUR", "DEU", "IRN", "USA", "GEO", "ARM"]
YEARS = [2014, 2015, 2019, 2020, 2022]


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return load_events()


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    idx = pd.MultiIndex.from_product([YEARS, COUNTRIES, COUNTRIES],
                                     names=["year", "exporter", "importer"])
    df = idx.to_frame(index=False).sample(frac=1.0, random_state=1).reset_index(drop=True)
    df["trade"] = np.arange(len(df), dtype=float)
    return df


@pytest.fixture(scope="module")
def out(panel: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    return add_policy_variables(panel, events)


def _v(out: pd.DataFrame, year: int, e: str, i: str, col: str) -> float:
    hit = out[(out["year"] == year) & (out["exporter"] == e) & (out["importer"] == i)]
    assert len(hit) == 1
    return hit[col].iloc[0]


def test_rows_kept_in_order(panel: pd.DataFrame, out: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(out[panel.columns], panel)
    added = [c for c in out.columns if c not in panel.columns]
    assert added == policy_variable_names()
    assert set(added) <= set(variable_catalog()["name"])


@pytest.mark.parametrize(("year", "e", "i", "col", "expected"), [
    (2015, "KAZ", "TUR", "both_ots", 1),
    (2019, "UZB", "AZE", "both_ots", 0),   # UZB joined 2019-10-14: after 1 July
    (2020, "UZB", "AZE", "both_ots", 1),
    (2020, "AZE", "AZE", "both_ots", 0),   # domestic rows are 0
    (2020, "AZE", "DEU", "one_ots", 1),
    (2020, "AZE", "UZB", "one_ots", 0),
    (2015, "KAZ", "RUS", "both_eaeu", 1),
    (2014, "KAZ", "RUS", "both_eaeu", 1),  # customs union
    (2015, "ARM", "RUS", "both_eaeu", 1),  # ARM from 2015-01-02
    (2014, "ARM", "RUS", "both_eaeu", 0),
    (2015, "KAZ", "RUS", "both_wto", 0),   # KAZ joined 2015-11-30
    (2019, "KAZ", "RUS", "both_wto", 1),
    (2019, "AZE", "TUR", "both_wto", 0),
    (2019, "AZE", "TUR", "one_wto", 1),
    (2019, "UZB", "RUS", "both_cis_fta", 1),
    (2019, "AZE", "RUS", "both_cis_fta", 0),
    (2019, "RUS", "KAZ", "both_sco", 1),
    (2019, "IRN", "RUS", "both_sco", 0),   # IRN full member from 2023
    (2019, "AZE", "IRN", "both_eco", 1),
    (2019, "AZE", "GEO", "both_guam", 1),
    (2014, "GEO", "DEU", "fta", 0),        # DCFTA applied from 2014-09-01
    (2015, "GEO", "DEU", "fta", 1),
    (2019, "DEU", "TUR", "fta", 1),        # EU-TUR customs union
    (2019, "AZE", "KAZ", "fta", 1),        # bilateral FTA (signature 1997)
    (2019, "KAZ", "RUS", "fta", 1),        # EAEU
    (2022, "AZE", "TUR", "fta", 0),
    (2022, "AZE", "TUR", "pta", 1),        # PTA in force 2021-03-01
    (2020, "AZE", "TUR", "pta", 0),
    (2020, "IRN", "KAZ", "pta", 1),        # EAEU-Iran interim agreement 2019-10-27
    (2019, "IRN", "KAZ", "pta", 0),
    (2014, "RUS", "DEU", "sanctioned_pair_rus", 1),
    (2022, "DEU", "RUS", "sanctioned_pair_rus", 1),
    (2022, "RUS", "USA", "sanctioned_pair_rus", 0),  # only EU sanctions in the events
    (2019, "RUS", "DEU", "sanctioned_pair_rus_2022", 0),
    (2022, "RUS", "DEU", "sanctioned_pair_rus_2022", 1),
    (2015, "RUS", "AZE", "sanction_rus_exporter", 1),
    (2015, "AZE", "RUS", "sanction_rus_importer", 1),
    (2015, "RUS", "RUS", "sanction_rus_exporter", 0),
    (2014, "IRN", "DEU", "sanctioned_pair_irn", 1),
    (2019, "IRN", "DEU", "sanctioned_pair_irn", 0),  # EU sanctions ended with the JCPOA
    (2019, "USA", "IRN", "sanctioned_pair_irn", 1),  # US re-imposition 2018-08-07
    (2015, "IRN", "AZE", "sanction_irn_exporter", 1),
    (2019, "AZE", "IRN", "sanction_irn_importer", 1),
    (2020, "KAZ", "TUR", "covid_closure_exporter", 1),
    (2020, "TUR", "UZB", "covid_closure_importer", 1),
    (2022, "KAZ", "TUR", "covid_closure_exporter", 0),
    (2020, "TUR", "KAZ", "covid_closure_exporter", 0),
])
def test_hand_checked_values(out: pd.DataFrame, year: int, e: str, i: str, col: str,
                             expected: int) -> None:
    assert _v(out, year, e, i, col) == expected


def test_pta_superseded_by_fta(events: pd.DataFrame) -> None:
    p = pd.DataFrame({"year": [2024, 2025, 2026], "exporter": ["IRN"] * 3,
                      "importer": ["RUS"] * 3})
    got = add_policy_variables(p, events)
    assert got["pta"].tolist() == [1, 0, 0] and got["fta"].tolist() == [0, 1, 1]


def test_observer_pair(events: pd.DataFrame) -> None:
    p = pd.DataFrame({"year": [2018, 2019, 2019, 2022], "exporter": ["HUN", "HUN", "AZE", "TKM"],
                      "importer": ["AZE", "AZE", "HUN", "DEU"]})
    got = add_policy_variables(p, events)["ots_observer_pair"].tolist()
    assert got == [0, 1, 1, 0]


def test_route_columns(out: pd.DataFrame, events: pd.DataFrame) -> None:
    assert _v(out, 2019, "AZE", "TUR", "uses_btk") == 1
    assert _v(out, 2015, "AZE", "TUR", "uses_btk") == 0
    assert _v(out, 2019, "AZE", "TUR", "route_km") == 550 + 290 + 1365
    assert np.isnan(_v(out, 2019, "USA", "AZE", "route_km"))
    assert np.isnan(_v(out, 2019, "AZE", "AZE", "route_cost"))
    sub = out[["year", "exporter", "importer", *ROUTE_COLUMNS]]
    ref = route_variables(sub[["exporter", "importer"]], YEARS, events=events)
    merged = sub.merge(ref, on=["year", "exporter", "importer"], suffixes=("", "_ref"))
    for col in ROUTE_COLUMNS:
        np.testing.assert_array_equal(merged[col], merged[f"{col}_ref"])


def test_scenario_changes_only_routes(panel: pd.DataFrame, out: pd.DataFrame) -> None:
    p = panel.assign(year=panel["year"].replace({2022: 2026}))
    base = add_policy_variables(p)
    sc = add_policy_variables(p, scenario="zangezur_open")
    other = [c for c in base.columns if c not in ROUTE_COLUMNS]
    pd.testing.assert_frame_equal(base[other], sc[other])
    hit = (sc["year"] == 2026) & (sc["exporter"] == "ARM") & (sc["importer"] == "AZE")
    assert base.loc[hit, "uses_zangezur"].item() == 0 and sc.loc[hit, "uses_zangezur"].item() == 1
    assert sc.loc[hit, "route_cost"].item() < base.loc[hit, "route_cost"].item()


@pytest.mark.parametrize("column", ["rta", "fta_wto"])
def test_rta_column_is_combined(panel: pd.DataFrame, events: pd.DataFrame, column: str) -> None:
    p = panel.assign(**{column: np.where((panel["exporter"] == "USA")
                                         & (panel["importer"] == "DEU"), 1.0, np.nan)})
    got = add_policy_variables(p, events)
    usa = (got["exporter"] == "USA") & (got["importer"] == "DEU")
    assert (got.loc[usa, "fta"] == 1).all()
    assert (got.loc[(got["exporter"] == "DEU") & (got["importer"] == "USA"), "fta"] == 0).all()


def test_custom_event_file(tmp_path: Path, panel: pd.DataFrame) -> None:
    df = pd.read_csv(EVENTS_FILE, dtype=str, keep_default_na=False)
    path = tmp_path / "events.csv"
    df[df["event_id"] != "OTS-ACC-UZB"].to_csv(path, index=False)
    got = add_policy_variables(panel, path)
    assert (got.loc[got["exporter"] == "UZB", "both_ots"] == 0).all()
    df.loc[df["event_id"] == "OTS-ACC-UZB", "start_date"] = "2019-10-45"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match="start_date"):
        add_policy_variables(panel, path)


def test_missing_panel_column() -> None:
    with pytest.raises(DataError, match="importer"):
        add_policy_variables(pd.DataFrame({"year": [2020], "exporter": ["AZE"]}))
    bad = pd.DataFrame({"year": [2020, 2020], "exporter": ["AZE", None],
                        "importer": ["TUR", "TUR"]})
    with pytest.raises(DataError, match="row 1.*'exporter'.*missing"):
        add_policy_variables(bad)


def test_speed_on_a_large_panel(events: pd.DataFrame) -> None:
    import pycountry

    codes = [c.alpha_3 for c in pycountry.countries][:120] + ["AZE", "KAZ", "TUR", "RUS"]
    idx = pd.MultiIndex.from_product([range(1995, 2025), codes, codes],
                                     names=["year", "exporter", "importer"])
    big = idx.to_frame(index=False)
    t0 = time.perf_counter()
    got = add_policy_variables(big, events)
    assert len(got) == len(big) > 400_000
    assert time.perf_counter() - t0 < 30


def test_catalog_and_cli() -> None:
    cat = variable_catalog()
    assert list(cat.columns) == ["name", "definition", "source"]
    assert cat["name"].is_unique and (cat["definition"].str.len() > 10).all()
    assert cat.set_index("name").loc["both_ots", "definition"].endswith("1 July of t.")
    res = CliRunner().invoke(main, ["variables", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "uses_zangezur" in res.output and res.output.startswith("name,definition,source")


def test_catalog_covers_panel_columns() -> None:
    from tradeflows.panel.build import PANEL_COLUMNS

    assert set(PANEL_COLUMNS) <= set(variable_catalog()["name"])
