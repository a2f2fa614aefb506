"""Mirror flows: the exporter's and the importer's reports of one flow, and the value used.

Every flow i -> j in year t can be reported twice: by the exporter i (exports, FOB) and by the
importer j (imports, CIF, i.e. including cost, insurance and freight to j's border). Both
reports stay in the panel next to the value used: ``exports_reported`` (FOB USD),
``imports_reported`` (CIF USD), with their ``*_estimated`` flags and ``*_source``.

Source precedence (per report slot = year, exporter, importer, reporting side)
-----------------------------------------------------------------------------
``SOURCE_PRECEDENCE``: IMF IMTS (the successor of DOTS, when fetched and added) first, then
IMF DOTS, then national statistics, then any other source (alphabetical by name: e.g.
``baci``, ``reported_press``). A national figure is used for a slot only when DOTS has none: in
practice 2021-2023, where the DOTS copy stops in 2020. The source of a report is its *source
family* (``trade_source``; see ``tradeflows.panel.sample`` for samples that keep each pair's
series within one family).

Mirror rules (per pair-year; ``rule=``)
---------------------------------------
A report is *usable* when it is present and not flagged as a publisher's estimate. With both
reports usable, E = the exporter's report and M = the importer's report / ``cif_fob``
(``CIF_FOB = 1.06``, the factor the IMF uses to turn partner-reported imports into export
estimates: IMF, *Direction of Trade Statistics Yearbook 2017*, introduction). ``trade`` is in
FOB US dollars under both rules.

``"importer_first"`` (the rule of earlier versions):

1. the importer's usable report / ``cif_fob`` (basis ``"importer_cif"``): importers' customs
   records are taxed and kept by country of origin, exports often by first destination only;
2. else the exporter's usable report (``"exporter_fob"``);
3. else the importer's estimated report (``"importer_cif_estimated"``);
4. else the exporter's estimated report (``"exporter_fob_estimated"``);
5. else no report: ``trade`` is decided by the zero rule of ``tradeflows.panel.square``.

``"v2"`` (default) adds one step before 1: when the exporter is an **energy exporter**
(``energy_exporters()``: the World Bank's list in ``tradeflows/data/energy_exporters.csv``,
see its README) and its own report is usable, that report is used (basis ``"exporter_fob"``,
``trade_rule = "energy_exporter_report"``). Reasons: crude oil and gas leave by pipeline and
terminal, where the exporter meters every cargo, while importers often record them elsewhere:
under another partner (the country of the pipeline or the loading port, a blend's other
origin), as transit, or with the partner suppressed for confidentiality, so the importer's
report can be a fraction of the exporter's; and where an importer attributes to the exporter
cargoes the exporter recorded against another partner (a trading company's country), taking
the importer's report would count them twice. With the exporter's own reports the panel's
exports of an energy exporter add up to its own reported total. The rule is by exporter, not
by product (the bundled data have no product detail): an energy exporter's other exports are
also taken from its own report.

Known cases of disagreement and what each rule does (``mirror_case``, both reports usable):

* ``"agree"``: neither report exceeds ``factor`` times the other;
* ``"exporter_higher"`` (E > factor x M): pipeline and terminal exports of energy exporters
  recorded elsewhere by the importer (v2: the exporter's report); otherwise mostly
  **re-exports**: the exporter counts goods it re-exports, the importer records them under
  their country of origin (entrepots, used-car re-exports): both rules keep the importer's
  origin-based report for exporters not on the energy list;
* ``"importer_higher"`` (M > factor x E): typically **non-monetary gold** that the exporter
  leaves out of its merchandise exports while the importer records it (gold sold to refiners
  and bullion centres), or cargoes the exporter attributed to an intermediary: both rules keep
  the importer's report (IMTS 2010 counts non-monetary gold as goods), except v2 for an energy
  exporter (its own report, see above);
* ``"one_report"`` / ``"none"``: fewer than two usable reports; no comparison.

``mirror_ratio`` is E / M (NaN unless both are usable and positive). ``trade_rule`` says which
step chose ``trade`` (``"energy_exporter_report"`` or ``"importer_first"``), ``trade_side``
which side's report it is, ``trade_other_rule`` what the other rule gives and ``rule_moved``
whether the two rules differ for the pair-year: rerunning any result with
``rule="importer_first"`` is the robustness check.

Caveat: a pair's basis can change over time, most visibly from 2020 to 2021, when DOTS stops
and only national statistics remain; ``tradeflows.panel.sample.source_consistent`` builds
estimation samples that do not mix source families within a pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tradeflows.config import PACKAGE_DATA

CIF_FOB = 1.06
SOURCE_PRECEDENCE = ("imf_imts", "imf_dots", "national")
PAIR = ["year", "exporter", "importer"]

MirrorRule = Literal["v2", "importer_first"]
MIRROR_RULES: tuple[str, ...] = ("v2", "importer_first")
DEFAULT_RULE: MirrorRule = "v2"
#: Two reports "disagree" when one exceeds this multiple of the other (after CIF/FOB).
DISCREPANCY_FACTOR = 2.0
ENERGY_EXPORTERS_FILE = PACKAGE_DATA / "energy_exporters.csv"

BASES = ("importer_cif", "exporter_fob", "importer_cif_estimated", "exporter_fob_estimated")
BASIS_SIDE = {b: b.split("_")[0] for b in BASES}


@lru_cache(maxsize=4)
def _read_energy_exporters(path: Path) -> frozenset[str]:
    table = pd.read_csv(path, dtype=str)
    return frozenset(table["iso3"].str.strip())


def energy_exporters(path: str | Path | None = None) -> frozenset[str]:
    """ISO3 codes of the energy exporters the v2 rule trusts (package list by default)."""
    return _read_energy_exporters(Path(path) if path is not None else ENERGY_EXPORTERS_FILE)


def source_rank(sources: pd.Series) -> pd.Series:
    """Rank of each source: ``SOURCE_PRECEDENCE`` first, other sources after, by name."""
    codes, uniques = pd.factorize(sources)
    names = [str(u) for u in uniques]
    others = sorted(set(names) - set(SOURCE_PRECEDENCE))
    order = {s: i for i, s in enumerate([*SOURCE_PRECEDENCE, *others])}
    ranks = np.array([order[n] for n in names] + [len(order)], dtype="int64")
    return pd.Series(ranks[codes], index=sources.index)


def select_reports(flows: pd.DataFrame) -> pd.DataFrame:
    """One report per slot (``year, exporter, importer, reporter_side``), by source precedence.

    ``flows``: canonical trade table. Returns the chosen rows (same columns).
    """
    ranked = flows.assign(_rank=source_rank(flows["source"]))
    ranked = ranked.sort_values([*PAIR, "reporter_side", "_rank"], kind="stable")
    chosen = ranked.drop_duplicates([*PAIR, "reporter_side"], keep="first")
    return chosen.drop(columns="_rank").reset_index(drop=True)


def _choose(pairs: pd.DataFrame, imp_fob: np.ndarray, exp_fob: np.ndarray, rule: str,
            energy_first: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                               np.ndarray]:
    """(trade, basis, source, rule step) of every pair-year under ``rule``."""
    has_imp = pairs["imports_reported"].notna().to_numpy()
    has_exp = pairs["exports_reported"].notna().to_numpy()
    imp_est = pairs["imports_estimated"].fillna(False).astype(bool).to_numpy()
    exp_est = pairs["exports_estimated"].fillna(False).astype(bool).to_numpy()
    first = energy_first if rule == "v2" else np.zeros(len(pairs), dtype=bool)
    conditions = [first, has_imp & ~imp_est, has_exp & ~exp_est, has_imp, has_exp]
    imp_src = pairs["imports_source"].to_numpy(dtype=object)
    exp_src = pairs["exports_source"].to_numpy(dtype=object)
    trade = np.select(conditions, [exp_fob, imp_fob, exp_fob, imp_fob, exp_fob], np.nan)
    basis = np.select(conditions, ["exporter_fob", *BASES], "none")
    source = np.select(conditions, [exp_src, imp_src, exp_src, imp_src, exp_src], None)
    step = np.where(first, "energy_exporter_report",
                    np.where(basis == "none", None, "importer_first"))
    return trade, basis, source, step


def reconcile(reports: pd.DataFrame, cif_fob: float = CIF_FOB, *,
              rule: MirrorRule = DEFAULT_RULE, factor: float = DISCREPANCY_FACTOR,
              energy: Iterable[str] | None = None) -> pd.DataFrame:
    """Pair-year table from chosen reports (``select_reports``), with the mirror ``rule``.

    Columns: ``year, exporter, importer, exports_reported, exports_estimated, exports_source,
    imports_reported, imports_estimated, imports_source, trade, trade_basis, trade_source,
    trade_side, trade_rule, mirror_ratio, mirror_case, trade_other_rule, rule_moved``.
    Values in USD; ``trade`` in FOB terms; pairs nobody reported are absent. ``energy``:
    ISO3 codes of energy exporters (default ``energy_exporters()``).
    """
    if cif_fob <= 0:
        raise ValueError(f"cif_fob must be positive, got {cif_fob}")
    if rule not in MIRROR_RULES:
        raise ValueError(f"rule must be one of {MIRROR_RULES}, got {rule!r}")
    if not factor > 1:
        raise ValueError(f"factor must be greater than 1, got {factor}")
    energy_set = energy_exporters() if energy is None else frozenset(energy)
    cols = ["value_usd", "estimated", "source"]
    side = reports["reporter_side"]
    exp = reports.loc[side == "exporter", [*PAIR, *cols]].rename(columns={
        "value_usd": "exports_reported", "estimated": "exports_estimated",
        "source": "exports_source"})
    imp = reports.loc[side == "importer", [*PAIR, *cols]].rename(columns={
        "value_usd": "imports_reported", "estimated": "imports_estimated",
        "source": "imports_source"})
    pairs = exp.merge(imp, on=PAIR, how="outer", sort=True)
    imp_fob = pairs["imports_reported"].to_numpy(dtype="float64") / cif_fob
    exp_fob = pairs["exports_reported"].to_numpy(dtype="float64")
    usable_imp = (pairs["imports_reported"].notna()
                  & ~pairs["imports_estimated"].fillna(False).astype(bool)).to_numpy()
    usable_exp = (pairs["exports_reported"].notna()
                  & ~pairs["exports_estimated"].fillna(False).astype(bool)).to_numpy()
    both = usable_imp & usable_exp
    with np.errstate(invalid="ignore"):
        exp_high = both & (exp_fob > factor * imp_fob)
        imp_high = both & (imp_fob > factor * exp_fob)
        positive = both & (exp_fob > 0) & (imp_fob > 0)
        ratio = np.where(positive, exp_fob / np.where(positive, imp_fob, 1.0), np.nan)
    is_energy = pairs["exporter"].astype(object).isin(energy_set).to_numpy()
    energy_first = usable_exp & is_energy
    chosen = _choose(pairs, imp_fob, exp_fob, rule, energy_first)
    other = _choose(pairs, imp_fob, exp_fob,
                    "importer_first" if rule == "v2" else "v2", energy_first)
    pairs["trade"], pairs["trade_basis"], pairs["trade_source"], pairs["trade_rule"] = chosen
    pairs["trade_side"] = pairs["trade_basis"].map(BASIS_SIDE)
    pairs["mirror_ratio"] = ratio
    pairs["mirror_case"] = np.select(
        [exp_high, imp_high, both, usable_imp | usable_exp],
        ["exporter_higher", "importer_higher", "agree", "one_report"], "none")
    pairs["trade_other_rule"] = other[0]
    a, b = chosen[0], other[0]
    pairs["rule_moved"] = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    for col in ("exports_estimated", "imports_estimated"):
        pairs[col] = pairs[col].astype("boolean")
    return pairs.reset_index(drop=True)


def rule_moves(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pair-years where the two mirror rules give different values, with both values, the
    reports and the case (``reconcile`` output or the panel); sorted by the absolute change."""
    moved = pairs[pairs["rule_moved"].fillna(False).astype(bool)]
    cols = [*PAIR, "trade", "trade_other_rule", "trade_rule", "mirror_case", "mirror_ratio",
            "exports_reported", "imports_reported", "trade_source"]
    out = moved[cols].assign(change=(moved["trade"] - moved["trade_other_rule"]).abs())
    return out.sort_values(["change", *PAIR], ascending=[False, True, True, True]
                           ).reset_index(drop=True)
