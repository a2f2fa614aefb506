"""The claims catalog: ``tradeflows/studies/azerbaijan/claims.toml`` loaded into checked dataclasses.

Every claim carries its evidence type, hypothesis, sample, specification, clustering and a
decision rule with an equivalence margin, all written before any estimate is seen (see
``tradeflows.studies.azerbaijan.claims.rules.decide``). Statistical claims also state how their minimum
detectable effect is computed (``[claim.power]``). Text fields are data: they are shown in
the report (escaped), never evaluated.

Rules never change silently: the catalog's ``[[change]]`` log records, per claim, when it was
registered and every later change with its date and reason, and the last log entry of each
claim carries the :func:`fingerprint` of the entry as it stands. Editing an entry without
logging the change (with the new fingerprint) fails the load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeflows.errors import SpecificationError
from tradeflows.studies.azerbaijan.config import CATALOG_FILE

METHODS = ("single_reporter", "ri_gravity", "event_study", "reported_series", "counterfactual",
           "documentary", "fdi_reported", "timed", "route_alternatives", "untestable")
EVIDENCE = ("statistical", "descriptive", "documentary")
DIRECTIONS = ("positive", "negative")
POWER_METHODS = ("placebo", "randomization", "analytic")
CHANGE_KINDS = ("registered", "changed")
_TEXT_FIELDS = ("id", "title", "claim", "evidence", "hypothesis", "sample", "specification",
                "clustering", "method", "data_needed_if_untestable")
_OPTIONAL_TEXT = ("data_needed_if_untestable",)
_ID = re.compile(r"^[A-Z][A-Za-z0-9_]{0,15}$")


@dataclass(frozen=True)
class Rule:
    """A pre-stated decision rule.

    ``direction``: the sign the claim predicts; ``level``: coverage of the interval that must
    exclude ``null`` (None for a reported figure with no sampling error, 1 for bounds that
    hold with certainty); ``margin``: the
    equivalence margin (in the statistic's units, >= 0): effects smaller than it are of no
    substantive interest, so an interval that excludes every effect of that size in the
    claim's direction makes the claim "not supported".
    """

    statistic: str
    direction: str
    level: float | None = 0.95
    null: float = 0.0
    margin: float = 0.0

    def describe(self) -> str:
        """The rule in plain words."""
        pos = self.direction == "positive"
        side, other = (">", "<") if pos else ("<", ">")
        bound = self.null + self.margin if pos else self.null - self.margin
        what = (f"the {self.statistic}" if self.level is None
                else f"the bounds of the {self.statistic}" if self.level == 1
                else f"the {100 * self.level:g}% interval of the {self.statistic}")
        where = "lies entirely" if self.level is not None else "is"
        margin = (f" (equivalence margin {self.margin:g}: every effect at least that large in "
                  "the claim's direction is excluded)" if self.margin else "")
        return (f"supported if {what} {where} {side} {self.null:g}; not supported if it "
                f"{where} {other} {bound:g}{margin}; inconclusive otherwise")


@dataclass(frozen=True)
class Power:
    """How the minimum detectable effect (MDE) of a statistical claim is computed before its
    estimate is read: ``placebo`` (quantiles of the placebo/permutation distribution),
    ``randomization`` (quantiles of the randomization distribution) or ``analytic``
    ((z_{1-a/2} + z_power) x standard error); ``target``: the power (e.g. 0.8)."""

    method: str
    target: float = 0.8


@dataclass(frozen=True)
class Change:
    """One entry of the change log: ``kind`` registered | changed, ``date`` (ISO), ``reason``
    and the entry's ``fingerprint`` after the change (empty for registrations of entries
    that no longer exist in that form)."""

    claim: str
    date: str
    kind: str
    reason: str
    fingerprint: str = ""


@dataclass(frozen=True)
class Claim:
    """One statement of the study with its test."""

    id: str
    title: str
    claim: str
    evidence: str
    hypothesis: str
    sample: str
    window: tuple[int, int]
    specification: str
    clustering: str
    method: str
    rule: Rule
    power: Power | None = None
    sources: tuple[str, ...] = ()
    data_needed_if_untestable: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """The claims in file order and the change log."""

    claims: list[Claim]
    changes: list[Change]

    def log_for(self, claim_id: str) -> list[Change]:
        """The change-log entries of one claim, in file order."""
        return [c for c in self.changes if c.claim == claim_id]


def fingerprint(entry: dict[str, Any]) -> str:
    """sha256 (first 16 hex digits) of a raw ``[[claim]]`` table in canonical JSON: any change
    to any field changes it."""
    text = json.dumps(entry, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _fail(file: object, claim_id: str, fld: str, msg: str) -> SpecificationError:
    return SpecificationError(f"{file}: claim {claim_id!r}, field {fld!r}: {msg}")


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _parse_rule(raw: Any, file: object, cid: str, evidence: str) -> Rule:
    if not isinstance(raw, dict):
        raise _fail(file, cid, "rule", "missing or not a table [claim.rule]")
    unknown = set(raw) - {"statistic", "direction", "level", "null", "margin"}
    if unknown:
        raise _fail(file, cid, "rule", f"unknown key(s) {sorted(unknown)}")
    statistic = raw.get("statistic")
    if not isinstance(statistic, str) or not statistic.strip():
        raise _fail(file, cid, "rule.statistic", "expected a non-empty text")
    direction = raw.get("direction")
    if direction not in DIRECTIONS:
        raise _fail(file, cid, "rule.direction", f"{direction!r} not in {list(DIRECTIONS)}")
    level = raw.get("level")
    if level is not None and (not _number(level) or not 0 < level <= 1):
        raise _fail(file, cid, "rule.level", f"{level!r} is not a probability in (0, 1]")
    null = raw.get("null", 0.0)
    if not _number(null):
        raise _fail(file, cid, "rule.null", f"{null!r} is not a number")
    margin = raw.get("margin")
    if margin is None and evidence == "statistical":
        raise _fail(file, cid, "rule.margin", "a statistical claim must state its equivalence "
                    "margin before estimation")
    margin = 0.0 if margin is None else margin
    if not _number(margin) or margin < 0:
        raise _fail(file, cid, "rule.margin", f"{margin!r} is not a number >= 0")
    return Rule(statistic=statistic.strip(), direction=direction,
                level=float(level) if level is not None else None, null=float(null),
                margin=float(margin))


def _parse_power(raw: Any, file: object, cid: str, evidence: str) -> Power | None:
    if raw is None:
        if evidence == "statistical":
            raise _fail(file, cid, "power", "a statistical claim must state how its minimum "
                        "detectable effect is computed ([claim.power])")
        return None
    if not isinstance(raw, dict) or set(raw) - {"method", "target"}:
        raise _fail(file, cid, "power", "expected a table with keys method, target")
    if raw.get("method") not in POWER_METHODS:
        raise _fail(file, cid, "power.method",
                    f"{raw.get('method')!r} not in {list(POWER_METHODS)}")
    target = raw.get("target", 0.8)
    if not _number(target) or not 0.5 <= target < 1:
        raise _fail(file, cid, "power.target", f"{target!r} is not a power in [0.5, 1)")
    return Power(method=raw["method"], target=float(target))


def _parse_claim(raw: Any, file: object, pos: int) -> Claim:
    if not isinstance(raw, dict):
        raise SpecificationError(f"{file}: claim #{pos + 1} is not a table")
    cid = raw.get("id", f"#{pos + 1}")
    for fld in _TEXT_FIELDS:
        value = raw.get(fld)
        if not isinstance(value, str) or (fld not in _OPTIONAL_TEXT and not value.strip()):
            raise _fail(file, cid, fld, f"expected a non-empty text, got {value!r}")
    if not _ID.match(cid):
        raise _fail(file, cid, "id", "expected a letter followed by up to 15 letters, digits "
                    "or underscores")
    if raw["method"] not in METHODS:
        raise _fail(file, cid, "method", f"{raw['method']!r} not in {list(METHODS)}")
    if raw["evidence"] not in EVIDENCE:
        raise _fail(file, cid, "evidence", f"{raw['evidence']!r} not in {list(EVIDENCE)}")
    window = raw.get("window")
    if (not isinstance(window, list) or len(window) != 2
            or not all(isinstance(y, int) and not isinstance(y, bool) for y in window)
            or window[0] > window[1]):
        raise _fail(file, cid, "window", f"expected [first year, last year], got {window!r}")
    sources = raw.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise _fail(file, cid, "sources", "expected a list of texts")
    inputs = raw.get("inputs", {})
    if not isinstance(inputs, dict):
        raise _fail(file, cid, "inputs", "expected a table [claim.inputs]")
    if raw["method"] != "untestable" and not sources:
        raise _fail(file, cid, "sources", "a testable claim must name its data sources")
    if raw["method"] == "untestable":
        if not raw["data_needed_if_untestable"].strip():
            raise _fail(file, cid, "data_needed_if_untestable",
                        "an untestable claim must say which data would test it")
        if not isinstance(inputs.get("reason"), str):
            raise _fail(file, cid, "inputs.reason", "an untestable claim must give a reason")
    known = set(_TEXT_FIELDS) | {"window", "sources", "inputs", "rule", "power"}
    unknown = set(raw) - known
    if unknown:
        raise _fail(file, cid, "?", f"unknown field(s) {sorted(unknown)}")
    evidence = raw["evidence"]
    return Claim(id=cid, title=raw["title"].strip(), claim=raw["claim"].strip(),
                 evidence=evidence, hypothesis=raw["hypothesis"].strip(),
                 sample=raw["sample"].strip(), window=(window[0], window[1]),
                 specification=raw["specification"].strip(),
                 clustering=raw["clustering"].strip(), method=raw["method"],
                 rule=_parse_rule(raw.get("rule"), file, cid, evidence),
                 power=_parse_power(raw.get("power"), file, cid, evidence),
                 sources=tuple(sources),
                 data_needed_if_untestable=raw["data_needed_if_untestable"].strip(),
                 inputs=dict(inputs))


def _parse_changes(raw: Any, file: object) -> list[Change]:
    if not isinstance(raw, list):
        raise SpecificationError(f"{file}: [[change]] must be an array of tables")
    out = []
    for i, entry in enumerate(raw):
        where = f"{file}: change #{i + 1}"
        if not isinstance(entry, dict):
            raise SpecificationError(f"{where} is not a table")
        unknown = set(entry) - {"claim", "date", "kind", "reason", "fingerprint"}
        if unknown:
            raise SpecificationError(f"{where}: unknown key(s) {sorted(unknown)}")
        for key in ("claim", "date", "kind", "reason"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SpecificationError(f"{where}: key {key!r} must be a non-empty text")
        if entry["kind"] not in CHANGE_KINDS:
            raise SpecificationError(f"{where}: kind {entry['kind']!r} not in "
                                     f"{list(CHANGE_KINDS)}")
        try:
            dt.date.fromisoformat(entry["date"])
        except ValueError as exc:
            raise SpecificationError(f"{where}: date {entry['date']!r} is not YYYY-MM-DD") \
                from exc
        fp = entry.get("fingerprint", "")
        if not isinstance(fp, str):
            raise SpecificationError(f"{where}: fingerprint must be a text")
        out.append(Change(claim=entry["claim"], date=entry["date"], kind=entry["kind"],
                          reason=entry["reason"].strip(), fingerprint=fp))
    return out


def _check_log(entries: list[dict[str, Any]], claims: list[Claim], changes: list[Change],
               file: object) -> None:
    """Every claim's last log entry carries its current fingerprint; dates never go back."""
    ids = {c.id for c in claims}
    for ch in changes:
        if ch.claim not in ids:
            raise SpecificationError(f"{file}: change log names unknown claim {ch.claim!r}")
    for raw, c in zip(entries, claims, strict=True):
        log = [ch for ch in changes if ch.claim == c.id]
        if not log:
            raise _fail(file, c.id, "change log", "no [[change]] entry registers this claim")
        dates = [ch.date for ch in log]
        if dates != sorted(dates):
            raise _fail(file, c.id, "change log", "entries are not in date order")
        current = fingerprint(raw)
        if log[-1].fingerprint != current:
            raise _fail(file, c.id, "change log",
                        f"the entry changed without a logged change: its fingerprint is "
                        f"{current}, the last [[change]] of this claim records "
                        f"{log[-1].fingerprint or 'none'}; add a [[change]] with date, reason "
                        f"and fingerprint = {current!r}")


