"""Counterfactual scenarios on the pair-year panel: scenarios are data files.

A scenario file (TOML; a study's ``tradeflows/studies/<study>/scenarios/<name>.toml``, found
by name, or any path) states the gravity
specification whose partial effects drive it, the baseline year, and the changes to pair
variables (``[[change]]`` tables). :func:`run_scenario` (called by ``tradeflows simulate``)
estimates the partial effects on the panel with PPML, builds a square baseline cross-section
(domestic flows constructed as GDP minus total exports: an approximation, flagged in every
output), solves the full-endowment GE counterfactual by exact hat algebra from the observed
baseline, draws the partial effects for intervals and writes a Parquet table, Markdown /
LaTeX / HTML tables and a PNG / SVG figure. Schema: docs/ge.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.config import Paths, study_files
from tradeflows.errors import DataError, SpecificationError
from tradeflows.gravity.ge import GEModel
from tradeflows.gravity.scenario_schema import (
    Change,
    Scenario,
    formula_names,
    parse_scenario,
)
from tradeflows.gravity.uncertainty import GEIntervals, simulate_intervals
from tradeflows.io import StagedOutputs, write_json, write_parquet
from tradeflows.report.tables import write_table
from tradeflows.selection import SelectionError, check, column_kind, columns, evaluate

#: The studies' scenarios by name (``tradeflows.config.study_files``).
SCENARIOS: dict[str, Path] = study_files("scenarios")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read a study's scenario by name (:data:`SCENARIOS`), or any scenario file by path, and check it against
    the schema of :mod:`tradeflows.gravity.scenario_schema` (one-line ``DataError`` naming
    the file and key on any wrong type, non-finite number, unknown country or bad year)."""
    path = SCENARIOS.get(str(name_or_path))
    if path is None:
        path = Path(name_or_path)
        if not path.is_file():
            raise SpecificationError(f"unknown scenario {name_or_path!r}; bundled: "
                                     f"{sorted(SCENARIOS)} (or give a .toml file path)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"not valid TOML: {exc}", file=path) from exc
    return parse_scenario(raw, path)


# --- baseline cross-section ----------------------------------------------------------------
def baseline_cross_section(panel: pd.DataFrame, year: int | None, terms: list[str],
                           file: object = None) -> tuple[pd.DataFrame, int, list[str]]:
    """Square cross-section for GE: ``exporter, importer, trade`` (USD) + ``terms``.

    Countries need GDP (``gdp_exporter``) in the year. Missing international flows (nobody
    reported) are set to 0; domestic flows are constructed as GDP minus total exports to the
    sample (GDP as a proxy of gross output: an approximation); countries whose exports reach
    their GDP, or with no exports or no imports, are dropped. ``year=None`` picks the latest year with at least 90% of the best year's countries.
    Returns (frame, year, notes).
    """
    need = ["year", "exporter", "importer", "trade", "gdp_exporter", *terms]
    absent = [c for c in need if c not in panel.columns]
    if absent:
        raise DataError(f"panel lacks column(s) {absent}", file=file, column=absent[0])
    gdp = panel.groupby(["year", "exporter"])["gdp_exporter"].first()
    usable = gdp[gdp > 0].groupby(level="year").size()
    if usable.empty:
        raise DataError("no year with GDP data for any country", file=file, column="gdp_exporter")
    if year is None:
        year = int(usable[usable >= 0.9 * usable.max()].index.max())
    elif year not in usable.index:
        raise DataError(f"no country has GDP in year {year}", file=file, column="gdp_exporter")
    notes: list[str] = []
    g = gdp.loc[year]
    keep = sorted(g[g > 0].index)
    xs = panel[(panel["year"] == year) & panel["exporter"].isin(keep)
               & panel["importer"].isin(keep)].copy()
    intl = xs["exporter"] != xs["importer"]
    n_missing = int(xs.loc[intl, "trade"].isna().sum())
    xs.loc[intl, "trade"] = xs.loc[intl, "trade"].fillna(0.0)
    exports = xs[intl].groupby("exporter")["trade"].sum().reindex(keep, fill_value=0.0)
    domestic = g.loc[keep] - exports
    ratio = float(np.median(exports / g.loc[keep]))
    if ratio > 1.0:
        raise DataError(f"median exports/GDP is {ratio:.2f} in {year}: units of trade and GDP "
                        "differ", file=file, column="gdp_exporter")
    dropped = sorted(domestic[domestic <= 0].index)
    keep = [c for c in keep if c not in dropped]
    xs = xs[xs["exporter"].isin(keep) & xs["importer"].isin(keep) & intl]
    trade_sum = xs.groupby("exporter")["trade"].sum().reindex(keep, fill_value=0.0)
    imp_sum = xs.groupby("importer")["trade"].sum().reindex(keep, fill_value=0.0)
    isolated = sorted(c for c in keep if trade_sum[c] <= 0 or imp_sum[c] <= 0)
    keep = [c for c in keep if c not in isolated]
    xs = xs[xs["exporter"].isin(keep) & xs["importer"].isin(keep)]
    exports = xs.groupby("exporter")["trade"].sum().reindex(keep, fill_value=0.0)
    dom = pd.DataFrame({"exporter": keep, "importer": keep,  # output = GDP within the sample
                        "trade": (g.loc[keep] - exports).to_numpy()})
    for t in terms:
        dom[t] = 0.0
    out = pd.concat([xs[["exporter", "importer", "trade", *terms]], dom], ignore_index=True)
    index = pd.MultiIndex.from_product([keep, keep], names=["exporter", "importer"])
    out = out.set_index(["exporter", "importer"]).reindex(index).reset_index()
    out["trade"] = out["trade"].fillna(0.0)
    out[terms] = out[terms].fillna(0.0)
    notes.append(f"baseline year {year}: {len(keep)} countries with GDP")
    notes.append("domestic flows constructed as GDP minus total exports (GDP as a proxy of gross "
                 "output): an approximation")
    notes.append(f"{n_missing} unreported international flows set to 0")
    if dropped:
        notes.append(f"dropped (exports >= GDP, no domestic flow): {dropped}")
    if isolated:
        notes.append(f"dropped (no recorded exports or imports): {isolated}")
    return out, year, notes


def _group(codes: tuple[str, ...], year: int) -> set[str] | None:
    """Expand ``@INSTITUTION`` entries (members on 1 July of ``year``); empty -> any country."""
    if not codes:
        return None
    out: set[str] = set()
    for c in codes:
        if c.startswith("@"):
            from tradeflows.policy.memberships import members

            out |= set(members(c[1:], f"{year}-07-01"))
        else:
            out.add(c)
    return out


def _route_delta(change: Change, pairs: pd.DataFrame, year: int) -> np.ndarray:
    """Change of a route variable under a route scenario of :mod:`tradeflows.policy.corridors`.

    Both routes are computed for ``route_year`` (default: the baseline year; a scenario link
    may open only from a later year): ``scenario - baseline`` for a route column, the log
    difference for ``ln_<route column>``. NaN where the pair is outside the network.
    """
    from tradeflows.policy.corridors import ROUTE_COLUMNS, route_variables

    var = change.variable
    col = var[3:] if var.startswith("ln_") else var
    if col not in ROUTE_COLUMNS:
        raise SpecificationError(f"route_scenario changes a route variable {ROUTE_COLUMNS} or "
                                 f"its ln_ form, not {var!r}")
    ry = change.route_year or year
    keys = pairs[["exporter", "importer"]]
    base = keys.merge(route_variables(keys, [ry]), on=["exporter", "importer"], how="left")
    alt = keys.merge(route_variables(keys, [ry], scenario=change.route_scenario),
                     on=["exporter", "importer"], how="left")
    a, b = alt[col].to_numpy(float), base[col].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(a / b) if var.startswith("ln_") else a - b


def selection_frame(xs: pd.DataFrame, year: int, columns: list[str],
                    panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cross-section's pairs with the columns a ``where`` selection uses: those of
    ``xs``, ``year`` (the baseline year) and, from ``panel``'s rows of ``year``, any other
    panel column."""
    frame = xs[["exporter", "importer"]].assign(year=year)
    have = set(frame.columns)
    from_xs = [c for c in columns if c not in have and c in xs.columns]
    frame[from_xs] = xs[from_xs]
    rest = [c for c in columns if c not in frame.columns]
    if rest and panel is not None:
        extra = [c for c in rest if c in panel.columns]
        if extra:
            rows = panel.loc[panel["year"] == year, ["exporter", "importer", *extra]]
            rows = rows.drop_duplicates(["exporter", "importer"])
            merged = frame[["exporter", "importer"]].merge(rows, how="left",
                                                           on=["exporter", "importer"])
            for c in extra:
                frame[c] = merged[c].to_numpy()
    return frame


def _select(change: Change, frame: pd.DataFrame, year: int, file: object) -> np.ndarray:
    """Evaluate a change's ``where`` on ``frame``; an unknown column or a value of the wrong
    kind raises ``DataError`` (countries and groups were checked on reading)."""
    try:
        check(change.selection, {c: column_kind(frame[c]) for c in frame.columns})
        return evaluate(change.selection, frame,
                        expand=lambda g: _group((f"@{g}",), year) or set())
    except SelectionError as exc:
        raise DataError(f"key change.where ({change.where!r}): {exc}; expected a selection "
                        "on the panel's columns", file=file) from exc


def scenario_costs(scn: Scenario, xs: pd.DataFrame, year: int,
                   panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counterfactual values of the shocked variables: ``exporter, importer, <terms>``.

    Domestic pairs never change. Filters: ``exporters`` / ``importers`` (ISO3 or
    ``@INSTITUTION``), ``symmetric`` (also the reverse direction), ``where`` (a selection of
    :mod:`tradeflows.selection` on the cross-section's columns, ``year`` and, given
    ``panel``, any panel column in the baseline year).
    """
    out = xs[["exporter", "importer", *scn.shock_terms]].copy()
    intl = (out["exporter"] != out["importer"]).to_numpy()
    for ch in scn.changes:
        if ch.variable not in out.columns:
            raise DataError(f"scenario changes {ch.variable!r}, not a panel column",
                            file=scn.file, column=ch.variable)
        exp_set, imp_set = _group(ch.exporters, year), _group(ch.importers, year)

        def within(e: pd.Series, i: pd.Series, es=exp_set, is_=imp_set) -> np.ndarray:
            a = e.isin(es).to_numpy() if es is not None else np.ones(len(e), bool)
            b = i.isin(is_).to_numpy() if is_ is not None else np.ones(len(i), bool)
            return a & b

        hit = within(out["exporter"], out["importer"])
        if ch.symmetric:
            hit |= within(out["importer"], out["exporter"])
        if ch.selection is not None:
            frame = selection_frame(xs, year, columns(ch.selection), panel)
            hit &= _select(ch, frame, year, scn.file)
        hit &= intl
        cur = out[ch.variable].to_numpy(float)
        if ch.value is not None:
            new = np.full(len(cur), float(ch.value))
        elif ch.multiply is not None:
            new = cur * float(ch.multiply)
        elif ch.add is not None:
            new = cur + float(ch.add)
        else:
            delta = _route_delta(ch, out, year)
            hit &= np.isfinite(delta) & (delta != 0)
            new = cur + np.where(np.isfinite(delta), delta, 0.0)
        out[ch.variable] = np.where(hit, new, cur)
    return out


# --- estimation ------------------------------------------------------------------------------
def _names(scn: Scenario) -> set[str]:
    """Variables the scenario uses (formula tokens, changed variables, selection columns)."""
    used = formula_names(scn.formula) | set(scn.shock_terms)
    for ch in scn.changes:
        if ch.selection is not None:
            used |= set(columns(ch.selection))
    return used


def read_panel(path: Path, scn: Scenario) -> pd.DataFrame:
    """The panel columns the scenario needs."""
    import pyarrow.parquet as pq

    from tradeflows.panel.aggregate import country_rows

    used = _names(scn)
    used |= {v[3:] for v in used if v.startswith("ln_")}
    used |= {"year", "exporter", "importer", "trade", "gdp_exporter", "eu_aggregate"}
    # the EU27's rows as one exporter are dropped: its members trade in their own rows
    return country_rows(pd.read_parquet(
        path, columns=[c for c in pq.read_schema(path).names if c in used]))


def with_logs(panel: pd.DataFrame, scn: Scenario) -> pd.DataFrame:
    """Add ``ln_X = log(X)`` (NaN where X <= 0) for every ``ln_X`` the scenario uses that the
    panel lacks but whose ``X`` it has (e.g. ``ln_route_cost``)."""
    add = {v: v[3:] for v in _names(scn)
           if v.startswith("ln_") and v not in panel.columns and v[3:] in panel.columns}
    if not add:
        return panel
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = {v: np.log(panel[x].where(panel[x] > 0)) for v, x in add.items()}
    return panel.assign(**logs)


#: The partial-effect fits of this process by (panel file, formula, vcov, estimation years):
#: scenarios sharing them (four of the study's five bundled scenarios do) reuse one fit, so
#: ``tradeflows reproduce`` estimates it once. A rewritten panel file (new
#: size, modification time or inode) is a new key; at most :data:`_FITS_KEPT` fits are kept.
_FITS: dict[tuple, object] = {}
_FITS_KEPT = 4


def _fit_key(panel_file: Path, scn: Scenario) -> tuple:
    st = Path(panel_file).stat()
    years = None if scn.estimation_years is None else tuple(scn.estimation_years)
    return (str(Path(panel_file).resolve()), st.st_size, st.st_mtime_ns, st.st_ino,
            scn.formula, repr(scn.vcov), years)


def estimate_effects(panel: pd.DataFrame, scn: Scenario, panel_file: Path | None = None):
    """PPML of the scenario's formula on the international flows of the panel (read from
    ``panel_file``: if given, a fit of the same file, formula, vcov and years made earlier in
    this process is reused)."""
    from tradeflows.estimation import ppml

    key = None if panel_file is None else _fit_key(panel_file, scn)
    res = _FITS.get(key) if key is not None else None
    if res is None:
        df = panel[panel["exporter"] != panel["importer"]]
        if scn.estimation_years is not None:
            df = df[df["year"].isin(scn.estimation_years)]
        df = df.assign(pair=df["exporter"] + "_" + df["importer"])
        res = ppml(df, scn.formula, vcov=scn.vcov)
        if key is not None:
            _FITS[key] = res
            while len(_FITS) > _FITS_KEPT:
                del _FITS[next(iter(_FITS))]
    missing = [t for t in scn.shock_terms if t not in res.coef.index]
    if missing:
        raise SpecificationError(f"{scn.file}: shocked variable(s) {missing} not estimated by "
                                 f"{scn.formula!r}")
    return res


def cited_effects(scn: Scenario, coef: pd.Series, vcov: pd.DataFrame
                  ) -> tuple[pd.Series, pd.DataFrame, str]:
    """The partial effects the scenario uses: the data's, except a term the data do not
    identify (|estimate / se| below the ``[cited]`` threshold), which takes the published
    estimate and its standard error (covariances with other terms set to 0). Returns
    (coefficients, covariance, a note saying which was used)."""
    cited = scn.cited
    if cited is None:
        return coef, vcov, ""
    b, se = float(coef[cited.term]), float(np.sqrt(vcov.loc[cited.term, cited.term]))
    t = abs(b / se) if se > 0 else 0.0
    if t >= cited.min_abs_t:
        return coef, vcov, (f"{cited.term}: the data identify it (estimate {b:.3f}, se "
                            f"{se:.3f}, |t| {t:.2f}); the published estimate is not used")
    coef, vcov = coef.copy(), vcov.copy()
    coef[cited.term] = cited.estimate
    vcov.loc[cited.term, :] = 0.0
    vcov.loc[:, cited.term] = 0.0
    vcov.loc[cited.term, cited.term] = cited.std_error ** 2
    return coef, vcov, (f"{cited.term}: not identified by the data (estimate {b:.3f}, se "
                        f"{se:.3f}, |t| {t:.2f} < {cited.min_abs_t:g}); the published "
                        f"estimate {cited.estimate:g} (se {cited.std_error:g}) of "
                        f"{cited.source} is used for the point and the draws")


# --- fitted baseline -----------------------------------------------------------------------
#: Trade-cost terms the international panel cannot identify, estimated on the baseline
#: cross-section (with its domestic flows) by PPML with the panel's coefficients as offset.
STAGE1_TERMS = ("intl", "in_network", "closed_border")


def _route_term(terms: list[str]) -> str | None:
    """The formula's route variable (``ln_route_*`` or ``route_*``), if any."""
    return next((t for t in terms if t.startswith(("ln_route_", "route_"))), None)


def fitted_model(panel: pd.DataFrame, scn: Scenario, coef: pd.Series, file: object = None
                 ) -> tuple[GEModel, pd.DataFrame, int, list[str], pd.DataFrame]:
    """The GE model of a ``baseline = "fitted"`` scenario (GE-PPML, Yotov et al. 2016 ch. 2).

    Trade costs are ``exp(b'z)`` over every regressor of the formula (``coef``: the panel's
    estimates, a cited value replacing an unidentified one) plus :data:`STAGE1_TERMS`: the
    border (``intl``), the level of the route network (``in_network``: 1 where the formula's
    route variable is observed, which is 0 elsewhere; the panel estimates the route term on
    network pairs only; the route term is centred on its network mean so that ``in_network``
    carries the level) and ``closed_border`` (1 for the scenario's ``blockade`` pairs, both
    directions). Their coefficients are estimated on the baseline cross-section by PPML with
    exporter and importer fixed effects and ``b'z`` as offset. The baseline flows are the
    model's fit with the data's output and expenditure, so a pair with an observed zero (a
    closed border) has a positive trade cost that a counterfactual can lower. Returns
    (model, cross-section, year, notes, coefficient table)."""
    from tradeflows.estimation import ppml

    terms = list(coef.index)
    xs, year, notes = baseline_cross_section(panel, scn.year, terms, file=file)
    keys = ["exporter", "importer"]
    xs["intl"] = (xs["exporter"] != xs["importer"]).astype(float)
    stage1 = ["intl"]
    route = _route_term(terms)
    if route is not None:
        observed = panel.loc[(panel["year"] == year) & panel[route].notna(), keys]
        on = xs[keys].merge(observed.assign(_on=1.0), on=keys, how="left")["_on"]
        xs["in_network"] = on.fillna(0.0).to_numpy() * xs["intl"].to_numpy()
        stage1.append("in_network")
        # the route term as a deviation from its network mean: ``in_network`` carries the
        # level, so a draw of the route coefficient changes the slope, not the level of every
        # network pair's baseline cost
        net = xs["in_network"].to_numpy() == 1
        center = float(xs.loc[net, route].mean())
        xs.loc[net, route] -= center
        notes.append(f"{route} centred on its mean over the network pairs ({center:.3f})")
    if scn.blockade:
        closed = {p for a, b in scn.blockade for p in ((a, b), (b, a))}
        xs["closed_border"] = [float(k in closed) for k in zip(xs["exporter"], xs["importer"],
                                                                strict=True)]
        stage1.append("closed_border")
    offset = np.zeros(len(xs))
    for t in terms:
        offset += float(coef[t]) * xs[t].to_numpy(float)
    fit = ppml(xs.assign(_offset=offset), f"trade ~ {' + '.join(stage1)} | exporter + importer",
               offset="_offset", vcov="hetero")
    missing = [t for t in stage1 if t not in fit.coef.index]
    if missing:
        raise SpecificationError(f"{scn.file}: fitted baseline: {missing} not identified on "
                                 f"the {year} cross-section (e.g. every blocked pair's flow is "
                                 "zero)")
    coefs = {**{t: float(coef[t]) for t in terms}, **fit.coef[stage1].to_dict()}
    model = GEModel(xs, cost_terms=terms + stage1, sigma=scn.sigma,
                    reference=scn.reference if scn.reference in set(xs["exporter"])
                    else xs["exporter"].iloc[0], coefs=coefs, baseline="fitted", file=file)
    table = pd.DataFrame({"estimate": fit.coef[stage1], "std_error": fit.se[stage1]})
    notes.append("fitted baseline (GE-PPML): trade costs exp(b'z) from the panel's "
                 f"coefficients of {terms} and, estimated on the {year} cross-section with "
                 "them as offset: " + ", ".join(f"{t} {fit.coef[t]:+.3f} (se {fit.se[t]:.3f})"
                                                for t in stage1)
                 + "; baseline flows are the model's fit with the data's output and expenditure")
    if scn.blockade:
        flows = xs[xs["closed_border"] == 1].set_index(keys)["trade"]
        notes.append("blockade: " + ", ".join(f"{a}-{b}" for a, b in scn.blockade)
                     + " closed in the baseline (observed flows, USD: "
                     + ", ".join(f"{e}->{i} {v:,.0f}" for (e, i), v in flows.items()) + ")"
                     + ("; lifted in the counterfactual (closed_border 1 -> 0)"
                        if scn.lift_blockade else ""))
    return model, xs, year, notes, table


# --- outputs ---------------------------------------------------------------------------------
#: Countries other than the focus ones shown in a scenario's figure: the largest |changes|.
N_MOVERS = 8
_QUANTITIES = {"exports": "Exports", "imports": "Imports", "producer_price": "Producer price",
               "consumer_price": "Consumer price", "real_gdp": "Real GDP"}


def _ordered(table: pd.DataFrame, focus: Sequence[str] = ()) -> pd.DataFrame:
    """Countries in the order of the figure and the tables: first those in the figure (the
    ``focus`` countries (ISO3) and the ``N_MOVERS`` largest other real-GDP changes) by real-GDP change,
    largest first, then every other country the same way. Column ``shown``: "focus",
    "largest other change" or ""."""
    focus = table["country"].isin(list(focus))
    others = table.loc[~focus, ["country", "real_gdp"]]
    movers = others.reindex(others["real_gdp"].abs().sort_values(ascending=False,
                                                                  kind="stable").index)
    top = table["country"].isin(movers["country"].iloc[:N_MOVERS])
    t = table.assign(shown=np.where(focus, "focus", np.where(top, "largest other change", "")))
    first = t[t["shown"] != ""].sort_values("real_gdp", ascending=False, kind="stable")
    rest = t[t["shown"] == ""].sort_values("real_gdp", ascending=False, kind="stable")
    return pd.concat([first, rest], ignore_index=True)


def _display(table: pd.DataFrame) -> pd.DataFrame:
    """The table's text: country name and code, whether the figure shows it, and each change
    with its interval in significant digits (never 0.000 for a small change)."""
    from tradeflows.countries import country_name
    from tradeflows.tabular import number

    out = pd.DataFrame({"Country": [f"{country_name(c)} ({c})" for c in table["country"]],
                        "In figure": table["shown"]})
    for c, label in _QUANTITIES.items():
        out[f"{label} (%)"] = [f"{number(v, 2)} [{number(lo, 2)}, {number(hi, 2)}]"
                               for v, lo, hi in zip(table[c], table[f"{c}_lower"],
                                                    table[f"{c}_upper"], strict=True)]
    return out


def _figure(table: pd.DataFrame, title: str, note: str, base: Path) -> list[Path]:
    """Real-GDP changes with intervals of the countries the table marks as shown, sorted by
    change (focus countries in colour, each value printed); ``base.png`` and ``base.svg``."""
    from tradeflows.report import figures as fg

    shown = table[table["shown"] != ""]
    rows = pd.DataFrame({"label": [fg.country_label(c) for c in shown["country"]],
                         "estimate": shown["real_gdp"].to_numpy(),
                         "conf_low": shown["real_gdp_lower"].to_numpy(),
                         "conf_high": shown["real_gdp_upper"].to_numpy(),
                         "highlight": (shown["shown"] == "focus").to_numpy()})
    fig = fg.interval_figure(rows, null=0.0, title=title, note=note,
                             xlabel="Change in real GDP (%), full-endowment GE",
                             highlight_color=fg.FOCUS_COLOR)
    return fg.save_figure(fig, base)


def write_outputs(scn: Scenario, result: GEIntervals, year: int, notes: list[str],
                  coefs: pd.DataFrame, paths: Paths, focus: Sequence[str] = ()) -> list[Path]:
    """Write the Parquet table + JSON metadata, tables (md, tex, html) and figure (png, svg).

    Both sets are staged and committed as units (``tradeflows.io.StagedOutputs``): the
    report's tables and figures first, then the counterfactual tables with their JSON last,
    so a killed run leaves the previous scenario's files. Returns the final paths."""
    table = _ordered(result.country, focus)
    table.insert(0, "scenario", scn.name)
    table["baseline_year"] = year
    table["draws"] = result.draws
    table["draws_failed"] = result.failed
    table["level"] = result.level
    table["domestic_constructed"] = True
    pairs = result.point.pairs
    meta = {"scenario": scn.name, "title": scn.title, "description": scn.description,
            "file": scn.file.name, "formula": scn.formula, "sigma": scn.sigma,
            "reference": scn.reference, "baseline_year": year, "draws": result.draws,
            "draws_failed": result.failed, "level": result.level, "seed": result.seed,
            "method": result.point.method, "iterations": result.point.iterations,
            "partial_effects": coefs.reset_index().to_dict(orient="records"), "notes": notes}
    caption = (f"{scn.title}: full-endowment GE changes in percent (countries in the figure "
               f"first, each group by real-GDP change), {year} baseline, "
               f"{int(result.level * 100)}% intervals from {result.draws} draws "
               f"({result.failed} did not converge). Domestic flows approximated by GDP minus "
               "exports.")
    note = (f"Bold, blue: the study's focus countries; grey: the {N_MOVERS} largest other "
            f"changes. {int(result.level * 100)}% intervals from {result.draws} draws of the "
            f"partial effects ({result.failed} did not converge); baseline {year}. Countries "
            "in the same order as the table.")
    out_dir = paths.counterfactuals
    with StagedOutputs(paths.reports) as shown, StagedOutputs(
            out_dir, last=(f"{scn.name}.json",)) as data:
        staged = [write_parquet(table, data.path(out_dir / f"{scn.name}.parquet")),
                  write_parquet(pairs[pairs["trade"].abs() > 1e-9],
                                data.path(out_dir / f"{scn.name}_pairs.parquet")),
                  write_json(meta, data.path(out_dir / f"{scn.name}.json"))]
        if result.by_draw is not None:
            staged.append(write_parquet(result.by_draw,
                                        data.path(out_dir / f"{scn.name}_draws.parquet")))
        figures = write_table(_display(table),
                              shown.path(paths.reports / "tables" / f"ge_{scn.name}"), caption)
        figures += _figure(table, scn.title, note,
                           shown.path(paths.reports / "figures" / f"ge_{scn.name}"))
        shown.commit()
        data.commit()
    return [data.target(p) for p in staged] + [shown.target(p) for p in figures]


def run_scenario(name_or_path: str | Path, paths: Paths, draws: int | None = None,
                 seed: int = 20261128, progress: bool = True, workers: int = 2,
                 focus: Sequence[str] = ()) -> list[Path]:
    """Run one scenario end to end from ``paths.panel``; return the files written. ``focus``:
    the study's countries (ISO3), marked and shown first in the figure and tables."""
    scn = load_scenario(name_or_path)
    if draws is not None and (isinstance(draws, bool) or not isinstance(draws, int | np.integer)
                              or draws < 1):
        raise SpecificationError(f"draws={draws!r}; expected a whole number >= 1")
    if not paths.panel.is_file():
        raise DataError("panel not found; run `tradeflows build` first", file=paths.panel)
    panel = with_logs(read_panel(paths.panel, scn), scn)
    res = estimate_effects(panel, scn, paths.panel)
    terms = scn.shock_terms
    coef, vcov, cited_note = cited_effects(scn, res.coef[terms], res.vcov.loc[terms, terms])
    coefs = pd.DataFrame({"estimate": coef, "std_error": np.sqrt(np.diag(vcov))}, index=terms)
    coefs.index.name = "term"
    if scn.baseline == "fitted":
        every = res.coef.copy()
        every[terms] = coef
        model, xs, year, notes, stage1 = fitted_model(panel, scn, every, file=paths.panel)
        others = [t for t in every.index if t not in terms]
        coefs = pd.concat([coefs, pd.DataFrame(
            {"estimate": every[others], "std_error": res.se[others]}), stage1])
        coefs.index.name = "term"
    else:
        xs, year, notes = baseline_cross_section(panel, scn.year, terms, file=paths.panel)
        model = None
    if cited_note:
        notes.append(cited_note)
    reference = scn.reference if scn.reference in set(xs["exporter"]) else xs["exporter"].iloc[0]
    if reference != scn.reference:
        notes.append(f"reference {scn.reference} not in the sample; used {reference}")
    if model is None:
        model = GEModel(xs, cost_terms=terms, sigma=scn.sigma, reference=reference,
                        coefs=coef.to_dict(), baseline="observed", file=paths.panel)
    new = scenario_costs(scn, xs, year, panel)
    changed = (new[terms].to_numpy() != xs[terms].to_numpy()).any(axis=1)
    if scn.lift_blockade:
        new = new.assign(closed_border=0.0)
        changed |= xs["closed_border"].to_numpy() != 0
    notes.append(f"{int(changed.sum())} pairs change")
    result = simulate_intervals(model, new, vcov,
                                draws=scn.draws if draws is None else int(draws), seed=seed, level=scn.level,
                                workers=workers, progress=progress)
    return write_outputs(scn, result, year, notes, coefs, paths, focus)

