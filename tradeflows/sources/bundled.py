"""Readers of the data sets bundled under ``data/raw/<set>/`` (see each PROVENANCE.md).

Each trade reader returns the canonical trade table (``tradeflows.sources.base``), values in
USD; the investment reader returns the canonical investment table. Every returned frame
carries ``attrs["file"]``, ``attrs["rows_in"]`` (rows read) and ``attrs["drops"]``
(reason -> rows removed), which the panel build writes to the manifest.

``bad_rows="raise"`` (default) stops at the first non-numeric or negative value, duplicate
key or unknown country code with a ``DataError`` naming the file, row and column;
``bad_rows="drop"`` removes such rows instead and counts them in ``attrs["drops"]``.
Rows in messages are the file's own: the 1-based row of a Parquet file, the 1-based line of a
CSV file (its header is line 1). Values must be finite, booleans are parsed strictly
(``tradeflows.sources.base.parse_bool``), years lie in ``YEAR_RANGE`` and EUR/USD rates in
``USD_PER_EUR_RANGE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tradeflows.config import raw_dir
from tradeflows.countries import harmonize
from tradeflows.errors import DataError
from tradeflows.sources.base import (
    INVESTMENT_KEY,
    TRADE_KEY,
    check_years,
    parse_bool,
    parse_numbers,
    require_columns,
    show,
    to_number,
    validate_investment,
    validate_trade,
)

BadRows = Literal["raise", "drop"]

IMF_DOTS = "imf_dots_2020/imf_dots_bilateral_1990_2020.parquet"
NATIONAL = "national_trade_by_partner/national_trade_by_partner.parquet"
EUROSTAT = "eurostat_eu27_exports/eu27_exports_by_partner_2010_2023.parquet"
ECB_RATES = "ecb_eurusd/ecb_eurusd_annual_2010_2023.csv"
PENPPML = "penppml_trade/trade.parquet"
WDI = "wdi_gdp_pop/wdi_gdp_population_1995_2019.parquet"
GEODIST = "cepii_geodist/dist_cepii.parquet"
GEO_COUNTRIES = "cepii_geodist/geo_cepii.parquet"
UNCTAD_FDI = "unctad_bilateral_fdi/unctad_bilateral_fdi_2001_2012.parquet"
REPORTED_TRADE = "press_bilateral_trade_2019_2025/press_bilateral_trade.parquet"
REPORTED_FDI = "cbar_fdi_by_country_press/cbar_fdi_by_country.parquet"
REPORTED_CORRIDOR = "corridor_port_volumes_press/corridor_port_volumes.parquet"
#: Source family of official figures quoted in the press (``reported_trade_flows``).
REPORTED_SOURCE = "reported_press"
REPORTED_FLOWS = ("exports", "imports", "turnover")

# The European Union as a reporter (Eurostat): ISO 3166-1 exceptionally reserved code "EU",
# World Bank "EUU". An aggregate: in the panel only as one exporter on rows flagged
# eu_aggregate (tradeflows.panel.aggregate), never a country of the square.
EU_CODE = "EUU"

# Old or non-ISO three-letter codes used by CEPII, UN Comtrade (penppml) and UNCTAD files:
# code -> ISO3 (or a former state's code), or None for a non-country (bunkers, free zones,
# special categories, unspecified) or a territory with no present-day country code
# (CHI: the Channel Islands, World Bank code, Jersey and Guernsey together).
LEGACY_CODES: dict[str, str | None] = {
    "ROM": "ROU", "ZAR": "COD", "TMP": "TLS", "PAL": "PSE", "MNT": "MNE", "YDR": "YMD",
    "SVU": "SUN", "KN1": "KNA", "HGK": "HKG",
    "BUN": None, "FRE": None, "SPE": None, "UNS": None, "NZE": None, "USP": None,
    "BAT": None, "PCE": None, "PCZ": None, "RYU": None, "SIK": None, "SVR": None,
    "TAN": None, "VDR": None, "ZPM": None, "ZW1": None, "CHI": None,
}
# CEPII GeoDist "YUG" is Serbia and Montenegro (Belgrade), i.e. SCG in this package.
CEPII_CODES: dict[str, str | None] = {**LEGACY_CODES, "YUG": "SCG"}

NATIONAL_FLOWS = {
    # national flow -> (reporter_side, canonical flow)
    "exports": ("exporter", "export"),
    "imports": ("importer", "import"),
    "imports_by_origin": ("importer", "import"),
}


def _path(path: str | Path | None, default: str) -> Path:
    return Path(path) if path is not None else raw_dir() / default


#: Plausible annual averages of the ECB reference rate, USD per EUR (1999-2023: 0.90-1.47).
USD_PER_EUR_RANGE = (0.5, 2.5)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet or CSV file, indexed by the file's own rows (Parquet: 1-based row;
    CSV: 1-based line, the header being line 1); an unreadable file raises ``DataError``."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=path)
    try:
        if path.suffix == ".parquet":
            table, first = pd.read_parquet(path), 1
        else:
            table, first = pd.read_csv(path), 2
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the file ({type(exc).__name__}: {exc}); expected "
                        f"{'Parquet' if path.suffix == '.parquet' else 'CSV'}", file=path) from exc
    table.index = pd.RangeIndex(first, first + len(table))
    return table


def _check_unit(df: pd.DataFrame, value_column: str, file: Path) -> None:
    """Refuse a file whose values are in more than one unit (several value_* columns or a
    ``unit`` column with several entries)."""
    others = [c for c in df.columns if c.startswith("value_") and c != value_column]
    if others:
        raise DataError(f"mixed units: value columns {[value_column, *others]}; expected only "
                        f"{value_column!r}", file=file)
    if "unit" in df.columns:
        units = pd.unique(df["unit"].dropna())
        if len(units) > 1:
            pos = int(np.flatnonzero((df["unit"] != units[0]).to_numpy())[0])
            raise DataError(f"mixed units {sorted(map(str, units))}; expected one unit "
                            f"({value_column})", file=file, row=df.index[pos], column="unit")


def _numbers(df: pd.DataFrame, column: str, file: Path, bad_rows: BadRows,
             drops: dict[str, int], *, allow_missing: bool = False) -> pd.DataFrame:
    """Parse ``column`` as finite non-negative numbers; raise or drop-and-count bad rows."""
    raw = df[column]
    parsed, not_finite = parse_numbers(raw, column=column, file=file)
    non_numeric = pd.Series(not_finite, index=df.index)
    missing = parsed.isna() & ~non_numeric
    negative = parsed < 0
    for mask, what in ((non_numeric, "non-numeric"), (negative, "negative"),
                       (missing if not allow_missing else None, "missing")):
        if mask is None or not mask.any():
            continue
        if bad_rows == "raise":
            pos = int(np.flatnonzero(mask.to_numpy())[0])
            raise DataError(f"{what} value {show(raw.iloc[pos])}; expected a finite number >= 0",
                            file=file, row=df.index[pos], column=column)
        drops[f"{what}_{column}"] = drops.get(f"{what}_{column}", 0) + int(mask.sum())
    out = df.assign(**{column: parsed})
    bad = non_numeric | negative | (missing if not allow_missing else False)
    return out[~bad.to_numpy()]


def _years(values: pd.Series, file: Path, column: str = "year") -> np.ndarray:
    """Whole-number years in ``YEAR_RANGE``; anything else raises ``DataError`` naming the
    file's row."""
    return check_years(values, column=column, file=file, rows=values.index)


