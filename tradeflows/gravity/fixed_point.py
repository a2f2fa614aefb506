"""Fixed-point solvers of the one-sector structural gravity (Armington-CES) system.

Independent of any estimator: everything here is numpy on square ``n x n`` arrays indexed
[exporter, importer] (domestic flows on the diagonal). Units follow Yotov et al. (2016, ch. 2):

* ``t`` is the trade-cost term ``t_ij^(1-sigma) = exp(sum_k b_k z_ijk)``;
* ``omr`` (outward MR) and ``imr`` (inward MR) are the ``(1-sigma)`` powers, with the world
  output absorbed in ``omr``, so that ``X_ij = Y_i E_j t_ij / (omr_i imr_j)``;
* the normalization is ``imr[ref] = 1``: the reference country's consumer price index is the
  numeraire, in the baseline and in every counterfactual.

Full-endowment equilibrium (exact hat algebra): with factory-gate price changes ``w``,
``Y'_i = w_i Y_i`` and ``E'_j = phi_j w_j Y_j kappa`` where ``phi = E/Y`` (trade imbalances held as
ratios of output) and ``kappa = sum(Y') / sum(phi Y')`` keeps world expenditure equal to world
output, so that the system has a solution. Market clearing ``Y'_i = sum_j X'_ij`` then gives
``w_i = (omr'_i / omr_i)^(1/sigma)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tradeflows.errors import ConvergenceError


@dataclass(frozen=True)
class Equilibrium:
    """A solved equilibrium: arrays of length ``n`` except ``trade`` (``n x n``, value units)."""

    trade: np.ndarray
    output: np.ndarray
    expenditure: np.ndarray
    omr: np.ndarray
    imr: np.ndarray
    price: np.ndarray
    iterations: int
    converged: bool


def solve_resistances(t: np.ndarray, output: np.ndarray, expenditure: np.ndarray, ref: int,
                      tol: float = 1e-12, maxiter: int = 100,
                      imr_init: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve ``omr_i = sum_j t_ij E_j / imr_j`` and ``imr_j = sum_i t_ij Y_i / omr_i``, ``imr[ref]=1``.

    Requires ``sum(output) == sum(expenditure)`` (relative 1e-9). Starts from ``imr_init``
    (default ``E / E[ref]``, exact when ``t`` are the flows themselves), iterates the two
    equations (at most ``maxiter`` times) and, if the relative change of ``imr`` is still above
    ``tol`` (slow on sparse flow matrices), finishes with Newton steps on ``log imr``. Returns
    ``(omr, imr, iterations)``; raises ``ConvergenceError`` if Newton fails too.
    """
    if not np.isclose(output.sum(), expenditure.sum(), rtol=1e-9, atol=0.0):
        raise ValueError("world output and world expenditure differ; the system has no solution")
    imr = expenditure / expenditure[ref] if imr_init is None else imr_init / imr_init[ref]
    step = np.inf
    for it in range(1, maxiter + 1):
        omr = t @ (expenditure / imr)
        new = t.T @ (output / omr)
        new = new / new[ref]
        step = np.max(np.abs(new / imr - 1.0))
        imr = new
        if step < tol:
            return t @ (expenditure / imr), imr, it
    imr, extra = _newton(t, output, expenditure, ref, imr, tol)
    return t @ (expenditure / imr), imr, maxiter + extra


