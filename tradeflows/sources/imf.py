"""IMF Direction of Trade Statistics (DOTS / IMTS): SDMX-JSON CompactData and the CSV export.

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

Indicators: ``TXG_FOB_USD`` (reporter's exports, FOB: ``reporter_side="exporter"``) and
``TMG_CIF_USD`` (reporter's imports, CIF: ``reporter_side="importer"``); other indicators
(trade balance, imports FOB) are dropped and counted. ``source="imf_dots"``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.errors import DataError
from tradeflows.sources._common import (
    check_nonnegative,
    check_unique,
    finish_trade,
    map_country,
    read_csv_text,
    require_present,
)
from tradeflows.sources.base import check_years, require_columns, to_number

SOURCE = "imf_dots"
INDICATORS = {"TXG_FOB_USD": ("exporter", "export"), "TMG_CIF_USD": ("importer", "import")}
CSV_ID_COLUMNS = ["Country Name", "Country Code", "Indicator Name", "Indicator Code",
                  "Counterpart Country Name", "Counterpart Country Code", "Attribute"]
_REGION_CODE = re.compile(r"\d")
_DROPS = ("other_indicator", "aggregate_reporter", "aggregate_partner", "self_partner")


def read_imf(path: str | Path, *, scale: float = 1e6) -> pd.DataFrame:
    """Read an IMF DOTS SDMX-JSON (``.json``) or CSV export into the canonical trade table.

    ``scale``: USD per unit of the CSV export's values (default millions); the JSON carries
    its own ``UNIT_MULT``. A file mixing units raises ``DataError``. ``attrs["drops"]``:
    ``other_indicator``, ``aggregate_reporter``, ``aggregate_partner``, ``self_partner``.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
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