def _dedupe(df: pd.DataFrame, key: list[str], file: Path, bad_rows: BadRows,
            drops: dict[str, int]) -> pd.DataFrame:
    dup = df.duplicated(key, keep=False)
    if not dup.any():
        return df
    if bad_rows == "raise":
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        first = {k: df.iloc[pos][k] for k in key}
        raise DataError(f"duplicate key {first} ({int(dup.sum())} rows share a key); expected "
                        "one row per key", file=file, row=df.index[pos])
    drops["duplicate_key"] = drops.get("duplicate_key", 0) + int(dup.sum())
    return df[~dup.to_numpy()]


def _countries(df: pd.DataFrame, columns: list[str], scheme: str, file: Path,
               bad_rows: BadRows, drops: dict[str, int],
               aliases: dict[str, str | None] | None = None) -> pd.DataFrame:
    """Map code columns to ISO3 (after ``aliases``); drop and count aggregates."""
    if aliases:
        df = df.copy()
        for col in columns:
            codes = df[col].astype(object)
            hit = codes.isin(list(aliases)).to_numpy()
            mapped = codes.map(aliases)
            non_country = hit & mapped.isna().to_numpy()
            if non_country.any():
                drops[f"non_country_{col}"] = drops.get(f"non_country_{col}", 0) + int(
                    non_country.sum())
            df[col] = np.where(hit, mapped, codes)
            df = df[~non_country]
    out, counted = harmonize(df.assign(_row=df.index), columns, scheme, file,
                             unknown=bad_rows)
    for reason, n in counted.items():
        if n:
            drops[reason] = drops.get(reason, 0) + n
    return out.set_index("_row").rename_axis(None)