def _newton_prices(x0: np.ndarray, t_hat: np.ndarray, lam: np.ndarray, phi: np.ndarray,
                   sigma: float, ref: int, w: np.ndarray, maxiter: int,
                   done: Callable[[np.ndarray], bool]) -> tuple[np.ndarray, int]:
    """Newton on market clearing ``log S_i(w) = log(w_i Y_i)`` (``i != ref``) and the numeraire
    ``log P_hat[ref] = 0``, ``v = log w``.

    ``S_i = sum_j X'_ij``, ``X'_ij = X_ij w_i^a t_hat_ij w_j kappa / P_hat_j`` (``a = 1-sigma``).
    Jacobian ``d log S_i / d v_k = a d_ik + s_ik + d log kappa / d v_k - a sum_j s_ij pi_kj``
    with ``s`` = row shares of ``X'`` and ``pi_kj`` = counterfactual import shares.
    Stops when ``done(w)`` (the caller's convergence test) or after ``maxiter`` updates.
    Returns (w, Newton updates made); stops early on a non-finite step.
    """
    a = 1.0 - sigma
    y0 = x0.sum(axis=1)
    v = np.log(w)
    for k in range(maxiter + 1):
        w = np.exp(v)
        terms = lam * (w ** a)[:, None] * t_hat
        p_idx = terms.sum(axis=0)
        pi = terms / p_idx[None, :]
        wy, pwy = w * y0, phi * w * y0
        kappa = wy.sum() / pwy.sum()
        flows = x0 * (w ** a)[:, None] * t_hat * (w * kappa / p_idx)[None, :]
        sales = flows.sum(axis=1)
        f = np.log(sales) - np.log(wy)
        f[ref] = np.log(p_idx[ref]) / a
        if k == maxiter or done(w):
            return w, k
        shares = flows / sales[:, None]
        dkappa = wy / wy.sum() - pwy / pwy.sum()
        jac = a * np.eye(len(v)) + shares + dkappa[None, :] - a * shares @ pi.T - np.eye(len(v))
        jac[ref] = pi[:, ref]
        step = np.linalg.solve(jac, -f)
        if not np.all(np.isfinite(step)):
            return w, k + 1
        v = v + step
    return np.exp(v), maxiter


def _newton(t: np.ndarray, output: np.ndarray, expenditure: np.ndarray, ref: int,
            imr: np.ndarray, tol: float, maxiter: int = 50) -> tuple[np.ndarray, int]:
    """Newton on ``g_j(u) = log(sum_i t_ij Y_i / omr_i(u)) - u_j``, ``u = log imr``, ``u[ref]=0``."""
    free = np.arange(len(output)) != ref
    u = np.log(imr)
    resid = np.inf
    for it in range(1, maxiter + 1):
        a = t * (expenditure * np.exp(-u))[None, :]  # t_ik E_k / imr_k
        omr = a.sum(axis=1)
        b = t * (output / omr)[:, None]  # t_ij Y_i / omr_i
        s = b.sum(axis=0)
        g = np.log(s) - u
        resid = float(np.max(np.abs(g[free])))
        if resid < tol:
            return np.exp(u), it
        jac = (b / omr[:, None]).T @ a / s[:, None] - np.eye(len(u))
        u[free] -= np.linalg.solve(jac[np.ix_(free, free)], g[free])
    raise ConvergenceError(f"multilateral resistances: Newton did not converge in {maxiter} "
                           f"steps (last residual {resid:.3g} > tol {tol:g})")


def gravity_flows(t: np.ndarray, output: np.ndarray, expenditure: np.ndarray, omr: np.ndarray,
                  imr: np.ndarray) -> np.ndarray:
    """Structural flows ``X_ij = Y_i E_j t_ij / (omr_i imr_j)`` (``n x n``)."""
    return output[:, None] * expenditure[None, :] * t / (omr[:, None] * imr[None, :])


