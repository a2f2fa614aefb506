"""Tests and non-linear functions of coefficients: Wald/F tests of linear hypotheses written
with coefficient names, and the delta method.

Expressions are parsed with Python's ``ast`` and evaluated node by node over a whitelist
(numbers, coefficient names, + - * / **, and exp, log, sqrt, abs); nothing is ``eval``-ed.
Coefficient names that are not Python identifiers (``log(x)``, ``year::2001``) may be written
as they appear in ``coef``.
"""

from __future__ import annotations

import ast
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeflows.errors import SpecificationError
from tradeflows.estimation.formula import tree_depth

__all__ = ["WaldTest", "wald_test", "hypothesis_matrix", "delta_method", "Expression"]

_FUNCS = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "abs": abs}
_IDENT = "A-Za-z0-9_."


@dataclass(frozen=True)
class WaldTest:
    """A Wald test of R b = q.

    statistic: W / df1 (W the chi-square form); pvalue: from F(df1, df2) when ``df2`` is set
    (OLS), from chi2(df1) of W otherwise (PPML); hypotheses: the rows as text.
    Unpacks as ``(statistic, pvalue, df1)``.
    """

    statistic: float
    pvalue: float
    df1: int
    df2: int | None
    distribution: str
    hypotheses: tuple[str, ...]

    def __iter__(self):
        return iter((self.statistic, self.pvalue, self.df1))

    def __str__(self) -> str:
        dist = f"F({self.df1}, {self.df2})" if self.df2 else f"chi2({self.df1}) / {self.df1}"
        return (f"Wald test: {'; '.join(self.hypotheses)}\n"
                f"statistic = {self.statistic:.6g} ~ {dist}, p-value = {self.pvalue:.4g}")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