def _finish_trade(df: pd.DataFrame, file: Path, rows_in: int, drops: dict[str, int],
                  bad_rows: BadRows) -> pd.DataFrame:
    df = _dedupe(df, TRADE_KEY, file, bad_rows, drops)
    out = validate_trade(df.assign(_line=df.index).reset_index(drop=True), file=file)
    out.attrs.update(file=str(file), rows_in=rows_in, drops=drops)
    return out


def read_imf_dots(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                  ) -> pd.DataFrame:
    """IMF DOTS bilateral goods trade (USD millions -> USD), both sides' reports.

    A reporter's ``exports_fob`` row is the exporter's FOB report; its ``imports_cif`` row is
    the importer's CIF report of the flow partner -> reporter. ``estimated`` is the IMF's "e".
    """
    file = _path(path, IMF_DOTS)
    raw = read_table(file)
    cols = ["reporter_imf_name", "partner_imf_name", "flow", "year", "value_usd_mn",
            "estimated"]
    require_columns(raw, cols, file)
    _check_unit(raw, "value_usd_mn", file)
    drops: dict[str, int] = {}
    df = raw[cols]
    flows = df["flow"].astype(object)
    bad_flow = ~flows.isin(["exports_fob", "imports_cif"])
    if bad_flow.any():
        pos = int(np.flatnonzero(bad_flow.to_numpy())[0])
        raise DataError(f"flow {flows.iloc[pos]!r}; expected 'exports_fob' or 'imports_cif'",
                        file=file, row=df.index[pos], column="flow")
    df = _numbers(df, "value_usd_mn", file, bad_rows, drops)
    df = _countries(df, ["reporter_imf_name", "partner_imf_name"], "imf", file, bad_rows, drops)
    exp = df["flow"].astype(object).to_numpy() == "exports_fob"
    rep, par = df["reporter_imf_name"].to_numpy(), df["partner_imf_name"].to_numpy()
    out = pd.DataFrame(index=df.index, data={
        "year": _years(df["year"], file),
        "exporter": np.where(exp, rep, par),
        "importer": np.where(exp, par, rep),
        "value_usd": df["value_usd_mn"].to_numpy() * 1e6,
        "reporter_side": np.where(exp, "exporter", "importer"),
        "flow": np.where(exp, "export", "import"),
        "source": "imf_dots",
        "estimated": parse_bool(df["estimated"], column="estimated", file=file, rows=df.index),
    })
    return _finish_trade(out, file, len(raw), drops, bad_rows)


def read_national(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                  ) -> pd.DataFrame:
    """National statistics by partner (the reporters of ``national_trade_by_partner``), USD
    thousands -> USD.

    Exports are the reporter's FOB exports; imports its CIF imports (imports by country of
    origin, as in DOTS; a statistical office's imports by consignment are dropped and
    counted; see the data set's PROVENANCE.md).
    Partner totals (``WLD``) and regional aggregates are dropped and counted.
    """
    file = _path(path, NATIONAL)
    raw = read_table(file)
    cols = ["reporter_iso3", "partner_iso3", "flow", "year", "value_usd_thousand"]
    require_columns(raw, cols, file)
    _check_unit(raw, "value_usd_thousand", file)
    drops: dict[str, int] = {}
    df = raw
    flows = df["flow"].astype(object)
    consignment = (flows == "imports_by_consignment").to_numpy()
    drops["imports_by_consignment"] = int(consignment.sum())
    df, flows = df[~consignment], flows[~consignment]
    bad_flow = ~flows.isin(list(NATIONAL_FLOWS))
    if bad_flow.any():
        pos = int(np.flatnonzero(bad_flow.to_numpy())[0])
        raise DataError(f"flow {flows.iloc[pos]!r}; expected one of "
                        f"{[*NATIONAL_FLOWS, 'imports_by_consignment']}",
                        file=file, row=int(df.index[pos]), column="flow")
    partner = df["partner_iso3"].astype(object)
    aggregate = partner.isna() | (partner == "WLD")
    if "partner_is_aggregate" in df.columns:
        aggregate |= parse_bool(df["partner_is_aggregate"], column="partner_is_aggregate",
                                file=file, rows=df.index)
    drops["aggregate_partner"] = int(aggregate.sum())
    df = df[~aggregate.to_numpy()]
    df = _numbers(df, "value_usd_thousand", file, bad_rows, drops)
    df = _countries(df, ["reporter_iso3", "partner_iso3"], "iso3", file, bad_rows, drops,
                    aliases=LEGACY_CODES)
    side = df["flow"].astype(object).map({k: v[0] for k, v in NATIONAL_FLOWS.items()})
    is_exp = (side == "exporter").to_numpy()
    rep, par = df["reporter_iso3"].to_numpy(), df["partner_iso3"].to_numpy()
    out = pd.DataFrame(index=df.index, data={
        "year": _years(df["year"], file),
        "exporter": np.where(is_exp, rep, par),
        "importer": np.where(is_exp, par, rep),
        "value_usd": df["value_usd_thousand"].to_numpy() * 1e3,
        "reporter_side": side.to_numpy(),
        "flow": np.where(is_exp, "export", "import"),
        "source": "national",
        "estimated": False,
    })
    return _finish_trade(out, file, len(raw), drops, bad_rows)