def read_catalog(file: str | Path | None = None, *, check_log: bool = True) -> Catalog:
    """Read and check the catalog (default: the packaged ``claims.toml``) with its change log.

    A bad entry raises ``SpecificationError`` naming the file, the claim and the field; so
    does an entry whose content no longer matches the fingerprint of its last logged change
    (``check_log=False`` skips that check, for drafting a new entry).
    """
    file = Path(file) if file is not None else CATALOG_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecificationError(f"{file}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecificationError(f"{file}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"claim", "change"}
    if unknown:
        raise SpecificationError(f"{file}: unknown top-level key(s) {sorted(unknown)}")
    entries = data.get("claim")
    if not isinstance(entries, list) or not entries:
        raise SpecificationError(f"{file}: no [[claim]] entries")
    claims = [_parse_claim(raw, file, i) for i, raw in enumerate(entries)]
    seen: set[str] = set()
    for c in claims:
        if c.id in seen:
            raise _fail(file, c.id, "id", "duplicate id")
        seen.add(c.id)
    changes = _parse_changes(data.get("change", []), file)
    if check_log:
        _check_log(entries, claims, changes, file)
    return Catalog(claims=claims, changes=changes)


def load_catalog(file: str | Path | None = None, *, check_log: bool = True) -> list[Claim]:
    """The checked claims of the catalog in file order (see :func:`read_catalog`)."""
    return read_catalog(file, check_log=check_log).claims


def entry_fingerprints(file: str | Path | None = None) -> dict[str, str]:
    """Current fingerprint of every ``[[claim]]`` of a catalog file (for writing the change
    log after editing an entry)."""
    file = Path(file) if file is not None else CATALOG_FILE
    data = tomllib.loads(file.read_text(encoding="utf-8"))
    return {str(e.get("id")): fingerprint(e) for e in data.get("claim", [])}
