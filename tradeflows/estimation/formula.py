"""Model formulas ``"y ~ x1 + log(x2) + i(year, treated, ref=-1) | fe1 + fe2 + c^d"``.

Left of ``|`` (regressors), built with formulaic (as pyfixest) plus fixest's ``i()``:

- column names (numeric or boolean, booleans become 0/1); ``a:b`` products, ``a*b`` (= a + b +
  a:b); ``C(f)`` and ``C(f, Treatment(base=...))`` dummies; ``log``, ``exp``, ``sqrt``,
  ``log1p``, ``abs``; ``I(x**2)``, ``center(x)``, ``scale(x)``, ``poly(x, 2)``;
- ``i(f)``, ``i(f, ref=r)``: one dummy per level of f (level r, or the list of levels r,
  omitted), named ``f::level``; ``i(f, x)``: those dummies times the numeric column x
  (``f::level:x``); ``i(f, g)`` with g non-numeric: one dummy per combination
  (``f::level:g::level``); ``ref2=`` omits levels of g.

Right of ``|``: fixed effects; ``c^d`` is the interaction of two columns (one level per
combination). An intercept is included only when there are no fixed effects (the FE absorb it);
``0`` or ``-1`` removes it. With fixed effects, factors are coded with a reference level as with
an intercept (as fixest). Multiple estimation (``sw``, ``csw``, ``sw0``, ``csw0``, several
dependent variables ``y1 + y2 ~ ...``) is expanded by :func:`expand_formula`.

Safety: formulas are parsed with Python's ``ast`` and only whitelisted names, functions and
operators are accepted before formulaic sees them; no other code runs. Rows with a missing
value in any used variable are dropped (``drops["missing"]``), rows whose transformed values
are not finite (``log(0)``) are dropped and counted under ``drops["non_finite"]``.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from tradeflows.errors import SpecificationError
from tradeflows.estimation.codes import factorize_integers

__all__ = ["Formula", "ModelFrame", "Design", "ITerm", "parse_formula", "model_frame",
           "factorize_fe", "expand_formula", "split_top"]

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
#: Functions usable in formulas, by name: numeric transformations evaluated here or by
#: formulaic, and formulaic's stateful transforms / contrasts.
_NUMERIC_FUNCS = {"log": np.log, "exp": np.exp, "sqrt": np.sqrt, "log1p": np.log1p,
                  "abs": np.abs}
_FORMULAIC_FUNCS = {"C", "I", "center", "scale", "poly", "Treatment", "contr.treatment"}
_KEYWORDS = {"ref", "ref2", "base", "levels", "degree", "raw", "contr", "keep"}
_MULTI = ("csw0", "csw", "sw0", "sw")


def _describe(value: object) -> str:
    """A short description of a non-formula argument (never the whole object)."""
    if isinstance(value, pd.DataFrame):
        return f"a DataFrame ({value.shape[0]} rows x {value.shape[1]} columns)"
    return f"a {type(value).__name__}"


def split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` (one character) outside parentheses, brackets and quotes."""
    out, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise SpecificationError(f"formula part {text!r} has unbalanced parentheses")
        elif ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if depth or quote:
        raise SpecificationError(f"formula part {text!r} has unbalanced parentheses or quotes")
    out.append("".join(cur))
    return out


# --- safe parsing ---------------------------------------------------------------------------