def read_ecb_rates(path: str | Path | None = None) -> pd.Series:
    """ECB annual average reference rates, USD per EUR, indexed by year."""
    file = _path(path, ECB_RATES)
    raw = read_table(file)
    require_columns(raw, ["year", "usd_per_eur"], file)
    drops: dict[str, int] = {}
    df = _numbers(raw, "usd_per_eur", file, "raise", drops)
    years = _years(df["year"], file)
    lo, hi = USD_PER_EUR_RANGE
    implausible = ((df["usd_per_eur"] < lo) | (df["usd_per_eur"] > hi)).to_numpy()
    if implausible.any():
        pos = int(np.flatnonzero(implausible)[0])
        raise DataError(f"rate {df['usd_per_eur'].iloc[pos]!r} USD per EUR; expected an annual "
                        f"average between {lo} and {hi}", file=file, row=df.index[pos],
                        column="usd_per_eur")
    df = _dedupe(df.assign(year=years), ["year"], file, "raise", drops)
    return pd.Series(df["usd_per_eur"].to_numpy(), index=df["year"].astype("int64"),
                     name="usd_per_eur")


def read_eurostat(path: str | Path | None = None, rates: str | Path | None = None, *,
                  bad_rows: BadRows = "raise") -> pd.DataFrame:
    """Eurostat EU27 exports (FOB) by partner, EUR converted to USD at the ECB annual
    average rate of the year. The exporter is the EU (``EU_CODE``). Rows without a partner
    ISO3 (Eurostat residual and "not specified" lines, Ceuta/Melilla, some French labels of
    the 2016 file) are dropped and counted."""
    file = _path(path, EUROSTAT)
    raw = read_table(file)
    require_columns(raw, ["partner_iso3", "year", "value_eur"], file)
    _check_unit(raw, "value_eur", file)
    usd_per_eur = read_ecb_rates(rates)
    drops: dict[str, int] = {}
    df = raw
    no_code = df["partner_iso3"].isna().to_numpy()
    drops["partner_without_iso3"] = int(no_code.sum())
    df = _numbers(df[~no_code], "value_eur", file, bad_rows, drops)
    df = _countries(df, ["partner_iso3"], "iso3", file, bad_rows, drops)
    years = pd.Series(_years(df["year"], file), index=df.index)
    no_rate = ~years.isin(usd_per_eur.index)
    if no_rate.any():
        raise DataError(f"no EUR/USD rate for year {int(years[no_rate].iloc[0])}; rates cover "
                        f"{usd_per_eur.index.min()}-{usd_per_eur.index.max()}", file=file,
                        column="year")
    out = pd.DataFrame(index=df.index, data={
        "year": years.to_numpy(),
        "exporter": EU_CODE,
        "importer": df["partner_iso3"].to_numpy(),
        "value_usd": df["value_eur"].to_numpy() * usd_per_eur.loc[years].to_numpy(),
        "reporter_side": "exporter",
        "flow": "export",
        "source": "eurostat",
        "estimated": False,
    })
    return _finish_trade(out, file, len(raw), drops, bad_rows)


