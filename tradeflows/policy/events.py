"""The dated event table (memberships, agreements, corridor openings, shocks) and its dates.

Date rules, used everywhere in :mod:`tradeflows.policy`:

- Partial dates: ``YYYY-MM-DD`` is exact; ``YYYY-MM`` means the 1st of that month;
  ``YYYY`` means 1 July of that year (the middle of the year the source gives).
- Part-year rule: a spell (start, end) is *in force for year t* if it is in force on
  1 July of t, i.e. ``start <= t-07-01 <= end`` (``end`` inclusive; blank = ongoing).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry

from tradeflows.config import PACKAGE_DATA
from tradeflows.errors import DataError
from tradeflows.sources.base import require_columns

EVENTS_FILE = PACKAGE_DATA / "events.csv"

COLUMNS = ("event_id", "kind", "institution_or_corridor", "country_iso3", "partner_iso3",
           "start_date", "end_date", "description", "source_url", "confidence")
KINDS = frozenset({"membership", "accession", "observer", "agreement", "corridor_open",
                   "summit", "shock", "withdrawal", "investment"})
CONFIDENCE = frozenset({"high", "medium", "low"})
#: Codes allowed besides ISO 3166-1 alpha-3 (see events_README.md).
GROUP_CODES = frozenset({"TRNC", "EU", "EFTA"})
ISO3_CODES = frozenset(c.alpha_3 for c in pycountry.countries)

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
#: Day of the year on which the part-year rule checks whether something is in force.
REFERENCE_MONTH_DAY = (7, 1)


def parse_partial_date(text: str) -> date:
    """``YYYY-MM-DD`` -> that day; ``YYYY-MM`` -> the 1st; ``YYYY`` -> 1 July. ValueError if bad."""
    m = _DATE_RE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = m.groups()
    if month is None:
        return date(int(year), *REFERENCE_MONTH_DAY)
    return date(int(year), int(month), int(day) if day else 1)


def reference_date(year: int) -> pd.Timestamp:
    """The day (1 July) on which the part-year rule evaluates ``year``."""
    return pd.Timestamp(year, *REFERENCE_MONTH_DAY)


def known_code(code: str) -> bool:
    """True for an ISO3 country code or a documented group code (TRNC, EU, EFTA)."""
    return code in ISO3_CODES or code in GROUP_CODES


def load_events(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate an event table (default: the bundled ``events.csv``).

    Returns the file's columns (strings, blanks as ``""``) plus ``start`` and ``end``
    (``datetime64``; ``end`` NaT = ongoing; ``start`` NaT only where the row gives an end date
    but no start) and ``line`` (line number in the file; the header is line 1).
    A bad row raises :class:`DataError` naming the file, the line and the column.
    """
    file = Path(path) if path is not None else EVENTS_FILE
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise DataError("event file not found", file=file) from exc
    require_columns(raw, list(COLUMNS), file)
    df = raw[list(COLUMNS)].apply(lambda s: s.str.strip())
    starts, ends = [], []
    seen: set[str] = set()
    for i, row in enumerate(df.itertuples(index=False)):
        line = i + 2

        def fail(column: str, message: str, line: int = line, eid: str = row.event_id) -> None:
            raise DataError(f"event {eid or '?'}: {message}", file=file, row=line, column=column)

        if not row.event_id:
            fail("event_id", "blank event_id")
        if row.event_id in seen:
            fail("event_id", "duplicate event_id")
        seen.add(row.event_id)
        if row.kind not in KINDS:
            fail("kind", f"unknown kind {row.kind!r}; expected one of {sorted(KINDS)}")
        for column in ("country_iso3", "partner_iso3"):
            code = getattr(row, column)
            if code and not known_code(code):
                fail(column, f"unknown code {code!r}; expected ISO3 or one of "
                             f"{sorted(GROUP_CODES)}")
        if row.confidence not in CONFIDENCE:
            fail("confidence", f"unknown confidence {row.confidence!r}; "
                               f"expected one of {sorted(CONFIDENCE)}")
        parsed = {}
        for column in ("start_date", "end_date"):
            text = getattr(row, column)
            try:
                parsed[column] = parse_partial_date(text) if text else None
            except ValueError as exc:
                fail(column, f"bad date: {exc}")
        start, end = parsed["start_date"], parsed["end_date"]
        if start is None and end is None:
            fail("start_date", "blank start_date (a blank start needs an end_date)")
        if start is not None and end is not None and end < start:
            fail("end_date", f"end_date {row.end_date} before start_date {row.start_date}")
        starts.append(start)
        ends.append(end)
    df["start"] = pd.to_datetime(pd.Series(starts, dtype=object))
    df["end"] = pd.to_datetime(pd.Series(ends, dtype=object))
    df["line"] = np.arange(2, len(df) + 2)
    return df


def years_in_force(start: pd.Series, end: pd.Series, years: np.ndarray) -> np.ndarray:
    """Boolean matrix (len(start), len(years)): spell in force on 1 July of each year.

    ``start`` NaT = in force since before any year; ``end`` NaT = ongoing.
    """
    ref = np.array([reference_date(int(y)).to_datetime64() for y in years])
    s = start.to_numpy(dtype="datetime64[ns]")[:, None]
    e = end.to_numpy(dtype="datetime64[ns]")[:, None]
    after_start = np.isnat(s) | (s <= ref[None, :])
    before_end = np.isnat(e) | (ref[None, :] <= e)
    return after_start & before_end


def in_force_on(start: pd.Series, end: pd.Series, when: object) -> np.ndarray:
    """Boolean vector: spell in force on the date ``when`` (``end`` inclusive)."""
    t = pd.Timestamp(when).to_datetime64()
    s = start.to_numpy(dtype="datetime64[ns]")
    e = end.to_numpy(dtype="datetime64[ns]")
    return (np.isnat(s) | (s <= t)) & (np.isnat(e) | (t <= e))
