"""The application on a small synthetic panel with known policy effects (noise-free PPML
data, so the estimator must return the true effects)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from tradeflows.config import paths as project_paths
from tradeflows.errors import DataError
from tradeflows.gravity import application as lib
from tradeflows.studies.azerbaijan import application as app

# the synthetic designs make some terms collinear on purpose; the notes record them
pytestmark = pytest.mark.filterwarnings("ignore:collinear regressor")

COUNTRIES = ("AZE", "KAZ", "KGZ", "TUR", "UZB", "TKM", "RUS", "GEO", "CHN", "IRN")
YEARS = tuple(range(2012, 2024))
TRUTH = {"both_ots": 0.3, "ots_observer_pair": 0.15, "both_eaeu": 0.25, "both_wto": 0.1,
         "uses_btk": 0.2, "uses_middle_corridor": 0.35, "sanctioned_pair": -0.5,
         "both_cis_fta": 0.05, "fta": 0.12}


def _member(c: str, year: int, spells: dict[str, int]) -> bool:
    return c in spells and year >= spells[c]


def synthetic_panel(seed: int = 11) -> pd.DataFrame:
    """10 countries x 2012-2023, directional pairs and domestic rows (dropped by the
    application), policy variables switching on at known years, trade = exp(FE + effects)."""
    rng = np.random.default_rng(seed)
    ots = {"AZE": 0, "KAZ": 0, "KGZ": 0, "TUR": 0, "UZB": 2019}
    eaeu = {"RUS": 2015, "KAZ": 2015, "KGZ": 2015}
    wto = {"TUR": 0, "CHN": 0, "KGZ": 0, "GEO": 0, "RUS": 2012, "KAZ": 2015}
    cis = {"RUS": 0, "KAZ": 0, "KGZ": 0, "UZB": 2014}
    fe_e = {(c, y): rng.normal() for c in COUNTRIES for y in YEARS}
    fe_i = {(c, y): rng.normal() for c in COUNTRIES for y in YEARS}
    pair_fe = {p: rng.normal(scale=0.7) for p in itertools.product(COUNTRIES, repeat=2)}
    rows = []
    for y, (e, i) in itertools.product(YEARS, itertools.product(COUNTRIES, repeat=2)):
        both = frozenset((e, i))
        row = {
            "year": y, "exporter": e, "importer": i, "domestic": e == i,
            "both_ots": e != i and _member(e, y, ots) and _member(i, y, ots),
            "ots_observer_pair": "TKM" in both and y >= 2021 and len(both & set(ots)) == 1,
            "both_eaeu": e != i and _member(e, y, eaeu) and _member(i, y, eaeu),
            "both_wto": e != i and _member(e, y, wto) and _member(i, y, wto),
            "uses_btk": "TUR" in both and len(both & {"AZE", "KAZ", "UZB", "TKM"}) == 1
            and y >= 2018,
            "uses_middle_corridor": "CHN" in both and len(both & {"TUR", "GEO", "AZE"}) == 1
            and y >= 2022,
            "sanctioned_pair": "IRN" in both and len(both & {"TUR", "GEO", "AZE"}) == 1
            and y >= 2018,
            "both_cis_fta": e != i and _member(e, y, cis) and _member(i, y, cis),
            "fta": both == {"TUR", "GEO"} and y >= 2020,
            "dist": 1000.0 + 10 * len(e + i),
        }
        eta = fe_e[(e, y)] + fe_i[(i, y)] + pair_fe[(e, i)]
        eta += sum(v * float(row[k]) for k, v in TRUTH.items())
        row["trade"] = 1e8 * np.exp(eta)
        rows.append(row)
    df = pd.DataFrame(rows)
    df.loc[(df.exporter == "TKM") & (df.year < 2015), "trade"] = np.nan  # nobody reported
    df["ln_dist"] = np.log(df["dist"])
    return df


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return synthetic_panel()


@pytest.fixture(scope="module")
def estimated(panel: pd.DataFrame) -> lib.ApplicationResults:
    return app.estimate_application(panel)


def test_joint_model_recovers_true_effects(estimated: lib.ApplicationResults) -> None:
    joint = estimated.fits["joint"]
    assert set(joint.coef.index) == set(TRUTH)
    for term, value in TRUTH.items():
        assert joint.coef[term] == pytest.approx(value, abs=1e-6), term
    # 90 pairs x 12 years, minus TKM's unreported exports 2012-2014 (9 partners x 3 years)
    assert joint.rows_sample == 90 * 12 - 27
    assert joint.result.nobs == joint.rows_sample
    assert joint.years == (2012, 2023)
    assert {"ots", "corridor", "eaeu", "wto", "sanctions", "ots_by_member"} <= set(
        estimated.fits)


def test_dynamic_ots_effects(estimated: lib.ApplicationResults) -> None:
    dyn = estimated.fits["ots_dynamic"]
    assert dyn.spec.formula.startswith("trade ~ both_ots + both_ots_lead2 + both_ots_lag2 + "
                                       "both_ots_lag4 + ")
    assert dyn.coef["both_ots"] == pytest.approx(TRUTH["both_ots"], abs=1e-6)
    for term in ("both_ots_lead2", "both_ots_lag2", "both_ots_lag4"):
        assert dyn.coef[term] == pytest.approx(0.0, abs=1e-6)
    assert dyn.coef["sanctioned_pair"] == pytest.approx(TRUTH["sanctioned_pair"], abs=1e-6)
    total = lib.tidy_estimates(estimated).set_index(["spec", "term"]).loc[
        ("ots_dynamic", "both_ots_total")]
    terms = ["both_ots", "both_ots_lag2", "both_ots_lag4"]
    V = dyn.result.vcov.loc[terms, terms].to_numpy()
    assert total["estimate"] == pytest.approx(dyn.coef[terms].sum(), rel=1e-12)
    assert total["std_error"] == pytest.approx(np.sqrt(V.sum()), rel=1e-12)
    assert total["nobs"] == dyn.result.nobs


def test_identification_counts(estimated: lib.ApplicationResults) -> None:
    ident = estimated.identification.set_index("term")
    # both_ots changes only on UZB's pairs with the 4 founding members (both directions);
    # observed 2019-2023: 8 pairs x 5 years
    assert ident.loc["both_ots", "pairs changing"] == 8
    assert ident.loc["both_ots", "pair-years on"] == 40
    assert ident.loc["both_ots", "years on"] == "2019-2023"
    # TKM observer pairs with the 5 members, both directions, 2021-2023
    assert ident.loc["ots_observer_pair", "pairs changing"] == 10
    assert ident.loc["ots_observer_pair", "pair-years on"] == 30


def test_event_study_of_uzbek_accession(estimated: lib.ApplicationResults) -> None:
    assert estimated.event_year == 2019  # first year both_ots is on for UZB in the panel
    t = estimated.event.table.set_index("k")
    assert list(t.index) == [-4, -3, -2, -1, 0, 1, 2, 3]
    for k in (-4, -3, -2):
        assert t.loc[k, "estimate"] == pytest.approx(0.0, abs=1e-6)
    for k in (0, 1, 2, 3):
        assert t.loc[k, "estimate"] == pytest.approx(TRUTH["both_ots"], abs=1e-6)
    assert t.loc[-1, "estimate"] == 0.0


def test_terms_left_out_are_reported(panel: pd.DataFrame) -> None:
    thin = panel.drop(columns=["both_eaeu", "uses_middle_corridor"]).assign(both_wto=1.0)
    thin["trade_source"] = np.where(thin["year"] <= 2020, "imf_dots", "national")
    res = app.estimate_application(thin)
    notes = "\n".join(res.notes)
    # TKM's observer pairs switch on in 2021, exactly when the source changes: under the
    # default source-consistent sample (pair x source-family FE) the term is absorbed
    assert "ots: ots_observer_pair left out (constant within every pair" in notes
    assert "ots_observer_pair" not in res.fits["ots"].coef.index
    # ... while one fixed effect per pair across sources ("mixed") lets it pick up the switch
    mixed = app.estimate_application(thin, method="mixed")
    mixed_notes = "\n".join(mixed.notes)
    assert "ots: ots_observer_pair: in 100% of the pairs where it changes, the data source" \
        in mixed_notes
    assert "ots: both_ots: in" not in mixed_notes
    sample = lib.estimation_sample(thin, method="mixed")
    assert lib.source_break_share(sample, "both_ots") == 0.0
    assert lib.source_break_share(sample, "ots_observer_pair") == 1.0
    assert "both_eaeu left out (not in the panel)" in notes
    assert "uses_middle_corridor left out (not in the panel)" in notes
    assert "both_wto left out (constant within every pair" in notes
    assert "eaeu" not in res.fits and "wto" not in res.fits
    assert "both_wto" not in res.fits["joint"].coef.index


def test_run_application_writes_outputs_deterministically(tmp_path, panel) -> None:
    paths = project_paths(tmp_path)
    paths.panel.parent.mkdir(parents=True)
    panel.to_parquet(paths.panel)
    written = app.run_application(paths, progress=False)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    assert names == sorted([
        "data/processed/estimates/application.parquet",
        "reports/tables/gravity_application.md", "reports/tables/gravity_application.tex",
        "reports/tables/gravity_application.html",
        "reports/tables/gravity_sample.tex", "reports/tables/gravity_sample.html",
        "reports/tables/gravity_sample.md",
        "reports/tables/gravity_identification.tex",
        "reports/tables/gravity_identification.html",
        "reports/tables/gravity_identification.md",
        "reports/figures/gravity_coefficients.png", "reports/figures/gravity_coefficients.svg",
        "reports/figures/event_study_uzb_ots.png", "reports/figures/event_study_uzb_ots.svg",
    ])
    est = pd.read_parquet(paths.estimates / "application.parquet")
    assert list(est.columns) == lib.ESTIMATE_COLUMNS
    assert est["estimate"].dtype == "float64" and est["nobs"].dtype == "int64"
    assert est["std_error"].dtype == "float64" and est["p_value"].between(0, 1).all()
    row = est[(est.spec == "joint") & (est.term == "sanctioned_pair")].iloc[0]
    assert row["estimate"] == pytest.approx(-0.5, abs=1e-6)
    assert row["conf_low"] < row["estimate"] < row["conf_high"]
    assert row["nobs"] == 1053 and row["years"] == "2012-2023"
    assert isinstance(json.loads(row["drops"]), dict)
    assert set(est.loc[est.spec == "event_uzb_ots", "term"]) >= {"es_m4", "es_p0", "es_p3"}
    md = (tmp_path / "reports/tables/gravity_application.md").read_text()
    assert "sanctioned\\_pair" in md and "All policies" in md and "| Sanctions |" in md
    assert "both\\_ots\\_UZB dropped (collinear" in md
    sample = (tmp_path / "reports/tables/gravity_sample.md").read_text()
    assert "| 2013 | 90 | 81 | 81 | 0 | 9 |" in sample  # TKM's 9 exports not reported
    first = {p: p.read_bytes() for p in written}
    again = app.run_application(paths, progress=False)
    assert {p: p.read_bytes() for p in again} == first


def test_bad_panel_raises_data_error(tmp_path, panel) -> None:
    paths = project_paths(tmp_path)
    with pytest.raises(DataError, match="panel not found"):
        app.run_application(paths, progress=False)
    paths.panel.parent.mkdir(parents=True)
    panel.drop(columns=["trade"]).to_parquet(paths.panel)
    with pytest.raises(DataError, match=r"panel\.parquet.*column 'trade'"):
        app.run_application(paths, progress=False)
    bad = panel.copy()
    bad.loc[5, "trade"] = -3.0
    bad.to_parquet(paths.panel)
    with pytest.raises(DataError, match="row 5, column 'trade'"):
        app.run_application(paths, progress=False)


def test_accession_year_follows_the_policy_variable() -> None:
    df = pd.DataFrame({"exporter": ["UZB", "KAZ", "UZB", "UZB"],
                       "importer": ["KAZ", "UZB", "KAZ", "RUS"],
                       "year": [2019, 2020, 2020, 2018], "both_ots": [0, 1, 1, 1]})
    assert app.accession_year(df, [("UZB", "KAZ")]) == 2020
    assert app.accession_year(df.drop(columns="both_ots"), [("UZB", "KAZ")]) == 2019
