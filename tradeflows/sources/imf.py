"""IMF trade by partner: IMTS through the SDMX API (current), and DOTS (retired) files.

* IMTS SDMX-CSV (current; ``tradeflows fetch imf``): the answer of
  ``api.imf.org/external/sdmx/2.1/data/IMF.STA,IMTS/{COUNTRY}.{INDICATOR}.{COUNTERPART}.{FREQ}``
  with ``Accept: application/vnd.sdmx.data+csv``. One line per observation:
  ``DATAFLOW`` (SDMX-CSV 1.0) or ``STRUCTURE,STRUCTURE_ID,ACTION`` (2.0), then ``COUNTRY,
  INDICATOR, COUNTERPART_COUNTRY, FREQUENCY, TIME_PERIOD, OBS_VALUE`` and attribute columns
  (e.g. ``SCALE``). Values are US dollars (``SCALE`` only says how the IMF displays them).
  Areas are ISO3-style codes; ``G001`` (World) and other codes with digits are groups.
  Indicators ``XG_FOB_USD`` (exports FOB) and ``MG_CIF_USD`` (imports CIF) are read;
  ``MG_FOB_USD``, ``TBG_USD`` and others are dropped and counted. ``source="imf_imts"``;
  ``estimated`` from an ``OBS_STATUS`` column if the answer has one (``E``/``e``).

* SDMX-JSON (``dataservices.imf.org/REST/SDMX_JSON.svc/CompactData/DOT/A.AZ.TXG_FOB_USD``):
  ``{"CompactData": {"Header": {...}, "DataSet": {"Series": [{"@FREQ": "A", "@REF_AREA":
  "AZ", "@INDICATOR": "TXG_FOB_USD", "@COUNTERPART_AREA": "KZ", "@UNIT_MULT": "6",
  "@TIME_FORMAT": "P1Y", "Obs": [{"@TIME_PERIOD": "2019", "@OBS_VALUE": "96.0"}]}]}}}``.
  ``Series`` and ``Obs`` are a single object instead of a list when there is only one.
  Values are USD times ``10 ** UNIT_MULT`` (6 = millions). Areas are IMF codes (ISO2 for
  countries, ``W00`` World; codes with digits such as ``F6`` or ``1C_ALL`` are regions).
* CSV export (bulk download): ``Country Name, Country Code, Indicator Name, Indicator Code,
  Counterpart Country Name, Counterpart Country Code, Attribute, 1990, 1991, ...``; one
  ``Attribute == "Value"`` row per series (a ``"Status"`` row may carry flags, ``e`` =
  IMF estimate). Countries are matched by their IMF names; values are **millions** of USD
  unless ``scale`` says otherwise.

DOTS indicators: ``TXG_FOB_USD`` (reporter's exports, FOB: ``reporter_side="exporter"``) and
``TMG_CIF_USD`` (reporter's imports, CIF: ``reporter_side="importer"``); other indicators
(trade balance, imports FOB) are dropped and counted. ``source="imf_dots"``.

The format is told by the content (JSON, SDMX-CSV header, or the DOTS export header), not
the file name. IMTS rows feed the panel as DOTS rows do (same sides, flows and units).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.errors import DataError
from tradeflows.sources._common import (
    KeyTracker,
    check_nonnegative,
    check_unique,
    check_year,
    finish_trade,
    header_of,
    iter_csv,
    map_country,
    read_csv_text,
    require_present,
)
from tradeflows.sources.base import check_years, require_columns, to_number
from tradeflows.sources.detect import first_line, is_json

SOURCE = "imf_dots"
IMTS_SOURCE = "imf_imts"
INDICATORS = {"TXG_FOB_USD": ("exporter", "export"), "TMG_CIF_USD": ("importer", "import")}
IMTS_INDICATORS = {"XG_FOB_USD": ("exporter", "export"), "MG_CIF_USD": ("importer", "import")}
IMTS_COLUMNS = {"COUNTRY": "text", "INDICATOR": "text", "COUNTERPART_COUNTRY": "text",
                "FREQUENCY": "text", "TIME_PERIOD": "text", "OBS_VALUE": "number"}
IMTS_DROPS = ("other_indicator", "missing_value", "aggregate_reporter", "aggregate_partner",
              "self_partner", "unknown_code")
CSV_ID_COLUMNS = ["Country Name", "Country Code", "Indicator Name", "Indicator Code",
                  "Counterpart Country Name", "Counterpart Country Code", "Attribute"]
_REGION_CODE = re.compile(r"\d")
_DROPS = ("other_indicator", "aggregate_reporter", "aggregate_partner", "self_partner")


def read_imf(path: str | Path, *, scale: float = 1e6, unknown_codes: str = "raise",
             progress: bool = False) -> pd.DataFrame:
    """Read an IMF IMTS SDMX-CSV answer, or a DOTS SDMX-JSON / CSV export, into the
    canonical trade table (USD); the format is told by the content.

    ``scale``: USD per unit of the DOTS CSV export's values (default millions); the JSON
    carries its own ``UNIT_MULT``; IMTS values are USD. A file mixing units raises
    ``DataError``. ``unknown_codes="drop"`` (IMTS) drops and counts area codes the country
    table does not know. ``attrs["drops"]``: ``other_indicator``, ``aggregate_reporter``,
    ``aggregate_partner``, ``self_partner`` (IMTS also ``missing_value``, ``unknown_code``).
    """
    path = Path(path)
    if not is_json(path) and _is_sdmx_csv(first_line(path)):
        return read_imf_imts(path, unknown_codes=unknown_codes, progress=progress)
    if is_json(path):
        long = _from_sdmx(path)
    else:
        long = _from_csv(path, scale)
    drops = dict.fromkeys(_DROPS, 0)
    known = long["indicator"].isin(list(INDICATORS))
    drops["other_indicator"] = int((~known).sum())
    long = long[known]
    check_nonnegative(long, "value_usd", path)
    for col, reason in (("reporter", "aggregate_reporter"), ("partner", "aggregate_partner")):
        region = long[col].astype(str).str.contains(_REGION_CODE)
        drops[reason] += int(region.sum())
        long = map_country(long[~region], col, "imf", path, drops, reason)
    self_rows = long["reporter"] == long["partner"]
    drops["self_partner"] = int(self_rows.sum())
    long = long[~self_rows]
    check_unique(long, ["indicator", "reporter", "partner", "year"], path)
    side = long["indicator"].map(lambda i: INDICATORS[i][0])
    exp = (side == "exporter").to_numpy()
    out = pd.DataFrame({
        "year": long["year"].astype("int64").to_numpy(),
        "exporter": np.where(exp, long["reporter"], long["partner"]),
        "importer": np.where(exp, long["partner"], long["reporter"]),
        "value_usd": long["value_usd"].to_numpy(), "reporter_side": side.to_numpy(),
        "flow": long["indicator"].map(lambda i: INDICATORS[i][1]).to_numpy(),
        "source": SOURCE, "estimated": long["estimated"].to_numpy()})
    return finish_trade(out, path, drops)


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _from_sdmx(path: Path) -> pd.DataFrame:
    """Long table (indicator, reporter, partner, year, value_usd, estimated, _line)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        series = _as_list(payload["CompactData"]["DataSet"].get("Series"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"malformed JSON ({exc})", file=path) from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataError("not an IMF SDMX-JSON CompactData file: expected "
                        "CompactData.DataSet.Series", file=path) from exc
    rows = []
    mults = set()
    for n, s in enumerate(series):
        where = f"series {n}"
        if not isinstance(s, dict):
            raise DataError(f"{where} is {type(s).__name__}; expected an object", file=path)
        missing = [k for k in ("@REF_AREA", "@INDICATOR", "@COUNTERPART_AREA", "@UNIT_MULT")
                   if k not in s]
        if missing:
            raise DataError(f"{where} lacks attribute(s) {missing}", file=path)
        bad = [k for k in ("@REF_AREA", "@INDICATOR", "@COUNTERPART_AREA")
               if not isinstance(s[k], str) or not s[k].strip()]
        if bad:
            raise DataError(f"{where}: attribute {bad[0]} is {s[bad[0]]!r}; expected a code",
                            file=path)
        if s.get("@FREQ", "A") != "A":
            raise DataError(f"{where} has frequency {s['@FREQ']!r}; expected annual ('A')",
                            file=path)
        unit = s["@UNIT_MULT"]
        if isinstance(unit, bool) or not isinstance(unit, str | int) or not re.fullmatch(
                r"\d{1,2}", str(unit).strip()):
            raise DataError(f"{where}: UNIT_MULT {unit!r} is not an integer from 0 to 99",
                            file=path)
        mult = int(str(unit).strip())
        mults.add(mult)
        if len(mults) > 1:
            raise DataError(f"{where} ({s['@REF_AREA']} {s['@INDICATOR']} "
                            f"{s['@COUNTERPART_AREA']}) has UNIT_MULT {mult} while earlier "
                            f"series have {sorted(mults - {mult})}; mixed units", file=path)
        for k, obs in enumerate(_as_list(s.get("Obs"))):
            if not isinstance(obs, dict):
                raise DataError(f"{where}, observation {k}: {type(obs).__name__}; expected an "
                                "object with @TIME_PERIOD and @OBS_VALUE", file=path)
            value = obs.get("@OBS_VALUE")
            if value in (None, ""):  # an observation without a value: missing
                continue
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise DataError(f"{where}, observation {k}: @OBS_VALUE {value!r}; expected a "
                                "number", file=path, row=n, column="@OBS_VALUE")
            rows.append((s["@INDICATOR"], s["@REF_AREA"], s["@COUNTERPART_AREA"],
                         obs.get("@TIME_PERIOD"), obs.get("@OBS_VALUE"),
                         str(obs.get("@OBS_STATUS", "")).lower() == "e", 10.0 ** mult, n))
    long = pd.DataFrame(rows, columns=["indicator", "reporter", "partner", "year", "value",
                                       "estimated", "factor", "_line"])
    require_present(long, ["year", "value"], path)
    long["value_usd"] = to_number(long["value"].astype(str), column="@OBS_VALUE",
                                  file=path) * long["factor"]
    long["year"] = check_years(long["year"].astype(str), column="@TIME_PERIOD", file=path,
                               rows=long["_line"])
    return long


def _from_csv(path: Path, scale: float) -> pd.DataFrame:
    table = read_csv_text(path)
    table.columns = [c.strip() for c in table.columns]
    require_columns(table, CSV_ID_COLUMNS, path)
    years = [c for c in table.columns if re.fullmatch(r"\d{4}", c)]
    if not years:
        raise DataError("no year columns (e.g. '2019'); expected the IMF CSV export layout",
                        file=path)
    for col in ("Scale", "Unit", "Unit Name"):
        if col in table.columns and table[col].nunique() > 1:
            raise DataError(f"mixed units in column {col!r}: {sorted(table[col].unique())}",
                            file=path, column=col)
    usd = table["Indicator Code"].str.endswith("_USD")
    if not usd.all():
        pos = int(np.flatnonzero(~usd.to_numpy())[0])
        raise DataError(f"indicator {table['Indicator Code'].iloc[pos]!r} is not in US dollars "
                        "(mixed units); keep only *_USD indicators", file=path, row=pos + 2,
                        column="Indicator Code")
    table["_line"] = np.arange(2, len(table) + 2)
    ids = ["Indicator Code", "Country Name", "Country Code", "Counterpart Country Name",
           "Counterpart Country Code"]
    values = table[table["Attribute"] == "Value"]
    status = table[table["Attribute"] == "Status"].set_index(ids)
    long = values.melt(id_vars=[*ids, "_line"], value_vars=years, var_name="year",
                       value_name="value")
    long = long[long["value"].str.strip() != ""].reset_index(drop=True)
    long["value_usd"] = to_number(long["value"], column="value", file=path,
                                  rows=long["_line"]) * scale
    flags = status.reset_index().melt(id_vars=ids, value_vars=years, var_name="year",
                                      value_name="flag") if len(status) else None
    if flags is not None:
        long = long.merge(flags, on=[*ids, "year"], how="left")
        long["estimated"] = long["flag"].fillna("").str.strip().str.lower().eq("e")
    else:
        long["estimated"] = False
    long["year"] = long["year"].astype("int64")
    # Countries by their IMF names (the code column is IMF-numeric in bulk files).
    return long.rename(columns={"Indicator Code": "indicator", "Country Name": "reporter",
                                "Counterpart Country Name": "partner"})


def _is_sdmx_csv(header: str) -> bool:
    fields = {f.strip().strip('"') for f in header.split(",")}
    return {"TIME_PERIOD", "OBS_VALUE"} <= fields


def check_sdmx_csv(path: str | Path, address: str) -> None:
    """Raise ``DataError`` unless a downloaded IMF answer is SDMX-CSV with the IMTS columns
    (the API answers errors as XML or JSON)."""
    header = first_line(path)
    if not _is_sdmx_csv(header):
        raise DataError(f"the IMF API answered {header[:100]!r}, not SDMX-CSV; expected a "
                        "header with TIME_PERIOD and OBS_VALUE (is the Accept header "
                        "application/vnd.sdmx.data+csv?)", file=address)
    missing = [c for c in IMTS_COLUMNS if c not in header_of(path)]
    if missing:
        raise DataError(f"the answer lacks column(s) {missing}; expected the IMTS dimensions",
                        file=address)


def read_imf_imts(path: str | Path, *, unknown_codes: str = "raise",
                  progress: bool = False) -> pd.DataFrame:
    """Read an IMTS SDMX-CSV answer (see the module docstring) into the canonical trade
    table (USD, ``source="imf_imts"``), in chunks. Errors name the file's line."""
    path = Path(path)
    header = header_of(path)
    columns = dict(IMTS_COLUMNS)
    if "OBS_STATUS" in header:
        columns["OBS_STATUS"] = "text"
    drops = dict.fromkeys(IMTS_DROPS, 0)
    keys = KeyTracker(["INDICATOR", "COUNTRY", "COUNTERPART_COUNTRY", "TIME_PERIOD"])
    parts = []
    for chunk in iter_csv(path, columns, progress=progress):
        require_present(chunk, ["COUNTRY", "INDICATOR", "COUNTERPART_COUNTRY", "FREQUENCY",
                                "TIME_PERIOD"], path)
        not_annual = (chunk["FREQUENCY"] != "A").to_numpy()
        if not_annual.any():
            pos = int(np.flatnonzero(not_annual)[0])
            raise DataError(f"frequency {chunk['FREQUENCY'].iloc[pos]!r}; expected annual "
                            "data ('A')", file=path, row=int(chunk["_line"].iloc[pos]),
                            column="FREQUENCY")
        bad_year = ~chunk["TIME_PERIOD"].str.fullmatch(r"\d{4}").to_numpy()
        if bad_year.any():
            pos = int(np.flatnonzero(bad_year)[0])
            raise DataError(f"TIME_PERIOD {chunk['TIME_PERIOD'].iloc[pos]!r} is not a year",
                            file=path, row=int(chunk["_line"].iloc[pos]), column="TIME_PERIOD")
        check_year(chunk, "TIME_PERIOD", path)
        keys.add(chunk)
        known = chunk["INDICATOR"].isin(list(IMTS_INDICATORS))
        drops["other_indicator"] += int((~known).sum())
        chunk = chunk[known]
        missing = chunk["OBS_VALUE"].isna()
        drops["missing_value"] += int(missing.sum())
        chunk = chunk[~missing]
        check_nonnegative(chunk, "OBS_VALUE", path)
        for col, reason in (("COUNTRY", "aggregate_reporter"),
                            ("COUNTERPART_COUNTRY", "aggregate_partner")):
            group = chunk[col].str.contains(_REGION_CODE).to_numpy()
            drops[reason] += int(group.sum())
            chunk = map_country(chunk[~group], col, "imf", path, drops, reason,
                                unknown=unknown_codes)
        self_rows = (chunk["COUNTRY"] == chunk["COUNTERPART_COUNTRY"]).to_numpy()
        drops["self_partner"] += int(self_rows.sum())
        parts.append(chunk[~self_rows])
    keys.check(path)
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))
    exp = (long["INDICATOR"] == "XG_FOB_USD").to_numpy()
    status = long["OBS_STATUS"] if "OBS_STATUS" in long else pd.Series("", index=long.index)
    reporter = long["COUNTRY"].to_numpy(dtype=object)
    partner = long["COUNTERPART_COUNTRY"].to_numpy(dtype=object)
    out = pd.DataFrame({
        "year": long["TIME_PERIOD"].astype("int64").to_numpy(),
        "exporter": np.where(exp, reporter, partner),
        "importer": np.where(exp, partner, reporter),
        "value_usd": long["OBS_VALUE"].to_numpy(dtype="float64"),
        "reporter_side": np.where(exp, IMTS_INDICATORS["XG_FOB_USD"][0],
                                  IMTS_INDICATORS["MG_CIF_USD"][0]),
        "flow": np.where(exp, IMTS_INDICATORS["XG_FOB_USD"][1],
                         IMTS_INDICATORS["MG_CIF_USD"][1]),
        "source": IMTS_SOURCE,
        "estimated": status.astype(str).str.strip().str.lower().eq("e").to_numpy()})
    return finish_trade(out, path, drops)
