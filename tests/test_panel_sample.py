"""Source-consistent samples, the EU27 as one exporter, the DOTS/national overlap report and
the validation table: by hand on small tables, then on the bundled data for one country
(every report with AZE as reporter or partner, so AZE's pairs are exactly those of the full
build: the mirror rule of a pair-year depends only on that pair-year's two reports)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from test_panel_build import _root, write_raw_subset

from tradeflows.config import paths
from tradeflows.estimation import ppml
from tradeflows.panel.aggregate import aggregate_exporter_rows, country_rows
from tradeflows.panel.build import build_panel, build_panel_frame, combine_trade
from tradeflows.panel.sample import overlap_agreement, source_consistent
from tradeflows.panel.validation import validation_table
from tradeflows.sources import bundled
from tradeflows.studies.azerbaijan.config import VALIDATION

RAW = paths().raw

pytestmark = pytest.mark.filterwarnings("ignore:collinear regressor")


# --- a synthetic break of source ------------------------------------------------------------
COUNTRIES = ("A", "B", "C", "D", "E", "F")
YEARS = tuple(range(2014, 2024))
# pairs whose series comes from national statistics from 2021 (DOTS before), with a level
# 0.8 log points higher: a change of source, not of trade
NATIONAL = {("A", "C"), ("C", "A"), ("A", "D"), ("B", "E"), ("E", "B")}
SHIFT = 0.8


def source_break_panel(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fe = {(c, y, s): rng.normal() for c in COUNTRIES for y in YEARS for s in "ei"}
    pair_fe = {p: rng.normal(scale=0.5) for p in itertools.product(COUNTRIES, repeat=2)}
    rows = []
    for y, (e, i) in itertools.product(YEARS, itertools.product(COUNTRIES, repeat=2)):
        if e == i:
            continue
        national = (e, i) in NATIONAL and y >= 2021
        eta = fe[(e, y, "e")] + fe[(i, y, "i")] + pair_fe[(e, i)] + SHIFT * national
        rows.append({"year": y, "exporter": e, "importer": i, "trade": 1e6 * np.exp(eta),
                     "trade_source": "national" if national else "imf_dots",
                     "placebo": float((e, i) in NATIONAL and y >= 2021)})
    return pd.DataFrame(rows)


def _fit(sample: pd.DataFrame):
    df = sample.assign(exp_year=sample["exporter"] + sample["year"].astype(str),
                       imp_year=sample["importer"] + sample["year"].astype(str))
    return ppml(df, "trade ~ placebo | exp_year + imp_year + pair_family",
                vcov={"CL1": "pair_family"})


def test_placebo_picks_up_the_source_change_only_without_source_consistency():
    panel = source_break_panel()
    mixed = _fit(source_consistent(panel, "mixed").data)
    assert mixed.coef["placebo"] == pytest.approx(SHIFT, abs=1e-6)  # the artefact
    default = source_consistent(panel)
    assert default.method == "pair_family_fe"
    res = _fit(default.data)
    assert "placebo" not in res.coef.index and "placebo" in res.collinear  # absorbed
    single = source_consistent(panel, "single_family")
    assert single.drops["other_source_family"] == 3 * len(NATIONAL)  # 2021-2023 rows
    assert set(single.data["source_family"]) == {"imf_dots"}
    assert single.data["placebo"].eq(0).all()  # nothing left to pick up the change


def test_sample_record_and_note():
    panel = source_break_panel().assign(eu_aggregate=False)
    panel.loc[0, "eu_aggregate"] = True
    panel.loc[panel.index[panel["year"] == 2015][0], "trade"] = np.nan  # not observed
    sample = source_consistent(panel, window=(2015, 2023))
    assert sample.drops == {"aggregate_reporter": 1, "outside_window": 29}
    assert sample.pairs_with_several_families == len(NATIONAL)
    assert sample.rows_by_family == {"imf_dots": 30 * 9 - 3 * len(NATIONAL) - 1,
                                     "national": 3 * len(NATIONAL)}
    row = sample.data[(sample.data["exporter"] == "A") & (sample.data["importer"] == "C")
                      & (sample.data["year"] == 2022)].iloc[0]
    assert row["pair_family"] == "A_C:national"
    note = sample.note()
    assert "pair x source-family fixed effects" in note and "2015-2023" in note
    assert json.loads(json.dumps(sample.to_dict()))["method"] == "pair_family_fe"
    with pytest.raises(ValueError, match="method must be one of"):
        source_consistent(panel, "pooled")
    assert set(source_consistent(panel.drop(columns="trade_source")).data["source_family"]) \
        <= {"unspecified", "none"}


def test_single_family_keeps_the_most_frequent_family():
    panel = pd.DataFrame({"year": [2019, 2020, 2021, 2022, 2023, 2020, 2021],
                          "exporter": ["A"] * 5 + ["B"] * 2, "importer": ["B"] * 5 + ["A"] * 2,
                          "trade": [1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 1.0],
                          "trade_source": ["imf_dots", "imf_dots", "national", "national",
                                           "national", "national", "imf_dots"]})
    out = source_consistent(panel, "single_family").data
    assert out.loc[out["exporter"] == "A", "year"].tolist() == [2021, 2022, 2023]
    # a tie goes to the family first in SOURCE_PRECEDENCE
    assert out.loc[out["exporter"] == "B", "source_family"].tolist() == ["imf_dots"]


# --- EU27 as one exporter -------------------------------------------------------------------
def test_aggregate_rows_and_country_rows():
    flows = pd.DataFrame({"year": [2020, 2020, 2021], "exporter": ["EUU"] * 3,
                          "importer": ["AZE", "XKX", "AZE"], "value_usd": [5.0, 1.0, 6.0],
                          "reporter_side": "exporter", "flow": "export", "source": "eurostat",
                          "estimated": False})
    countries = pd.DataFrame({"year": [2020, 2020, 2020], "country": ["AZE", "GEO", "TUR"]})
    rows = aggregate_exporter_rows(flows, "EUU", countries).set_index("importer")
    assert list(rows.index) == ["AZE", "GEO", "TUR", "XKX"]  # 2021: not a year of the square
    assert rows.loc["AZE", "trade"] == 5.0 and rows.loc["AZE", "trade_basis"] == "exporter_fob"
    assert rows.loc["GEO", "trade"] == 0.0 and rows.loc["GEO", "trade_basis"] == "zero_not_listed"
    assert rows.loc["XKX", "trade"] == 1.0  # a listed partner outside the square is kept
    assert rows["eu_aggregate"].all() and rows["imports_reported"].isna().all()
    assert (rows["trade_source"] == "eurostat").all()
    panel = pd.concat([rows.reset_index().assign(eu_aggregate=True),
                       pd.DataFrame({"exporter": ["DEU"], "importer": ["AZE"],
                                     "eu_aggregate": [False]})], ignore_index=True)
    assert country_rows(panel)["exporter"].tolist() == ["DEU"]


# --- the DOTS / national statistics overlap -------------------------------------------------
def test_overlap_agreement_by_hand():
    def rows(source, values):
        return pd.DataFrame({"year": [2018, 2019, 2020, 2019], "exporter": ["KAZ"] * 3 + ["UZB"],
                             "importer": ["AZE"] * 3 + ["KAZ"], "value_usd": values,
                             "reporter_side": ["exporter"] * 3 + ["importer"],
                             "flow": ["export"] * 3 + ["import"], "source": source,
                             "estimated": False})

    flows = pd.concat([rows("imf_dots", [100.0, 200.0, 100.0, 50.0]),
                       rows("national", [105.0, 200.0, 80.0, 50.0])], ignore_index=True)
    out = overlap_agreement(flows, years=(2018, 2020), margin=0.10).set_index(
        ["reporter", "partner"])
    kaz, uzb = out.loc[("KAZ", "AZE")], out.loc[("KAZ", "UZB")]  # KAZ's imports from UZB
    assert (kaz["reporter_side"], kaz["n_years"]) == ("exporter", 3)
    assert kaz["years"] == "2018-2020" and bool(kaz["flagged"])  # 2020: 80 vs 100
    assert kaz["ratio"] == pytest.approx(385.0 / 400.0)
    assert kaz["max_abs_log_diff"] == pytest.approx(abs(np.log(0.8)))
    assert not bool(uzb["flagged"]) and uzb["reporter_side"] == "importer"
    wide = overlap_agreement(flows, margin=0.25).set_index(["reporter", "partner"])
    assert not wide.loc[("KAZ", "AZE"), "flagged"]


# --- one country's pairs from the bundled data ----------------------------------------------
COUNTRY = "AZE"


def _either_side(a: str, b: str):
    return lambda d: (d[a] == COUNTRY) | (d[b] == COUNTRY)


@pytest.fixture(scope="module")
def country_build(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw_one_country")
    write_raw_subset(raw, dots=_either_side("reporter_iso3", "partner_iso3"),
                     national=lambda d: d["partner_iso3"] == COUNTRY,
                     penppml=_either_side("exp", "imp"), fdi=lambda d: d["host_iso3"] == COUNTRY)
    p = _root(tmp_path_factory, raw, "root_one_country")
    summary = build_panel(p, progress=False, validation=VALIDATION)
    return p, summary, pd.read_parquet(p.panel)


def _own_dots(year: int, flow: str, partner: str | None) -> float:
    """AZE's own DOTS figure (USD), read from the raw file independently of the readers."""
    raw = pd.read_parquet(RAW / bundled.IMF_DOTS,
                          filters=[("reporter_iso3", "==", COUNTRY), ("year", "==", year),
                                   ("flow", "==", flow)])
    if partner is not None:
        raw = raw[raw["partner_iso3"] == partner]
    return float(raw["value_usd_mn"].sum()) * 1e6


