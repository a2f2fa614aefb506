"""Transport network: dated links, cheapest routes (checked by hand and against scipy's
Dijkstra on an independently built graph), and route scenarios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from tradeflows.errors import DataError
from tradeflows.policy import (
    CostModel,
    TransportNetwork,
    load_events,
    load_route_scenario,
    route_variables,
)
from tradeflows.policy.corridors import LINKS_FILE, NODES_FILE

RATE = {"rail": 1.0, "road": 1.6, "sea": 0.4}


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return load_events()


@pytest.fixture(scope="module")
def net(events: pd.DataFrame) -> TransportNetwork:
    return TransportNetwork.from_events(events)


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(2 * 6371.0 * np.arcsin(np.sqrt(a)))


def test_link_lengths_are_plausible() -> None:
    nodes = pd.read_csv(NODES_FILE).set_index("node")
    links = pd.read_csv(LINKS_FILE)
    for row in links.itertuples():
        a, b = nodes.loc[row.node_a], nodes.loc[row.node_b]
        crow = _haversine_km(a.lat, a.lon, b.lat, b.lon)
        assert crow <= row.km <= 3.5 * crow + 100, (row.link_id, crow, row.km)


def _independent_costs(events: pd.DataFrame, year: int, extra_open: set[str] = frozenset(),
                       free: set[str] = frozenset()) -> tuple[list[str], np.ndarray]:
    """All-pairs cheapest cost built from the CSV files with scipy (no tradeflows code)."""
    nodes = pd.read_csv(NODES_FILE)
    country = dict(zip(nodes["node"], nodes["country"], strict=True))
    start = events.set_index("event_id")["start"]
    ref = pd.Timestamp(year, 7, 1)
    links = pd.read_csv(LINKS_FILE, keep_default_na=False)
    idx = {n: i for i, n in enumerate(nodes["node"])}
    w = np.full((len(idx), len(idx)), np.inf)
    for r in links.itertuples():
        if r.status == "scenario" and r.link_id not in extra_open:
            continue
        if r.opens_event and start[r.opens_event] > ref:
            continue
        if r.closes_event and start[r.closes_event] <= ref:
            continue
        border = country[r.node_a] != country[r.node_b] and r.link_id not in free
        cost = (RATE[r.mode] * r.km + 300 * border
                + 500 * (r.mode == "sea") + float(r.extra_cost or 0))
        i, j = idx[r.node_a], idx[r.node_b]
        w[i, j] = w[j, i] = min(w[i, j], cost)
    w[np.isinf(w)] = 0
    return list(nodes["node"]), dijkstra(csr_matrix(w), directed=False)


ZNG = {"ZNG-AZE-MEG-RAIL", "ZNG-MEG-NAX-RAIL"}


@pytest.mark.parametrize(("year", "scenario"), [(2013, None), (2016, None), (2018, None),
                                                 (2026, "zangezur_open"),
                                                 (2030, "zangezur_full")])
def test_costs_match_scipy_dijkstra(net: TransportNetwork, events: pd.DataFrame, year: int,
                                   scenario: str | None) -> None:
    extra = (ZNG | {"NAX-KRS-RAIL"} if scenario == "zangezur_full" else ZNG) if scenario else set()
    free = ZNG if scenario == "zangezur_full" else set()
    names, dist = _independent_costs(events, year, extra, free)
    table = net.route_table([year], scenario)
    assert len(table) == 16 * 15  # 15 countries + EU, every ordered pair connected
    for row in table.itertuples():
        assert row.route_cost == pytest.approx(dist[names.index(row.origin),
                                                    names.index(row.dest)])


def test_route_switches_when_btk_opens(net: TransportNetwork) -> None:
    before = net.cheapest_route("AZE", "TUR", 2017)  # BTK opened 2017-10-30: from 2018
    after = net.cheapest_route("AZE", "TUR", 2018)
    assert before.path == ("AZE", "GEO", "GEO_POT", "TUR_IST", "TUR")
    # by hand: rail 550 + border 300; rail 310; sea 1100*0.4 + 500 + border 300; rail 580
    assert before.cost == pytest.approx(850 + 310 + 1240 + 580)
    assert before.km == 550 + 310 + 1100 + 580
    assert after.path == ("AZE", "GEO", "TUR_KRS", "TUR")
    assert after.cost == pytest.approx(850 + (290 + 300) + 1365)
    assert "btk" in after.corridors and "btk" not in before.corridors
    kaz = [net.cheapest_route("KAZ", "TUR", y) for y in (2017, 2018)]
    assert "btk" not in kaz[0].corridors and {"btk", "middle_corridor"} <= kaz[1].corridors
    assert kaz[1].cost < kaz[0].cost


def test_cost_model_is_a_parameter(events: pd.DataFrame) -> None:
    dear_sea = TransportNetwork.from_events(events, cost=CostModel(sea_leg_cost=2000.0))
    r = dear_sea.cheapest_route("AZE", "TUR", 2016)  # no ferry: road to Kars, rail to Ankara
    assert r.path == ("AZE", "GEO", "TUR_KRS", "TUR")
    assert r.cost == pytest.approx(850 + (330 * 1.6 + 300) + 1365)
    got = route_variables([("AZE", "TUR")], [2016], network=dear_sea, events=events)
    assert got["route_cost"].item() == pytest.approx(r.cost)


def test_kti_opens_2015(net: TransportNetwork) -> None:
    assert "kti" not in net.cheapest_route("KAZ_AKT", "IRN", 2014).corridors
    r = net.cheapest_route("KAZ_AKT", "IRN", 2015)
    assert r.path == ("KAZ_AKT", "TKM_BRK", "IRN") and r.cost == pytest.approx(750 + 830 + 600)


def test_zangezur_scenario_changes_routes(net: TransportNetwork) -> None:
    base = net.cheapest_route("ARM", "AZE", 2026)
    assert base.path == ("ARM", "GEO", "AZE") and "zangezur" not in base.corridors
    assert net.cheapest_route("ARM", "AZE", 2025, "zangezur_open") == base
    sc = net.cheapest_route("ARM", "AZE", 2026, "zangezur_open")
    assert sc.path == ("ARM", "ARM_MEG", "AZE") and "zangezur" in sc.corridors
    assert sc.cost == pytest.approx(370 * 1.6 + 460 + 300)
    assert sc.cost < base.cost
    nax = net.cheapest_route("AZE", "AZE_NAX", 2026, "zangezur_open")
    assert nax.path == ("AZE", "ARM_MEG", "AZE_NAX")
    assert net.cheapest_route("AZE", "AZE_NAX", 2026).path == ("AZE", "IRN_JUL", "AZE_NAX")


def test_zangezur_full_scenario(net: TransportNetwork) -> None:
    sc = load_route_scenario("zangezur_full")
    assert sc.unimpeded == (("ZNG-AZE-MEG-RAIL", 2026), ("ZNG-MEG-NAX-RAIL", 2026))
    base = net.cheapest_route("AZE", "TUR", 2030)
    assert "btk" in base.corridors
    r26 = net.cheapest_route("AZE", "TUR", 2026, sc)
    r30 = net.cheapest_route("AZE", "TUR", 2030, sc)
    # by hand: rail 460 + rail 100 with no border cost, then Nakhchivan-Kars by road (2026)
    # or rail (2030) with one border, and Kars-Ankara rail 1365
    assert r26.links == ("ZNG-AZE-MEG-RAIL", "ZNG-MEG-NAX-RAIL", "NAX-KRS-ROAD", "KRS-TUR-RAIL")
    assert r26.cost == pytest.approx(460 + 100 + 280 * 1.6 + 300 + 1365)
    assert r30.links == ("ZNG-AZE-MEG-RAIL", "ZNG-MEG-NAX-RAIL", "NAX-KRS-RAIL", "KRS-TUR-RAIL")
    assert r30.cost == pytest.approx(460 + 100 + 325 + 300 + 1365)
    assert r30.cost < base.cost
    assert "zangezur" in net.cheapest_route("KAZ", "TUR", 2030, sc).corridors


def test_russia_closed_scenario(events: pd.DataFrame) -> None:
    pairs = [("KAZ", "DEU"), ("CHN", "FRA"), ("RUS", "DEU"), ("KAZ", "CHN")]
    base = route_variables(pairs, [2021, 2022], events=events).set_index(
        ["year", "exporter", "importer"])
    sc = route_variables(pairs, [2021, 2022], scenario="russia_closed", events=events
                         ).set_index(["year", "exporter", "importer"])
    pd.testing.assert_frame_equal(base.loc[2021], sc.loc[2021])
    assert base.loc[(2022, "KAZ", "DEU"), "uses_northern"] == 1
    assert sc.loc[(2022, "KAZ", "DEU"), "uses_northern"] == 0
    assert sc.loc[(2022, "KAZ", "DEU"), "uses_middle_corridor"] == 1
    assert sc.loc[(2022, "KAZ", "DEU"), "route_cost"] > base.loc[(2022, "KAZ", "DEU"),
                                                                 "route_cost"]
    assert sc.loc[(2022, "CHN", "FRA"), "uses_northern"] == 0
    for unchanged in [("RUS", "DEU"), ("KAZ", "CHN")]:
        pd.testing.assert_series_equal(base.loc[(2022, *unchanged)], sc.loc[(2022, *unchanged)])


def test_route_variables_nan_outside_network(events: pd.DataFrame) -> None:
    r = route_variables([("USA", "AZE"), ("DEU", "FRA"), ("POL", "KAZ"), ("NOR", "KAZ"),
                         ("NOR", "DEU")], [2003, 2005],
                        events=events).set_index(["year", "exporter", "importer"])
    assert r.loc[(2005, "USA", "AZE")].isna().all()
    assert r.loc[(2005, "DEU", "FRA")].isna().all()  # same node
    assert r.loc[(2003, "POL", "KAZ")].isna().all()  # POL joined the EU in 2004
    assert r.loc[(2005, "POL", "KAZ"), "uses_northern"] == 1
    pd.testing.assert_series_equal(r.loc[(2005, "NOR", "KAZ")], r.loc[(2005, "POL", "KAZ")],
                                   check_names=False)  # EFTA members share the EU node
    assert r.loc[(2005, "NOR", "DEU")].isna().all()


def test_country_codes_and_graph(net: TransportNetwork) -> None:
    assert net.cheapest_route("KAZ", "DEU", 2019) == net.cheapest_route("KAZ", "EU", 2019)
    with pytest.raises(DataError, match="'USA' is not in the transport network"):
        net.cheapest_route("USA", "AZE", 2019)
    assert not net.at(2026).has_edge("AZE", "ARM_MEG")
    assert net.at(2026, "zangezur_open").has_edge("AZE", "ARM_MEG")
    g = net.at(2019)
    assert g.edges["AZE", "KAZ_AKT"]["link_id"] == "AKT-AZE-SEA"  # Alat replaced the old port
    assert net.at(2017).edges["AZE", "KAZ_AKT"]["link_id"] == "AKT-AZE-SEA-OLD"


def test_bad_scenarios(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[open]]\nlinks = ["NO-SUCH-LINK"]\nfrom_year = 2026\n')
    with pytest.raises(DataError, match="unknown link 'NO-SUCH-LINK'"):
        load_route_scenario(bad)
    bad.write_text('[[open]]\nlinks = ["ZNG-AZE-MEG-RAIL"]\n')
    with pytest.raises(DataError, match="from_year"):
        load_route_scenario(bad)
    with pytest.raises(DataError, match="route scenarios: "):
        load_route_scenario("no_such_scenario")
    sc = load_route_scenario("zangezur_open")
    assert sc.opens == (("ZNG-AZE-MEG-RAIL", 2026), ("ZNG-MEG-NAX-RAIL", 2026))


def test_bad_link_file(tmp_path: Path, events: pd.DataFrame) -> None:
    links = pd.read_csv(LINKS_FILE, dtype=str, keep_default_na=False)
    links.loc[3, "node_b"] = "ATLANTIS"
    path = tmp_path / "links.csv"
    links.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"row 5.*node_b.*ATLANTIS"):
        TransportNetwork.from_events(events, links_file=path)
    links = pd.read_csv(LINKS_FILE, dtype=str, keep_default_na=False)
    links.loc[0, "opens_event"] = "NO-EVENT"
    links.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"row 2.*opens_event"):
        TransportNetwork.from_events(events, links_file=path)
    for bad in ("far", "-5"):
        links = pd.read_csv(LINKS_FILE, dtype=str, keep_default_na=False)
        links.loc[6, "km"] = bad
        links.to_csv(path, index=False)
        with pytest.raises(DataError, match=r"row 8.*'km'"):
            TransportNetwork.from_events(events, links_file=path)
