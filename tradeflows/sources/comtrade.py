"""UN Comtrade: API v1 JSON, the Comtrade Plus CSV / bulk download, and the legacy formats.

* API v1 (``comtradeapi.un.org/data/v1/get/C/A/HS``): ``{"elapsedTime", "count", "data":
  [{"typeCode", "freqCode", "refPeriodId", "refYear", ..., "reporterCode", "reporterISO",
  "flowCode", "partnerCode", "partnerISO", "partner2Code", ..., "cmdCode", "customsCode",
  "motCode", ..., "cifvalue", "fobvalue", "primaryValue", "legacyEstimationFlag",
  "isReported", "isAggregate"}], "error"}``.
* Comtrade Plus CSV download: the same fields as columns (``refYear`` or ``RefYear``, ...),
  comma- or tab-separated (bulk files, possibly ``.gz``); data rows may end with one extra
  empty field.
* Legacy CSV (comtrade.un.org, before 2023): ``Classification, Year, ..., Trade Flow Code,
  Trade Flow, Reporter Code, Reporter, Reporter ISO, Partner Code, Partner, Partner ISO,
  ..., Commodity Code, ..., Trade Value (US$), ...``; flow codes 1 import, 2 export.
* Legacy API JSON (``comtrade.un.org/api/get``): ``{"validation": {"count": {"value": n}},
  "dataset": [{"yr", "rtCode", "ptCode", "rgCode", "cmdCode", "TradeValue", ...}]}``.

Values are US dollars. Reporter and partner are UN Comtrade numeric codes (842 = USA, 490 =
"Other Asia, nes" = Taiwan, 0 = World). ``flowCode`` X (export, FOB) gives
``reporter_side="exporter"``; M (import, CIF) gives ``reporter_side="importer"``. Re-exports,
re-imports and other flow codes are dropped and counted, as are breakdowns by second
partner, customs procedure or mode of transport (they would double count the totals).
Comtrade's estimation flags concern quantities and weights, not values: ``estimated`` is
False.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from tradeflows.errors import DataError
from tradeflows.sources._common import (
    check_integer,
    check_nonnegative,
    check_unique,
    check_year,
    finish_trade,
    header_of,
    map_country,
    read_csv_text,
    require_present,
)
from tradeflows.sources.archive import open_text
from tradeflows.sources.base import require_columns, to_number
from tradeflows.sources.detect import is_json

SOURCE = "comtrade"
PREVIEW_CAP = 500  # records the public preview returns at most
DATA_CAP = 100_000  # records the keyed data endpoint returns at most (maxRecords)
# canonical internal name -> (API v1 / Plus field, legacy CSV column, legacy API JSON field)
FIELDS: dict[str, tuple[str, str | None, str | None]] = {
    "year": ("refYear", "Year", "yr"),
    "freq": ("freqCode", None, None),
    "reporter": ("reporterCode", "Reporter Code", "rtCode"),
    "partner": ("partnerCode", "Partner Code", "ptCode"),
    "flow": ("flowCode", "Trade Flow Code", "rgCode"),
    "product": ("cmdCode", "Commodity Code", "cmdCode"),
    "value": ("primaryValue", "Trade Value (US$)", "TradeValue"),
    "partner2": ("partner2Code", "2nd Partner Code", "pt2Code"),
    "customs": ("customsCode", "Customs Proc. Code", "cstCode"),
    "mot": ("motCode", "Mode of Transport Code", "motCode"),
}
REQUIRED = ["year", "reporter", "partner", "flow", "product", "value"]
# flow code -> (reporter side, canonical flow)
FLOWS = {"X": ("exporter", "export"), "M": ("importer", "import"),
         "2": ("exporter", "export"), "1": ("importer", "import")}
TOTAL_BREAKDOWN = {"partner2": {"0", ""}, "customs": {"C00", ""}, "mot": {"0", ""}}


def _numbers(values: pd.Series, column: str, path: Path, offset: int) -> pd.Series:
    """Numbers of a JSON field or CSV column; errors name the record index or CSV line."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    text = values.astype(object).where(values.notna(), "").astype(str)
    return to_number(text.reset_index(drop=True), column=column, file=path,
                     row_offset=offset).set_axis(values.index)


