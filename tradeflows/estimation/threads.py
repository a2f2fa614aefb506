"""How many threads the compiled kernels (demeaning, singletons, separation checks) use.

One setting for the whole package: ``set_threads(n)`` (or the ``TRADEFLOWS_THREADS``
environment variable) fixes it; the default is every core this process may run on. Estimators
take ``threads=`` to override it for one call (:func:`using_threads`). Results do not depend
on the number of threads: every parallel loop gives each group or block of rows to one thread
and combines partial results in a fixed order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numba
from threadpoolctl import ThreadpoolController

__all__ = ["available_cores", "get_threads", "set_threads", "using_threads"]

# Threads that wait for the next parallel loop sleep instead of spinning (GNU OpenMP, numba's
# "omp" layer): a sweep has three parallel loops, and on a machine shared with other work
# spinning threads take the cores the working ones need (measured: 2 threads 16x slower
# than 1 with 12 busy processes on 2 cores). Only when the user has not chosen a policy.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_setting: int | None = None
_blas: ThreadpoolController | None = None  # the BLAS libraries loaded, found on first use
_active: int | None = None  # the number of the innermost using_threads block


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at most numba's thread pool size."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, numba.config.NUMBA_NUM_THREADS))


def _checked(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive integer, not {n!r}")
    return min(n, numba.config.NUMBA_NUM_THREADS)


def get_threads() -> int:
    """The current setting: set_threads(), else TRADEFLOWS_THREADS, else the available cores."""
    if _setting is not None:
        return _setting
    env = os.environ.get("TRADEFLOWS_THREADS", "").strip()
    if env:
        try:
            return _checked(int(env))
        except ValueError as err:
            raise ValueError(f"TRADEFLOWS_THREADS must be a positive integer, not {env!r}") from err
    return available_cores()


def set_threads(n: int | None) -> None:
    """Use ``n`` threads from now on (None: back to the default)."""
    global _setting
    _setting = None if n is None else _checked(n)


@contextmanager
def using_threads(n: int | None = None) -> Iterator[int]:
    """Run the enclosed kernels on ``n`` threads (None: the enclosing ``using_threads``
    block's number, else :func:`get_threads`); restores the previous setting afterwards.
    Yields the number used. The outermost block also runs BLAS (numpy's products of the
    (n, p) regressors) on the calling thread alone: OpenBLAS's idle threads spin after each
    call and would take the cores from the compiled kernels that follow (measured: the
    separation proof on 2 threads 0.97 → 0.78 s)."""
    global _active, _blas
    use = (_active or get_threads()) if n is None else _checked(n)
    before, active_before = numba.get_num_threads(), _active
    numba.set_num_threads(use)
    _active = use
    try:
        if active_before is None:
            if _blas is None:
                _blas = ThreadpoolController()
            with _blas.limit(limits=1, user_api="blas"):
                yield use
        else:
            yield use
    finally:
        numba.set_num_threads(before)
        _active = active_before
