"""What each command prints: summaries (estimates, GE changes, verdicts), `init`, the
one-line error outside a project, scenario names in `simulate --help`, no progress bars when
output is not a terminal."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console
from test_claims_data import synthetic_tree
from test_ge_scenarios import SCENARIO, _panel

from tradeflows import console
from tradeflows.cli import main
from tradeflows.config import paths as project_paths


def _capture() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=120, color_system=None), buf


def _write_estimates(p) -> None:
    """A small application estimates table: two headline specs and two others."""
    p.estimates.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({
        "term": ["both_ots", "uses_btk", "both_ots", "both_ots"],
        "spec": ["ots", "corridor", "other", "joint"],
        "estimate": [0.20, 0.05, 9.0, -0.3], "std_error": [0.05, 0.10, 1.0, 0.1],
        "conf_low": [0.102, -0.146, 7.04, -0.496], "conf_high": [0.298, 0.246, 10.96, -0.104],
        "p_value": [0.0001, 0.6, 0.0, 0.003], "nobs": [5000, 4000, 10, 5000],
        "years": ["2000-2020"] * 4,
    }).to_parquet(p.estimates / "application.parquet", index=False)


def test_estimate_summary_shows_headline_terms_with_intervals_and_n(tmp_path):
    p = project_paths(synthetic_tree(tmp_path))
    _write_estimates(p)
    con, buf = _capture()
    console.print_estimates(con, p.estimates / "application.parquet", ["ots", "corridor"])
    text = buf.getvalue()
    est = pd.read_parquet(p.estimates / "application.parquet")
    ots = est[(est["spec"] == "ots")].iloc[0]
    row = next(line for line in text.splitlines() if line.strip().startswith("ots"))
    assert "both_ots" in row and "+0.200" in row and "[+0.102, +0.298]" in row
    assert "5,000" in row and "+22.1%" in row  # exp(0.2) - 1
    assert f"{ots['nobs']:,}" in row
    lines = [line.strip() for line in text.splitlines()]
    assert lines.index(next(x for x in lines if x.startswith("ots"))) < \
        lines.index(next(x for x in lines if x.startswith("corridor")))
    assert "other" not in text  # only the headline specs


def test_numbers_are_readable_not_scientific_walls():
    assert console.signed(0.0123456) == "+0.0123"
    assert console.interval(-0.5, 1.25) == "[-0.500, +1.25]"
    assert console.compact(-5.48e-7) == "-5.5e-07" and console.compact(0.25) == "+0.25"


def test_claims_prints_a_short_verdict_table(tmp_path):
    root = synthetic_tree(tmp_path)
    out = CliRunner().invoke(main, ["--root", str(root), "--quiet", "claims"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert not re.search(r"\d\.\d+e[+-]\d\d", out.output)  # no 1.23e+03 walls
    counts = out.output.splitlines()[-1]
    assert re.search(r"\d+ supported", counts) and re.search(r"\d+ inconclusive", counts)


def test_simulate_summary_lists_focus_countries_with_intervals_and_draws(tmp_path):
    root = tmp_path / "proj"
    p = project_paths(root)
    p.raw.mkdir(parents=True)
    p.processed.mkdir(parents=True)
    _panel().to_parquet(p.panel)
    scn = root / "synthetic_ots.toml"
    scn.write_text(SCENARIO, encoding="utf-8")
    out = CliRunner().invoke(main, ["--root", str(root), "--quiet", "simulate", str(scn),
                                    "--draws", "6"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "Synthetic OTS deepening" in text and "95% intervals" in text
    assert "Real GDP" in text and "Exports" in text and "Consumer price" in text
    cf = pd.read_parquet(p.counterfactuals / "synthetic_ots.parquet").set_index("country")
    for code, name in (("AZE", "Azerbaijan"), ("KAZ", "Kazakhstan"), ("TKM", "Turkmenistan")):
        row = next(line for line in text.splitlines() if line.strip().startswith(name))
        assert console.compact(cf.loc[code, "real_gdp"]) in row
        assert console.compact(cf.loc[code, "real_gdp_upper"]) in row
    assert "6 draws of the partial effects (0 did not converge)" in text
    assert "USA" not in text  # focus countries only
    assert "GE draws" not in text  # no progress bar outside a terminal


def test_simulate_help_lists_bundled_scenarios():
    out = CliRunner().invoke(main, ["simulate", "--help"])
    assert out.exit_code == 0
    for name in ("zangezur", "ots_deepening", "northern_disruption"):
        assert re.search(rf"^\s+{name}\s+\S", out.output, re.M)


@pytest.mark.parametrize("args", [["build"], ["estimate"], ["simulate", "zangezur"],
                                  ["claims"], ["report"], ["reproduce"]])
def test_commands_outside_a_project_stop_with_one_line(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADEFLOWS_ROOT", raising=False)
    out = CliRunner().invoke(main, ["--quiet", *args])
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert out.output.startswith("Error: no tradeflows project in ")
    assert len(out.output.strip().splitlines()) == 1 and "tradeflows init" in out.output
    bad = CliRunner().invoke(main, ["--root", str(tmp_path), "--quiet", *args])
    assert bad.exit_code == 1 and "is not a tradeflows project" in bad.output


def test_project_found_from_a_subfolder(tmp_path, monkeypatch):
    root = synthetic_tree(tmp_path / "proj")
    (root / "notes" / "deep").mkdir(parents=True)
    monkeypatch.chdir(root / "notes" / "deep")
    monkeypatch.delenv("TRADEFLOWS_ROOT", raising=False)
    assert project_paths().root == root.resolve()


def test_init_copies_bundled_data_and_refuses_to_overwrite(tmp_path):
    out = CliRunner().invoke(main, ["init", str(tmp_path / "demo")])
    assert out.exit_code == 0, out.output
    demo = tmp_path / "demo"
    assert (demo / "tradeflows.toml").is_file() and "Created project" in out.output
    assert (demo / "data" / "raw" / "imf_dots_2020" / "PROVENANCE.md").is_file()
    assert list((demo / "data" / "processed").iterdir()) == []
    assert list((demo / "reports").iterdir()) == []
    again = CliRunner().invoke(main, ["init", str(demo)])
    assert again.exit_code == 1 and "already a tradeflows project" in again.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    full = CliRunner().invoke(main, ["init", str(tmp_path / "full")])
    assert full.exit_code == 1 and "not empty" in full.output