def read_penppml_trade(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                       ) -> pd.DataFrame:
    """UN Comtrade exports in USD every four years 1964-2016 (penppml ``trade``)."""
    file = _path(path, PENPPML)
    raw = read_table(file)
    require_columns(raw, ["exp", "imp", "time", "export"], file)
    drops: dict[str, int] = {}
    df = _numbers(raw, "export", file, bad_rows, drops)
    df = _countries(df, ["exp", "imp"], "iso3", file, bad_rows, drops, aliases=LEGACY_CODES)
    out = pd.DataFrame(index=df.index, data={
        "year": _years(df["time"], file, "time"),
        "exporter": df["exp"].to_numpy(),
        "importer": df["imp"].to_numpy(),
        "value_usd": df["export"].to_numpy(),
        "reporter_side": "exporter",
        "flow": "export",
        "source": "comtrade",
        "estimated": False,
    })
    return _finish_trade(out, file, len(raw), drops, bad_rows)


def read_wdi(path: str | Path | None = None, *, bad_rows: BadRows = "raise") -> pd.DataFrame:
    """World Bank WDI: ``iso3, year, gdp_usd`` (current USD), ``population`` (persons)."""
    file = _path(path, WDI)
    raw = read_table(file)
    require_columns(raw, ["iso3", "year", "gdp_current_usd", "total_population"], file)
    drops: dict[str, int] = {}
    df = raw
    for col in ("gdp_current_usd", "total_population"):
        df = _numbers(df, col, file, bad_rows, drops, allow_missing=True)
    df = _countries(df, ["iso3"], "iso3", file, bad_rows, drops)
    df = _dedupe(df, ["iso3", "year"], file, bad_rows, drops)
    out = pd.DataFrame({"iso3": df["iso3"].to_numpy(),
                        "year": _years(df["year"], file),
                        "gdp_usd": df["gdp_current_usd"].to_numpy(),
                        "population": df["total_population"].to_numpy()})
    out.attrs.update(file=str(file), rows_in=len(raw), drops=drops)
    return out


GEODIST_COLUMNS = ["contig", "comlang_off", "comlang_ethno", "colony", "comcol", "smctry",
                   "dist", "distcap", "distw"]


def read_cepii_geodist(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                       ) -> pd.DataFrame:
    """CEPII GeoDist pairs: ``exporter, importer`` (ISO3) and ``GEODIST_COLUMNS``.

    Distances in km (``dist``: between the most populated cities). Old CEPII codes are
    renamed (ROM->ROU, ZAR->COD, TMP->TLS, PAL->PSE, YUG->SCG)."""
    file = _path(path, GEODIST)
    raw = read_table(file)
    require_columns(raw, ["iso_o", "iso_d", *GEODIST_COLUMNS], file)
    drops: dict[str, int] = {}
    df = raw
    for col in GEODIST_COLUMNS:
        df = _numbers(df, col, file, bad_rows, drops, allow_missing=col != "dist")
    df = _countries(df, ["iso_o", "iso_d"], "iso3", file, bad_rows, drops,
                    aliases=CEPII_CODES)
    df = _dedupe(df, ["iso_o", "iso_d"], file, bad_rows, drops)
    out = df.rename(columns={"iso_o": "exporter", "iso_d": "importer"})[
        ["exporter", "importer", *GEODIST_COLUMNS]].reset_index(drop=True)
    out.attrs.update(file=str(file), rows_in=len(raw), drops=drops)
    return out


def read_cepii_geo(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                   ) -> pd.DataFrame:
    """CEPII GeoDist countries, one row each (the main city's row): ``iso3, area_km2,
    dis_int_km`` (internal distance), ``landlocked`` (0/1), ``continent``, ``lat, lon`` (main
    city, degrees). Old CEPII codes are renamed as in ``read_cepii_geodist``."""
    file = _path(path, GEO_COUNTRIES)
    raw = read_table(file)
    require_columns(raw, ["iso3", "area", "dis_int", "landlocked", "continent", "lat", "lon",
                          "maincity"], file)
    drops: dict[str, int] = {}
    df = raw
    other_city = (df["maincity"] != 1).to_numpy()
    drops["not_main_city"] = int(other_city.sum())
    df = df[~other_city]
    for col in ("area", "dis_int", "landlocked"):
        df = _numbers(df, col, file, bad_rows, drops)
    df = _countries(df, ["iso3"], "iso3", file, bad_rows, drops, aliases=CEPII_CODES)
    df = _dedupe(df, ["iso3"], file, bad_rows, drops)
    out = pd.DataFrame({"iso3": df["iso3"].to_numpy(), "area_km2": df["area"].to_numpy(),
                        "dis_int_km": df["dis_int"].to_numpy(),
                        "landlocked": df["landlocked"].astype("int64").to_numpy(),
                        "continent": df["continent"].to_numpy(),
                        "lat": to_number(df["lat"], column="lat", file=file,
                                         rows=df.index).to_numpy(),
                        "lon": to_number(df["lon"], column="lon", file=file,
                                         rows=df.index).to_numpy()})
    out.attrs.update(file=str(file), rows_in=len(raw), drops=drops)
    return out


