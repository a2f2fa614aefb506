"""GE scenarios from a fitted baseline with a closed border lifted: the schema of the new
keys, and a known answer on a noise-free structural panel (the cross-section's border and
closed-border coefficients are recovered exactly, the fit reproduces the data)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tradeflows.config import paths as make_paths
from tradeflows.errors import DataError
from tradeflows.gravity.scenarios import load_scenario, run_scenario

COUNTRIES = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
B_DIST, B_CLOSED, DOMESTIC = -0.9, -2.5, 1.7
CLOSED = {("FRA", "DEU"), ("DEU", "FRA")}
CODES = dict(zip(COUNTRIES, ["FRA", "DEU", "ITA", "ESP", "USA", "JPN"], strict=True))

SCENARIO = """
title = "Open a closed border"
formula = "trade ~ ln_dist | exporter^year + importer^year"
vcov = "hetero"
reference = "USA"
year = 2019
estimation_years = [2017, 2018]
draws = 5
baseline = "fitted"
blockade = [["FRA", "DEU"]]
lift_blockade = true

[[change]]
variable = "ln_dist"
multiply = 1.0
"""


def _panel() -> pd.DataFrame:
    """Noise-free structural flows: exporter and importer sizes, distance, a border
    (domestic flows exp(DOMESTIC) larger) and, in 2019 only, the FRA-DEU border closed."""
    rng = np.random.default_rng(7)
    xy = {CODES[c]: rng.uniform(0, 30, 2) for c in COUNTRIES}
    size = {CODES[c]: rng.uniform(1, 5) for c in COUNTRIES}
    rows = []
    for year in (2017, 2018, 2019):
        for e in xy:
            for i in xy:
                d = float(np.hypot(*(xy[e] - xy[i]))) + 1.0
                closed = float(year == 2019 and (e, i) in CLOSED)
                mu = 1e6 * size[e] * size[i] * (
                    np.exp(DOMESTIC) if e == i else np.exp(B_DIST * np.log(d) + B_CLOSED * closed))
                rows.append((year, e, i, mu, d, np.log(d)))
    p = pd.DataFrame(rows, columns=["year", "exporter", "importer", "flow", "dist", "ln_dist"])
    p["gdp_exporter"] = p.groupby(["year", "exporter"])["flow"].transform("sum")
    p["trade"] = p["flow"].where(p["exporter"] != p["importer"])
    return p.drop(columns="flow")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fitted")
    paths = make_paths(root)
    paths.processed.mkdir(parents=True)
    _panel().to_parquet(paths.panel)
    scn = root / "open_border.toml"
    scn.write_text(SCENARIO, encoding="utf-8")
    run_scenario(scn, paths, draws=5, seed=1, progress=False, workers=1)
    meta = json.loads((paths.counterfactuals / "open_border.json").read_text())
    table = pd.read_parquet(paths.counterfactuals / "open_border.parquet").set_index("country")
    return meta, table


def test_cross_section_terms_are_recovered_exactly(run) -> None:
    meta, _ = run
    coefs = {r["term"]: r["estimate"] for r in meta["partial_effects"]}
    assert coefs["ln_dist"] == pytest.approx(B_DIST, abs=1e-6)  # the panel's estimate
    assert coefs["closed_border"] == pytest.approx(B_CLOSED, abs=1e-6)
    assert coefs["intl"] == pytest.approx(-DOMESTIC, abs=1e-6)
    notes = " ".join(meta["notes"])
    assert "fitted baseline (GE-PPML)" in notes and "blockade: FRA-DEU" in notes
    assert "2 pairs change" in notes  # FRA->DEU and DEU->FRA


def test_lifting_the_blockade_helps_both_countries(run) -> None:
    _, table = run
    assert table.loc["FRA", "real_gdp"] > 0 and table.loc["DEU", "real_gdp"] > 0
    assert table.loc["FRA", "exports"] > 0 and table.loc["DEU", "imports"] > 0
    others = table.drop(index=["FRA", "DEU"])
    assert (others["real_gdp"] < table.loc[["FRA", "DEU"], "real_gdp"].min()).all()


@pytest.mark.parametrize(("extra", "match"), [
    ('baseline = "guessed"\n', "baseline"),
    ('blockade = [["FRA", "DEU"]]\n', r"blockade.*observed baseline"),
    ('baseline = "fitted"\nblockade = [["FRA", "FRA"]]\n', r"blockade\[1\]"),
    ('baseline = "fitted"\nblockade = [["FRA", "XXX"]]\n', r"blockade\[1\]"),
    ('baseline = "fitted"\nblockade = "FRA-DEU"\n', "blockade"),
    ('baseline = "fitted"\nlift_blockade = true\n', "lift_blockade"),
    ('baseline = "fitted"\nblockade = [["FRA", "DEU"]]\nlift_blockade = "yes"\n',
     "lift_blockade"),
])
def test_bad_baseline_keys_name_the_key(tmp_path, extra, match) -> None:
    f = tmp_path / "bad.toml"
    f.write_text('title = "x"\nformula = "trade ~ ln_dist | exporter + importer"\n' + extra
                 + '[[change]]\nvariable = "ln_dist"\nadd = 1\n', encoding="utf-8")
    with pytest.raises(DataError, match=match):
        load_scenario(f)
