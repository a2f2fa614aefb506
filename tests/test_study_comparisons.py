"""Scenario comparisons of the study: the value of an alternative route, computed draw by draw
from two scenarios' outputs, on constructed tables with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.config import paths as project_paths
from tradeflows.policy.corridors import load_route_scenario, route_variables
from tradeflows.studies.azerbaijan import scenarios
from tradeflows.studies.azerbaijan.comparisons import (
    COMPARISONS,
    MEASURES,
    comparison_outputs,
    route_value,
)


def _write(folder, name, point: dict[str, float], draws: dict[str, list[float]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"country": list(point), **{m: list(point.values()) for m in MEASURES}}
                 ).to_parquet(folder / f"{name}.parquet")
    rows = [{"draw": d, "country": c, **{m: v for m in MEASURES}}
            for c, values in draws.items() for d, v in enumerate(values)]
    pd.DataFrame(rows).to_parquet(folder / f"{name}_draws.parquet")


def test_route_value_is_the_within_draw_difference(tmp_path) -> None:
    comp = COMPARISONS[0]
    folder = tmp_path / "cf"
    assert route_value(folder, comp) is None  # scenarios not run: no table
    rng = np.random.default_rng(3)
    with_alt = {"KAZ": list(rng.normal(-0.2, 0.05, 40)), "DEU": list(rng.normal(-0.1, 0.02, 40))}
    shift = {"KAZ": 0.3, "DEU": 0.05}  # what the alternative saves, in every draw
    without = {c: [v - shift[c] for v in vals] for c, vals in with_alt.items()}
    without["KAZ"] = without["KAZ"][:-1]  # a draw that failed in one run only
    _write(folder, comp.with_alternative, {"KAZ": -0.2, "DEU": -0.1}, with_alt)
    _write(folder, comp.without_alternative, {"KAZ": -0.5, "DEU": -0.15}, without)
    table = route_value(folder, comp).set_index("country")
    assert list(table.index) == ["KAZ", "DEU"]  # sorted by value
    assert table.loc["KAZ", "real_gdp"] == pytest.approx(0.3)
    assert table.loc["DEU", "exports"] == pytest.approx(0.05)
    # the difference is constant within draws, so the interval is that constant
    assert table.loc["KAZ", "real_gdp_lower"] == pytest.approx(0.3)
    assert table.loc["KAZ", "real_gdp_upper"] == pytest.approx(0.3)
    assert table.loc["KAZ", "draws"] == 39 and table.loc["DEU", "draws"] == 40
    p = project_paths(tmp_path)
    (tmp_path / "data" / "processed").mkdir(parents=True)
    folder.rename(p.counterfactuals)
    items = comparison_outputs(p, tmp_path / "reports")
    assert [i["table"] for i in items] == [f"tables/{comp.name}.html"]
    assert (tmp_path / "reports" / "figures" / f"{comp.name}.png").is_file()
    md = (tmp_path / "reports" / "tables" / f"{comp.name}.md").read_text()
    assert "Kazakhstan (KAZ)" in md and "0.30 \\[0.30, 0.30\\]" in md


def test_the_scenario_without_the_alternative_closes_the_trans_caspian_links() -> None:
    names = scenarios()
    assert {"northern_disruption", "northern_disruption_no_middle"} <= set(names)
    sc = load_route_scenario("russia_and_middle_closed")
    assert {lk for lk, _ in sc.closes} >= {"AKT-AZE-SEA", "KUR-AZE-SEA", "TKB-AZE-SEA"}
    pairs = [("KAZ", "DEU"), ("CHN", "DEU"), ("USA", "DEU")]
    closed = route_variables(pairs, [2023], scenario="russia_closed")
    both = route_variables(pairs, [2023], scenario=sc)
    # Kazakhstan's cargo to Europe, cut off from Russia, loses the Caspian crossing too
    kaz = (closed["exporter"] == "KAZ").to_numpy()
    assert (both.loc[kaz, "route_cost"].isna().all()
            or (both.loc[kaz, "route_cost"].to_numpy() > closed.loc[kaz, "route_cost"]
                .to_numpy()).all())