def read_unctad_fdi(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                    ) -> pd.DataFrame:
    """UNCTAD bilateral inward FDI flows and stocks 2001-2012 (USD millions -> USD).

    Rows are host-reported (``investor`` = origin, ``host`` = reporter). UNCTAD ".." (not
    available) cells, aggregates and partners without a code are dropped and counted; rows
    repeating a key with the same value are kept once (counted); differing values for one key
    are duplicates (an error, or dropped with ``bad_rows="drop"``). The partner "Serbia and
    Montenegro", which the source file codes SRB like "Serbia", is coded SCG."""
    file = _path(path, UNCTAD_FDI)
    raw = read_table(file)
    require_columns(raw, ["measure", "host_iso3", "partner_iso3", "year", "value_musd"], file)
    _check_unit(raw, "value_musd", file)
    measure = raw["measure"].astype(object).map({"inward_flow": "flow",
                                                 "inward_stock": "stock"})
    if measure.isna().any():
        pos = int(np.flatnonzero(measure.isna().to_numpy())[0])
        raise DataError(f"measure {raw['measure'].iloc[pos]!r}; expected 'inward_flow' or "
                        "'inward_stock'", file=file, row=raw.index[pos], column="measure")
    drops: dict[str, int] = {}
    df = raw.assign(measure=measure)
    if "partner_name" in df.columns:
        # The source maps "Serbia and Montenegro" to SRB as well as "Serbia": it is SCG.
        scg = (df["partner_name"] == "Serbia and Montenegro").to_numpy()
        df["partner_iso3"] = np.where(scg, "SCG", df["partner_iso3"].astype(object))
    no_code = df["partner_iso3"].isna().to_numpy()
    drops["aggregate_or_unmapped_partner"] = int(no_code.sum())
    df = df[~no_code]
    values = pd.to_numeric(df["value_musd"], errors="coerce")
    not_available = (values.isna() & df["value_musd"].isna()).to_numpy()
    drops["not_available"] = int(not_available.sum())
    df = df[~not_available]
    text = df["value_musd"]
    if not pd.api.types.is_numeric_dtype(text):
        parsed = pd.to_numeric(text.astype("string").str.replace(",", "", regex=False),
                               errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            if bad_rows == "raise":
                pos = int(np.flatnonzero(bad)[0])
                raise DataError(f"non-numeric value {text.iloc[pos]!r}; expected a number",
                                file=file, row=int(df.index[pos]), column="value_musd")
            drops["non-numeric_value_musd"] = int(bad.sum())
            df, parsed = df[~bad], parsed[~bad]
        df = df.assign(value_musd=parsed.astype("float64"))
    df = _countries(df, ["host_iso3", "partner_iso3"], "iso3", file, bad_rows, drops,
                    aliases=LEGACY_CODES)
    key = ["measure", "year", "host_iso3", "partner_iso3"]
    same = df.duplicated([*key, "value_musd"])
    drops["duplicate_identical"] = int(same.sum())
    df = df[~same.to_numpy()]
    out = pd.DataFrame(index=df.index, data={
        "year": _years(df["year"], file),
        "investor": df["partner_iso3"].to_numpy(),
        "host": df["host_iso3"].to_numpy(),
        "measure": df["measure"].to_numpy(),
        "value_usd": df["value_musd"].astype("float64").to_numpy() * 1e6,
        "source": "unctad_fdi",
    })
    out = _dedupe(out, INVESTMENT_KEY, file, bad_rows, drops)
    out = validate_investment(out.assign(_line=out.index).reset_index(drop=True), file=file)
    out.attrs.update(file=str(file), rows_in=len(raw), drops=drops)
    return out


def _text(df: pd.DataFrame, column: str) -> np.ndarray:
    return df[column].astype(object).where(df[column].notna(), "").astype(str).to_numpy()


def _flags(df: pd.DataFrame, columns: list[str], file: Path) -> dict[str, np.ndarray]:
    """Boolean flag columns, parsed strictly (``parse_bool``; the error names the row)."""
    return {col: parse_bool(df[col], column=col, file=file, rows=df.index) for col in columns}


def read_reported_trade(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                        ) -> pd.DataFrame:
    """Official bilateral trade figures quoted in the press (``press_bilateral_trade``), USD.

    One row per quoted figure: ``year, reporter, partner, flow`` (``exports`` = reporter's
    exports to partner, ``imports`` = from partner, ``turnover`` = both), ``period``,
    ``period_months``, ``full_year`` (calendar year, 12 months), ``value_usd``, ``derived``,
    ``approx``, ``validation_row``, ``secondary_source``, ``panel_eligible`` (full-year,
    exact, not derived exports or imports, not a validation or secondary row) and the
    provenance columns ``source_agency, publisher, pub_date, url, note``. Never mixed into the
    panel except through :func:`reported_trade_flows` (own source family).
    """
    file = _path(path, REPORTED_TRADE)
    raw = read_table(file)
    cols = ["reporter_iso3", "partner_iso3", "year", "period", "period_months", "flow",
            "value_usd_mn", "derived", "approx", "source_agency", "publisher", "pub_date",
            "url", "note", "is_validation_row", "secondary_source"]
    require_columns(raw, cols, file)
    _check_unit(raw, "value_usd_mn", file)
    drops: dict[str, int] = {}
    df = raw[cols]
    flows = df["flow"].astype(object)
    bad_flow = ~flows.isin(list(REPORTED_FLOWS))
    if bad_flow.any():
        pos = int(np.flatnonzero(bad_flow.to_numpy())[0])
        raise DataError(f"flow {flows.iloc[pos]!r}; expected one of {list(REPORTED_FLOWS)}",
                        file=file, row=df.index[pos], column="flow")
    df = _numbers(df, "value_usd_mn", file, bad_rows, drops)
    df = _numbers(df, "period_months", file, bad_rows, drops)
    df = _countries(df, ["reporter_iso3", "partner_iso3"], "iso3", file, bad_rows, drops)
    flags = _flags(df, ["derived", "approx", "is_validation_row", "secondary_source"], file)
    period = _text(df, "period")
    months = df["period_months"].to_numpy()
    full_year = (period == "FY") & (months == 12)
    flow = df["flow"].astype(object).to_numpy()
    out = pd.DataFrame(index=df.index, data={
        "year": _years(df["year"], file),
        "reporter": df["reporter_iso3"].to_numpy(dtype=object),
        "partner": df["partner_iso3"].to_numpy(dtype=object),
        "flow": flow,
        "period": period,
        "period_months": months.astype("int64"),
        "full_year": full_year,
        "value_usd": df["value_usd_mn"].to_numpy(dtype="float64") * 1e6,
        "derived": flags["derived"],
        "approx": flags["approx"],
        "validation_row": flags["is_validation_row"],
        "secondary_source": flags["secondary_source"],
        "panel_eligible": (full_year & np.isin(flow, ["exports", "imports"])
                           & ~flags["derived"] & ~flags["approx"]
                           & ~flags["is_validation_row"] & ~flags["secondary_source"]),
        **{c: _text(df, c) for c in ("source_agency", "publisher", "pub_date", "url", "note")},
    })
    out = _dedupe(out, ["year", "reporter", "partner", "flow", "period", "publisher",
                        "pub_date"], file, bad_rows, drops)
    out = out.reset_index(drop=True)
    out.attrs.update(file=str(file), rows_in=len(raw), drops=drops)
    return out


def reported_trade_flows(reported: pd.DataFrame) -> pd.DataFrame:
    """The ``panel_eligible`` rows of :func:`read_reported_trade` as canonical trade rows of
    source family ``REPORTED_SOURCE`` (exports: exporter's report; imports: importer's)."""
    ok = reported[reported["panel_eligible"].to_numpy(dtype=bool)]
    exp = (ok["flow"] == "exports").to_numpy()
    out = pd.DataFrame({
        "year": ok["year"].to_numpy(dtype="int64"),
        "exporter": np.where(exp, ok["reporter"], ok["partner"]),
        "importer": np.where(exp, ok["partner"], ok["reporter"]),
        "value_usd": ok["value_usd"].to_numpy(dtype="float64"),
        "reporter_side": np.where(exp, "exporter", "importer"),
        "flow": np.where(exp, "export", "import"),
        "source": REPORTED_SOURCE,
        "estimated": False,
    })
    file = reported.attrs.get("file", REPORTED_TRADE)
    out = validate_trade(out, file=file)
    out.attrs.update(file=str(file), rows_in=len(reported),
                     drops={"reported_not_panel_eligible": int(len(reported) - len(ok))})
    return out


def read_reported_fdi(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                      ) -> pd.DataFrame:
    """A central bank's FDI by partner as quoted in the press (``cbar_fdi``), USD:
    ``year, direction`` (inward/outward), ``reporter, partner`` (``WLD`` = total), ``period``,
    ``full_year``, ``value_usd``, ``share_pct``, ``derived``, ``approx`` and provenance."""
    file = _path(path, REPORTED_FDI)
    raw = read_table(file)
    cols = ["direction", "reporter_iso3", "partner_iso3", "year", "period", "value_usd_mn",
            "share_pct", "derived", "approx", "publisher", "pub_date", "url", "note"]
    require_columns(raw, cols, file)
    _check_unit(raw, "value_usd_mn", file)
    drops: dict[str, int] = {}
    df = raw[cols]
    bad = ~df["direction"].isin(["inward", "outward"])
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"direction {df['direction'].iloc[pos]!r}; expected 'inward' or "
                        "'outward'", file=file, row=df.index[pos], column="direction")
    df = _numbers(df, "value_usd_mn", file, bad_rows, drops)
    df = _numbers(df, "share_pct", file, bad_rows, drops, allow_missing=True)
    world = (df["partner_iso3"].astype(object) == "WLD").to_numpy()
    countries = _countries(df[~world], ["reporter_iso3", "partner_iso3"], "iso3", file,
                           bad_rows, drops)
    df = pd.concat([countries, df[world]]).sort_index()
    flags = _flags(df, ["derived", "approx"], file)
    period = _text(df, "period")
    out = pd.DataFrame(index=df.index, data={
        "year": _years(df["year"], file),
        "direction": df["direction"].to_numpy(dtype=object),
        "reporter": df["reporter_iso3"].to_numpy(dtype=object),
        "partner": df["partner_iso3"].to_numpy(dtype=object),
        "period": period, "full_year": period == "FY",
        "value_usd": df["value_usd_mn"].to_numpy(dtype="float64") * 1e6,
        "share_pct": df["share_pct"].to_numpy(dtype="float64"),
        "derived": flags["derived"], "approx": flags["approx"],
        **{c: _text(df, c) for c in ("publisher", "pub_date", "url", "note")},
    })
    out = _dedupe(out, ["year", "direction", "reporter", "partner", "period", "publisher",
                        "pub_date"], file, bad_rows, drops).reset_index(drop=True)
    out.attrs.update(file=str(file), rows_in=len(raw), drops=drops)
    return out