@pytest.mark.parametrize("partner", ["TUR", "GEO", None])
def test_validation_within_ten_percent_of_own_reports(country_build, partner):
    p, summary, _ = country_build
    table = pd.read_csv(p.processed / "validation.csv")
    assert summary.validation is not None and len(table) == len(summary.validation)
    label = partner or "total"
    rows = table[(table["partner"] == label) & (table["flow"] == "turnover")
                 & table["year"].between(2015, 2020)].set_index("year")
    assert list(rows.index) == list(range(2015, 2020 + 1))
    for year, row in rows.iterrows():
        own = _own_dots(year, "exports_fob", partner) + _own_dots(year, "imports_cif", partner)
        assert row["reported_value"] == pytest.approx(own, rel=1e-9), (label, year)
        assert row["reported_source"] == "imf_dots"
        assert 0.9 <= row["ratio"] <= 1.1, (label, year, row["ratio"])
        assert row["rule"] == "v2"


def test_turkey_under_the_alternative_rule_is_one_argument_away(country_build):
    p, _, panel = country_build
    # AZE->TUR: pipeline gas and oil that TUR's statistics do not attribute to AZE
    row = panel[(panel["year"] == 2019) & (panel["exporter"] == "AZE")
                & (panel["importer"] == "TUR")].iloc[0]
    assert row["trade"] == pytest.approx(_own_dots(2019, "exports_fob", "TUR"), rel=1e-12)
    assert row["mirror_case"] == "exporter_higher" and row["rule_moved"]
    assert row["trade_other_rule"] == pytest.approx(row["imports_reported"] / 1.06, rel=1e-12)
    assert row["trade_other_rule"] < 0.2 * row["trade"]
    moves = pd.read_parquet(p.processed / "mirror_moves.parquet")
    assert ((moves["exporter"] == "AZE") & (moves["importer"] == "TUR")
            & (moves["year"] == 2019)).any()
    alt = validation_table(panel.assign(trade=panel["trade_other_rule"]),
                           pd.read_parquet(p.flows), COUNTRY, ["TUR"], rule="importer_first")
    tur = alt[(alt["flow"] == "turnover") & (alt["partner"] == "TUR")
              & alt["year"].between(2015, 2020)]
    assert (tur["ratio"] < 0.7).all()  # the old rule misses most of AZE's exports to TUR


