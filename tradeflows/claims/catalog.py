"""The claims catalog: ``tradeflows/data/claims.toml`` loaded into checked dataclasses.

Every claim carries its hypothesis, data window, specification and a decision rule that is
written before any estimate is seen (see ``tradeflows.claims.rules.decide``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeflows.config import PACKAGE_DATA
from tradeflows.errors import SpecificationError

CATALOG_FILE = PACKAGE_DATA / "claims.toml"

METHODS = ("estimate", "counterfactual", "gravity_gap", "corridor_shift", "concentration",
           "investment", "untestable")
DIRECTIONS = ("positive", "negative")
_TEXT_FIELDS = ("id", "title", "claim", "hypothesis", "specification", "method",
                "data_needed_if_untestable")


@dataclass(frozen=True)
class Rule:
    """A pre-stated decision rule.

    ``direction``: the sign the claim predicts; ``level``: coverage of the interval that must
    exclude ``null`` (None for a reported total with no sampling error).
    """

    statistic: str
    direction: str
    level: float | None = 0.95
    null: float = 0.0

    def describe(self) -> str:
        """The rule in plain words."""
        side = ">" if self.direction == "positive" else "<"
        if self.level is None:
            return (f"supported if the {self.statistic} is {side} {self.null:g}; "
                    f"not supported if it is on the other side; inconclusive if equal")
        pct = f"{100 * self.level:g}%"
        return (f"supported if the {pct} interval of the {self.statistic} lies entirely "
                f"{side} {self.null:g}; not supported if it lies entirely on the other side; "
                f"inconclusive if it covers {self.null:g}")


@dataclass(frozen=True)
class Claim:
    """One claim of the analysis with its test."""

    id: str
    title: str
    claim: str
    hypothesis: str
    window: tuple[int, int]
    specification: str
    method: str
    rule: Rule
    sources: tuple[str, ...] = ()
    data_needed_if_untestable: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)


def _fail(file: object, claim_id: str, fld: str, msg: str) -> SpecificationError:
    return SpecificationError(f"{file}: claim {claim_id!r}, field {fld!r}: {msg}")


def _parse_rule(raw: Any, file: object, cid: str) -> Rule:
    if not isinstance(raw, dict):
        raise _fail(file, cid, "rule", "missing or not a table [claim.rule]")
    unknown = set(raw) - {"statistic", "direction", "level", "null"}
    if unknown:
        raise _fail(file, cid, "rule", f"unknown key(s) {sorted(unknown)}")
    statistic = raw.get("statistic")
    if not isinstance(statistic, str) or not statistic.strip():
        raise _fail(file, cid, "rule.statistic", "expected a non-empty text")
    direction = raw.get("direction")
    if direction not in DIRECTIONS:
        raise _fail(file, cid, "rule.direction", f"{direction!r} not in {list(DIRECTIONS)}")
    level = raw.get("level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int | float)
                              or not 0 < level < 1):
        raise _fail(file, cid, "rule.level", f"{level!r} is not a probability in (0, 1)")
    null = raw.get("null", 0.0)
    if isinstance(null, bool) or not isinstance(null, int | float):
        raise _fail(file, cid, "rule.null", f"{null!r} is not a number")
    return Rule(statistic=statistic, direction=direction,
                level=float(level) if level is not None else None, null=float(null))


def _parse_claim(raw: Any, file: object, pos: int) -> Claim:
    if not isinstance(raw, dict):
        raise SpecificationError(f"{file}: claim #{pos + 1} is not a table")
    cid = raw.get("id", f"#{pos + 1}")
    for fld in _TEXT_FIELDS:
        value = raw.get(fld)
        if not isinstance(value, str) or (fld != "data_needed_if_untestable"
                                          and not value.strip()):
            raise _fail(file, cid, fld, f"expected a non-empty text, got {value!r}")
    if raw["method"] not in METHODS:
        raise _fail(file, cid, "method", f"{raw['method']!r} not in {list(METHODS)}")
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
    known = set(_TEXT_FIELDS) | {"window", "sources", "inputs", "rule"}
    unknown = set(raw) - known
    if unknown:
        raise _fail(file, cid, "?", f"unknown field(s) {sorted(unknown)}")
    return Claim(id=cid, title=raw["title"], claim=raw["claim"].strip(),
                 hypothesis=raw["hypothesis"].strip(), window=(window[0], window[1]),
                 specification=raw["specification"].strip(), method=raw["method"],
                 rule=_parse_rule(raw.get("rule"), file, cid), sources=tuple(sources),
                 data_needed_if_untestable=raw["data_needed_if_untestable"].strip(),
                 inputs=dict(inputs))


def load_catalog(file: str | Path | None = None) -> list[Claim]:
    """Read and check the catalog (default: the packaged ``claims.toml``), in file order.

    A bad entry raises ``SpecificationError`` naming the file, the claim and the field.
    """
    file = Path(file) if file is not None else CATALOG_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecificationError(f"{file}: not valid TOML: {exc}") from exc
    entries = data.get("claim")
    if not isinstance(entries, list) or not entries:
        raise SpecificationError(f"{file}: no [[claim]] entries")
    claims = [_parse_claim(raw, file, i) for i, raw in enumerate(entries)]
    seen: set[str] = set()
    for c in claims:
        if c.id in seen:
            raise _fail(file, c.id, "id", "duplicate id")
        seen.add(c.id)
    return claims