def _from_json(path: Path) -> tuple[pd.DataFrame, int]:
    try:
        with open_text(path) as fh:  # gzip-compressed answers too (by signature)
            payload = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"malformed JSON ({exc})", file=path) from exc
    legacy = isinstance(payload, dict) and isinstance(payload.get("dataset"), list)
    if not isinstance(payload, dict) or not (legacy or isinstance(payload.get("data"), list)):
        raise DataError("not a Comtrade API response: expected an object with a 'data' list "
                        "(API v1) or a 'dataset' list (legacy API)", file=path)
    if payload.get("error"):
        raise DataError(f"the API returned an error: {payload['error']!r}", file=path)
    records = payload["dataset" if legacy else "data"]
    count = payload.get("validation", {}).get("count", {}).get("value") if legacy \
        else payload.get("count")
    if count is not None and count != len(records):
        raise DataError(f"the response announces {count} records but holds {len(records)}; "
                        "the download is incomplete", file=path)
    not_object = next((k for k, r in enumerate(records) if not isinstance(r, dict)), None)
    if not_object is not None:
        raise DataError(f"record {not_object} is {type(records[not_object]).__name__}; "
                        "expected an object of fields", file=path, row=not_object)
    raw = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    pick = 2 if legacy else 0
    frame = pd.DataFrame({"_line": np.arange(len(raw))})
    missing = [FIELDS[k][pick] for k in REQUIRED if FIELDS[k][pick] not in raw.columns]
    if missing:
        raise DataError(f"records lack field(s) {missing}", file=path)
    for name, fields in FIELDS.items():
        if fields[pick] is not None and fields[pick] in raw.columns:
            frame[name] = raw[fields[pick]].to_numpy()
    return frame, 0


def _from_csv(path: Path) -> tuple[pd.DataFrame, int]:
    sep = "\t" if "\t" in header_of(path, sep=",")[0] else ","
    header = header_of(path, sep=sep)
    legacy = "Trade Flow Code" in header
    with warnings.catch_warnings():  # Plus downloads end data rows with an extra empty field
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        table = read_csv_text(path, sep=sep, index_col=False)
    table.columns = [c.strip() for c in table.columns]
    if not legacy:  # Plus downloads capitalise the first letter (RefYear, ReporterCode, ...)
        table.columns = [c[:1].lower() + c[1:] for c in table.columns]
    pick = 1 if legacy else 0
    require_columns(table, [FIELDS[k][pick] for k in REQUIRED], path)
    frame = pd.DataFrame({"_line": np.arange(2, len(table) + 2)})
    for name, fields in FIELDS.items():
        col = fields[pick]
        if col is not None and col in table.columns:
            frame[name] = table[col].to_numpy()
    return frame, 2