def _func_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def tree_depth(tree: ast.AST) -> int:
    """Depth of an ast tree, computed without recursion."""
    depth, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        depth = max(depth, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return depth


def _check_expr(text: str, formula: str, allowed: set[str]) -> tuple[ast.AST, list[str]]:
    """Parse one term with ``ast`` (``:`` read as an operator); accept only whitelisted nodes.
    Returns the tree and the data columns it names."""
    py = "%".join(split_top(text, ":"))  # a:b -> a % b, for parsing only
    if len(py) > 2000:
        raise SpecificationError(f"formula term of {len(py)} characters is too long")
    try:
        tree = ast.parse(py.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise SpecificationError(f"formula {formula!r}: cannot read term {text.strip()!r}") from None
    if tree_depth(tree) > 50:
        raise SpecificationError(f"formula {formula!r}: term nested too deeply")
    cols: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            visit(node.body)
        elif isinstance(node, ast.BinOp) and isinstance(
                node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod)):
            visit(node.left)
            visit(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            visit(node.operand)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            pass
        elif isinstance(node, (ast.List, ast.Tuple)):
            for e in node.elts:
                visit(e)
        elif isinstance(node, ast.Name):
            if not _NAME.match(node.id):
                raise SpecificationError(f"formula {formula!r}: cannot read name {node.id!r}")
            cols.append(node.id)
        elif isinstance(node, ast.Call):
            name = _func_name(node.func)
            if name not in allowed:
                raise SpecificationError(
                    f"formula {formula!r}: function {name or '?'}() is not allowed; use one of "
                    f"{sorted(allowed)}")
            for a in node.args:
                visit(a)
            for k in node.keywords:
                if k.arg not in _KEYWORDS:
                    raise SpecificationError(f"formula {formula!r}: unknown argument {k.arg}=")
                visit(k.value)
        else:
            raise SpecificationError(
                f"formula {formula!r}: cannot read term {text.strip()!r} "
                f"({type(node).__name__} not allowed)")

    visit(tree)
    return tree, cols


def _eval_numeric(node: ast.AST, data: pd.DataFrame) -> np.ndarray:
    """Evaluate a checked arithmetic expression of columns (the left-hand side)."""
    if isinstance(node, ast.Expression):
        return _eval_numeric(node.body, data)
    if isinstance(node, ast.Name):
        return _numeric(data, node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return np.full(len(data), float(node.value))
    if isinstance(node, ast.UnaryOp):
        v = _eval_numeric(node.operand, data)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Mod):
        a, b = _eval_numeric(node.left, data), _eval_numeric(node.right, data)
        ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
               ast.Div: np.divide, ast.Pow: np.power}
        with np.errstate(all="ignore"):
            return ops[type(node.op)](a, b)
    if isinstance(node, ast.Call) and _func_name(node.func) in _NUMERIC_FUNCS \
            and len(node.args) == 1 and not node.keywords:
        with np.errstate(all="ignore"):
            return _NUMERIC_FUNCS[_func_name(node.func)](_eval_numeric(node.args[0], data))
    raise SpecificationError(f"cannot evaluate {ast.unparse(node)!r} as a number")


# --- formula --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ITerm:
    """A fixest ``i(f, x, ref=, ref2=)`` term with its levels on the estimation sample."""

    text: str
    factor: str
    by: str | None
    by_numeric: bool
    ref: tuple = ()
    ref2: tuple = ()
    levels: tuple = ()
    levels2: tuple = ()

    def columns(self) -> list[tuple[str, Any, Any]]:
        """(coefficient name, level of f, level of g or None), in level order."""
        out = []
        for lv in self.levels:
            if self.by is None:
                out.append((f"{self.factor}::{lv}", lv, None))
            elif self.by_numeric:
                out.append((f"{self.factor}::{lv}:{self.by}", lv, None))
            else:
                for lv2 in self.levels2:
                    out.append((f"{self.factor}::{lv}:{self.by}::{lv2}", lv, lv2))
        return out

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """(n, columns) float dummies (times ``by`` when numeric); NaN where f is missing."""
        f = data[self.factor]
        cols = []
        for _, lv, lv2 in self.columns():
            v = (f == lv).to_numpy(dtype=float)
            if self.by is not None and self.by_numeric:
                v = v * _numeric(data, self.by)
            elif self.by is not None:
                v = v * (data[self.by] == lv2).to_numpy(dtype=float)
            cols.append(v)
        out = np.column_stack(cols) if cols else np.empty((len(data), 0))
        out[f.isna().to_numpy()] = np.nan
        return out


def _constants(node: ast.AST | None) -> tuple:
    if node is None:
        return ()
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(_constants(e)[0] for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return (-node.operand.value,)
    if isinstance(node, ast.Constant):
        return (node.value,)
    raise SpecificationError(f"i(): reference level {ast.unparse(node)!r} must be a constant")


def _parse_iterm(text: str, tree: ast.AST, formula: str) -> ITerm:
    call = tree.body if isinstance(tree, ast.Expression) else tree
    if not (isinstance(call, ast.Call) and 1 <= len(call.args) <= 2
            and all(isinstance(a, ast.Name) for a in call.args)):
        raise SpecificationError(f"formula {formula!r}: i() takes a column and optionally a "
                                 f"second column: {text.strip()!r}")
    kw = {k.arg: k.value for k in call.keywords}
    bad = set(kw) - {"ref", "ref2"}
    if bad:
        raise SpecificationError(f"formula {formula!r}: i() takes ref= and ref2=, not {bad}")
    by = call.args[1].id if len(call.args) == 2 else None
    return ITerm(text.strip(), call.args[0].id, by, False, _constants(kw.get("ref")),
                 _constants(kw.get("ref2")))


@dataclass(frozen=True)
class Formula:
    """A parsed formula: dependent variable (a column or an expression of columns), regressor
    terms as written, fixed-effect terms, and (after :func:`model_frame`) the design that
    rebuilds the regressors on new data."""

    text: str
    depvar: str
    terms: tuple[str, ...]
    fixef: tuple[str, ...]
    intercept: bool
    columns_used: tuple[str, ...] = ()
    design: Design | None = field(default=None, compare=False, repr=False)

    def variables(self) -> list[str]:
        """Data columns used, in order of appearance, without duplicates."""
        out = list(self.columns_used)
        for f in self.fixef:
            out += f.split("^")
        return list(dict.fromkeys(out))


def _check_name(name: str, formula: str) -> str:
    if not _NAME.match(name):
        raise SpecificationError(f"formula {formula!r}: cannot read term {name!r}")
    return name


def parse_formula(formula: str) -> Formula:
    """Parse ``"y ~ x1 + x2 | fe1 + fe2^fe3"``; raises SpecificationError on bad syntax or on a
    function that is not allowed. Multiple-estimation operators must be expanded first
    (:func:`expand_formula`)."""
    if not isinstance(formula, str):
        raise SpecificationError(f"formula must be a string, not {_describe(formula)}")
    if formula.count("~") != 1:
        raise SpecificationError(f"formula {formula!r} must have exactly one '~'")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not lhs:
        raise SpecificationError(f"formula {formula!r} has no dependent variable")
    if re.search(r"\b(c?sw0?)\s*\(", formula):
        raise SpecificationError(f"formula {formula!r} has sw()/csw(): fit it with "
                                 "tradeflows.ppml/ols, which expand it into several models")
    _, cols = _check_expr(lhs, formula, set(_NUMERIC_FUNCS))
    columns = list(cols)
    parts = split_top(rhs, "|")
    if len(parts) > 2:
        raise SpecificationError(f"formula {formula!r} has more than one '|'")
    intercept = True
    terms: list[str] = []
    for raw in (p.strip() for p in split_top(parts[0], "+")):
        if raw in ("0", "-1"):
            intercept = False
            continue
        if raw == "1":
            continue
        if not raw:
            raise SpecificationError(f"formula {formula!r} has an empty term")
        if re.search(r"-\s*1$", raw):
            intercept = False
            raw = re.sub(r"-\s*1$", "", raw).strip()
        tree, cols = _check_expr(raw, formula, set(_NUMERIC_FUNCS) | _FORMULAIC_FUNCS | {"i"})
        if "i(" in raw.replace(" ", "") and not raw.replace(" ", "").startswith("i("):
            raise SpecificationError(f"formula {formula!r}: i() must be a term of its own "
                                     f"(write i(f, x) for interactions): {raw!r}")
        if raw.startswith("i("):
            _parse_iterm(raw, tree, formula)
        columns += cols
        term = ":".join(t.strip() for t in split_top(raw, ":"))
        if term not in terms:
            terms.append(term)
    fixef: list[str] = []
    if len(parts) == 2:
        for raw in (p.strip() for p in parts[1].split("+")):
            if not raw:
                raise SpecificationError(f"formula {formula!r} has an empty fixed-effect term")
            if raw in ("0", "1"):
                continue
            factors = [_check_name(f.strip(), formula) for f in raw.split("^")]
            term = "^".join(factors)
            if term not in fixef:
                fixef.append(term)
    if fixef:
        intercept = False
    return Formula(formula, lhs, tuple(terms), tuple(fixef), intercept,
                   tuple(dict.fromkeys(columns)))


# --- multiple estimation --------------------------------------------------------------------

def _expand_part(part: str, formula: str) -> list[str]:
    """Expand the one sw/csw/sw0/csw0 of a ``+``-separated part (or return it unchanged)."""
    chunks = [c.strip() for c in split_top(part, "+")]
    found = [(j, m) for j, c in enumerate(chunks)
             if (m := re.fullmatch(r"(csw0|csw|sw0|sw)\s*\((.*)\)", c, flags=re.S))]
    if not found:
        return [part]
    if len(found) > 1:
        raise SpecificationError(f"formula {formula!r}: one sw()/csw() per formula part")
    j, m = found[0]
    op = m.group(1)
    args = [a.strip() for a in split_top(m.group(2), ",")]
    if not all(args):
        raise SpecificationError(f"formula {formula!r}: empty argument in {op}()")
    if op.startswith("csw"):
        options = [" + ".join(args[: k + 1]) for k in range(len(args))]
    else:
        options = list(args)
    if op.endswith("0"):
        options = [""] + options
    out = []
    for opt in options:
        kept = chunks[:j] + ([opt] if opt else []) + chunks[j + 1:]
        out.append(" + ".join(kept))
    return out


def expand_formula(formula: str) -> list[str]:
    """The formulas of a multiple estimation, in pyfixest's order (dependent variables, then
    fixed effects, then regressors).

    ``"y1 + y2 ~ x"`` -> one model per dependent variable; ``sw(a, b)`` -> a, then b;
    ``csw(a, b)`` -> a, then a + b; ``sw0``/``csw0`` start with neither. One operator per part
    (regressors, fixed effects). A formula without them is returned alone.
    """
    if not isinstance(formula, str):
        raise SpecificationError(f"formula must be a string, not {_describe(formula)}")
    if formula.count("~") != 1:
        raise SpecificationError(f"formula {formula!r} must have exactly one '~'")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    lhs_list = [s.strip() for s in split_top(lhs, "+")] if lhs else [""]
    parts = split_top(rhs, "|")
    rhs_list = _expand_part(parts[0], formula)
    fe_list = _expand_part(parts[1], formula) if len(parts) == 2 else [None]
    out = []
    for y in lhs_list:
        for fe in fe_list:
            for x in rhs_list:
                text = f"{y} ~ {x.strip() or '1'}"
                if fe is not None and fe.strip():
                    text += f" | {fe.strip()}"
                out.append(text)
    return out


# --- design matrices ------------------------------------------------------------------------

@dataclass
class Design:
    """How the regressors were built, to rebuild them on new data (``predict``).

    Columns, in order: ``Intercept`` (when ``intercept``), the ``simple`` terms (columns and
    products ``a:b`` of numeric columns, computed directly), the formulaic terms (``spec``, a
    formulaic ModelSpec; None if there are none; its intercept column, made for reference
    coding, removed), then the ``i()`` terms with their levels.
    """

    spec: Any
    iterms: list[ITerm]
    intercept: bool
    columns: list[str]
    spec_columns: list[str] = field(default_factory=list)
    simple: list[str] = field(default_factory=list)
    categories: dict[str, set] = field(default_factory=dict)

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """(n, len(columns)) regressors of ``data``: NaN in every column of a row where an
        input is missing or a factor has a level not seen in the fit (never silently the
        reference level)."""
        blocks = [np.ones((len(data), 1))] if self.intercept else []
        blocks += [_product(data, t)[:, None] for t in self.simple]
        unseen = np.zeros(len(data), dtype=bool)
        if self.spec is not None:
            for col, seen in self.categories.items():
                unseen |= ~data[col].isin(seen).to_numpy() & data[col].notna().to_numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unseen levels: handled above
                mm = self.spec.get_model_matrix(_prepared(data, self.spec_columns),
                                                na_action="ignore")
            blocks.append(mm.drop(columns=[c for c in mm.columns if c == "Intercept"])
                          .to_numpy(dtype=float))
        for it in self.iterms:
            known = set(it.levels) | set(it.ref)
            unseen |= ~data[it.factor].isin(known).to_numpy() & data[it.factor].notna().to_numpy()
            blocks.append(it.matrix(data))
        X = np.column_stack(blocks) if blocks else np.empty((len(data), 0))
        X[unseen] = np.nan
        return X


def _product(data: pd.DataFrame, term: str) -> np.ndarray:
    """The numeric column ``a`` or the product of ``a:b:...`` (float, NaN kept)."""
    out = None
    for c in term.split(":"):
        v = _numeric(data, c)
        out = v if out is None else out * v
    return out


def _is_simple(tree: ast.AST) -> bool:
    """A column name or a ``:`` product of column names."""
    node = tree.body if isinstance(tree, ast.Expression) else tree
    if isinstance(node, ast.Name):
        return True
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
            and _is_simple(node.left) and _is_simple(node.right))


def _prepared(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns formulaic needs, booleans as 0/1 floats."""
    out = {}
    for c in columns:
        s = data[c]
        out[c] = s.astype("float64") if (s.dtype == bool or str(s.dtype) == "boolean") else s
    return pd.DataFrame(out, index=data.index)


def _numeric(data: pd.DataFrame, col: str) -> np.ndarray:
    s = data[col]
    if s.dtype == bool or str(s.dtype) == "boolean":
        return s.astype("float64").to_numpy()
    if not pd.api.types.is_numeric_dtype(s):
        raise SpecificationError(
            f"variable {col!r} is not numeric (dtype {s.dtype}); for categories use C({col}) "
            f"or i({col}), or put it in the fixed-effect part of the formula"
        )
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def _level_sort(values: pd.Series) -> tuple:
    return tuple(pd.unique(values.dropna().sort_values()).tolist())


def _build_design(f: Formula, data: pd.DataFrame) -> tuple[Design, np.ndarray, list[str]]:
    """Design, X (n, p) and column names of the regressors on ``data`` (no missing inputs)."""
    iterms: list[ITerm] = []
    simple: list[str] = []
    other: list[str] = []
    other_cols: list[str] = []
    categorical: list[str] = []
    for t in f.terms:
        tree, cols = _check_expr(t, f.text, set(_NUMERIC_FUNCS) | _FORMULAIC_FUNCS | {"i"})
        if t.startswith("i("):
            it = _parse_iterm(t, tree, f.text)
            by_numeric = it.by is not None and (
                pd.api.types.is_numeric_dtype(data[it.by]) or data[it.by].dtype == bool)
            if not it.ref and it.by is None and f.intercept and not f.fixef:
                it = replace(it, ref=_level_sort(data[it.factor])[:1])  # reference coding
            levels = tuple(v for v in _level_sort(data[it.factor]) if v not in it.ref)
            levels2 = () if it.by is None or by_numeric else tuple(
                v for v in _level_sort(data[it.by]) if v not in it.ref2)
            unknown = [r for r in it.ref if r not in set(_level_sort(data[it.factor]))]
            if unknown:
                raise SpecificationError(f"formula {f.text!r}: {it.text}: reference level(s) "
                                         f"{unknown} not among the values of {it.factor!r}")
            iterms.append(replace(it, by_numeric=by_numeric, levels=levels, levels2=levels2))
        elif _is_simple(tree):
            for c in cols:
                _numeric(data, c)  # bare names must be numeric
            simple.append(t)
        else:
            other.append(t)
            other_cols += cols
            categorical += [c for c in cols if not pd.api.types.is_numeric_dtype(data[c])
                            and data[c].dtype != bool]
            categorical += [node.args[0].id for node in ast.walk(tree)
                            if isinstance(node, ast.Call) and _func_name(node.func) == "C"
                            and node.args and isinstance(node.args[0], ast.Name)]
    intercept = f.intercept and not f.fixef
    blocks = [np.ones((len(data), 1))] if intercept else []
    names = ["Intercept"] if intercept else []
    blocks += [_product(data, t)[:, None] for t in simple]
    names += simple
    spec = None
    if other:
        from formulaic import model_matrix

        # with an intercept or fixed effects, factors get a reference level (column dropped)
        rhs = ("1 + " if f.intercept or f.fixef else "0 + ") + " + ".join(other)
        try:
            with np.errstate(all="ignore"):  # log(0) etc.: non-finite rows are counted later
                mm = model_matrix(rhs, _prepared(data, list(dict.fromkeys(other_cols))),
                                  na_action="ignore", context=dict(_NUMERIC_FUNCS))
        except Exception as exc:  # formulaic raises many types; report one line
            raise SpecificationError(f"formula {f.text!r}: {type(exc).__name__}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        spec = mm.model_spec
        mm = mm.drop(columns=[c for c in mm.columns if c == "Intercept"])
        blocks.append(mm.to_numpy(dtype=float))
        names += [str(c) for c in mm.columns]
    for it in iterms:
        blocks.append(it.matrix(data))
        names += [c[0] for c in it.columns()]
    X = np.column_stack(blocks) if blocks else np.empty((len(data), 0))
    categories = {c: set(data[c].dropna().unique()) for c in dict.fromkeys(categorical)}
    design = Design(spec, iterms, intercept, names, list(dict.fromkeys(other_cols)), simple,
                    categories)
    return design, X, names


def _factorize(values: pd.Series | np.ndarray, out: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray | pd.Index]:
    """(int64 codes, sorted distinct values) as ``pd.factorize(values, sort=True)``; integer
    columns by a compiled table over their range (written into ``out`` when given)."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and (dtype.kind in "iub"):
        done = factorize_integers(np.asarray(values), out)
        if done is not None:
            return done
    codes, levels = pd.factorize(values, sort=True)
    if out is None:
        return codes.astype(np.int64, copy=False), levels
    out[:] = codes
    return out, levels


def factorize_fe(data: pd.DataFrame, term: str, out: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, pd.Index]:
    """0-based int64 codes (n,) of a fixed-effect term and its levels (sorted; the levels of
    an interaction ``a^b`` are labelled "a_value^b_value"). No missing values expected.
    ``out``: an (n,) int64 array (e.g. a column of the (n, k) codes) to write the codes into."""
    cols = term.split("^")
    if len(cols) == 1:
        codes, levels = _factorize(data[cols[0]], out)
        return codes, pd.Index(levels)
    parts = [_factorize(data[c]) for c in cols]
    combined = np.zeros(len(data), dtype=np.int64)
    for codes, levels in parts:
        combined *= len(levels)
        combined += codes
    codes, uniq = _factorize(combined, out)
    # each level's label from its digits in the mixed radix of the parts' level counts
    rest = uniq.astype(np.int64)
    names = []
    for _, levels in reversed(parts):
        rest, digit = np.divmod(rest, len(levels))
        text = np.array([str(v) for v in levels], dtype=object)  # (few: one per value)
        names.append(text[digit].tolist())
    labels = ["^".join(label) for label in zip(*reversed(names), strict=True)]
    return codes, pd.Index(labels)


def _missing(data: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """(n,) bool: the rows with a missing value in any of ``columns``, column by column (a
    frame's row-wise ``isna().any(axis=1)`` took 0.2 s at 10M rows); integer and boolean
    numpy columns cannot hold one."""
    missing = np.zeros(len(data), dtype=bool)
    for c in dict.fromkeys(columns):
        col = data[c]
        if isinstance(col, pd.DataFrame):  # a duplicated column name
            missing |= col.isna().any(axis=1).to_numpy()
        elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub":
            continue
        elif isinstance(col.dtype, np.dtype) and col.dtype.kind == "f":
            missing |= np.isnan(col.to_numpy())
        else:
            missing |= col.isna().to_numpy()
    return missing


@dataclass
class ModelFrame:
    """Arrays of the estimation sample (rows kept: ``index`` into the input frame)."""

    formula: Formula
    y: np.ndarray
    X: np.ndarray
    coefnames: list[str]
    fe: np.ndarray
    fe_levels: list[pd.Index]
    index: np.ndarray
    nobs_original: int
    drops: dict[str, int] = field(default_factory=dict)


def model_frame(data: pd.DataFrame, formula: str | Formula,
                extra: dict[str, np.ndarray] | None = None) -> tuple[ModelFrame, dict]:
    """Build the arrays of ``formula`` from ``data``.

    extra: other (n,) arrays (weights, offset, cluster codes...) whose missing values also
    drop rows; returned subset to the kept rows in the second element.
    Raises SpecificationError naming an unknown column or a non-numeric regressor.
    """
    f = parse_formula(formula) if isinstance(formula, str) else formula
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, not {_describe(data)}")
    missing_cols = [c for c in f.variables() if c not in data.columns]
    if missing_cols:
        shown = list(data.columns[:30]) + (["..."] if data.shape[1] > 30 else [])
        raise SpecificationError(
            f"formula {f.text!r}: unknown column(s) {missing_cols}; data has {shown}"
        )
    n0 = len(data)
    ok = ~_missing(data, f.variables())
    extra = extra or {}
    for key, arr in extra.items():
        a = np.asarray(arr)
        if a.shape[0] != n0:
            raise SpecificationError(f"{key} has {a.shape[0]} rows, data has {n0}")
        ok &= ~pd.isna(a) if a.ndim == 1 else ~pd.isna(a).any(axis=1)
    idx = np.flatnonzero(ok)
    # only the columns used (the panel is wide); no copy when no row is dropped
    sub = data if idx.size == n0 else data[f.variables()].iloc[idx]
    lhs_tree, _ = _check_expr(f.depvar, f.text, set(_NUMERIC_FUNCS))
    y = _eval_numeric(lhs_tree, sub)
    design, X, names = _build_design(f, sub)
    finite = np.isfinite(y)
    for j in range(X.shape[1]):  # column by column: a narrow array's axis-1 test is slow
        finite &= np.isfinite(X[:, j])
    drops = {"missing": int(n0 - idx.size), "non_finite": int((~finite).sum())}
    if not finite.all():
        idx, y, X, sub = idx[finite], y[finite], X[finite], sub[finite]
    fe = np.empty((idx.size, len(f.fixef)), dtype=np.int64)
    levels = [factorize_fe(sub, t, out=fe[:, q])[1] for q, t in enumerate(f.fixef)]
    f = replace(f, design=design)
    mf = ModelFrame(f, y, np.ascontiguousarray(X), names, fe, levels, idx, n0, drops)
    return mf, {k: np.asarray(v)[idx] for k, v in extra.items()}
