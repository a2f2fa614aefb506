"""Claims on the documented record (the events table) and claims timed to dated measures."""

from __future__ import annotations

import pandas as pd

from tradeflows.policy.events import parse_partial_date
from tradeflows.studies.azerbaijan.claims.catalog import Claim
from tradeflows.studies.azerbaijan.claims.evidence import (
    Evidence,
    Untestable,
    claim_figure,
    year_span,
)


def _involved(events: pd.DataFrame) -> pd.Series:
    """Countries named by each event (country and partner), as sets."""
    return pd.Series([{c for c in (a, b) if c} for a, b in
                      zip(events["country_iso3"], events["partner_iso3"], strict=True)],
                     index=events.index)


def matching_events(events: pd.DataFrame, claim: Claim) -> pd.DataFrame:
    """Events of the claim's window that match its filters.

    ``kinds``: event kinds that match; ``institutions``: texts, an event of any kind also
    matches if its institution_or_corridor contains one (case-insensitive). ``countries``
    alone: the event names one of them (as country or partner); with ``partners``: the
    event's institution, across its matching events, names one of the countries and one of
    the partners. ``all_of`` / ``any_of``: the event itself names all of the first and one
    of the second.
    """
    inp = claim.inputs
    first, last = claim.window
    years = events["start_date"].map(lambda s: parse_partial_date(s).year if s else -1)
    ev = events[years.between(first, last)].copy()
    texts = [t.lower() for t in inp.get("institutions", [])]
    inst = ev["institution_or_corridor"].str.lower()
    ev = ev[ev["kind"].isin(set(inp.get("kinds", [])))
            | inst.map(lambda s: any(t in s for t in texts))]
    if "partners" in inp:
        names = _involved(ev)
        by_inst = names.groupby(ev["institution_or_corridor"]).agg(
            lambda sets: set().union(*sets))
        ok = {i for i, s in by_inst.items()
              if s & set(inp["countries"]) and s & set(inp["partners"])}
        ev = ev[ev["institution_or_corridor"].isin(ok)]
    elif "countries" in inp:
        ev = ev[_involved(ev).map(lambda s: bool(s & set(inp["countries"])))]
    if "all_of" in inp:
        names = _involved(ev)
        ev = ev[names.map(lambda s: set(inp["all_of"]) <= s
                          and bool(s & set(inp.get("any_of", s))))]
    return ev


def documentary_evidence(claim: Claim, events: pd.DataFrame) -> Evidence:
    """Number of distinct documented items (institutions/corridors) matching the claim; no
    match means the bundled record does not cover the statement (not testable)."""
    ev = matching_events(events, claim)
    distinct = ev["institution_or_corridor"].nunique()
    if ev.empty:
        raise Untestable("the bundled events table documents no event that matches the "
                         "statement in its window")
    items = (ev.sort_values("start_date").groupby("institution_or_corridor", sort=False)
             ["event_id"].apply(", ".join))
    note = (f"{len(ev)} dated event(s), {distinct} distinct item(s): "
            + "; ".join(f"{k} ({v})" for k, v in items.items())
            + ". A documented record, not a measured effect.")
    years = ev["start_date"].str[:4]
    return Evidence(estimate=float(distinct), conf_low=float(distinct),
                    conf_high=float(distinct), nobs=len(ev),
                    years=year_span(years.astype(int)), sources=claim.sources, note=note,
                    series=ev[["event_id", "kind", "institution_or_corridor", "country_iso3",
                               "partner_iso3", "start_date", "source_url"]],
                    figure=claim_figure(claim, "record"))


def timed_evidence(claim: Claim, events: pd.DataFrame, last_data_year: int) -> Evidence:
    """A claim about dated measures: testable only with ``min_years_after`` years of data
    from the year the measures are in force (1 July rule)."""
    ids = list(claim.inputs["events"])
    found = events[events["event_id"].isin(ids)]
    missing = sorted(set(ids) - set(found["event_id"]))
    if missing:
        raise Untestable(f"the events table has no event {missing}")
    dates = [parse_partial_date(d) for d in found["start_date"]]
    start = max(dates)
    in_force = start.year if (start.month, start.day) <= (7, 1) else start.year + 1
    need = in_force + int(claim.inputs["min_years_after"]) - 1
    listed = ", ".join(f"{e} ({d})" for e, d in zip(found["event_id"], found["start_date"],
                                                    strict=True))
    if last_data_year < need:
        raise Untestable(f"the measures named ({listed}) are in force from {in_force}; the "
                         f"trade data end in {last_data_year}, and the design needs data to "
                         f"{need}")
    raise Untestable(f"the data now reach {last_data_year}, after the measures ({listed}); "
                     "the timed estimate is not implemented yet, so no verdict is given")