def read_comtrade(path: str | Path, *, keep_product: bool = False) -> pd.DataFrame:
    """Read a Comtrade API JSON or CSV download into the canonical trade table (USD).

    The format is told by the content (JSON or CSV), not the name. Annual data only. Total trade: the ``TOTAL`` commodity rows when present, else the sum
    over products of one HS level (mixed levels raise ``DataError``); ``keep_product=True``
    keeps the ``product`` column instead. ``attrs["drops"]`` counts ``aggregate_reporter``,
    ``aggregate_partner``, ``self_partner``, ``other_flow`` (re-exports, ...),
    ``breakdown`` (by second partner, customs, transport mode), ``product_detail``
    (product rows beside a TOTAL row). Errors name the CSV line or the JSON record index.
    """
    path = Path(path)
    frame, offset = _from_json(path) if is_json(path) else _from_csv(path)
    drops = {"aggregate_reporter": 0, "aggregate_partner": 0, "self_partner": 0,
             "other_flow": 0, "breakdown": 0, "product_detail": 0}
    for col in frame.columns.drop("_line"):
        if col not in ("year", "reporter", "partner", "value"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
            frame[col] = frame[col].astype(str).str.strip()
    require_present(frame, REQUIRED, path)
    if "freq" in frame and (frame["freq"] != "A").any():
        pos = int(np.flatnonzero((frame["freq"] != "A").to_numpy())[0])
        raise DataError(f"frequency {frame['freq'].iloc[pos]!r}; expected annual data ('A')",
                        file=path, row=int(frame["_line"].iloc[pos]), column="freqCode")
    for col in ("year", "value", "reporter", "partner"):
        frame[col] = _numbers(frame[col], col, path, offset)
    for col in ("year", "reporter", "partner"):
        check_integer(frame, col, path)
    check_year(frame, "year", path)
    check_nonnegative(frame, "value", path)
    known = frame["flow"].isin(list(FLOWS))
    drops["other_flow"] = int((~known).sum())
    frame = frame[known]
    total = np.ones(len(frame), dtype=bool)
    for col, ok in TOTAL_BREAKDOWN.items():
        if col in frame:
            total &= frame[col].isin(ok).to_numpy()
    drops["breakdown"] = int((~total).sum())
    frame = frame[total]
    frame = map_country(frame, "reporter", "m49", path, drops, "aggregate_reporter")
    frame = map_country(frame, "partner", "m49", path, drops, "aggregate_partner")
    self_rows = frame["reporter"] == frame["partner"]
    drops["self_partner"] = int(self_rows.sum())
    frame = frame[~self_rows]
    side = frame["flow"].map(lambda f: FLOWS[f][0])
    exp = side == "exporter"
    frame = frame.assign(
        year=frame["year"].astype("int64"),
        exporter=np.where(exp, frame["reporter"], frame["partner"]),
        importer=np.where(exp, frame["partner"], frame["reporter"]),
        reporter_side=side, flow=frame["flow"].map(lambda f: FLOWS[f][1]))
    key = ["year", "exporter", "importer", "reporter_side"]
    check_unique(frame, [*key, "product"], path)
    if not keep_product:
        frame = _totals(frame, key, path, drops)
    out = frame.assign(value_usd=frame["value"], source=SOURCE, estimated=False)
    extra = ("product",) if keep_product else ()
    return finish_trade(out[["year", "exporter", "importer", "value_usd", "reporter_side",
                             "flow", "source", "estimated", *extra]], path, drops, extra)


def _totals(frame: pd.DataFrame, key: list[str], path: Path,
            drops: dict[str, int]) -> pd.DataFrame:
    """One row per flow: the TOTAL row if the flow has one, else the sum of its products."""
    is_total = frame["product"].str.upper() == "TOTAL"
    has_total = is_total.groupby([frame[k] for k in key]).transform("any")
    detail = frame[~has_total]
    drops["product_detail"] = int((has_total & ~is_total).sum())
    levels = detail["product"].str.len()
    if levels.nunique() > 1:
        pos = int(np.flatnonzero((levels != levels.iloc[0]).to_numpy())[0])
        raise DataError(f"product codes of different HS levels ({detail['product'].iloc[0]!r} "
                        f"and {detail['product'].iloc[pos]!r}); summing them would double "
                        "count: download one level or pass keep_product=True", file=path,
                        row=int(detail["_line"].iloc[pos]), column="cmdCode")
    summed = detail.groupby(key, as_index=False).agg(value=("value", "sum"),
                                                      flow=("flow", "first"),
                                                      _line=("_line", "first"))
    totals = frame[is_total][[*key, "value", "flow", "_line"]]
    both = pd.concat([totals, summed], ignore_index=True)
    check_unique(both, key, path)
    return both


class CapReached(DataError):
    """An API answer holds as many records as the endpoint returns at most (records beyond
    it may be missing); ``tradeflows.sources.fetch`` then splits the request."""


#: Query parameters a request can be split on (comma-separated lists), in this order.
SPLIT_PARAMETERS = ("flowCode", "period", "partnerCode", "cmdCode", "reporterCode")


def split_request(address: str) -> list[str] | None:
    """The API v1 has no paging: a request whose answer reaches the cap is asked again in
    two halves of its first comma-separated list among :data:`SPLIT_PARAMETERS` (e.g.
    ``flowCode=M,X`` -> ``M`` and ``X``). None when no list is left to split."""
    from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

    parts = urlsplit(address)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for name in SPLIT_PARAMETERS:
        for k, (key, value) in enumerate(query):
            values = [v for v in value.split(",") if v]
            if key != name or len(values) < 2:
                continue
            half = (len(values) + 1) // 2
            out = []
            for chunk in (values[:half], values[half:]):
                q = [*query[:k], (key, ",".join(chunk)), *query[k + 1:]]
                text = "&".join(f"{quote(a, safe='')}={quote(b, safe=',')}" for a, b in q)
                out.append(urlunsplit((parts.scheme, parts.netloc, parts.path, text, "")))
            return out
    return None


def merge_answers(paths: list[Path], shown: list[str]) -> dict:
    """One API v1 answer from the answers of a split request: their ``data`` lists in order,
    ``count`` their total, ``parts`` the (redacted) addresses asked."""
    data: list = []
    for path in paths:
        data += json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    return {"count": len(data), "data": data, "error": None, "parts": shown}


def check_api_response(path: str | Path, address: str) -> None:
    """Raise ``DataError`` if a downloaded API v1 answer is an error or was cut at the
    endpoint's record cap (500 for the public preview, ``maxRecords`` or 100 000 for the data
    endpoint): a full page means records beyond it may be missing."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"the Comtrade API answered with something other than JSON ({exc})",
                        file=address) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise DataError("the Comtrade API answer has no 'data' list", file=address)
    if payload.get("error"):
        raise DataError(f"the Comtrade API returned an error: {payload['error']!r}",
                        file=address)
    asked = re.search(r"[?&]maxRecords=(\d+)", address)
    cap = PREVIEW_CAP if "/public/" in address else int(asked.group(1)) if asked else DATA_CAP
    if len(payload["data"]) >= cap:
        raise CapReached(f"the answer holds {len(payload['data'])} records, the endpoint's cap "
                        f"of {cap}: records beyond it would be cut. Ask for less (one "
                        "reporter, one year, fewer partners or products; a list such as flowCode=M,X is split "
                         "automatically) or set "
                        f"COMTRADE_API_KEY to use the data endpoint ({DATA_CAP:,} records)",
                        file=address)
