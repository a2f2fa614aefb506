"""Scenario files are untrusted: the schema refuses every bad value with a one-line error
naming the file and key, and no text in them runs as code."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tradeflows.config import paths as make_paths
from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity.scenarios import load_scenario, run_scenario, scenario_costs

HEAD = '''title = "t"
formula = "trade ~ both_ots + ln_dist | exporter^year + importer^year"
'''
CHANGE = '''[[change]]
variable = "both_ots"
value = 1
'''


def _write(tmp_path, text: str, name: str = "s.toml"):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


ATTACKS = [
    "__import__('os').system('touch {marker}')",
    "@pd.io.common.os.system('touch {marker}')",
    "exporter == 'AZE' or @os.system('touch {marker}')",
    "importer.map(lambda x: __import__('os').system('touch {marker}'))",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_where_cannot_run_code(tmp_path, attack: str) -> None:
    marker = tmp_path / "pwned"
    where = attack.format(marker=marker)
    f = _write(tmp_path, HEAD + CHANGE + f'where = "{where}"\n')
    with pytest.raises(DataError, match=r"s\.toml: key change\[1\]\.where: "):
        load_scenario(f)
    assert not marker.exists()


def test_simulate_refuses_attack_exit_nonzero(tmp_path) -> None:
    """`tradeflows simulate` on a hostile file stops with a one-line error and no side effect."""
    marker = tmp_path / "pwned"
    f = _write(tmp_path, HEAD + CHANGE + f'where = "@pd.io.common.os.system(\'touch {marker}\')"\n')
    (tmp_path / "data" / "raw").mkdir(parents=True)  # a project folder (tradeflows.config)
    done = subprocess.run([sys.executable, "-m", "tradeflows.cli", "--root", str(tmp_path),
                           "--quiet", "simulate", str(f)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "key change[1].where" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_draws_zero_refused(tmp_path) -> None:
    f = _write(tmp_path, HEAD + CHANGE)
    done = subprocess.run([sys.executable, "-m", "tradeflows.cli", "--root", str(tmp_path),
                           "--quiet", "simulate", str(f), "--draws", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--draws" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(SpecificationError, match="draws=0"):
        run_scenario(f, make_paths(tmp_path), draws=0, progress=False)


# (top-level text, the key named, expected wording); the file has one good [[change]]
TOP_BAD = [
    ('sigma = inf\n', "sigma", "finite"),
    ('sigma = nan\n', "sigma", "finite"),
    ('sigma = "7"\n', "sigma", "got str"),
    ('sigma = 1.0\n', "sigma", "> 1"),
    ('sigma = true\n', "sigma", "got bool"),
    ('year = "2019"\n', "year", "a year"),
    ('year = 2999\n', "year", "out of range"),
    ('year = 2019.0\n', "year", "got float"),
    ('estimation_years = [2003, 3000]\n', "estimation_years[2]", "out of range"),
    ('estimation_years = 2003\n', "estimation_years", "list of years"),
    ('draws = 0\n', "draws", "from 1"),
    ('draws = 2.5\n', "draws", "got float"),
    ('level = 1.5\n', "level", "between 0 and 1"),
    ('level = nan\n', "level", "finite"),
    ('reference = "XXX"\n', "reference", "unknown country"),
    ('reference = 3\n', "reference", "got int"),
    ('title = 3\n', "title", "got int"),
    ('vcov = 3\n', "vcov", "hetero"),
    ('vcov = { CL1 = 3 }\n', "vcov.CL1", "variable name"),
]
OTS = 'variable = "both_ots"\n'
OTS_1 = OTS + "value = 1\n"
# (the one [[change]] table's lines, the key named in it, expected wording)
CHANGE_BAD = [
    (OTS + "value = nan\n", "value", "finite"),
    (OTS + 'value = "1"\n', "value", "got str"),
    (OTS + "multiply = inf\n", "multiply", "finite"),
    (OTS + "add = -inf\n", "add", "finite"),
    (OTS_1 + 'exporters = "AZE"\n', "exporters", "list of ISO3"),
    (OTS_1 + 'exporters = ["AZE", 3]\n', "exporters[2]", "got int"),
    (OTS_1 + 'importers = ["QQQ"]\n', "importers[1]", "unknown country"),
    (OTS_1 + 'importers = ["@NOPE"]\n', "importers[1]", "unknown institution"),
    (OTS_1 + 'symmetric = "false"\n', "symmetric", "true or false"),
    ('variable = "gdp"\nvalue = 1\n', "variable", "not a regressor"),
    ("variable = 3\nvalue = 1\n", "variable", "got int"),
    (OTS, "value", "exactly one"),
    (OTS + 'route_scenario = "nowhere"\n', "route_scenario", "unknown route scenario"),
    (OTS_1 + "route_year = 2026\n", "route_year", "only with route_scenario"),
    (OTS_1 + 'where = "exporter == \'ZZQ\'"\n', "where", "unknown country"),
    (OTS_1 + 'where = "importer in @NOPE"\n', "where", "unknown institution"),
    (OTS_1 + "where = 3\n", "where", "got int"),
    (OTS_1 + "colour = 1\n", "colour", "unknown key"),
]
# (top-level text, [[change]] text, the key named, expected wording)
BAD = ([(top, CHANGE, key, wording) for top, key, wording in TOP_BAD]
       + [("change = 3\n", "", "change", "change")]
       + [("", "[[change]]\n" + table, f"change[1].{key}", wording)
          for table, key, wording in CHANGE_BAD])


@pytest.mark.parametrize(("top", "change", "key", "wording"), BAD)
def test_schema_refuses(tmp_path, top: str, change: str, key: str, wording: str) -> None:
    f = _write(tmp_path, HEAD.replace('title = "t"\n', "") + ('title = "t"\n'
               if "title" not in top else "") + top + change)
    with pytest.raises(DataError, match=rf"s\.toml: key {re.escape(key)}: .*{wording}") as info:
        load_scenario(f)
    assert "\n" not in str(info.value)


def test_not_toml_or_not_text(tmp_path) -> None:
    f = tmp_path / "s.toml"
    f.write_bytes(b"title = \xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_scenario(f)
    f.write_text("title = [\n", encoding="utf-8")
    with pytest.raises(DataError, match="not valid TOML"):
        load_scenario(f)


def _xs() -> pd.DataFrame:
    c = ["AZE", "KAZ", "TKM", "DEU", "FRA"]
    xs = pd.DataFrame([(a, b) for a in c for b in c], columns=["exporter", "importer"])
    xs["both_ots"] = 0.0
    xs["ln_dist"] = np.log(1.0 + np.arange(len(xs)))
    xs["trade"] = 1.0
    return xs


def test_where_selects_pairs(tmp_path) -> None:
    f = _write(tmp_path, HEAD + CHANGE + 'symmetric = false\n'
               "where = \"exporter in ['AZE', 'KAZ'] and importer in @EU and ln_dist > 1.5\"\n")
    xs = _xs()
    new = scenario_costs(load_scenario(f), xs, 2019)
    want = (xs["exporter"].isin(["AZE", "KAZ"]) & xs["importer"].isin(["DEU", "FRA"])
            & (xs["ln_dist"] > 1.5))
    np.testing.assert_array_equal(new["both_ots"].to_numpy() == 1.0, want.to_numpy())
    assert want.sum() == 3


def test_where_uses_panel_columns_and_year(tmp_path) -> None:
    xs = _xs()
    panel = xs[["exporter", "importer"]].assign(year=2019, contig=0)
    panel.loc[(panel["exporter"] == "DEU") & (panel["importer"] == "FRA"), "contig"] = 1
    f = _write(tmp_path, HEAD + CHANGE + 'where = "contig == 1 and year >= 2015"\n')
    new = scenario_costs(load_scenario(f), xs, 2019, panel)
    changed = new[new["both_ots"] == 1.0]
    assert set(zip(changed["exporter"], changed["importer"], strict=True)) == {("DEU", "FRA")}
    f2 = _write(tmp_path, HEAD + CHANGE + 'where = "gdp_per_capita > 3"\n', "t.toml")
    with pytest.raises(DataError, match="unknown column 'gdp_per_capita'"):
        scenario_costs(load_scenario(f2), xs, 2019, panel)


@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>.toml", "a b.toml", "..toml"])
def test_scenario_name_is_a_safe_file_stem(tmp_path, name: str) -> None:
    f = _write(tmp_path, HEAD + CHANGE, name)
    with pytest.raises(DataError, match="scenario name"):
        load_scenario(f)


@pytest.mark.parametrize("formula", [
    "trade ~ __import__('os').system('true')",
    "trade ~ np.log(dist)",
    "trade ~ eval(x)",
    "trade ~ x + {y}",
    "trade ~ x[0]",
    "trade ~ x; import os",
    'trade ~ "x"',
    "trade ~ x @ y",
    "trade + x",
])
def test_formula_holds_no_code(tmp_path, formula: str) -> None:
    """The formula reaches the estimation's formula parser: only variables, operators and
    listed functions pass."""
    f = _write(tmp_path, HEAD.replace(
        '"trade ~ both_ots + ln_dist | exporter^year + importer^year"',
        f"'{formula}'" if "'" not in formula else f'"{formula}"') + CHANGE)
    with pytest.raises(DataError, match=r"key formula: "):
        load_scenario(f)


def test_formula_functions_allowed(tmp_path) -> None:
    f = _write(tmp_path, HEAD.replace(
        '"trade ~ both_ots + ln_dist | exporter^year + importer^year"',
        '"trade ~ both_ots + log(dist) + i(year, contig) | exporter^year + importer^year"')
        + CHANGE)
    assert "log(dist)" in load_scenario(f).formula