class Expression:
    """A parsed expression of coefficient names (see the module docstring)."""

    def __init__(self, text: str, names: Sequence[str]) -> None:
        if not isinstance(text, str) or not text.strip():
            raise SpecificationError("expression must be a non-empty string")
        self.text = text
        self.names = list(names)
        order = sorted(range(len(self.names)), key=lambda j: -len(self.names[j]))
        alternatives = "|".join(re.escape(self.names[j]) for j in order)
        self._token = {self.names[j]: f"_b{j}_" for j in order}
        src = text
        if alternatives:
            pattern = re.compile(f"(?<![{_IDENT}])(?:{alternatives})(?![{_IDENT}])")
            src = pattern.sub(lambda m: self._token[m.group(0)], text)
        if len(src) > 2000:
            raise SpecificationError(f"expression of {len(src)} characters is too long")
        try:
            self.tree = ast.parse(src.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise SpecificationError(f"cannot read expression {text!r}") from None
        if tree_depth(self.tree) > 50:
            raise SpecificationError(f"expression {text[:50]!r}... is nested too deeply")
        self._check(self.tree)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and isinstance(
                node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._check(node.operand)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            pass
        elif isinstance(node, ast.Name):
            if not re.fullmatch(r"_b\d+_", node.id):
                shown = self.names[:20] + (["..."] if len(self.names) > 20 else [])
                raise SpecificationError(f"{self.text!r}: unknown coefficient {node.id!r}; "
                                         f"coefficients are {shown}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in _FUNCS and len(node.args) == 1 and not node.keywords:
            self._check(node.args[0])
        else:
            raise SpecificationError(f"{self.text!r}: only numbers, coefficient names, "
                                     f"+ - * / ** and {sorted(_FUNCS)} are allowed")

    def value(self, b: np.ndarray) -> float:
        """The expression at coefficients b (p,)."""
        return float(self._eval(self.tree, b))

    def _eval(self, node: ast.AST, b: np.ndarray) -> float:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return float(b[int(node.id[2:-1])])
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, b)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call):
            return _FUNCS[node.func.id](self._eval(node.args[0], b))
        a, c = self._eval(node.left, b), self._eval(node.right, b)
        op = type(node.op)
        if op is ast.Add:
            return a + c
        if op is ast.Sub:
            return a - c
        if op is ast.Mult:
            return a * c
        if op is ast.Div:
            return a / c
        return a**c

    def linear(self) -> tuple[np.ndarray, float]:
        """(r (p,), c) with expression = r @ b + c; SpecificationError if not linear."""
        r, c = self._linear(self.tree)
        return r, c

    def _linear(self, node: ast.AST) -> tuple[np.ndarray, float]:
        p = len(self.names)
        if isinstance(node, ast.Constant):
            return np.zeros(p), float(node.value)
        if isinstance(node, ast.Name):
            r = np.zeros(p)
            r[int(node.id[2:-1])] = 1.0
            return r, 0.0
        if isinstance(node, ast.UnaryOp):
            r, c = self._linear(node.operand)
            return (-r, -c) if isinstance(node.op, ast.USub) else (r, c)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            (r1, c1), (r2, c2) = self._linear(node.left), self._linear(node.right)
            s = 1.0 if isinstance(node.op, ast.Add) else -1.0
            return r1 + s * r2, c1 + s * c2
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            (r1, c1), (r2, c2) = self._linear(node.left), self._linear(node.right)
            if isinstance(node.op, ast.Mult) and not r1.any():
                return c1 * r2, c1 * c2
            if not r2.any():
                k = c2 if isinstance(node.op, ast.Mult) else 1.0 / c2
                return k * r1, k * c1
        raise SpecificationError(f"hypothesis {self.text!r} is not linear in the coefficients; "
                                 "use delta_method for non-linear functions")


def hypothesis_matrix(hypotheses: str | Sequence[str], names: Sequence[str]
                      ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(R (r, p), q (r,), texts) of linear hypotheses like ``"x1 = x2"``, ``"2*x1 + x2 = 1"``
    or ``"x3"`` (= 0)."""
    items = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
    if not items:
        raise SpecificationError("no hypothesis given")
    R, q = [], []
    for h in items:
        sides = re.split(r"==|=", h)
        if len(sides) > 2:
            raise SpecificationError(f"hypothesis {h!r} has more than one '='")
        r, c = Expression(sides[0], names).linear()
        if len(sides) == 2:
            r2, c2 = Expression(sides[1], names).linear()
            r, c = r - r2, c - c2
        if not r.any():
            raise SpecificationError(f"hypothesis {h!r} involves no coefficient")
        R.append(r)
        q.append(-c)
    return np.array(R), np.array(q), [h if "=" in h else f"{h} = 0" for h in items]


def wald_test(b: np.ndarray, V: np.ndarray, R: np.ndarray, q: np.ndarray,
              texts: Sequence[str], df2: int | None) -> WaldTest:
    """Wald test of R b = q with covariance V; F(r, df2) when df2 is given, else chi2(r)."""
    r = R.shape[0]
    d = R @ b - q
    RVR = R @ V @ R.T
    if np.linalg.matrix_rank(RVR) < r:
        raise SpecificationError("the hypotheses are linearly dependent (or involve "
                                 "coefficients with zero variance); drop redundant rows")
    W = float(d @ np.linalg.solve(RVR, d))
    from scipy import stats  # imported here: scipy.stats costs ~25 MB and 1-3 s to load

    if df2:
        return WaldTest(W / r, float(stats.f.sf(W / r, r, df2)), r, df2, "F", tuple(texts))
    return WaldTest(W / r, float(stats.chi2.sf(W, r)), r, None, "chi2", tuple(texts))


def delta_method(b: np.ndarray, V: np.ndarray, names: Sequence[str],
                 expressions: str | Sequence[str], dist, level: float = 0.95) -> pd.DataFrame:
    """Estimate and standard error of functions of the coefficients by the delta method.

    The gradient is taken by central differences (step 1e-6 (1 + |b_j|), error ~1e-10
    relative for smooth functions). ``dist``: the reference distribution (scipy frozen) for
    p-values and intervals. Returns one row per expression: term, estimate, std_error,
    statistic, p_value, conf_low, conf_high.
    """
    items = [expressions] if isinstance(expressions, str) else list(expressions)
    rows = []
    crit = dist.ppf(0.5 + level / 2)
    for text in items:
        e = Expression(text, names)
        est = e.value(b)
        grad = np.zeros(b.size)
        for j in range(b.size):
            h = 1e-6 * (1.0 + abs(b[j]))
            up, dn = b.copy(), b.copy()
            up[j] += h
            dn[j] -= h
            grad[j] = (e.value(up) - e.value(dn)) / (2 * h)
        se = float(np.sqrt(grad @ V @ grad))
        z = est / se if se > 0 else np.nan
        rows.append((text, est, se, z, float(2 * dist.sf(abs(z))), est - crit * se,
                     est + crit * se))
    return pd.DataFrame(rows, columns=["term", "estimate", "std_error", "statistic", "p_value",
                                       "conf_low", "conf_high"])
