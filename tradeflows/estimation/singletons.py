"""Recursive removal of singleton observations in fixed-effect models.

An observation is a singleton when it is the only member of its group in some fixed effect.
Its fixed effect fits it perfectly, so it carries no information on the slopes but would
overstate the degrees of freedom (Correia 2015). Dropping singletons of one fixed effect can
create singletons in another (a chain), so removal is iterated to a fixed point.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tradeflows.errors import SpecificationError


def _check_codes(fe: np.ndarray) -> np.ndarray:
    """Validate fixed-effect codes: (n, k) non-negative integers. Returns an int64 2-D view."""
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    if fe.ndim != 2:
        raise SpecificationError(f"fixed-effect codes must be an (n, k) array, got shape {fe.shape}")
    if fe.size and not np.issubdtype(fe.dtype, np.integer):
        raise SpecificationError(
            f"fixed-effect codes must be integers (0-based group codes), got dtype {fe.dtype}"
        )
    fe = fe.astype(np.int64, copy=False)
    if fe.size and fe.min() < 0:
        col = int(np.where((fe < 0).any(axis=0))[0][0])
        row = int(np.where(fe[:, col] < 0)[0][0])
        raise SpecificationError(
            f"fixed-effect codes must be 0-based and non-negative: fixed effect {col}, "
            f"row {row} has code {fe[row, col]}"
        )
    return fe


@njit(cache=True)
def _drop_singletons(fe: np.ndarray, offsets: np.ndarray, alive: np.ndarray, ncodes: int) -> None:
    """In place: clear ``alive`` for singletons until none is left. fe: (n, k) codes; fixed
    effect j's code c is counted at offsets[j] + c, so that every fixed effect has its own
    range in 0..ncodes-1 (without an offset copy of the codes)."""
    n, k = fe.shape
    counts = np.zeros(ncodes, dtype=np.int64)
    for i in range(n):
        if alive[i]:
            for j in range(k):
                counts[offsets[j] + fe[i, j]] += 1
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if not alive[i]:
                continue
            for j in range(k):
                if counts[offsets[j] + fe[i, j]] == 1:
                    alive[i] = False
                    for q in range(k):
                        counts[offsets[q] + fe[i, q]] -= 1
                    changed = True
                    break


def singleton_mask(fe: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Observations to drop as singletons, found recursively across all fixed effects.

    fe: (n, k) int64 0-based group codes, one column per fixed effect ((n,) is read as k=1).
    keep: optional (n,) bool, the observations still in the sample (default all); rows already
    out are neither counted in the group sizes nor flagged.
    Returns an (n,) bool mask, True = singleton to drop. Sweeps over the rows (compiled with
    numba), dropping a row as soon as one of its groups has exactly one remaining member and
    updating the group sizes at once, until a sweep drops nothing: the result is the fixed
    point, whatever the order (a singleton stays a singleton as other rows leave).
    """
    fe = _check_codes(fe)
    n, k = fe.shape
    alive = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).copy()
    if alive.shape != (n,):
        raise SpecificationError(f"keep must have shape ({n},), got {alive.shape}")
    if n == 0 or k == 0:
        return np.zeros(n, dtype=bool)
    start = alive.copy()
    sizes = fe.max(axis=0) + 1
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    _drop_singletons(fe, offsets.astype(np.int64), alive, int(sizes.sum()))
    return start & ~alive
