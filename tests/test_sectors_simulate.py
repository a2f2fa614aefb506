"""`tradeflows sectors simulate`: multi-sector GE scenarios from the command line, equal to
the library's MultiSectorGE, and to the one-sector GE with one sector."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tradeflows.cli import main
from tradeflows.errors import DataError
from tradeflows.gravity.ge import GEModel
from tradeflows.gravity.ge_multisector import MultiSectorGE
from tradeflows.gravity.sector_scenarios import load_sector_scenario

SCENARIO = """
title = "Cheaper S001 trade between C0 and C1"
year = 2020
reference = "C4"
sigma = 5.0
[coefs]
ln_dist = -0.8
policy = 0.3
[sectors.S001]
sigma = 8.0
coefs = { policy = 0.6 }
[[change]]
variable = "policy"
value = 1.0
sectors = ["S001"]
exporters = ["C0"]
importers = ["C1"]
symmetric = true
[[change]]
variable = "ln_dist"
add = -0.1
sectors = ["S000"]
"""


def _panel(n_sectors: int, n: int = 5, seed: int = 0) -> pd.DataFrame:
    """Square sector panel with domestic flows, two years."""
    rng = np.random.default_rng(seed)
    names = [f"C{i}" for i in range(n)]
    dist = np.log(rng.uniform(500, 9000, size=(n, n)))
    rows = [{"year": y, "sector": f"S{s:03d}", "exporter": names[a], "importer": names[b],
             "trade": rng.lognormal(3, 1) * (20 if a == b else 1),
             "ln_dist": 0.0 if a == b else dist[a, b], "policy": 0.0}
            for y in (2019, 2020) for s in range(n_sectors) for a in range(n) for b in range(n)]
    return pd.DataFrame(rows)


def _project(tmp_path: Path, panel: pd.DataFrame, scenario: str) -> tuple[Path, Path, Path]:
    (tmp_path / "data" / "raw").mkdir(parents=True)
    panel_file = tmp_path / "panel.parquet"
    panel.to_parquet(panel_file)
    scn = tmp_path / "shock.toml"
    scn.write_text(textwrap.dedent(scenario))
    return tmp_path, panel_file, scn


def _run(root: Path, scn: Path, panel_file: Path):
    return CliRunner().invoke(main, ["--quiet", "--root", str(root), "sectors", "simulate",
                                     str(scn), "--panel", str(panel_file)])


def test_cli_equals_the_library_model(tmp_path):
    panel = _panel(2)
    root, panel_file, scn = _project(tmp_path, panel, SCENARIO)
    res = _run(root, scn, panel_file)
    assert res.exit_code == 0, res.output
    assert "real_gdp" in res.output and "real_wage_term" in res.output
    got = pd.read_parquet(root / "data" / "processed" / "counterfactuals"
                          / "sectors_shock.parquet")
    by_sector = pd.read_parquet(root / "data" / "processed" / "counterfactuals"
                                / "sectors_shock_by_sector.parquet")
    # the same counterfactual set up by hand
    xs = panel[panel["year"] == 2020].reset_index(drop=True)
    policy = xs["policy"].to_numpy().copy()
    pair = (((xs["exporter"] == "C0") & (xs["importer"] == "C1"))
            | ((xs["exporter"] == "C1") & (xs["importer"] == "C0")))
    policy[(pair & (xs["sector"] == "S001")).to_numpy()] = 1.0
    ln_dist = xs["ln_dist"].to_numpy().copy()
    s0 = ((xs["sector"] == "S000") & (xs["exporter"] != xs["importer"])).to_numpy()
    ln_dist[s0] -= 0.1
    model = MultiSectorGE(xs, ["ln_dist", "policy"],
                          {"S000": {"ln_dist": -0.8, "policy": 0.3},
                           "S001": {"ln_dist": -0.8, "policy": 0.6}},
                          {"S000": 5.0, "S001": 8.0}, reference="C4")
    ref = model.counterfactual({"policy": policy, "ln_dist": ln_dist})
    pd.testing.assert_frame_equal(got, ref.country)
    pd.testing.assert_frame_equal(by_sector, ref.country_sector)
    assert got.loc[got["country"] == "C0", "real_gdp"].item() > 0


def test_one_sector_cli_equals_the_one_sector_ge(tmp_path):
    panel = _panel(1, seed=2)
    scenario = """
        year = 2019
        sigma = 5.0
        [coefs]
        ln_dist = -0.8
        policy = 0.4
        [[change]]
        variable = "policy"
        value = 1.0
    """
    root, panel_file, scn = _project(tmp_path, panel, scenario)
    res = _run(root, scn, panel_file)
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(root / "data" / "processed" / "counterfactuals"
                          / "sectors_shock.parquet")
    xs = panel[panel["year"] == 2019].reset_index(drop=True)
    coefs = {"ln_dist": -0.8, "policy": 0.4}
    one = GEModel(xs, cost_terms=list(coefs), sigma=5.0, coefs=coefs, baseline="observed")
    new = {"policy": np.where(xs["exporter"] != xs["importer"], 1.0, 0.0)}
    ref = one.counterfactual(new, method="fixed_point", tol=1e-13).country
    for col in ("real_gdp", "welfare", "exports", "imports", "consumer_price"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, atol=1e-9, err_msg=col)


def test_bad_scenarios_and_panels_are_one_line_errors(tmp_path):
    no_domestic = _panel(2)
    no_domestic = no_domestic[no_domestic["exporter"] != no_domestic["importer"]]
    root, panel_file, scn = _project(tmp_path, no_domestic, SCENARIO)
    res = _run(root, scn, panel_file)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "no domestic flows" in res.output
    bad = tmp_path / "bad.toml"
    for text, message in [
        ("shock = 1\n" + SCENARIO, "key shock: unknown key"),
        (SCENARIO.replace('variable = "ln_dist"', 'variable = "fta"'),
         "key change[1].variable: 'fta' is not a cost term"),
        (SCENARIO.replace("sigma = 8.0", "sigma = 0.5"), "sectors.S001.sigma: must exceed 1"),
        (SCENARIO.replace("value = 1.0", "value = 1.0\nadd = 2.0"), "exactly one of"),
        (SCENARIO.replace('exporters = ["C0"]', 'exporters = "C0"'), "non-empty list"),
    ]:
        bad.write_text(text)
        with pytest.raises(DataError, match=re.escape(message)):
            load_sector_scenario(bad)
    bad.write_text(SCENARIO.replace('sectors = ["S001"]', 'sectors = ["S009"]'))
    good = tmp_path / "good.parquet"
    _panel(2).to_parquet(good)
    res = _run(root, bad, good)
    assert res.exit_code == 1 and "sectors ['S009'] are not in the panel" in res.output


def test_domestic_flows_given_apart_equal_a_panel_with_them(tmp_path):
    panel = _panel(2, seed=4)
    root, full_file, scn = _project(tmp_path, panel, SCENARIO)
    assert _run(root, scn, full_file).exit_code == 0
    out = root / "data" / "processed" / "counterfactuals"
    want = pd.read_parquet(out / "sectors_shock.parquet")
    want_sector = pd.read_parquet(out / "sectors_shock_by_sector.parquet")
    home = panel["exporter"] == panel["importer"]
    international = tmp_path / "international.parquet"  # what a BACI sector panel looks like
    panel[~home].to_parquet(international)
    domestic = tmp_path / "domestic.csv"
    panel[home].rename(columns={"exporter": "country"})[
        ["year", "country", "sector", "trade"]].to_csv(domestic, index=False)
    res = CliRunner().invoke(main, ["--quiet", "--root", str(root), "sectors", "simulate",
                                    str(scn), "--panel", str(international),
                                    "--domestic", str(domestic)])
    assert res.exit_code == 0, res.output
    assert "domestic flows from the given file (10 country-sectors)" in res.output
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sectors_shock.parquet"), want,
                                  check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sectors_shock_by_sector.parquet"),
                                  want_sector, check_exact=False, rtol=1e-12)
    # a country-sector without its domestic flow, and an unreadable table, are one line
    short = tmp_path / "short.csv"
    rows = pd.read_csv(domestic)
    rows.drop(index=rows.index[rows["year"] == 2020][0]).to_csv(short, index=False)
    res = CliRunner().invoke(main, ["--quiet", "--root", str(root), "sectors", "simulate",
                                    str(scn), "--panel", str(international),
                                    "--domestic", str(short)])
    assert res.exit_code == 1 and "no domestic flow for 1 country-sector" in res.output
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    res = _run(root, scn, junk)
    assert res.exit_code == 1 and "cannot read the table" in res.output
    assert "Traceback" not in res.output