def balanced_expenditure(output: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``E_j = phi_j Y_j kappa`` with ``kappa`` making world expenditure equal world output."""
    raw = phi * output
    return raw * (output.sum() / raw.sum())


def baseline(t0: np.ndarray, output: np.ndarray, expenditure: np.ndarray, ref: int,
             tol: float = 1e-12, imr_init: np.ndarray | None = None) -> Equilibrium:
    """Baseline equilibrium: flows with margins ``output``/``expenditure`` and cost terms ``t0``.

    These are exactly the fitted values of PPML with exporter and importer fixed effects and
    ``log t0`` as offset (PPML's score equations are the row and column sums).
    """
    omr, imr, it = solve_resistances(t0, output, expenditure, ref, tol=tol, imr_init=imr_init)
    return Equilibrium(trade=gravity_flows(t0, output, expenditure, omr, imr), output=output,
                       expenditure=expenditure, omr=omr, imr=imr, price=np.ones(len(output)),
                       iterations=it, converged=True)


def conditional(t1: np.ndarray, output: np.ndarray, expenditure: np.ndarray, ref: int,
                tol: float = 1e-12, imr_init: np.ndarray | None = None) -> Equilibrium:
    """Conditional GE: new costs ``t1``, output and expenditure held at their baseline values
    (start from the baseline ``imr`` for speed)."""
    return baseline(t1, output, expenditure, ref, tol=tol, imr_init=imr_init)


def solve_full_endowment(t0: np.ndarray, t1: np.ndarray, output: np.ndarray,
                         expenditure: np.ndarray, sigma: float, ref: int, tol: float = 1e-12,
                         maxiter: int = 10_000, damping: float = 1.0,
                         accelerate_after: int = 20) -> Equilibrium:
    """Full-endowment counterfactual by exact hat algebra (the ge_gravity-style iteration).

    Iterates on the factory-gate price changes ``w`` (length ``n``): consumer price indexes
    ``P_hat_j^(1-sigma) = sum_i lambda_ij w_i^(1-sigma) t_hat_ij`` (``lambda`` = baseline import
    shares, ``t_hat = t1/t0``), flows ``X'_ij = X_ij w_i^(1-sigma) t_hat_ij E'_j/E_j / P_hat_j^(1-sigma)``,
    then ``w_i = (sum_j X'_ij / (w_i^(1-sigma) Y_i))^(1/sigma)`` rescaled so ``P_hat[ref] = 1``
    (``damping`` < 1 mixes in the previous ``w`` geometrically). Stops when
    ``max |w_new - w| < tol``. Nearly closed economies make this map contract slowly, so after
    ``accelerate_after`` iterations the same fixed point is finished by Newton steps on market
    clearing (analytic Jacobian, see :func:`_newton_prices`), accepted when the map's step is
    then below ``tol``. Never raises on non-convergence (within ``maxiter`` iterations):
    ``converged`` is set instead, so callers can count failures. Levels: ``imr' = imr
    P_hat^(1-sigma)``, ``omr'_i = sum_j t1_ij E'_j / imr'_j``, flows
    ``Y'_i E'_j t1_ij / (omr'_i imr'_j)``.
    """
    base = baseline(t0, output, expenditure, ref)
    x0 = base.trade
    y0, e0 = output, expenditure
    phi = e0 / y0
    lam = x0 / e0[None, :]
    t_hat = np.divide(t1, t0, out=np.ones_like(t0), where=t0 > 0)  # zero flows stay zero
    a = 1.0 - sigma

    def update(w: np.ndarray) -> np.ndarray:
        p_idx = (lam * (w ** a)[:, None] * t_hat).sum(axis=0)
        e1 = balanced_expenditure(w * y0, phi)
        flows = x0 * (w ** a)[:, None] * t_hat * (e1 / e0 / p_idx)[None, :]
        new = (flows.sum(axis=1) / (w ** a * y0)) ** (1.0 / sigma)
        return new / (lam[:, ref] * new ** a * t_hat[:, ref]).sum() ** (1.0 / a)

    w = np.ones(len(y0))
    converged = False
    it = 0
    while it < maxiter:
        it += 1
        new = update(w)
        new = w ** (1.0 - damping) * new ** damping
        step = float(np.max(np.abs(new - w)))
        w = new
        if not np.all(np.isfinite(w)):
            break
        if step < tol:
            converged = True
            break
        if it == accelerate_after:
            w, nsteps = _newton_prices(x0, t_hat, lam, phi, sigma, ref, w, maxiter - it,
                                       lambda z: bool(np.max(np.abs(update(z) - z)) < tol))
            it += nsteps
            new = update(w)
            converged = bool(np.all(np.isfinite(new)) and np.max(np.abs(new - w)) < tol)
            w = new
            break
    y1 = w * y0
    e1 = balanced_expenditure(y1, phi)
    if not converged:
        return Equilibrium(trade=np.full_like(x0, np.nan), output=y1, expenditure=e1,
                           omr=np.full_like(w, np.nan), imr=np.full_like(w, np.nan), price=w,
                           iterations=it, converged=False)
    imr1 = base.imr * (lam * (w ** a)[:, None] * t_hat).sum(axis=0)
    omr1 = t1 @ (e1 / imr1)
    return Equilibrium(trade=gravity_flows(t1, y1, e1, omr1, imr1), output=y1, expenditure=e1,
                       omr=omr1, imr=imr1, price=w, iterations=it, converged=True)
