"""Recursive removal of singleton observations in fixed-effect models.

An observation is a singleton when it is the only member of its group in some fixed effect.
Its fixed effect fits it perfectly, so it carries no information on the slopes but would
overstate the degrees of freedom (Correia 2015). Dropping singletons of one fixed effect can
create singletons in another (a chain), so removal is iterated to a fixed point.
"""

from __future__ import annotations

import numpy as np

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


def singleton_mask(fe: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Observations to drop as singletons, found recursively across all fixed effects.

    fe: (n, k) int64 0-based group codes, one column per fixed effect ((n,) is read as k=1).
    keep: optional (n,) bool, the observations still in the sample (default all); rows already
    out are neither counted in the group sizes nor flagged.
    Returns an (n,) bool mask, True = singleton to drop. Iterates until no group of any fixed
    effect has exactly one remaining member. Cost: one ``np.bincount`` and one gather per fixed
    effect per pass, then only the rows of groups that just lost a member are re-examined.
    """
    fe = _check_codes(fe)
    n, k = fe.shape
    alive = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).copy()
    if alive.shape != (n,):
        raise SpecificationError(f"keep must have shape ({n},), got {alive.shape}")
    start = alive.copy()
    if n == 0 or k == 0:
        return np.zeros(n, dtype=bool)
    counts = [np.bincount(fe[alive, j], minlength=int(fe[:, j].max()) + 1) for j in range(k)]
    candidates = np.flatnonzero(alive)
    while candidates.size:
        codes = fe[candidates]
        single = np.zeros(candidates.size, dtype=bool)
        for j in range(k):
            single |= counts[j][codes[:, j]] == 1
        dropped = candidates[single]
        if dropped.size == 0:
            break
        alive[dropped] = False
        touched = np.zeros(n, dtype=bool)
        for j in range(k):
            lost = np.bincount(fe[dropped, j], minlength=counts[j].size)
            counts[j] -= lost
            # rows of groups that just shrank to exactly one member are the next candidates
            touched |= (lost[fe[:, j]] > 0) & (counts[j][fe[:, j]] == 1)
        candidates = np.flatnonzero(touched & alive)
    return start & ~alive
