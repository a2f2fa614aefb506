"""Check the panel against a country's own reported trade.

For one country and a list of partners (plus ``"total"``: all partners), by year and flow
(``exports``, ``imports``, ``turnover``), the table puts the panel's value next to the value
the country itself reported: its reporter-side figures in IMF IMTS or DOTS, else in national
statistics, else a full-year figure quoted in the press (``reported.parquet``; approximate or
derived figures are used but said so in ``reported_source``).

The panel's ``trade`` is FOB; the country reports its imports CIF. ``panel_value`` is the
panel's FOB sum, ``panel_value_reporter_basis`` values imports as the country does (imports x
``cif_fob``), and ``ratio`` = ``panel_value_reporter_basis / reported_value``. ``panel_rules``
and ``panel_sources`` list the mirror-rule steps and source families behind the panel value,
``panel_pairs`` how many of the partners' flows the panel observes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tradeflows.panel.aggregate import country_rows
from tradeflows.panel.mirror import CIF_FOB

TOTAL = "total"
FLOWS = ("exports", "imports", "turnover")
REPORTED_ORDER = ("imf_imts", "imf_dots", "national")
COLUMNS = ["year", "country", "partner", "flow", "panel_value", "panel_value_reporter_basis",
           "reported_value", "ratio", "reported_source", "panel_rules", "panel_sources",
           "panel_pairs", "rule"]


def _joined(values: pd.Series) -> str:
    return "+".join(sorted({str(v) for v in values.dropna()}))


def _panel_side(panel: pd.DataFrame, country: str, partners: Sequence[str] | None,
                flow: str) -> pd.DataFrame:
    """Per year (and partner, or ``TOTAL``), the panel's flows of ``country``."""
    own, other = ("exporter", "importer") if flow == "exports" else ("importer", "exporter")
    rows = panel[(panel[own] == country) & (panel[other] != country)]
    rows = rows.assign(partner=rows[other].astype(object))
    if partners is not None:
        rows = rows[rows["partner"].isin(partners)]
    else:
        rows = rows.assign(partner=TOTAL)
    g = rows.groupby(["year", "partner"], sort=True)
    return pd.DataFrame({
        "value": g["trade"].sum(min_count=1),
        "pairs": g["trade"].count(),
        "rules": g["trade_rule"].agg(_joined) if "trade_rule" in rows else "",
        "sources": g["trade_source"].agg(_joined) if "trade_source" in rows else "",
    }).reset_index()


def _reported_side(flows: pd.DataFrame, country: str, partners: Sequence[str] | None,
                   flow: str) -> pd.DataFrame:
    """The country's own reports per year (and partner / ``TOTAL``), best source first."""
    side, own, other = (("exporter", "exporter", "importer") if flow == "exports"
                        else ("importer", "importer", "exporter"))
    rows = flows[(flows["reporter_side"] == side) & (flows[own] == country)
                 & (flows[other] != country) & flows["source"].isin(REPORTED_ORDER)]
    rows = rows.assign(partner=rows[other].astype(object))
    if partners is not None:
        rows = rows[rows["partner"].isin(partners)]
    else:
        rows = rows.assign(partner=TOTAL)
    g = rows.groupby(["year", "partner", "source"], sort=True)["value_usd"].sum().reset_index()
    g["_rank"] = g["source"].map({s: i for i, s in enumerate(REPORTED_ORDER)})
    g = g.sort_values(["year", "partner", "_rank"]).drop_duplicates(["year", "partner"])
    return g.rename(columns={"value_usd": "reported", "source": "reported_source"}
                    ).drop(columns="_rank")


def _press(reported: pd.DataFrame | None, country: str, partners: Sequence[str] | None
           ) -> pd.DataFrame:
    cols = ["year", "partner", "flow", "reported", "reported_source"]
    if reported is None or partners is None or not len(reported):
        return pd.DataFrame(columns=cols)
    ok = reported[(reported["reporter"] == country) & reported["full_year"]
                  & reported["partner"].isin(partners) & ~reported["validation_row"]]
    flags = np.where(ok["approx"], " (approximate)", "") + np.where(ok["derived"],
                                                                      " (derived)", "")
    out = pd.DataFrame({"year": ok["year"], "partner": ok["partner"], "flow": ok["flow"],
                        "reported": ok["value_usd"],
                        "reported_source": "reported_press: " + ok["source_agency"] + flags})
    return out.drop_duplicates(["year", "partner", "flow"]).reset_index(drop=True)


