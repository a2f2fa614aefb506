"""The command line: help text, the variable listing, and errors shown as one line."""

from __future__ import annotations

import io

import pandas as pd
from click.testing import CliRunner

from tradeflows.cli import main
from tradeflows.policy.variables import variable_catalog


def test_help_lists_every_stage():
    out = CliRunner().invoke(main, ["--help"])
    assert out.exit_code == 0
    for command in ("init", "fetch", "build", "variables", "estimate", "simulate", "claims",
                    "report", "reproduce"):
        assert command in out.output


def test_variables_text_lists_each_name_with_definition_and_source():
    from tradeflows.sectors.variables import sector_variable_catalog

    out = CliRunner().invoke(main, ["variables"])
    assert out.exit_code == 0
    catalog, sectors = variable_catalog(), sector_variable_catalog()
    lines = out.output.splitlines()
    names = [line.split()[0] for line in lines
             if line and not line.startswith((" ", "=="))]
    assert names == list(catalog["name"]) + list(sectors["name"])
    assert sum(line.strip().startswith("source: ") for line in lines) == \
        len(catalog) + len(sectors)
    assert "n_products  HS6 products traded [count]" in out.output
    assert [line for line in lines if line.startswith("==")] == [
        "== data/processed/panel.parquet ==", *(f"== {t} ==" for t in
                                               dict.fromkeys(sectors["table"]))]
    only = CliRunner().invoke(main, ["variables", "--table", "panel"]).output
    assert "n_products" not in only
    assert not any(line.startswith("==") for line in only.splitlines())


def test_variables_cover_the_sector_panel_columns():
    from tradeflows.sectors.panel import sector_panel
    from tradeflows.sectors.variables import sector_variable_catalog

    flows = pd.DataFrame({"year": [2019, 2019], "exporter": ["AZE", "KAZ"],
                          "importer": ["KAZ", "AZE"], "sector": ["V", "XV"],
                          "value_usd": [5.0, 7.0], "n_products": [1, 2]})
    geo = pd.DataFrame({"exporter": ["AZE", "KAZ"], "importer": ["KAZ", "AZE"],
                        "dist": [1000.0, 1000.0], "contig": 0, "comlang_off": 0,
                        "colony": 0})
    wdi = pd.DataFrame({"iso3": ["AZE", "KAZ"], "year": 2019, "gdp_usd": [1e10, 2e11]})
    panel, _ = sector_panel(flows, geo, wdi)
    described = set(variable_catalog()["name"]) | set(sector_variable_catalog()["name"])
    assert set(panel.columns) <= described, set(panel.columns) - described
    out = CliRunner().invoke(main, ["variables", "--format", "csv", "--table", "sectors"])
    table = pd.read_csv(io.StringIO(out.output))
    assert {"sector", "n_products", "trade", "value_usd", "quantity_t"} <= set(table["name"])
    assert table["unit"].notna().all() and table["label"].notna().all()


def test_tradeflows_errors_are_one_line_not_a_traceback():
    out = CliRunner().invoke(main, ["--quiet", "fetch", "no_such_source"])
    assert out.exit_code == 1
    assert "Traceback" not in out.output
    assert out.output.startswith("Error: unknown source 'no_such_source'")
