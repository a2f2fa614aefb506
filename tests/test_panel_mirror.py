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
    return square(reconcile(reports), reports)


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
    panel = square(reconcile(reports), reports)
    y2002 = panel[panel["year"] == 2002]
    assert len(y2002) == 4 and y2002["domestic"].sum() == 2
    own = y2002[(y2002["exporter"] == "AZE") & (y2002["importer"] == "AZE")]
    assert own["trade"].item() == 900.0
    assert (panel.loc[panel["year"] == 2000, "domestic"] == False).all()  # noqa: E712


def test_cif_fob_factor_is_a_parameter():
    reports = select_reports(REPORTS)
    pairs = reconcile(reports, cif_fob=1.10)
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
