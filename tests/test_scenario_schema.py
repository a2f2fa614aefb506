"""Scenario files are untrusted: the schema refuses every bad value with a one-line error
naming the file and key, and no text in them runs as code."""

from __future__ import annotations

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


BAD = [
    # (top-level text, change text, key named, expected wording)
    ('sigma = inf\n', CHANGE, "sigma", "finite"),
    ('sigma = nan\n', CHANGE, "sigma", "finite"),
    ('sigma = "7"\n', CHANGE, "sigma", "got str"),
    ('sigma = 1.0\n', CHANGE, "sigma", "> 1"),
    ('sigma = true\n', CHANGE, "sigma", "got bool"),
    ('year = "2019"\n', CHANGE, "year", "a year"),
    ('year = 2999\n', CHANGE, "year", "out of range"),
    ('year = 2019.0\n', CHANGE, "year", "got float"),
    ('estimation_years = [2003, 3000]\n', CHANGE, r"estimation_years\[2\]", "out of range"),
    ('estimation_years = 2003\n', CHANGE, "estimation_years", "list of years"),
    ('draws = 0\n', CHANGE, "draws", "from 1"),
    ('draws = 2.5\n', CHANGE, "draws", "got float"),
    ('level = 1.5\n', CHANGE, "level", "between 0 and 1"),
    ('level = nan\n', CHANGE, "level", "finite"),
    ('reference = "XXX"\n', CHANGE, "reference", "unknown country"),
    ('reference = 3\n', CHANGE, "reference", "got int"),
    ('title = 3\n', CHANGE, "title", "got int"),
    ('vcov = 3\n', CHANGE, "vcov", "hetero"),
    ('vcov = { CL1 = 3 }\n', CHANGE, "vcov.CL1", "variable name"),
    ('change = 3\n', "", "change", "change"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = nan\n', r"change\[1\]\.value", "finite"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = "1"\n', r"change\[1\]\.value", "got str"),
    ('', '[[change]]\nvariable = "both_ots"\nmultiply = inf\n', r"change\[1\]\.multiply",
     "finite"),
    ('', '[[change]]\nvariable = "both_ots"\nadd = -inf\n', r"change\[1\]\.add", "finite"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nexporters = "AZE"\n',
     r"change\[1\]\.exporters", "list of ISO3"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nexporters = ["AZE", 3]\n',
     r"change\[1\]\.exporters\[2\]", "got int"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nimporters = ["QQQ"]\n',
     r"change\[1\]\.importers\[1\]", "unknown country"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nimporters = ["@NOPE"]\n',
     r"change\[1\]\.importers\[1\]", "unknown institution"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nsymmetric = "false"\n',
     r"change\[1\]\.symmetric", "true or false"),
    ('', '[[change]]\nvariable = "gdp"\nvalue = 1\n', r"change\[1\]\.variable",
     "not a regressor"),
    ('', '[[change]]\nvariable = 3\nvalue = 1\n', r"change\[1\]\.variable", "got int"),
    ('', '[[change]]\nvariable = "both_ots"\n', r"change\[1\]\.value", "exactly one"),
    ('', '[[change]]\nvariable = "both_ots"\nroute_scenario = "nowhere"\n',
     r"change\[1\]\.route_scenario", "unknown route scenario"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nroute_year = 2026\n',
     r"change\[1\]\.route_year", "only with route_scenario"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nwhere = "exporter == \'ZZQ\'"\n',
     r"change\[1\]\.where", "unknown country"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nwhere = "importer in @NOPE"\n',
     r"change\[1\]\.where", "unknown institution"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\nwhere = 3\n',
     r"change\[1\]\.where", "got int"),
    ('', '[[change]]\nvariable = "both_ots"\nvalue = 1\ncolour = 1\n',
     r"change\[1\]\.colour", "unknown key"),
]


@pytest.mark.parametrize(("top", "change", "key", "wording"), BAD)
def test_schema_refuses(tmp_path, top: str, change: str, key: str, wording: str) -> None:
    f = _write(tmp_path, HEAD.replace('title = "t"\n', "") + ('title = "t"\n'
               if "title" not in top else "") + top + change)
    with pytest.raises(DataError, match=rf"s\.toml: key {key}: .*{wording}") as info:
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