FOCUS = ["AZE", "KAZ", "KGZ", "UZB", "RUS", "TUR", "GEO", "ARM", "TKM", "TJK", "CHN", "IRN"]


@pytest.fixture(scope="module")
def focus_panel(tmp_path_factory):
    """The panel (mirror rule v2, no policy variables) of the focus countries' trade with
    each other, 2012-2023, from the bundled DOTS and national statistics."""
    tmp = tmp_path_factory.mktemp("focus")
    dots = pd.read_parquet(RAW / bundled.IMF_DOTS)
    dots = dots[dots["reporter_iso3"].isin(FOCUS) & dots["partner_iso3"].isin(FOCUS)
                & (dots["year"] >= 2012)]
    nat = pd.read_parquet(RAW / bundled.NATIONAL)
    nat = nat[nat["partner_iso3"].isin(FOCUS) & (nat["year"] >= 2012)]
    dots.reset_index(drop=True).to_parquet(tmp / "dots.parquet")
    nat.reset_index(drop=True).to_parquet(tmp / "national.parquet")
    flows = combine_trade([bundled.read_imf_dots(tmp / "dots.parquet"),
                           bundled.read_national(tmp / "national.parquet")])
    panel, _ = build_panel_frame(flows, bundled.read_cepii_geodist(), bundled.read_wdi())
    return panel