def validation_table(panel: pd.DataFrame, flows: pd.DataFrame, country: str,
                     partners: Sequence[str], *, reported: pd.DataFrame | None = None,
                     cif_fob: float = CIF_FOB, rule: str = "") -> pd.DataFrame:
    """The check described in the module docstring; columns ``COLUMNS``, one row per
    (year, partner, flow) of the panel's years, partners in the given order then ``total``."""
    panel = country_rows(panel)
    frames = []
    for group in (list(partners), None):
        sides = {}
        for flow in ("exports", "imports"):
            p = _panel_side(panel, country, group, flow)
            r = _reported_side(flows, country, group, flow)
            sides[flow] = p.merge(r, on=["year", "partner"], how="left")
        ex, im = sides["exports"], sides["imports"]
        both = ex.merge(im, on=["year", "partner"], how="outer", suffixes=("_ex", "_im"))
        for flow in FLOWS:
            if flow == "turnover":
                value = both["value_ex"] + both["value_im"]
                basis = both["value_ex"] + both["value_im"] * cif_fob
                rep = both["reported_ex"] + both["reported_im"]
                src = both["reported_source_ex"].where(
                    both["reported_source_ex"] == both["reported_source_im"])
                rules = (both["rules_ex"].fillna("") + "/" + both["rules_im"].fillna(""))
                sources = (both["sources_ex"].fillna("") + "/"
                           + both["sources_im"].fillna(""))
                pairs = both["pairs_ex"].fillna(0) + both["pairs_im"].fillna(0)
            else:
                k = "_ex" if flow == "exports" else "_im"
                value = both["value" + k]
                basis = value * (cif_fob if flow == "imports" else 1.0)
                rep, src = both["reported" + k], both["reported_source" + k]
                rules, sources = both["rules" + k], both["sources" + k]
                pairs = both["pairs" + k].fillna(0)
            src = src.where(rep.notna())
            frames.append(pd.DataFrame({
                "year": both["year"], "country": country, "partner": both["partner"],
                "flow": flow, "panel_value": value, "panel_value_reporter_basis": basis,
                "reported_value": rep, "reported_source": src, "panel_rules": rules,
                "panel_sources": sources, "panel_pairs": pairs.astype("int64")}))
    out = pd.concat(frames, ignore_index=True)
    press = _press(reported, country, partners)
    if len(press):
        out = out.merge(press, on=["year", "partner", "flow"], how="left")
        fill = out["reported_value"].isna() & out["reported"].notna()
        out.loc[fill, "reported_value"] = out.loc[fill, "reported"]
        out.loc[fill, "reported_source"] = out.loc[fill, "reported_source_y"]
        out["reported_source"] = out["reported_source_x"].where(~fill,
                                                                out["reported_source_y"])
        out = out.drop(columns=["reported", "reported_source_x", "reported_source_y"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["panel_value_reporter_basis"] / out["reported_value"]
    out["rule"] = rule
    order = {p: i for i, p in enumerate([*partners, TOTAL])}
    out["_p"] = out["partner"].map(order)
    out["_f"] = out["flow"].map({f: i for i, f in enumerate(FLOWS)})
    out = out.sort_values(["_p", "_f", "year"]).drop(columns=["_p", "_f"])
    return out[COLUMNS].reset_index(drop=True)


def describe_validation(table: pd.DataFrame, flow: str = "turnover", last: int = 12) -> str:
    """A compact text of the ``flow`` rows of the ``last`` years with a comparison: one line
    per partner, ratio by year (the file has every year)."""
    rows = table[(table["flow"] == flow) & table["ratio"].notna()]
    rows = rows[rows["year"].isin(sorted(rows["year"].unique())[-last:])]
    if not len(rows):
        return f"validation: no {flow} figure to compare"
    country = str(rows["country"].iloc[0])
    years = sorted(rows["year"].unique())
    lines = [f"validation: panel / {country}'s own reports ({flow}, imports valued CIF as "
             f"reported), rule {rows['rule'].iloc[0] or '?'}",
             f"  {'partner':<8}" + "".join(f"{y:>7}" for y in years)]
    for partner, grp in rows.groupby("partner", sort=False):
        by_year = dict(zip(grp["year"], grp["ratio"], strict=True))
        lines.append(f"  {partner:<8}" + "".join(
            f"{by_year[y]:>7.2f}" if y in by_year else f"{'':>7}" for y in years))
    return "\n".join(lines)
