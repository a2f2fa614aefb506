"""Recursive removal of singleton observations in fixed-effect models.

An observation is a singleton when it is the only member of its group in some fixed effect.
Its fixed effect fits it perfectly, so it carries no information on the slopes but would
overstate the degrees of freedom (Correia 2015). Dropping singletons of one fixed effect can
create singletons in another (a chain), so removal is iterated to a fixed point.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tradeflows.errors import SpecificationError
from tradeflows.estimation.codes import check_codes, code_offsets

_ROW_BLOCK = 1 << 14  # rows per block of the singleton rounds' parallel pass


@njit(parallel=True, cache=True)
def _drop_singletons(fe: np.ndarray, offsets: np.ndarray, alive: np.ndarray) -> None:
    """In place: clear ``alive`` for singletons until none is left. fe: (n, k) codes; fixed
    effect j's code c is counted at offsets[j] + c (:func:`codes.code_offsets`), so that
    every fixed effect has its own range (without an offset copy of the codes). The group
    sizes are counted per fixed effect in parallel; then rounds, each marking in parallel the
    rows alone in a group and removing them from the counts, until a round marks none."""
    n, k = fe.shape
    counts = np.zeros(offsets[k], dtype=np.int64)
    for j in prange(k):
        for i in range(n):
            if alive[i]:
                counts[offsets[j] + fe[i, j]] += 1
    single = np.zeros(n, dtype=np.bool_)
    nblocks = (n + _ROW_BLOCK - 1) // _ROW_BLOCK
    found = np.zeros(nblocks, dtype=np.int64)
    while True:
        for b in prange(nblocks):
            found[b] = 0
            for i in range(b * _ROW_BLOCK, min(n, (b + 1) * _ROW_BLOCK)):
                if alive[i]:
                    for j in range(k):
                        if counts[offsets[j] + fe[i, j]] == 1:
                            single[i] = True
                            found[b] += 1
                            break
        if found.sum() == 0:
            return
        for b in range(nblocks):
            if found[b]:
                for i in range(b * _ROW_BLOCK, min(n, (b + 1) * _ROW_BLOCK)):
                    if single[i]:
                        single[i] = False
                        alive[i] = False
                        for j in range(k):
                            counts[offsets[j] + fe[i, j]] -= 1


def singleton_mask(fe: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Observations to drop as singletons, found recursively across all fixed effects.

    fe: (n, k) int64 0-based group codes, one column per fixed effect ((n,) is read as k=1).
    keep: optional (n,) bool, the observations still in the sample (default all); rows already
    out are neither counted in the group sizes nor flagged.
    Returns an (n,) bool mask, True = singleton to drop. Rounds over the rows (compiled with
    numba), each dropping every row that is alone in one of its groups and updating the group
    sizes, until a round drops nothing: the result is the fixed point, whatever the order (a
    singleton stays a singleton as other rows leave).
    """
    fe = check_codes(fe)
    n, k = fe.shape
    alive = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).copy()
    if alive.shape != (n,):
        raise SpecificationError(f"keep must have shape ({n},), got {alive.shape}")
    if n == 0 or k == 0:
        return np.zeros(n, dtype=bool)
    start = alive.copy()
    _drop_singletons(fe, code_offsets(fe), alive)
    return start & ~alive
