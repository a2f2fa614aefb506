"""Multi-sector general equilibrium: Armington with sectoral expenditure shares.

The model of Costinot and Rodríguez-Clare (2014, section 3.1 without input-output links):
``n`` countries, ``S`` sectors; each country makes one variety per sector with labour that
moves freely across its sectors (one wage ``w_i``, factory-gate price changes ``w_hat``);
consumers spend the Cobb-Douglas shares ``beta_j^s = E_j^s / E_j`` of their expenditure on
sector ``s`` and a CES aggregate of origins within it, with sector-specific trade elasticity
``epsilon_s = sigma_s - 1``. Exact hat algebra from observed flows ``X_ij^s`` (domestic flows
on the diagonal), for a change of the cost term ``t_ij^s = exp(b_s' z_ij^s)`` (already the
``(1-sigma_s)`` power, as in :mod:`tradeflows.gravity.fixed_point`):

* import shares ``lambda_ij^s' = lambda_ij^s w_hat_i^(1-sigma_s) t_hat_ij^s / P_hat_j^s^(1-sigma_s)``,
  ``P_hat_j^s^(1-sigma_s) = sum_k lambda_kj^s w_hat_k^(1-sigma_s) t_hat_kj^s``;
* expenditure ``E_j' = phi_j w_hat_j Y_j kappa`` (imbalances held as ratios ``phi = E/Y``,
  ``kappa`` keeps world expenditure equal to world output, as the one-sector solver);
* market clearing ``w_hat_i Y_i = sum_s sum_j lambda_ij^s' beta_j^s E_j'``;
* numeraire: the reference country's consumer price index ``P_hat = prod_s P_hat^s^beta``
  equals 1.

With one sector this is exactly the one-sector model of :mod:`tradeflows.gravity.ge` with
``baseline="observed"`` (tested to 1e-9). Real income per country: ``real_gdp`` =
``w_hat / P_hat``, ``welfare`` = ``E_hat / P_hat``; per country and sector: output, exports,
the sectoral price index and the sector's term of the real-wage decomposition
``w_hat_j / P_hat_j = prod_s (lambda_jj^s' / lambda_jj^s)^(beta_j^s / (1 - sigma_s))``
(percent; they multiply up to ``real_gdp`` where every sector has domestic sales).
Solved by Newton's method on market clearing with the analytic Jacobian.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tradeflows.errors import DataError, SpecificationError

COUNTRY_COLUMNS = ("exports", "imports", "domestic", "output", "expenditure",
                   "producer_price", "consumer_price", "real_gdp", "welfare")
SECTOR_COLUMNS = ("output", "exports", "domestic_share", "price_index", "real_wage_term")


@dataclass
class MultiSectorResults:
    """``country``: ``country`` + :data:`COUNTRY_COLUMNS` (percent changes);
    ``country_sector``: ``country, sector`` + :data:`SECTOR_COLUMNS` (percent changes;
    ``domestic_share`` the change of ``lambda_jj^s``); ``w_hat``: factory-gate price changes
    (ratios)."""

    country: pd.DataFrame
    country_sector: pd.DataFrame
    w_hat: np.ndarray
    iterations: int
    converged: bool
    notes: list[str] = field(default_factory=list)


class MultiSectorGE:
    """Multi-sector Armington model of one cross-section.

    ``data``: one row per (exporter, importer, sector), square in every sector with domestic
    flows, ``trade`` >= 0 and the ``cost_terms`` columns. ``coefs``: {term: b} for every
    sector or {sector: {term: b}}; ``sigma``: a number or {sector: sigma} (> 1).
    ``reference``: the numeraire country (default the last in sorted order, as ``GEModel``).
    """

    def __init__(self, data: pd.DataFrame, cost_terms: Sequence[str],
                 coefs: Mapping[str, float] | Mapping[str, Mapping[str, float]],
                 sigma: float | Mapping[str, float], *, reference: str | None = None,
                 exporter: str = "exporter", importer: str = "importer",
                 sector: str = "sector", trade: str = "trade", file: object = None) -> None:
        self.cost_terms = list(cost_terms)
        self.keys = [exporter, importer, sector]
        self.trade_col, self.file = trade, file
        need = [*self.keys, trade, *self.cost_terms]
        missing = [c for c in need if c not in data.columns]
        if missing:
            raise DataError(f"missing column(s) {missing}", file=file, column=missing[0])
        df = data[need].reset_index(drop=True)
        self.countries = sorted(set(df[exporter]) | set(df[importer]))
        self.sectors = sorted(df[sector].astype(str).unique())
        n, s = len(self.countries), len(self.sectors)
        ci = pd.Index(self.countries)
        si = pd.Index(self.sectors)
        e, i, k = (ci.get_indexer(df[exporter]), ci.get_indexer(df[importer]),
                   si.get_indexer(df[sector].astype(str)))
        flat = (k.astype(np.int64) * n + e) * n + i
        if pd.Series(flat).duplicated().any():
            r = int(np.flatnonzero(pd.Series(flat).duplicated().to_numpy())[0])
            raise DataError("duplicate exporter-importer-sector row", file=file, row=r)
        if len(df) != s * n * n:
            raise DataError(f"data not square: {len(df)} rows for {s} sectors x {n}^2 pairs "
                            "(every sector needs every pair, domestic flows included)",
                            file=file, column=importer)
        self._order = np.argsort(flat)  # data rows in [sector, exporter, importer] order
        self._row = np.empty_like(self._order)
        self._row[self._order] = np.arange(len(df))
        x = df[trade].to_numpy(float)
        if not np.isfinite(x).all() or (x < 0).any():
            r = int(np.flatnonzero(~np.isfinite(x) | (x < 0))[0])
            raise DataError("negative or missing trade", file=file, row=r, column=trade)
        self.x = x[self._order].reshape(s, n, n)
        self._z = {t: df[t].to_numpy(float)[self._order].reshape(s, n, n)
                   for t in self.cost_terms}
        self.output = self.x.sum(axis=(0, 2))
        self.expenditure = self.x.sum(axis=(0, 1))
        bad = [c for c, y, x_ in zip(self.countries, self.output, self.expenditure, strict=True)
               if not (y > 0 and x_ > 0)]
        if bad:
            raise DataError(f"countries with zero total output or expenditure: {bad}",
                            file=file, column=trade)
        self.coefs = self._per_sector(coefs)
        self.sigma = self._sigmas(sigma)
        self.reference = reference if reference is not None else self.countries[-1]
        if self.reference not in self.countries:
            raise DataError(f"reference country {self.reference!r} is not in the data",
                            file=file, column=exporter)
        self.ref = self.countries.index(self.reference)

    def _per_sector(self, coefs: Mapping) -> np.ndarray:
        """(S, K) coefficients."""
        out = np.zeros((len(self.sectors), len(self.cost_terms)))
        nested = any(isinstance(v, Mapping) for v in coefs.values())
        for a, sec in enumerate(self.sectors):
            given = coefs.get(sec) if nested else coefs
            if given is None:
                raise SpecificationError(f"no coefficients for sector {sec!r}")
            for b, term in enumerate(self.cost_terms):
                if term not in given:
                    raise SpecificationError(f"no coefficient for cost term {term!r} in "
                                             f"sector {sec!r}")
                out[a, b] = float(given[term])
        return out

    def _sigmas(self, sigma: float | Mapping[str, float]) -> np.ndarray:
        if isinstance(sigma, Mapping):
            missing = [s for s in self.sectors if s not in sigma]
            if missing:
                raise SpecificationError(f"no sigma for sector(s) {missing}")
            values = np.array([float(sigma[s]) for s in self.sectors])
        else:
            values = np.full(len(self.sectors), float(sigma))
        if (values <= 1).any():
            raise SpecificationError(f"every sigma must exceed 1 (got {values.min():g})")
        return values

    def t_hat(self, new_costs: Mapping[str, object],
              coefs: np.ndarray | None = None) -> np.ndarray:
        """``(S, n, n)`` change of the cost term ``exp(b_s'(z' - z))``. ``new_costs``: {term:
        scalar or array in the data's row order}."""
        b = self.coefs if coefs is None else np.asarray(coefs, dtype=float)
        lin = np.zeros_like(self.x)
        for k, term in enumerate(self.cost_terms):
            if term not in new_costs:
                continue
            v = np.asarray(new_costs[term], dtype=float)
            if v.ndim == 0:
                new = np.full(self.x.shape, float(v))
            elif v.shape == (self.x.size,):
                new = v[self._order].reshape(self.x.shape)
            else:
                raise SpecificationError(f"new values of {term!r} have shape {v.shape}; "
                                         f"expected one per data row ({self.x.size},)")
            if np.isnan(new).any():
                raise DataError("counterfactual value is missing", column=term)
            lin += b[:, k][:, None, None] * (new - self._z[term])
        for term in new_costs:
            if term not in self.cost_terms:
                raise SpecificationError(f"{term!r} is not a cost term {self.cost_terms}")
        return np.exp(lin)

    def counterfactual(self, new_costs: Mapping[str, object], *,
                       coefs: np.ndarray | None = None, tol: float = 1e-12,
                       maxiter: int = 100) -> MultiSectorResults:
        """Solve for the new equilibrium; ``coefs``: an (S, K) override (e.g. a draw)."""
        t_hat = self.t_hat(new_costs, coefs)
        w, it, ok = solve(self.x, t_hat, self.sigma, self.ref, tol=tol, maxiter=maxiter)
        return self._results(t_hat, w, it, ok)

    def _results(self, t_hat: np.ndarray, w: np.ndarray, it: int, ok: bool
                 ) -> MultiSectorResults:
        eq = _state(self.x, t_hat, self.sigma, w)
        x1 = eq["flows"]
        dom0 = np.einsum("sii->si", self.x)
        dom1 = np.einsum("sii->si", x1)
        tot0, tot1 = self.x.sum(0), x1.sum(0)
        d0, d1 = np.diag(tot0), np.diag(tot1)
        p_hat = eq["p_hat"]
        pct = _pct
        country = pd.DataFrame({
            "country": self.countries,
            "exports": pct(tot1.sum(1) - d1, tot0.sum(1) - d0),
            "imports": pct(tot1.sum(0) - d1, tot0.sum(0) - d0),
            "domestic": pct(d1, d0),
            "output": pct(eq["output"], self.output),
            "expenditure": pct(eq["expenditure"], self.expenditure),
            "producer_price": 100.0 * (w - 1.0),
            "consumer_price": 100.0 * (p_hat - 1.0),
            "real_gdp": 100.0 * (w / p_hat - 1.0),
            "welfare": 100.0 * (eq["expenditure"] / self.expenditure / p_hat - 1.0),
        })
        e_s = self.x.sum(axis=1)  # (S, n) expenditure by sector
        lam_dom0 = np.divide(dom0, e_s, out=np.full_like(dom0, np.nan), where=e_s > 0)
        lam_dom1 = np.divide(dom1, x1.sum(axis=1), out=np.full_like(dom1, np.nan),
                             where=e_s > 0)
        beta = e_s / self.expenditure[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            term = (lam_dom1 / lam_dom0) ** (beta / (1.0 - self.sigma)[:, None])
        out0, out1 = self.x.sum(2), x1.sum(2)
        ex0, ex1 = out0 - dom0, out1 - dom1
        n, s = len(self.countries), len(self.sectors)
        sector_tab = pd.DataFrame({
            "country": np.tile(self.countries, s), "sector": np.repeat(self.sectors, n),
            "output": pct(out1, out0).ravel(), "exports": pct(ex1, ex0).ravel(),
            "domestic_share": pct(lam_dom1, lam_dom0).ravel(),
            "price_index": 100.0 * (eq["p_hat_s"] - 1.0).ravel(),
            "real_wage_term": 100.0 * (term - 1.0).ravel()})
        notes = [] if ok else [f"not converged after {it} Newton steps"]
        return MultiSectorResults(country, sector_tab, w, it, ok, notes)


def _pct(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * (np.asarray(new) / np.asarray(old) - 1.0)


def _state(x: np.ndarray, t_hat: np.ndarray, sigma: np.ndarray, w: np.ndarray) -> dict:
    """Counterfactual flows and prices for factory-gate price changes ``w`` (hat algebra)."""
    a = (1.0 - sigma)[:, None, None]
    e_s = x.sum(axis=1)  # (S, n): expenditure of importer j on sector s
    y0 = x.sum(axis=(0, 2))
    e0 = x.sum(axis=(0, 1))
    phi = e0 / y0
    lam = np.divide(x, e_s[:, None, :], out=np.zeros_like(x), where=e_s[:, None, :] > 0)
    beta = e_s / e0[None, :]
    terms = lam * w[None, :, None] ** a * t_hat
    p_idx = terms.sum(axis=1)  # (S, n): P_hat^s^(1-sigma_s)
    safe = np.where(p_idx > 0, p_idx, 1.0)
    lam1 = terms / safe[:, None, :]
    raw = phi * w * y0
    e1 = raw * (w * y0).sum() / raw.sum()
    flows = lam1 * (beta * e1[None, :])[:, None, :]
    p_hat_s = np.where(p_idx > 0, safe ** (1.0 / (1.0 - sigma))[:, None], 1.0)
    p_hat = np.exp((beta * np.log(p_hat_s)).sum(axis=0))
    return {"flows": flows, "lam1": lam1, "beta": beta, "expenditure": e1,
            "output": flows.sum(axis=(0, 2)), "p_hat_s": p_hat_s, "p_hat": p_hat,
            "y0": y0, "phi": phi}


def solve(x: np.ndarray, t_hat: np.ndarray, sigma: np.ndarray, ref: int, *,
          tol: float = 1e-12, maxiter: int = 100) -> tuple[np.ndarray, int, bool]:
    """Factory-gate price changes ``w_hat`` (length n) by Newton on ``F_i = log(sales_i) -
    log(w_i Y_i)`` (``i != ref``) and ``F_ref = log P_hat_ref`` in ``v = log w``, with a
    halving line search. Stops when ``max |F| < tol``. Returns (w, steps, converged)."""
    n = x.shape[1]
    v = np.zeros(n)
    eps = sigma - 1.0

    def residual(v: np.ndarray) -> tuple[np.ndarray, dict]:
        w = np.exp(v)
        st = _state(x, t_hat, sigma, w)
        f = np.log(st["output"]) - np.log(w * st["y0"])
        f[ref] = np.log(st["p_hat"][ref])
        return f, st

    f, st = residual(v)
    for it in range(1, maxiter + 1):
        if np.max(np.abs(f)) < tol:
            return np.exp(v), it - 1, True
        jac = _jacobian(st, np.exp(v), eps, ref)
        step = np.linalg.solve(jac, -f)
        if not np.all(np.isfinite(step)):
            return np.exp(v), it, False
        norm = np.max(np.abs(f))
        lam = 1.0
        while True:
            f_new, st_new = residual(v + lam * step)
            if np.all(np.isfinite(f_new)) and np.max(np.abs(f_new)) < norm or lam < 1e-4:
                break
            lam /= 2.0
        v, f, st = v + lam * step, f_new, st_new
    return np.exp(v), maxiter, bool(np.max(np.abs(f)) < tol)


def _jacobian(st: dict, w: np.ndarray, eps: np.ndarray, ref: int) -> np.ndarray:
    """``dF/dv`` of :func:`solve` (analytic; see the module docstring for the system)."""
    flows, lam1, beta = st["flows"], st["lam1"], st["beta"]
    sales = flows.sum(axis=(0, 2))
    y0, phi = st["y0"], st["phi"]
    n = len(w)
    wy, pwy = w * y0, phi * w * y0
    dkappa = wy / wy.sum() - pwy / pwy.sum()
    # d sales_i / d v_k = -delta_ik sum_s eps_s S_i^s + sum_s eps_s sum_j X_ij^s lam_kj^s
    #                     + X_ik (all sectors) + sales_i dkappa_k
    s_is = flows.sum(axis=2)  # (S, n)
    d = -np.diag((eps[:, None] * s_is).sum(axis=0))
    d += np.einsum("s,sij,skj->ik", eps, flows, lam1)
    d += flows.sum(axis=0)
    d += sales[:, None] * dkappa[None, :]
    jac = d / sales[:, None] - np.eye(n)
    # numeraire row: d log P_hat_ref / d v_k = sum_s beta_ref^s lam1_{k,ref}^s
    jac[ref] = (beta[:, ref][:, None] * lam1[:, :, ref]).sum(axis=0)
    return jac


def solve_draw(coefs: np.ndarray, model: MultiSectorGE, new_costs: Mapping[str, object]
               ) -> np.ndarray | None:
    """One draw for :func:`tradeflows.distributed.fan_out`: per-country ``real_gdp`` and
    ``welfare`` (n x 2, percent), None if it did not converge."""
    res = model.counterfactual(new_costs, coefs=coefs)
    if not res.converged:
        return None
    return res.country[["real_gdp", "welfare"]].to_numpy()


def simulate_draws(model: MultiSectorGE, new_costs: Mapping[str, object],
                   draws: np.ndarray, **fan_out_options: object) -> tuple[np.ndarray, int]:
    """Solve the counterfactual for each coefficient draw (``draws``: D x S x K) through
    :func:`tradeflows.distributed.fan_out` (``serial``, ``client``, ``scheduler``,
    ``workers``). Returns (D x n x 2 array of ``real_gdp``, ``welfare`` in percent, NaN for
    a draw that did not converge; the number of such draws)."""
    from tradeflows.distributed import fan_out

    draws = np.asarray(draws, dtype=float)
    shape = (len(model.sectors), len(model.cost_terms))
    if draws.ndim != 3 or draws.shape[1:] != shape:
        raise SpecificationError(f"draws must have shape (D, {shape[0]}, {shape[1]}); got "
                                 f"{draws.shape}")
    out = fan_out(solve_draw, list(draws), shared={"model": model, "new_costs": new_costs},
                  desc="GE draws", **fan_out_options)
    failed = sum(r is None for r in out)
    n = len(model.countries)
    stack = np.stack([np.full((n, 2), np.nan) if r is None else r for r in out])
    return stack, failed
