"""A small declarative language that selects rows of a table (e.g. a scenario's ``where``).

Text from a data file is parsed by a recursive-descent parser into a tree of tests on named
columns and evaluated with numpy comparisons: it is never evaluated as Python.

Grammar (keywords ``and``, ``or``, ``not``, ``in``, ``true``, ``false``)::

    expr    := term ("or" term)*
    term    := factor ("and" factor)*
    factor  := "not" factor | "(" expr ")" | test
    test    := NAME OP value | NAME ["not"] "in" set
    set     := "[" value ("," value)* "]" | GROUP
    value   := NUMBER | STRING | "true" | "false"
    OP      := "==" | "!=" | "<" | "<=" | ">" | ">="
    NAME    := [A-Za-z_][A-Za-z0-9_]*
    STRING  := "..." or '...' (no escapes, no line breaks)
    NUMBER  := a finite decimal number (e.g. 3, -0.5, 1e3)
    GROUP   := "@" NAME (a named set of values, e.g. an institution's members)

Examples: ``exporter in ["FRA", "DEU"] and importer in @EU``,
``dist < 3000 or (both_ots == 1 and not fta == 1)``. A test always compares a column with a
value (``contig == 1``, not ``contig``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeflows.errors import SpecificationError

MAX_LENGTH = 4000  # characters of one selection
MAX_DEPTH = 40  # nesting of parentheses and "not"
OPS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})

Value = float | str


class SelectionError(SpecificationError):
    """A selection that does not parse or does not fit the table's columns."""


@dataclass(frozen=True)
class Compare:
    """``column op value``."""

    column: str
    op: str
    value: Value


@dataclass(frozen=True)
class Member:
    """``column [not] in [values]`` or ``column [not] in @group``."""

    column: str
    values: tuple[Value, ...] = ()
    group: str | None = None
    negate: bool = False


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    """``and`` / ``or`` of two or more operands."""

    op: str
    operands: tuple[Node, ...]


