"""Event table: loading, validation errors naming line and column, and the date rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradeflows.errors import DataError
from tradeflows.policy.events import (
    EVENTS_FILE,
    KINDS,
    in_force_on,
    load_events,
    parse_partial_date,
    years_in_force,
)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return load_events()


def test_bundled_events_load(events: pd.DataFrame) -> None:
    raw = pd.read_csv(EVENTS_FILE, dtype=str, keep_default_na=False)
    assert len(events) == len(raw) == 226
    assert set(events["kind"]) <= KINDS
    assert events["event_id"].is_unique
    assert events["start"].dtype.kind == "M"
    # the one row without a start date has an end date
    assert events.loc[events["start"].isna(), "event_id"].tolist() == ["EU-GEO-GSP"]
    row = events.set_index("event_id").loc["OTS-ACC-UZB"]
    assert row["start"] == pd.Timestamp("2019-10-14") and row["line"] == 18  # line in the file (grep -n)


@pytest.mark.parametrize(("text", "expected"), [
    ("2017-10-30", date(2017, 10, 30)),
    ("2016-12", date(2016, 12, 1)),
    ("2018", date(2018, 7, 1)),
])
def test_partial_dates(text: str, expected: date) -> None:
    assert parse_partial_date(text) == expected


@pytest.mark.parametrize("text", ["2019-13-01", "2019-02-30", "19-10-01", "2019/10/01", "soon"])
def test_bad_dates_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_partial_date(text)


def test_july_first_rule() -> None:
    years = np.array([2013, 2014, 2015, 2019, 2020])
    start = pd.Series(pd.to_datetime(["2019-10-14", "2013-07-01", "2010-01-01", "2013-07-02"]))
    end = pd.Series(pd.to_datetime([None, None, "2014-12-31", "2015-06-30"]))
    got = years_in_force(start, end, years)
    expected = np.array([
        [False, False, False, False, True],  # after 1 July 2019 -> from 2020
        [True, True, True, True, True],      # on 1 July 2013 -> 2013 counts
        [True, True, False, False, False],   # ends 31 Dec 2014
        [False, True, False, False, False],  # in force 2 Jul 2013 - 30 Jun 2015
    ])
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(in_force_on(start, end, "2014-12-31"), [False, True, True, True])


def _write_bad(tmp_path: Path, event_id: str, column: str, value: str) -> tuple[Path, int]:
    df = pd.read_csv(EVENTS_FILE, dtype=str, keep_default_na=False)
    pos = int(np.flatnonzero(df["event_id"] == event_id)[0])
    df.loc[pos, column] = value
    path = tmp_path / "events_bad.csv"
    df.to_csv(path, index=False)
    return path, pos + 2


@pytest.mark.parametrize(("column", "value", "needle"), [
    ("start_date", "2019-13-01", "bad date"),
    ("end_date", "2019-1", "bad date"),
    ("country_iso3", "XXX", "unknown code 'XXX'"),
    ("partner_iso3", "ZZ", "unknown code 'ZZ'"),
    ("kind", "rumour", "unknown kind 'rumour'"),
    ("confidence", "certain", "unknown confidence"),
    ("end_date", "2001-01-01", "before start_date"),
    ("event_id", "OTS-FOUND-AZE", "duplicate event_id"),
])
def test_bad_row_names_line_and_column(tmp_path: Path, column: str, value: str,
                                       needle: str) -> None:
    path, line = _write_bad(tmp_path, "OTS-ACC-UZB", column, value)
    with pytest.raises(DataError) as err:
        load_events(path)
    msg = str(err.value)
    assert f"row {line}" in msg and f"column {column!r}" in msg and needle in msg
    assert str(path) in msg
    assert err.value.row == line and err.value.column == column


def test_blank_start_needs_end(tmp_path: Path) -> None:
    path, line = _write_bad(tmp_path, "WTO-KAZ", "start_date", "")
    with pytest.raises(DataError, match=f"row {line}.*start_date"):
        load_events(path)


def test_missing_column_and_file(tmp_path: Path) -> None:
    df = pd.read_csv(EVENTS_FILE, dtype=str).drop(columns="kind")
    path = tmp_path / "no_kind.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match="missing column.*kind"):
        load_events(path)
    with pytest.raises(DataError, match="not found"):
        load_events(tmp_path / "nope.csv")


def test_group_codes_accepted(events: pd.DataFrame) -> None:
    codes = set(events["country_iso3"]) | set(events["partner_iso3"])
    assert {"TRNC", "EU", "EFTA"} <= codes