@pytest.mark.parametrize("treated", ["tkm_with_ots_members", "source_side_switch"])
def test_placebo_on_the_bundled_data(focus_panel, treated):
    """A placebo switched on in 2021 (when the DOTS copy ends and national statistics take
    over) on (a) Turkmenistan's pairs with the OTS members, the pairs of the application's
    ``ots_observer_pair`` artefact, (b) every pair whose report side changes at the break."""
    panel = focus_panel[(focus_panel["exporter"] != focus_panel["importer"])
                        & (focus_panel["year"] >= 2012)]
    pairs = list(zip(panel["exporter"], panel["importer"], strict=True))
    if treated == "tkm_with_ots_members":
        members = {"AZE", "KAZ", "KGZ", "TUR", "UZB"}
        chosen = {pr for pr in set(pairs) if "TKM" in pr and set(pr) & members}
    else:
        obs = panel[panel["trade"].notna()]
        side = {k: obs[obs["year"].between(*years)].groupby(["exporter", "importer"])[
            "trade_side"].agg(lambda s: s.mode().iloc[0]) for k, years in
            (("pre", (2012, 2020)), ("post", (2021, 2023)))}
        both = pd.concat(side, axis=1).dropna()
        chosen = set(both.index[both["pre"] != both["post"]])
    assert len(chosen) >= 8
    panel = panel.assign(placebo=np.array([float(pr in chosen) for pr in pairs])
                         * (panel["year"] >= 2021).to_numpy(dtype=float))
    default = source_consistent(panel)
    # no (pair, family) cell mixes sources, so nothing switched on with a source can load on it
    assert default.data.groupby("pair_family")["source_family"].nunique().max() == 1
    res = _fit(default.data)
    if "placebo" in res.coef.index:
        assert abs(res.coef["placebo"]) < 0.1
    else:
        assert "placebo" in res.collinear
    if treated == "tkm_with_ots_members":
        mixed = _fit(source_consistent(panel, "mixed").data)
        assert mixed.coef["placebo"] > 1.0  # the artefact without the correction (about 3.9)


def test_reported_tables_are_apart_from_the_panel(country_build):
    p, _, panel = country_build
    reported = pd.read_parquet(p.processed / "reported.parquet")
    assert len(reported) == 109 and reported["panel_eligible"].sum() == 18
    press = panel[panel["trade_source"] == "reported_press"]
    assert len(press) > 0
    assert set(press["trade_basis"]) <= {"exporter_fob", "importer_cif"}
    # the approximate full-year AZE-TUR 2022 turnover is not in the panel
    assert panel.loc[(panel["year"] == 2022) & (panel["exporter"] == "AZE")
                     & (panel["importer"] == "TUR"), "trade"].isna().all()
    manifest = json.loads(p.manifest.read_text())
    for name in ("reported_fdi.parquet", "reported_corridor.parquet"):
        assert manifest["outputs"][f"data/processed/{name}"]["rows"] == len(
            pd.read_parquet(p.processed / name))
    eu = panel[panel["eu_aggregate"]]
    assert set(eu["exporter"]) == {bundled.EU_CODE} and eu["year"].min() == 2010
    eu_aze = eu[(eu["importer"] == COUNTRY) & (eu["year"] == 2023)]["trade"].item()
    raw = pd.read_parquet(RAW / bundled.EUROSTAT)
    rate = bundled.read_ecb_rates(RAW / bundled.ECB_RATES)[2023]
    eur = raw[(raw["partner_iso3"] == COUNTRY) & (raw["year"] == 2023)]["value_eur"].item()
    assert eu_aze == pytest.approx(eur * rate, rel=1e-12)