def read_reported_corridor(path: str | Path | None = None, *, bad_rows: BadRows = "raise"
                           ) -> pd.DataFrame:
    """Port and corridor cargo series as quoted in the press (``REPORTED_CORRIDOR``): ``series,
    year, period, full_year, variable, value, unit`` (thousand t, TEU, units, million t-km),
    ``derived``, ``approx`` and provenance."""
    file = _path(path, REPORTED_CORRIDOR)
    raw = read_table(file)
    cols = ["series", "year", "period", "variable", "value", "unit", "derived", "approx",
            "source_agency", "publisher", "pub_date", "url", "note"]
    require_columns(raw, cols, file)
    drops: dict[str, int] = {}
    df = _numbers(raw[cols], "value", file, bad_rows, drops)
    flags = _flags(df, ["derived", "approx"], file)
    period = _text(df, "period")
    out = pd.DataFrame(index=df.index, data={
        "series": _text(df, "series"), "year": _years(df["year"], file), "period": period,
        "full_year": period == "FY", "variable": _text(df, "variable"),
        "value": df["value"].to_numpy(dtype="float64"), "unit": _text(df, "unit"),
        "derived": flags["derived"], "approx": flags["approx"],
        **{c: _text(df, c) for c in ("source_agency", "publisher", "pub_date", "url",
                                      "note")},
    })
    out = _dedupe(out, ["series", "year", "period", "variable", "unit", "publisher",
                        "pub_date"], file, bad_rows, drops).reset_index(drop=True)
    out.attrs.update(file=str(file), rows_in=len(raw), drops=drops)
    return out
