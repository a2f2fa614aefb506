"""evaluate_claims on a synthetic project: verdicts follow the rules; missing inputs give
'not testable' with the reason; claim 1's PPML agrees with statsmodels (explicit dummies)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from test_claims_data import synthetic_panel, synthetic_tree

from tradeflows.claims.catalog import load_catalog
from tradeflows.claims.evaluate import COLUMNS, evaluate_claims
from tradeflows.claims.evidence import Untestable
from tradeflows.claims.gravity_gap import TERM, gap_sample, gravity_gap_evidence
from tradeflows.claims.rules import NOT_TESTABLE
from tradeflows.config import paths as project_paths


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return project_paths(synthetic_tree(tmp_path_factory.mktemp("claims")))


@pytest.fixture(scope="module")
def verdicts(tree):
    return evaluate_claims(tree, progress=False).set_index("id")


def test_columns_and_order(verdicts):
    assert list(verdicts.reset_index().columns) == COLUMNS
    assert list(verdicts.index) == [f"C{i}" for i in range(1, 9)]


def test_estimate_claims_read_the_named_spec(verdicts):
    # C2: both_ots of spec "ots" (not the spec "other" row with 9.0)
    assert verdicts.loc["C2", "estimate"] == 0.20
    assert verdicts.loc["C2", "verdict"] == "supported"
    assert verdicts.loc["C2", "conf_low"] == pytest.approx(0.102)
    assert verdicts.loc["C2", "nobs"] == 5000
    # C3: interval [-0.146, 0.246] covers zero
    assert verdicts.loc["C3", "verdict"] == "inconclusive"


def test_counterfactual_win_win_uses_every_country(verdicts):
    # KGZ's lower bound is -0.01 (TUR's -0.01 is not in the claim's countries)
    c5 = verdicts.loc["C5"]
    assert (c5["estimate"], c5["conf_low"], c5["conf_high"]) == (0.02, -0.01, 0.04)
    assert c5["verdict"] == "inconclusive" and c5["nobs"] == 7
    assert "KGZ +0.05 [-0.01, +0.09]" in c5["note"]


def test_direct_claims_on_synthetic_data(verdicts):
    assert verdicts.loc["C7", "verdict"] == "supported"
    assert verdicts.loc["C7", "estimate"] == pytest.approx(72.0)
    assert verdicts.loc["C4", "verdict"] == "supported"  # built-in 1.5x growth gap
    assert verdicts.loc["C8", "verdict"] == "not supported"  # joint: [-0.496, -0.104]
    assert verdicts.loc["C8", "table"] == "tables/gravity_application"


def test_missing_inputs_give_not_testable_with_reason(tmp_path):
    out = evaluate_claims(project_paths(tmp_path), progress=False).set_index("id")
    assert (out["verdict"] == NOT_TESTABLE).all()
    assert out["estimate"].isna().all()
    assert "panel.parquet" in out.loc["C6", "note"] and "tradeflows build" in out.loc["C6", "note"]
    assert "application.parquet" in out.loc["C2", "note"]
    assert "zangezur.parquet" in out.loc["C5", "note"]
    assert "Data that would test it" in out.loc["C7", "note"]


def test_ambiguous_or_absent_term_is_not_testable(tmp_path):
    p = project_paths(synthetic_tree(tmp_path))
    est = pd.read_parquet(p.estimates / "application.parquet")
    est[est["spec"] != "corridor"].assign(spec="ots").to_parquet(p.estimates / "application.parquet")
    out = evaluate_claims(p, progress=False).set_index("id")
    assert "3 rows for term 'both_ots'" in out.loc["C2", "note"]
    assert "no term 'uses_btk' of spec 'corridor'" in out.loc["C3", "note"]


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_gravity_gap_matches_statsmodels_dummies():
    """Claim 1's coefficient equals a Poisson GLM with explicit fixed-effect dummies."""
    claim = dataclasses.replace({c.id: c for c in load_catalog()}["C1"], window=(2020, 2023))
    keep = ["AZE", "KAZ", "UZB", "TUR", "CHN"]
    panel = synthetic_panel()
    panel = panel[panel["exporter"].isin(keep) & panel["importer"].isin(keep)]
    ev = gravity_gap_evidence(claim, panel)
    df = gap_sample(panel, claim)
    x = pd.concat([df[[TERM]], pd.get_dummies(df["exp_year"]),
                   pd.get_dummies(df["imp_year"], drop_first=True),
                   pd.get_dummies(df["pair"], drop_first=True)], axis=1).astype(float)
    ref = sm.GLM(df["trade"].to_numpy(), x.to_numpy(),
                 family=sm.families.Poisson()).fit(tol=1e-12, maxiter=100)
    assert ev.estimate == pytest.approx(ref.params[0], rel=1e-6)
    assert ev.nobs == len(df) == 5 * 4 * 4
    assert np.isfinite(ev.conf_low) and ev.conf_low < ev.estimate < ev.conf_high


def test_gravity_gap_without_post_data_is_untestable():
    claim = {c.id: c for c in load_catalog()}["C1"]
    panel = synthetic_panel()
    with pytest.raises(Untestable, match="2022-2023"):
        gravity_gap_evidence(claim, panel[panel["year"] < 2022])


def test_gravity_gap_absorbed_by_fixed_effects_is_untestable():
    """If AZE's only observed post-period trade is with Central Asia, the indicator equals a
    sum of AZE's exporter-year and importer-year dummies: not identified, said before fitting."""
    claim = {c.id: c for c in load_catalog()}["C1"]
    panel = synthetic_panel()
    ca = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
    aze_other = ((panel["exporter"] == "AZE") & ~panel["importer"].isin(ca)) | (
        (panel["importer"] == "AZE") & ~panel["exporter"].isin(ca))
    panel.loc[aze_other & (panel["year"] == 2023), "trade"] = np.nan
    with pytest.raises(Untestable, match="in 2023 .* absorb the post-period indicator"):
        gravity_gap_evidence(claim, panel)


def test_cli_claims_prints_every_verdict(tree):
    from click.testing import CliRunner

    from tradeflows.cli import main

    out = CliRunner().invoke(main, ["--root", str(tree.root), "--quiet", "claims"])
    assert out.exit_code == 0, out.output
    expected = evaluate_claims(tree, progress=False)
    for row in expected.itertuples():
        assert row.id in out.output and row.verdict in out.output
