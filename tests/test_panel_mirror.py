"""Mirror rule, source precedence, zeros versus missing, domestic rows and interval years,
on a hand-made table of reports whose answer is worked out by hand below."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeflows.errors import DataError
from tradeflows.panel.build import combine_trade, exclude_nonexistent
from tradeflows.panel.mirror import reconcile, select_reports
from tradeflows.panel.square import keep_interval, square
from tradeflows.sources.base import validate_trade


def _flows(rows):
    df = pd.DataFrame(rows, columns=["year", "exporter", "importer", "reporter_side",
                                     "value_usd", "source", "estimated"])
    df["flow"] = np.where(df["reporter_side"] == "exporter", "export", "import")
    return validate_trade(df)


# A=AZE, B=KAZ, C=KGZ, D=UZB
REPORTS = _flows([
    (2000, "AZE", "KAZ", "exporter", 100.0, "imf_dots", False),
    (2000, "AZE", "KAZ", "importer", 106.0, "imf_dots", False),
    (2000, "AZE", "KGZ", "exporter", 50.0, "imf_dots", False),
    (2000, "KAZ", "AZE", "importer", 53.0, "imf_dots", True),
    (2000, "KAZ", "AZE", "exporter", 40.0, "imf_dots", False),
    (2000, "KGZ", "AZE", "importer", 10.6, "imf_dots", True),
    (2000, "KGZ", "KAZ", "exporter", 7.0, "imf_dots", True),
    (2000, "UZB", "AZE", "importer", 0.0, "imf_dots", False),
    (2001, "AZE", "KAZ", "importer", 400.0, "imf_dots", False),
    (2001, "AZE", "KAZ", "importer", 500.0, "national", False),
    (2001, "AZE", "KAZ", "exporter", 300.0, "national", False),
    (2002, "AZE", "KAZ", "exporter", 300.0, "national", False),
    (2002, "AZE", "KAZ", "importer", 318.0, "zz_other", False),
])

# (year, exporter, importer) -> (trade, basis), by hand from the rules in the module docs
EXPECTED = {
    (2000, "AZE", "KAZ"): (100.0, "importer_cif"),
    (2000, "AZE", "KGZ"): (50.0, "exporter_fob"),
    (2000, "AZE", "UZB"): (0.0, "zero_not_listed"),       # AZE reports exports, not to UZB
    (2000, "KAZ", "AZE"): (40.0, "exporter_fob"),         # importer's figure is an estimate
    (2000, "KAZ", "KGZ"): (0.0, "zero_not_listed"),
    (2000, "KAZ", "UZB"): (0.0, "zero_not_listed"),
    (2000, "KGZ", "AZE"): (10.0, "importer_cif_estimated"),
    (2000, "KGZ", "KAZ"): (7.0, "exporter_fob_estimated"),
    (2000, "KGZ", "UZB"): (0.0, "zero_not_listed"),       # KGZ reports (estimated) exports
    (2000, "UZB", "AZE"): (0.0, "importer_cif"),          # a reported zero
    (2000, "UZB", "KAZ"): (0.0, "zero_not_listed"),       # KAZ reports imports, not from UZB
    (2000, "UZB", "KGZ"): (np.nan, "none"),               # neither side reports anything
    (2001, "AZE", "KAZ"): (400.0 / 1.06, "importer_cif"),  # DOTS before national statistics
    (2001, "KAZ", "AZE"): (np.nan, "none"),
    (2002, "AZE", "KAZ"): (318.0 / 1.06, "importer_cif"),  # only source for that side
    (2002, "KAZ", "AZE"): (np.nan, "none"),
}


@pytest.fixture(scope="module")
def panel():
    reports = select_reports(REPORTS)
    return square(reconcile(reports, rule="importer_first"), reports)


def test_every_pair_year_by_hand(panel):
    assert len(panel) == len(EXPECTED)
    for (year, i, j), (trade, basis) in EXPECTED.items():
        row = panel[(panel["year"] == year) & (panel["exporter"] == i)
                    & (panel["importer"] == j)]
        assert len(row) == 1, (year, i, j)
        assert row["trade_basis"].item() == basis, (year, i, j)
        if np.isnan(trade):
            assert np.isnan(row["trade"].item()), (year, i, j)
        else:
            assert row["trade"].item() == pytest.approx(trade, rel=1e-12), (year, i, j)


def test_both_reports_kept_with_sources(panel):
    row = panel[(panel["year"] == 2001) & (panel["exporter"] == "AZE")].iloc[0]
    assert row["exports_reported"] == 300.0 and row["exports_source"] == "national"
    assert row["imports_reported"] == 400.0 and row["imports_source"] == "imf_dots"
    assert row["trade_source"] == "imf_dots"
    row = panel[(panel["year"] == 2002) & (panel["exporter"] == "AZE")].iloc[0]
    assert row["trade_source"] == "zz_other" and row["exports_source"] == "national"
    row = panel[(panel["year"] == 2000) & (panel["exporter"] == "KAZ")
                & (panel["importer"] == "AZE")].iloc[0]
    assert bool(row["imports_estimated"]) and not bool(row["exports_estimated"])
    missing = panel[panel["trade_basis"].isin(["none", "zero_not_listed"])]
    assert missing["exports_reported"].isna().all() and missing["imports_reported"].isna().all()


def test_square_has_no_domestic_rows_without_domestic_data(panel):
    assert not panel["domestic"].any()
    assert not (panel["exporter"] == panel["importer"]).any()
    for year, n in ((2000, 4), (2001, 2), (2002, 2)):
        assert (panel["year"] == year).sum() == n * (n - 1)


def test_domestic_rows_when_a_source_has_them():
    flows = pd.concat([REPORTS, _flows([(2002, "AZE", "AZE", "exporter", 900.0, "itpd",
                                         False)])], ignore_index=True)
    reports = select_reports(flows)
    panel = square(reconcile(reports, rule="importer_first"), reports)
    y2002 = panel[panel["year"] == 2002]
    assert len(y2002) == 4 and y2002["domestic"].sum() == 2
    own = y2002[(y2002["exporter"] == "AZE") & (y2002["importer"] == "AZE")]
    assert own["trade"].item() == 900.0
    assert (panel.loc[panel["year"] == 2000, "domestic"] == False).all()  # noqa: E712


def test_cif_fob_factor_is_a_parameter():
    reports = select_reports(REPORTS)
    pairs = reconcile(reports, cif_fob=1.10, rule="importer_first")
    row = pairs[(pairs["year"] == 2000) & (pairs["exporter"] == "AZE")
                & (pairs["importer"] == "KAZ")]
    assert row["trade"].item() == pytest.approx(106.0 / 1.10)
    with pytest.raises(ValueError, match="cif_fob"):
        reconcile(reports, cif_fob=0)


def test_interval_years():
    df = pd.DataFrame({"year": [1990, 1991, 1992, 1993, 1994, 1995, 1996, 1998, 2002]})
    assert keep_interval(df, 4)["year"].tolist() == [1990, 1994, 1998, 2002]
    assert keep_interval(df, 3)["year"].tolist() == [1990, 1993, 1996, 2002]
    assert keep_interval(df, None)["year"].tolist() == df["year"].tolist()
    with pytest.raises(ValueError, match="interval"):
        keep_interval(df, 0)


def test_states_outside_their_years_are_dropped():
    flows = _flows([(1991, "SUN", "TUR", "exporter", 5.0, "imf_dots", False),
                    (1992, "SUN", "TUR", "exporter", 6.0, "imf_dots", False),
                    (1991, "AZE", "TUR", "exporter", 7.0, "imf_dots", False),
                    (1992, "AZE", "TUR", "exporter", 8.0, "imf_dots", False)])
    kept, dropped = exclude_nonexistent(flows)
    assert dropped == 2
    assert kept[["year", "exporter"]].values.tolist() == [[1991, "SUN"], [1992, "AZE"]]


def test_combine_trade_refuses_a_key_repeated_across_files():
    one = _flows([(2020, "AZE", "KAZ", "exporter", 1.0, "baci", False)])
    one.attrs["file"] = "BACI_a.csv"
    two = _flows([(2020, "AZE", "KAZ", "exporter", 2.0, "baci", False)])
    two.attrs["file"] = "BACI_b.csv"
    other = _flows([(2020, "AZE", "KAZ", "exporter", 3.0, "imf_dots", False)])
    assert len(combine_trade([one, other])) == 2
    with pytest.raises(DataError, match=r"BACI_a\.csv, BACI_b\.csv.*duplicate key"):
        combine_trade([one, two, other])


def test_zero_rows_record_the_listing_side_and_source(panel):
    def row(year, i, j):
        return panel[(panel["year"] == year) & (panel["exporter"] == i)
                     & (panel["importer"] == j)].iloc[0]

    # UZB->KAZ: KAZ lists imports (from AZE) but not from UZB -> the importer's listing
    assert (row(2000, "UZB", "KAZ")["trade_side"], row(2000, "UZB", "KAZ")["trade_source"]) == (
        "importer", "imf_dots")
    # KGZ->UZB: UZB lists no imports; KGZ lists (estimated) exports -> the exporter's listing
    assert row(2000, "KGZ", "UZB")["trade_side"] == "exporter"
    assert row(2000, "AZE", "KAZ")["trade_side"] == "importer"
    assert row(2000, "KAZ", "AZE")["trade_side"] == "exporter"
    assert panel.loc[panel["trade_basis"] == "none", "trade_side"].isna().all()


def test_partial_sources_do_not_make_zeros():
    flows = pd.concat([REPORTS, _flows([
        (2002, "KGZ", "UZB", "importer", 10.6, "reported_press", False)])], ignore_index=True)
    reports = select_reports(flows)
    panel = square(reconcile(reports), reports)
    y = panel[panel["year"] == 2002].set_index(["exporter", "importer"])
    assert y.loc[("KGZ", "UZB"), "trade"] == pytest.approx(10.0)
    assert y.loc[("KGZ", "UZB"), "trade_source"] == "reported_press"
    # UZB's press figure names one partner: no zero for the partners it does not name
    assert np.isnan(y.loc[("KAZ", "UZB"), "trade"])
    assert y.loc[("KAZ", "UZB"), "trade_basis"] == "none"
    # a complete listing still gives zeros: KAZ lists imports (from AZE), not from KGZ
    assert y.loc[("KGZ", "KAZ"), "trade"] == 0.0


# v2 by hand: energy exporter AZE only, factor 2, CIF/FOB 1.06
V2_REPORTS = _flows([
    (2019, "AZE", "TUR", "exporter", 300.0, "imf_dots", False),   # pipeline: E = 6 M
    (2019, "AZE", "TUR", "importer", 53.0, "imf_dots", False),
    (2019, "GEO", "AZE", "exporter", 500.0, "imf_dots", False),   # re-exports: E = 5 M
    (2019, "GEO", "AZE", "importer", 106.0, "imf_dots", False),
    (2019, "UZB", "GEO", "exporter", 3.0, "imf_dots", False),     # gold left out: M = 83 E
    (2019, "UZB", "GEO", "importer", 265.0, "imf_dots", False),
    (2019, "AZE", "ITA", "exporter", 200.0, "imf_dots", False),   # M = 2.5 E
    (2019, "AZE", "ITA", "importer", 530.0, "imf_dots", False),
    (2019, "AZE", "GEO", "exporter", 90.0, "imf_dots", False),    # agree
    (2019, "AZE", "GEO", "importer", 106.0, "imf_dots", False),
    (2019, "AZE", "UZB", "exporter", 40.0, "imf_dots", True),     # exporter's is an estimate
    (2019, "AZE", "UZB", "importer", 53.0, "imf_dots", False),
    (2019, "AZE", "ITA", "importer", 999.0, "national", False),   # lower precedence: unused
    (2019, "TUR", "AZE", "exporter", 120.0, "imf_dots", False),   # agree, not energy
    (2019, "TUR", "AZE", "importer", 106.0, "imf_dots", False),
])
# (exporter, importer) -> (v2 trade, importer_first trade, trade_rule, case, side)
V2_EXPECTED = {
    ("AZE", "TUR"): (300.0, 50.0, "energy_exporter_report", "exporter_higher", "exporter"),
    ("GEO", "AZE"): (100.0, 100.0, "importer_first", "exporter_higher", "importer"),
    ("UZB", "GEO"): (250.0, 250.0, "importer_first", "importer_higher", "importer"),
    ("AZE", "ITA"): (200.0, 500.0, "energy_exporter_report", "importer_higher", "exporter"),
    ("AZE", "GEO"): (90.0, 100.0, "energy_exporter_report", "agree", "exporter"),
    ("AZE", "UZB"): (50.0, 50.0, "importer_first", "one_report", "importer"),
    ("TUR", "AZE"): (100.0, 100.0, "importer_first", "agree", "importer"),
}


@pytest.mark.parametrize("rule", ["v2", "importer_first"])
def test_mirror_rule_v2_by_hand(rule):
    pairs = reconcile(select_reports(V2_REPORTS), rule=rule, energy={"AZE"})
    assert len(pairs) == len(V2_EXPECTED)
    for (i, j), (v2, v1, step, case, side) in V2_EXPECTED.items():
        row = pairs[(pairs["exporter"] == i) & (pairs["importer"] == j)].iloc[0]
        chosen, other = (v2, v1) if rule == "v2" else (v1, v2)
        assert row["trade"] == pytest.approx(chosen, rel=1e-12), (i, j)
        assert row["trade_other_rule"] == pytest.approx(other, rel=1e-12), (i, j)
        assert bool(row["rule_moved"]) == (abs(v2 - v1) > 1e-9), (i, j)
        assert row["mirror_case"] == case, (i, j)
        if rule == "v2":
            assert row["trade_rule"] == step and row["trade_side"] == side, (i, j)
        else:
            assert row["trade_rule"] == "importer_first", (i, j)
    row = pairs[(pairs["exporter"] == "AZE") & (pairs["importer"] == "TUR")].iloc[0]
    assert row["mirror_ratio"] == pytest.approx(6.0)
    assert row["imports_reported"] == 53.0 and row["exports_reported"] == 300.0


def test_rule_moves_lists_the_moved_pairs():
    from tradeflows.panel.mirror import rule_moves

    moves = rule_moves(reconcile(select_reports(V2_REPORTS), energy={"AZE"}))
    assert [(r.exporter, r.importer) for r in moves.itertuples()] == [
        ("AZE", "ITA"), ("AZE", "TUR"), ("AZE", "GEO")]
    assert moves["change"].tolist() == pytest.approx([300.0, 250.0, 10.0])


def test_mirror_rule_arguments_are_checked():
    reports = select_reports(V2_REPORTS)
    with pytest.raises(ValueError, match="rule must be one of"):
        reconcile(reports, rule="exporter_first")
    with pytest.raises(ValueError, match="factor"):
        reconcile(reports, factor=1.0)
    # the factor only classifies disagreements; it never changes the value chosen
    wide = reconcile(reports, energy={"AZE"}, factor=10.0)
    assert (wide["trade"].to_numpy() == reconcile(reports, energy={"AZE"})["trade"].to_numpy()
            ).all()
    assert wide.set_index(["exporter", "importer"]).loc[("AZE", "ITA"), "mirror_case"] == "agree"


def test_energy_exporter_list_is_package_data():
    from tradeflows.panel.mirror import energy_exporters

    energy = energy_exporters()
    assert len(energy) == 29 and {"AZE", "KAZ", "RUS", "SAU"} <= energy
    assert not energy & {"TUR", "GEO", "UZB", "KGZ", "CHN", "DEU"}