Node = Compare | Member | Not | BoolOp

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"[^"\n\r]*"|'[^'\n\r]*')
  | (?P<group>@[A-Za-z_][A-Za-z0-9_]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
""", re.VERBOSE)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Token]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SelectionError(f"unexpected character {text[pos]!r} at position {pos + 1}")
        if m.lastgroup != "space":
            out.append(_Token(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    out.append(_Token("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _fail(self, expected: str) -> SelectionError:
        got = "the end" if self.tok.kind == "end" else repr(self.tok.text)
        return SelectionError(f"expected {expected} at position {self.tok.pos + 1}, got {got}")

    def _keyword(self, word: str) -> bool:
        if self.tok.kind == "name" and self.tok.text == word:
            self.i += 1
            return True
        return False

    def _punct(self, char: str) -> bool:
        if self.tok.kind == "punct" and self.tok.text == char:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise self._fail("'and', 'or' or the end")
        return node

    def expr(self) -> Node:
        parts = [self.term()]
        while self._keyword("or"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def term(self) -> Node:
        parts = [self.factor()]
        while self._keyword("and"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def factor(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SelectionError(f"nested deeper than {MAX_DEPTH} levels")
        try:
            if self._keyword("not"):
                return Not(self.factor())
            if self._punct("("):
                node = self.expr()
                if not self._punct(")"):
                    raise self._fail("')'")
                return node
            return self.test()
        finally:
            self.depth -= 1

    def test(self) -> Node:
        if self.tok.kind != "name" or self.tok.text in KEYWORDS:
            raise self._fail("a column name")
        column = self.tok.text
        self.i += 1
        if self.tok.kind == "op":
            op = self.tok.text
            self.i += 1
            return Compare(column, op, self.value())
        negate = self._keyword("not")
        if not self._keyword("in"):
            raise self._fail("a comparison (==, !=, <, <=, >, >=) or 'in'")
        if self.tok.kind == "group":
            group = self.tok.text[1:]
            self.i += 1
            return Member(column, group=group, negate=negate)
        if not self._punct("["):
            raise self._fail("'[' or a @group")
        values = [self.value()]
        while self._punct(","):
            values.append(self.value())
        if not self._punct("]"):
            raise self._fail("',' or ']'")
        return Member(column, values=tuple(values), negate=negate)

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "number":
            number = float(tok.text)
            if not math.isfinite(number):
                raise SelectionError(f"number {tok.text} at position {tok.pos + 1} is not finite")
            self.i += 1
            return number
        if tok.kind == "string":
            self.i += 1
            return tok.text[1:-1]
        if tok.kind == "name" and tok.text in ("true", "false"):
            self.i += 1
            return 1.0 if tok.text == "true" else 0.0
        raise self._fail("a number, a quoted string, true or false")


def parse(text: str) -> Node:
    """Parse a selection; a syntax error raises ``SelectionError`` naming the position."""
    if not isinstance(text, str):
        raise SelectionError(f"a selection is text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise SelectionError(f"selection of {len(text)} characters; at most {MAX_LENGTH}")
    if not text.strip():
        raise SelectionError("empty selection; expected a test such as exporter == \"FRA\"")
    return _Parser(text).parse()


def tests(node: Node) -> list[Compare | Member]:
    """The comparisons and memberships of a selection, in order."""
    if isinstance(node, Compare | Member):
        return [node]
    if isinstance(node, Not):
        return tests(node.operand)
    return [t for operand in node.operands for t in tests(operand)]


def columns(node: Node) -> list[str]:
    """Column names a selection uses, in first-use order."""
    return list(dict.fromkeys(t.column for t in tests(node)))


def groups(node: Node) -> list[str]:
    """Group names (without ``@``) a selection uses."""
    return list(dict.fromkeys(t.group for t in tests(node)
                              if isinstance(t, Member) and t.group is not None))


def check(node: Node, kinds: Mapping[str, str],
          check_text: Callable[[str, str], None] | None = None) -> None:
    """Check a selection against the columns it may use.

    ``kinds``: column -> ``"number"`` or ``"text"``. Numbers are compared to numbers, text
    to strings (only with ``==``, ``!=`` and ``in``); ``check_text(column, value)`` may
    refuse a string (e.g. an unknown country code) by raising.
    """
    for t in tests(node):
        if t.column not in kinds:
            raise SelectionError(f"unknown column {t.column!r}; expected one of "
                                 f"{sorted(kinds)}")
        kind = kinds[t.column]
        values = (t.value,) if isinstance(t, Compare) else t.values
        if isinstance(t, Compare) and kind == "text" and t.op not in ("==", "!="):
            raise SelectionError(f"{t.column} {t.op} ...: text columns take ==, != or in")
        if isinstance(t, Member) and t.group is not None and kind != "text":
            raise SelectionError(f"{t.column} in @{t.group}: groups hold text values, "
                                 f"{t.column!r} holds numbers")
        for v in values:
            if kind == "number" and not isinstance(v, float):
                raise SelectionError(f"{t.column} is a number column; got the text {v!r}")
            if kind == "text" and not isinstance(v, str):
                raise SelectionError(f"{t.column} is a text column; got the number {v:g}; "
                                     "quote text values")
            if kind == "text" and check_text is not None:
                check_text(t.column, str(v))


def column_kind(values: pd.Series) -> str:
    """``"number"`` for numeric and boolean columns, else ``"text"``."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return "number"
    return "text"


def evaluate(node: Node, frame: pd.DataFrame,
             expand: Callable[[str], set[str]] | None = None) -> np.ndarray:
    """Boolean mask (one entry per row of ``frame``). Missing values fail every test except
    ``!=`` and ``not in``; ``expand(group)`` gives a group's values."""
    if isinstance(node, BoolOp):
        masks = [evaluate(o, frame, expand) for o in node.operands]
        return np.logical_and.reduce(masks) if node.op == "and" else np.logical_or.reduce(masks)
    if isinstance(node, Not):
        return ~evaluate(node.operand, frame, expand)
    if node.column not in frame.columns:
        raise SelectionError(f"unknown column {node.column!r}")
    col = frame[node.column]
    if isinstance(node, Member):
        if node.group is not None:
            if expand is None:
                raise SelectionError(f"group @{node.group} cannot be used here")
            allowed: list[Value] = sorted(expand(node.group))
        else:
            allowed = list(node.values)
        hit = col.isin(allowed).to_numpy(bool)
        return ~hit if node.negate else hit
    if column_kind(col) == "number":
        x = col.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return _compare(x, node.op, node.value)
    x = col.astype(object).to_numpy()
    present = ~pd.isna(x)
    eq = present & (x == node.value)
    return eq if node.op == "==" else ~eq


def _compare(x: np.ndarray, op: str, value: Value) -> np.ndarray:
    if op == "==":
        return x == value
    if op == "!=":
        return ~(x == value)
    if op == "<":
        return x < value
    if op == "<=":
        return x <= value
    if op == ">":
        return x > value
    return x >= value
