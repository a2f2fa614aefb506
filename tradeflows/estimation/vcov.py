"""Variance-covariance matrices (iid, heteroskedasticity-robust, one- and two-way clustered)
and the small-sample conventions that scale them.

Sandwich: V = B M B with bread B = (X~' W X~)^-1 (X~: regressors after absorbing the fixed
effects; W: the IRLS weights, mu*w for PPML and w for OLS) and meat M = sum of score outer
products, score_i = X~_i * w_i * e_i (e = y - mu for PPML, the residual for OLS).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numba import njit

from tradeflows.errors import SpecificationError
from tradeflows.estimation.codes import code_sizes

__all__ = ["SSC", "ssc", "ssc_stata", "as_ssc", "VcovSpec", "parse_vcov", "sandwich", "fixef_dof",
           "compute_vcov"]


@dataclass(frozen=True)
class SSC:
    """Small-sample convention (fixest's ``ssc()``).

    adj: multiply by (n-1)/(n-K) (iid and clustered) or n/(n-K) (hetero); K counts the
    slopes plus the fixed-effect parameters chosen by ``fixef_k``.
    fixef_k: "none" (K = slopes), "full" (K = slopes + sum of FE levels - (number of FE - 1)),
    "nested" (as "full", but a FE dimension whose every level lies inside one cluster counts
    as a single parameter: its levels are already accounted for by the clustering).
    cluster_adj: multiply clustered matrices by G/(G-1).
    cluster_df: "min" (two-way: every term uses the smallest G, fixest's default) or
    "conventional" (each term its own G).
    """

    adj: bool = True
    fixef_k: str = "nested"
    cluster_adj: bool = True
    cluster_df: str = "min"

    def __post_init__(self) -> None:
        if self.fixef_k not in ("none", "full", "nested"):
            raise SpecificationError(f"ssc fixef_k must be none, full or nested, not {self.fixef_k!r}")
        if self.cluster_df not in ("min", "conventional"):
            raise SpecificationError(f"ssc cluster_df must be min or conventional, not {self.cluster_df!r}")


def ssc(adj: bool = True, fixef_k: str = "nested", cluster_adj: bool = True,
        cluster_df: str = "min") -> SSC:
    """fixest's default small-sample convention (see :class:`SSC`)."""
    return SSC(adj, fixef_k, cluster_adj, cluster_df)


def ssc_stata() -> SSC:
    """Published Stata (ppmlhdfe) convention: G/(G-1) for clustered matrices, nothing else."""
    return SSC(adj=False, fixef_k="none", cluster_adj=True, cluster_df="conventional")


def as_ssc(value: SSC | str | None) -> SSC:
    """None or "fixest" -> :func:`ssc`; "stata" -> :func:`ssc_stata`; an SSC passes through."""
    if value is None or value == "fixest":
        return ssc()
    if value == "stata":
        return ssc_stata()
    if isinstance(value, SSC):
        return value
    raise SpecificationError(f"ssc must be an SSC, 'fixest' or 'stata', not {value!r}")


@dataclass(frozen=True)
class VcovSpec:
    """kind: "iid", "hetero" or "cluster"; clusters: the cluster variables (one or two)."""

    kind: str
    clusters: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.kind == "cluster":
            return "clustered (" + ", ".join(self.clusters) + ")"
        return self.kind


def parse_vcov(vcov: object, fixef: tuple[str, ...]) -> VcovSpec:
    """Read "iid" | "hetero" | {"CL1"/"CL": var} | {"CL2": [a, b]} | "twoway" | None.

    None follows fixest: clustered by the first fixed effect when there is one, else iid.
    """
    if vcov is None:
        return VcovSpec("cluster", (fixef[0],)) if fixef else VcovSpec("iid")
    if isinstance(vcov, str):
        v = vcov.lower()
        if v in ("iid", "standard"):
            return VcovSpec("iid")
        if v in ("hetero", "robust", "hc1", "white"):
            return VcovSpec("hetero")
        if v == "twoway":
            if len(fixef) < 2:
                raise SpecificationError("vcov='twoway' needs at least two fixed effects")
            return VcovSpec("cluster", (fixef[0], fixef[1]))
        if v == "cluster":
            if not fixef:
                raise SpecificationError("vcov='cluster' needs a fixed effect to cluster on")
            return VcovSpec("cluster", (fixef[0],))
        raise SpecificationError(f"unknown vcov {vcov!r}")
    if isinstance(vcov, dict) and len(vcov) == 1:
        (key, val), = vcov.items()
        names = (val,) if isinstance(val, str) else tuple(val)
        if key in ("CL", "CL1", "CRV1") and len(names) == 1:
            return VcovSpec("cluster", names)
        if key in ("CL2", "CL", "CRV1") and len(names) == 2:
            return VcovSpec("cluster", names)
    raise SpecificationError(
        f"vcov {vcov!r} not understood: use 'iid', 'hetero', {{'CL1': var}}, "
        "{'CL2': [var1, var2]} or 'twoway'"
    )


def fixef_dof(fe: np.ndarray, cluster_codes: list[np.ndarray], kind: str) -> int:
    """Number of FE parameters counted in K under ``kind`` = "none" | "full" | "nested".

    fe: (n, k) 0-based codes of the estimation sample (all levels present).
    """
    k = fe.shape[1]
    if kind == "none" or k == 0:
        return 0
    sizes = code_sizes(fe).tolist()
    total = sum(sizes) - (k - 1)
    if kind == "full":
        return total
    for q in range(k):
        for cl in cluster_codes:
            if _nested(fe[:, q], cl, sizes[q]):
                total -= sizes[q] - 1
                break
    return total


@njit(cache=True)
def _nested(codes: np.ndarray, cluster: np.ndarray, ngroups: int) -> bool:
    """True when every level of ``codes`` lies in a single cluster (one pass over the rows,
    stopping at the first level seen in two clusters)."""
    first = np.full(ngroups, -1, dtype=np.int64)
    for i in range(codes.size):
        g = codes[i]
        if first[g] < 0:
            first[g] = cluster[i]
        elif first[g] != cluster[i]:
            return False
    return True


def _cluster_meat(scores: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, int]:
    G = int(codes.max()) + 1 if codes.size else 0
    p = scores.shape[1]
    S = np.zeros((G, p))
    for j in range(p):
        S[:, j] = np.bincount(codes, weights=scores[:, j], minlength=G)
    return S.T @ S, G


def sandwich(bread: np.ndarray, scores: np.ndarray, spec: VcovSpec, conv: SSC, *, n: int,
             K: int, cluster_codes: list[np.ndarray], iid_scale: float = 1.0) -> tuple[np.ndarray, int | None]:
    """The scaled covariance matrix (p, p) and the smallest number of clusters (or None).

    bread: (p, p) inverse information; scores: (n, p); K: parameters counted by ssc (slopes +
    fixef_dof); iid_scale: sigma^2 before adjustment (RSS/(n-1) for OLS, 1 for PPML).
    """
    if conv.adj and n <= K:
        raise SpecificationError(f"{n} observation(s) for {K} parameter(s): no degrees of "
                                 "freedom left for standard errors")
    if spec.kind == "iid":
        adj = (n - 1) / (n - K) if conv.adj else 1.0
        return bread * iid_scale * adj, None
    if spec.kind == "hetero":
        adj = n / (n - K) if conv.adj else 1.0
        return adj * (bread @ (scores.T @ scores) @ bread), None
    adj = (n - 1) / (n - K) if conv.adj else 1.0
    for name, codes in zip(spec.clusters, cluster_codes, strict=True):
        G = int(codes.max()) + 1 if codes.size else 0
        if G < 2:
            raise SpecificationError(
                f"clustered standard errors by {name!r} need at least 2 clusters; {G} "
                "left in the estimation sample (after dropping missing, singleton and "
                "separated rows): use vcov='hetero' or another cluster variable")
    if len(cluster_codes) == 1:
        meat, G = _cluster_meat(scores, cluster_codes[0])
        gadj = G / (G - 1) if conv.cluster_adj else 1.0
        return adj * gadj * (bread @ meat @ bread), G
    a, b = cluster_codes
    _, inter = np.unique(a.astype(np.int64) * (int(b.max()) + 1) + b, return_inverse=True)
    parts = [(+1, *_cluster_meat(scores, a)), (+1, *_cluster_meat(scores, b)),
             (-1, *_cluster_meat(scores, inter.astype(np.int64)))]
    gmin = min(g for _, _, g in parts[:2])
    V = np.zeros_like(bread)
    for sign, meat, G in parts:
        g = gmin if conv.cluster_df == "min" else G
        gadj = g / (g - 1) if conv.cluster_adj else 1.0
        V += sign * gadj * (bread @ meat @ bread)
    if V.size and np.linalg.eigvalsh((V + V.T) / 2).min() < 0:
        warnings.warn("two-way clustered covariance matrix is not positive semi-definite "
                      "(left as computed; some standard errors may be NaN)", RuntimeWarning,
                      stacklevel=4)
    return adj * V, gmin


def compute_vcov(Xd: np.ndarray | None, W: np.ndarray | None, scores: np.ndarray,
                 spec: VcovSpec, conv: SSC, *, fe: np.ndarray, clusters: list[np.ndarray],
                 iid_scale: float = 1.0, info: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, int, int | None]:
    """(vcov (p, p), K counted by ssc, degrees of freedom for t tests) of a fitted model.

    Xd: (n, p) demeaned regressors; W: (n,) IRLS weights; scores: (n, p). info: X'WX (p, p)
    if already known (then Xd and W are not used and may be None).
    """
    n, p = scores.shape
    if p == 0:
        return np.zeros((0, 0)), 0, None
    if info is None:
        info = Xd.T @ (Xd * W[:, None])
    bread = np.linalg.inv(info)
    K = p + fixef_dof(fe, clusters if spec.kind == "cluster" else [], conv.fixef_k)
    V, G = sandwich(bread, scores, spec, conv, n=n, K=K, cluster_codes=clusters,
                    iid_scale=iid_scale)
    df_t = (G - 1) if G is not None else n - K
    return V, K, df_t
