"""The command line: help text, the variable listing, and errors shown as one line."""

from __future__ import annotations

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
    out = CliRunner().invoke(main, ["variables"])
    assert out.exit_code == 0
    catalog = variable_catalog()
    lines = out.output.splitlines()
    names = [line for line in lines if line and not line.startswith(" ")]
    assert names == list(catalog["name"])
    assert sum(line.strip().startswith("source: ") for line in lines) == len(catalog)


def test_tradeflows_errors_are_one_line_not_a_traceback():
    out = CliRunner().invoke(main, ["--quiet", "fetch", "no_such_source"])
    assert out.exit_code == 1
    assert "Traceback" not in out.output
    assert out.output.startswith("Error: unknown source 'no_such_source'")
