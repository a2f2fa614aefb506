"""evaluate_claims on a synthetic project: verdicts follow the rules; missing inputs give
'not testable' with the reason; the alternative mirror rule column."""

from __future__ import annotations

import pytest
from test_claims_data import synthetic_tree

from tradeflows.config import paths as project_paths
from tradeflows.studies.azerbaijan.claims.catalog import load_catalog
from tradeflows.studies.azerbaijan.claims.evaluate import (
    COLUMNS,
    assess_claims,
    evaluate_claims,
    mirror_robustness,
)
from tradeflows.studies.azerbaijan.claims.rules import NOT_TESTABLE, SUPPORTED


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return project_paths(synthetic_tree(tmp_path_factory.mktemp("claims")))


@pytest.fixture(scope="module")
def verdicts(tree):
    return evaluate_claims(tree, progress=False).set_index("id")


def test_columns_and_order(verdicts):
    assert list(verdicts.reset_index().columns) == COLUMNS
    assert list(verdicts.index) == [c.id for c in load_catalog()]


def test_single_reporter_claims_on_synthetic_flows(verdicts):
    # synthetic AZE trade with the CA reporters rises by exp(1) from 2022
    assert verdicts.loc["C1", "verdict"] == SUPPORTED
    assert verdicts.loc["C1", "mde"] > 0
    assert verdicts.loc["C1D", "estimate"] == pytest.approx(1.0, abs=0.05)


def test_panel_claims_without_their_columns_say_why(verdicts):
    # the synthetic panel has no membership or route variables
    assert verdicts.loc["C2", "verdict"] == NOT_TESTABLE
    assert "both_ots" in verdicts.loc["C2", "note"]
    assert "uses_btk" in verdicts.loc["C3", "note"]
    assert "Data that would test it" in verdicts.loc["C3", "note"]


def test_counterfactual_win_win_minimum_within_draws(tree, verdicts):
    import numpy as np
    import pandas as pd

    c5 = verdicts.loc["C5"]
    assert c5["estimate"] == 0.02  # TKM at the point estimate (TUR is not in the claim)
    d = pd.read_parquet(tree.counterfactuals / "zangezur_full_draws.parquet")
    d = d[d["country"] != "TUR"]
    mins = d.groupby("draw")["real_gdp"].min()
    assert (c5["conf_low"], c5["conf_high"]) == pytest.approx(
        tuple(np.quantile(mins, [0.025, 0.975])))
    assert c5["nobs"] == 100 and "within each of 100 draws" in c5["note"]


def test_record_and_reported_claims(verdicts):
    assert verdicts.loc["C7", "verdict"] == SUPPORTED
    assert verdicts.loc["C9", "verdict"] == NOT_TESTABLE
    assert verdicts.loc["C8", "verdict"] == NOT_TESTABLE
    assert "in force from 2025" in verdicts.loc["C8", "note"]
    assert verdicts.loc["C4", "verdict"] == SUPPORTED  # cargo 2022-24 above 2019-21


def test_missing_inputs_give_not_testable_with_reason(tmp_path):
    (tmp_path / "data" / "raw").mkdir(parents=True)
    out = evaluate_claims(project_paths(tmp_path), progress=False).set_index("id")
    for cid in ("C1", "C2", "C3", "C5", "C7F", "C11"):
        assert out.loc[cid, "verdict"] == NOT_TESTABLE, cid
    assert "flows.parquet" in out.loc["C1", "note"] and "tradeflows build" in out.loc["C1", "note"]
    assert "zangezur_full.parquet" in out.loc["C5", "note"]
    assert "cbar_fdi_by_country_press" in out.loc["C7F", "note"]


def test_mirror_robustness_column(tree):
    assessments = assess_claims(tree, progress=False)
    rob = mirror_robustness(tree, assessments, progress=False)
    assert rob["C1"] == "not applicable"
    assert rob["C2"].startswith(NOT_TESTABLE) and "trade_other_rule" in rob["C2"]
    assert rob["C5"].startswith(NOT_TESTABLE) and "trade_other_rule" in rob["C5"]


def test_cli_claims_prints_every_verdict(tree):
    from click.testing import CliRunner

    from tradeflows.cli import main

    out = CliRunner().invoke(main, ["--root", str(tree.root), "--quiet", "claims"])
    assert out.exit_code == 0, out.output
    for cid in ("C1", "C14"):
        assert cid in out.output
