"""General-equilibrium counterfactuals with structural gravity: GE-PPML and a fixed-point solver.

A :class:`GEModel` holds a square cross-section (every exporter-importer pair, domestic flows
included), the trade-cost terms and their coefficients (estimated by PPML with exporter and
importer fixed effects, or given), the trade elasticity ``sigma`` and a reference country whose
inward multilateral resistance (consumer price index) is the numeraire. ``counterfactual``
changes the cost terms and solves:

* ``method="ge_ppml"``: GE-PPML (Anderson, Larch and Yotov 2018), every step a PPML estimation
  with ``tradeflows.estimation.ppml`` (fixed effects + the log cost as offset), iterated until the
  factory-gate prices converge;
* ``method="fixed_point"``: exact hat algebra solved by fixed-point iteration
  (:mod:`tradeflows.gravity.fixed_point`), independent of the estimator; both solve the same
  system and agree to solver tolerance;
* ``method="guide"``: the exact procedure of Yotov et al. (2016, ch. 2, Stata code), including
  its stopping rule (sd and max of the change in price updates <= 0.01), which reproduces the
  guide's published numbers; it stops before convergence and uses unadjusted imbalance ratios,
  so it differs from the converged equilibrium (see docs/ge.md).

All changes are reported in percent. Units of the MR terms: see :mod:`.fixed_point`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from tradeflows.errors import ConvergenceError, DataError, SpecificationError
from tradeflows.gravity import fixed_point as fp

METHODS = ("ge_ppml", "fixed_point", "guide")
#: Cost term of models built from a given cost matrix (:meth:`GEModel.from_costs`).
COST = "ln_cost"

#: Per-country result columns (percent changes), in output order.
COUNTRY_COLUMNS = (
    "exports", "imports", "domestic", "output", "expenditure", "producer_price",
    "consumer_price", "outward_mr", "real_gdp", "welfare",
    "exports_cdl", "imports_cdl", "domestic_cdl", "consumer_price_cdl", "outward_mr_cdl",
)


@dataclass(frozen=True)
class AlignedCosts:
    """Counterfactual cost terms already in a model's pair order (see ``GEModel.aligned``)."""

    terms: dict[str, np.ndarray]


@dataclass
class GEResults:
    """Results of one counterfactual.

    ``country``: one row per country, columns ``country`` + :data:`COUNTRY_COLUMNS` (percent
    changes; ``*_cdl`` = conditional GE, output and expenditure fixed) + baseline levels
    ``output_bln``, ``exports_bln``. ``pairs``: ``exporter, importer, trade_bln`` (fitted baseline,
    data units), ``trade_cdl``, ``trade`` (percent changes). With ``conditional=True`` the full-GE
    columns hold the conditional values (prices, output and expenditure unchanged).
    """

    country: pd.DataFrame
    pairs: pd.DataFrame | None
    method: str
    sigma: float
    reference: str
    conditional: bool
    iterations: int
    converged: bool
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A plain-text table of the main per-country changes."""
        cols = ["country", "exports", "imports", "domestic", "producer_price", "consumer_price",
                "real_gdp"]
        head = (f"GE counterfactual ({'conditional' if self.conditional else 'full endowment'}), "
                f"method={self.method}, sigma={self.sigma:g}, reference={self.reference}, "
                f"iterations={self.iterations}, converged={self.converged}")
        body = self.country[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}")
        return "\n".join([head, "changes in percent", body, *self.notes])


class GEModel:
    """Structural gravity model of one square cross-section.

    ``data``: one row per (exporter, importer) including domestic flows, ``trade`` >= 0 and the
    ``cost_terms`` columns. ``coefs``: {term: value} of the cost terms; if None they are
    estimated by PPML ``trade ~ cost_terms | exporter + importer`` (kept in ``.estimate``).
    Output ``Y_i`` and expenditure ``E_j`` are the row and column sums of ``trade`` (so trade
    imbalances ``phi = E/Y`` come from the data).

    ``baseline="fitted"`` (GE-PPML, the guide): the baseline is the PPML fit ``t_ij = exp(b'z_ij)``
    with the data's margins. ``baseline="observed"`` (ge_gravity style): the baseline flows are
    the data themselves and a counterfactual only needs the change ``exp(b'(z' - z))``, so cost
    terms of unchanged pairs (e.g. domestic ones) never enter.
    """

    def __init__(self, data: pd.DataFrame, exporter: str = "exporter", importer: str = "importer",
                 trade: str = "trade", cost_terms: Sequence[str] = (), sigma: float = 7.0,
                 reference: str | None = None, coefs: Mapping[str, float] | None = None,
                 baseline: str = "fitted", file: object = None) -> None:
        if baseline not in ("fitted", "observed"):
            raise SpecificationError(f"baseline must be 'fitted' or 'observed', not {baseline!r}")
        self.baseline_kind = baseline
        if sigma <= 1:
            raise SpecificationError(f"sigma must exceed 1 (got {sigma})")
        self.exporter, self.importer, self.trade = exporter, importer, trade
        self.cost_terms = list(cost_terms)
        self.sigma = float(sigma)
        self.file = file
        self.countries, self._frame, self._order = _square(data, exporter, importer, trade,
                                                           self.cost_terms, file)
        self.reference = reference if reference is not None else self.countries[-1]
        if self.reference not in self.countries:
            raise DataError(f"reference country {self.reference!r} is not in the data",
                            file=file, column=exporter)
        self.ref = self.countries.index(self.reference)
        n = len(self.countries)
        self._x = self._frame[trade].to_numpy(float).reshape(n, n)
        self.output = self._x.sum(axis=1)
        self.expenditure = self._x.sum(axis=0)
        bad = [c for c, y, e in zip(self.countries, self.output, self.expenditure, strict=True)
               if not (y > 0 and e > 0)]
        if bad:
            raise DataError(f"countries with zero total output or expenditure: {bad}",
                            file=file, column=trade)
        self.estimate = None
        self.stage1 = self.stage2 = None
        if coefs is None:
            self.estimate = self._estimate()
            coefs = self.estimate.coef.to_dict()
        missing = [k for k in self.cost_terms if k not in coefs]
        if missing:
            raise SpecificationError(f"no coefficient given for cost term(s) {missing}")
        self.coefs = {k: float(coefs[k]) for k in self.cost_terms}

    # --- other constructors -----------------------------------------------------------------
    @classmethod
    def from_costs(cls, data: pd.DataFrame, log_costs: pd.DataFrame | str, *,
                   exporter: str = "exporter", importer: str = "importer",
                   trade: str = "trade", **kw: object) -> GEModel:
        """A model whose trade costs are given: ``log_costs`` is ln t_ij = ln tau_ij^(1-sigma)
        as a square DataFrame (index exporters, columns importers) or the name of a column of
        ``data``. It becomes the cost term ``ln_cost`` with coefficient 1; counterfactuals
        take ``{"ln_cost": new square DataFrame}``. Other keyword arguments as
        :class:`GEModel` (sigma, reference, baseline, file)."""
        frame = data.copy()
        if isinstance(log_costs, str):
            if log_costs not in data.columns:
                raise DataError(f"missing column(s) [{log_costs!r}]", column=log_costs)
            frame[COST] = data[log_costs]
        else:
            frame[COST] = _square_lookup(log_costs, frame[exporter], frame[importer], COST)
        return cls(frame, exporter, importer, trade, cost_terms=[COST], coefs={COST: 1.0},
                   **kw)

    @classmethod
    def from_panel(cls, panel: pd.DataFrame, year: int, *, policy_terms: Sequence[str],
                   gravity_terms: Sequence[str] = (), exporter: str = "exporter",
                   importer: str = "importer", time: str = "year", trade: str = "trade",
                   **kw: object) -> GEModel:
        """The guide's two-stage cost estimation (Yotov et al. 2016, ch. 2) as one call.

        Stage 1: PPML on the panel, ``trade ~ policy_terms | exporter^time + importer^time +
        exporter^importer``; its pair fixed effects are the time-invariant bilateral costs.
        Stage 2: pairs of the ``year`` cross-section without an estimated pair effect (no
        positive flow in the panel) get one predicted by PPML of exp(pair effect) on
        ``gravity_terms`` with exporter and importer fixed effects. Costs of ``year``:
        ln t_ij = pair effect + b' policy_ij. The cost terms of the model are the policy terms
        (coefficients from stage 1) and ``pair_cost`` (coefficient 1); counterfactuals change
        the policy terms. The fits are kept in ``.stage1`` and ``.stage2`` (None if every pair
        effect was estimated). Other keyword arguments as :class:`GEModel`.
        """
        from tradeflows.estimation import ppml

        terms = list(policy_terms)
        if not terms:
            raise SpecificationError("from_panel needs at least one policy term")
        need = [exporter, importer, time, trade, *terms, *gravity_terms]
        absent = [c for c in need if c not in panel.columns]
        if absent:
            raise DataError(f"missing column(s) {absent}", column=absent[0])
        pair_fe = f"{exporter}^{importer}"
        stage1 = ppml(panel, f"{trade} ~ {' + '.join(terms)} | {exporter}^{time} + "
                      f"{importer}^{time} + {pair_fe}", tol=1e-12)
        xs = panel[panel[time] == year].copy()
        if xs.empty:
            raise DataError(f"no rows of {time} {year} in the panel", column=time)
        keys = xs[exporter].astype(str) + "^" + xs[importer].astype(str)
        eta = keys.map(stage1.fixef()[pair_fe]).to_numpy(float, copy=True)
        stage2 = None
        missing = np.isnan(eta)
        if missing.any():
            if not gravity_terms:
                raise SpecificationError(
                    f"{int(missing.sum())} pairs of {year} have no estimated pair effect; give "
                    "gravity_terms to predict them (stage 2)")
            known = xs.loc[~missing].assign(_pair_cost=np.exp(eta[~missing]))
            stage2 = ppml(known, f"_pair_cost ~ {' + '.join(gravity_terms)} | {exporter} + "
                          f"{importer}", tol=1e-12)
            pred = stage2.predict(xs.loc[missing], type="link").to_numpy()
            if np.isnan(pred).any():
                raise SpecificationError("stage 2 cannot predict every missing pair effect "
                                         "(a country has no estimated pair effect at all)")
            eta[missing] = pred
        xs["pair_cost"] = eta
        coefs = {**stage1.coef.to_dict(), "pair_cost": 1.0}
        model = cls(xs, exporter, importer, trade, cost_terms=[*terms, "pair_cost"],
                    coefs=coefs, **kw)
        model.stage1, model.stage2 = stage1, stage2
        return model

    # --- building blocks ------------------------------------------------------------------
    def _estimate(self):
        from tradeflows.estimation import ppml

        if not self.cost_terms:
            raise SpecificationError("no cost_terms and no coefs: nothing to estimate")
        rhs = " + ".join(self.cost_terms)
        return ppml(self._frame, f"{self.trade} ~ {rhs} | {self.exporter} + {self.importer}",
                    tol=1e-12)

    def _log_costs(self, values: Mapping[str, np.ndarray], coefs: Mapping[str, float]) -> np.ndarray:
        n = len(self.countries)
        lin = np.zeros(n * n)
        for k in self.cost_terms:
            lin += coefs[k] * values[k]
        return lin.reshape(n, n)

    def _baseline_terms(self) -> dict[str, np.ndarray]:
        return {k: self._frame[k].to_numpy(float) for k in self.cost_terms}

    def aligned(self, new_costs: Mapping[str, object] | pd.DataFrame) -> AlignedCosts:
        """``new_costs`` resolved once to the model's pair order (for repeated solves)."""
        return AlignedCosts(self._new_terms(new_costs))

    def _new_terms(self, new_costs: Mapping[str, object] | pd.DataFrame | AlignedCosts
                   ) -> dict[str, np.ndarray]:
        """Counterfactual values of the cost terms, aligned to the model's pair order."""
        if isinstance(new_costs, AlignedCosts):
            return new_costs.terms
        terms = self._baseline_terms()
        if isinstance(new_costs, pd.DataFrame):
            keys = [self.exporter, self.importer]
            cols = [c for c in new_costs.columns if c in self.cost_terms]
            unknown = [c for c in new_costs.columns if c not in self.cost_terms and c not in keys]
            if unknown:
                raise SpecificationError(f"new_costs columns {unknown} are not cost terms "
                                         f"{self.cost_terms}")
            merged = self._frame[keys].merge(new_costs[keys + cols], on=keys, how="left",
                                             validate="one_to_one")
            for c in cols:
                v = merged[c].to_numpy(float)
                terms[c] = np.where(np.isnan(v), terms[c], v)
            return terms
        for k, v in new_costs.items():
            if k not in self.cost_terms:
                raise SpecificationError(f"{k!r} is not a cost term of the model {self.cost_terms}")
            if isinstance(v, pd.DataFrame):  # square: index exporters, columns importers
                arr = _square_lookup(v, self._frame[self.exporter], self._frame[self.importer], k)
            else:
                arr = np.asarray(v, dtype=float)
                arr = (np.full(terms[k].shape, float(arr)) if arr.ndim == 0
                       else _in_data_order(arr, self._order, k))
            if np.isnan(arr).any():
                raise DataError("counterfactual value is missing", column=k,
                                row=int(np.flatnonzero(np.isnan(arr))[0]))
            terms[k] = arr
        return terms

    def costs(self, new_costs: Mapping[str, object] | pd.DataFrame | AlignedCosts | None = None,
              coefs: Mapping[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Baseline and counterfactual ``t^(1-sigma)`` matrices (``n x n``, [exporter, importer])."""
        b = self.coefs if coefs is None else {k: float(coefs[k]) for k in self.cost_terms}
        lin0 = self._log_costs(self._baseline_terms(), b)
        lin1 = lin0 if new_costs is None else self._log_costs(self._new_terms(new_costs), b)
        if self.baseline_kind == "observed":
            return self._x, self._x * np.exp(lin1 - lin0)
        return np.exp(lin0), np.exp(lin1)

    def baseline(self) -> pd.DataFrame:
        """Baseline per country: output, expenditure, exports, imports, domestic trade (fitted,
        data units), outward and inward MR (``(1-sigma)`` powers, ``imr[ref] = 1``)."""
        t0, _ = self.costs()
        eq = fp.baseline(t0, self.output, self.expenditure, self.ref)
        x = eq.trade
        dom = np.diag(x)
        return pd.DataFrame({"country": self.countries, "output": self.output,
                             "expenditure": self.expenditure, "exports": x.sum(1) - dom,
                             "imports": x.sum(0) - dom, "domestic": dom, "omr": eq.omr,
                             "imr": eq.imr})

    # --- counterfactuals ------------------------------------------------------------------
    def counterfactual(self, new_costs: Mapping[str, object] | pd.DataFrame | AlignedCosts,
                       method: str = "ge_ppml", conditional: bool = False,
                       coefs: Mapping[str, float] | None = None, tol: float | None = None,
                       maxiter: int = 1000, raise_on_failure: bool = True,
                       pairs: bool = True) -> GEResults:
        """Solve the counterfactual where the cost terms take the values ``new_costs``.

        new_costs: {term: scalar or array in the data's row order} or a DataFrame with the
        exporter, importer and term columns (pairs not listed keep their baseline values).
        coefs: override the cost coefficients (e.g. one draw of the partial effects).
        tol: convergence tolerance on factory-gate prices (default 1e-10; for ``"guide"`` the
        guide's 0.01). A full-GE solution that does not converge raises ``ConvergenceError``
        unless ``raise_on_failure=False`` (then ``converged`` is False and values are NaN).
        ``pairs=False`` skips the pair table (faster, for repeated draws).
        """
        if method not in METHODS:
            raise SpecificationError(f"method must be one of {METHODS}, not {method!r}")
        t0, t1 = self.costs(new_costs, coefs)
        if method != "fixed_point" and not (t0 > 0).all():
            raise SpecificationError(f"method {method!r} needs positive baseline flows (a log "
                                     "offset); with zero flows use method='fixed_point'")
        # small dense problems: multithreaded BLAS only adds contention on a shared machine
        with threadpool_limits(limits=1, user_api="blas"):
            if method == "fixed_point":
                states = _solve_fixed_point(t0, t1, self.output, self.expenditure, self.sigma,
                                            self.ref, conditional, tol or 1e-10, maxiter)
            else:
                solver = _GEPPML(self, t0, t1)
                states = (solver.guide(tol or 0.01, maxiter, conditional) if method == "guide"
                          else solver.converged(tol or 1e-10, maxiter, conditional))
        base, cdl, full = states
        if not full.converged and raise_on_failure:
            raise ConvergenceError(f"{method}: full-endowment GE did not converge in "
                                   f"{full.iterations} iterations")
        return self._results(base, cdl, full, method, conditional, pairs)

    def _results(self, base: fp.Equilibrium, cdl: fp.Equilibrium, full: fp.Equilibrium,
                 method: str, conditional: bool, with_pairs: bool = True) -> GEResults:
        country = _country_table(self.countries, base, cdl, full, self.sigma)
        n = len(self.countries)
        pairs = None if not with_pairs else pd.DataFrame({
            "exporter": np.repeat(self.countries, n), "importer": np.tile(self.countries, n),
            "trade_bln": base.trade.ravel(),
            "trade_cdl": _pct(cdl.trade, base.trade).ravel(),
            "trade": _pct(full.trade, base.trade).ravel(),
        })
        notes = []
        if method == "guide":
            notes.append("method 'guide' stops with the guide's 0.01 rule: not a converged "
                         "equilibrium (reproduces the published numbers)")
        return GEResults(country=country, pairs=pairs, method=method, sigma=self.sigma,
                         reference=self.reference, conditional=conditional,
                         iterations=full.iterations, converged=full.converged, notes=notes)


# --- helpers -------------------------------------------------------------------------------
def _pct(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * (new / old - 1.0)


def _country_table(countries: list[str], base: fp.Equilibrium, cdl: fp.Equilibrium,
                   full: fp.Equilibrium, sigma: float) -> pd.DataFrame:
    inv = 1.0 / (1.0 - sigma)

    def flows(eq: fp.Equilibrium) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dom = np.diag(eq.trade)
        return eq.trade.sum(1) - dom, eq.trade.sum(0) - dom, dom

    ex0, im0, d0 = flows(base)
    exc, imc, dc = flows(cdl)
    ex1, im1, d1 = flows(full)
    p0, p1, pc = base.imr ** inv, full.imr ** inv, cdl.imr ** inv
    return pd.DataFrame({
        "country": countries,
        "exports": _pct(ex1, ex0), "imports": _pct(im1, im0), "domestic": _pct(d1, d0),
        "output": _pct(full.output, base.output),
        "expenditure": _pct(full.expenditure, base.expenditure),
        "producer_price": 100.0 * (full.price - 1.0),
        "consumer_price": _pct(p1, p0),
        "outward_mr": _pct(full.omr ** inv, base.omr ** inv),
        "real_gdp": _pct(full.output / p1, base.output / p0),
        "welfare": _pct(full.expenditure / p1, base.expenditure / p0),
        "exports_cdl": _pct(exc, ex0), "imports_cdl": _pct(imc, im0), "domestic_cdl": _pct(dc, d0),
        "consumer_price_cdl": _pct(pc, p0),
        "outward_mr_cdl": _pct(cdl.omr ** inv, base.omr ** inv),
        "output_bln": base.output, "exports_bln": ex0,
    })


def _solve_fixed_point(t0, t1, output, expenditure, sigma, ref, conditional, tol, maxiter):
    base = fp.baseline(t0, output, expenditure, ref)
    cdl = fp.conditional(t1, output, expenditure, ref, imr_init=base.imr)
    if conditional:
        return base, cdl, cdl
    full = fp.solve_full_endowment(t0, t1, output, expenditure, sigma, ref, tol=tol,
                                   maxiter=maxiter)
    return base, cdl, full


class _GEPPML:
    """GE-PPML steps: each is a PPML fit with exporter and importer FE and a log-cost offset."""

    def __init__(self, model: GEModel, t0: np.ndarray, t1: np.ndarray) -> None:
        self.m = model
        self.n = len(model.countries)
        self.frame = model._frame[[model.exporter, model.importer]].copy()
        self.t0, self.t1 = t0, t1
        self.y, self.e = model.output, model.expenditure
        self.ref = model.ref
        self.sigma = model.sigma

    def fit(self, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """PPML of ``y`` on FE with offset ``log t``: fitted flows and ``exp(FE)`` with the
        reference importer's effect at 0, as in the guide. Returns (fitted, exp_pi, exp_chi)."""
        from tradeflows.estimation import ppml

        scale = float(y.mean())  # unit-mean outcome: the deviance criterion is then meaningful
        frame = self.frame.assign(_y=y.ravel() / scale, _off=np.log(t).ravel())
        res = ppml(frame, f"_y ~ 1 | {self.m.exporter} + {self.m.importer}", offset="_off",
                   tol=1e-12, separation=())
        if not res.converged:
            raise ConvergenceError("GE-PPML: a PPML step did not converge")
        fitted = scale * res.predict(newdata=frame).to_numpy().reshape(self.n, self.n)
        core = fitted / t
        exp_pi = core[:, self.ref]
        exp_chi = core[self.ref, :] / core[self.ref, self.ref]
        return fitted, exp_pi, exp_chi

    def _state(self, fitted, exp_pi, exp_chi, output, expenditure, price, it, ok):
        e_r = expenditure[self.ref]
        return fp.Equilibrium(trade=fitted, output=output, expenditure=expenditure,
                              omr=output * e_r / exp_pi, imr=expenditure / (exp_chi * e_r),
                              price=price, iterations=it, converged=ok)

    def _base_cdl(self):
        ones = np.ones(self.n)
        x0, pi0, chi0 = self.fit(self.m._x, self.t0)
        base = self._state(x0, pi0, chi0, self.y, self.e, ones, 0, True)
        xc, pic, chic = self.fit(self.m._x, self.t1)
        cdl = self._state(xc, pic, chic, self.y, self.e, ones, 0, True)
        return base, cdl

    def converged(self, tol: float, maxiter: int, conditional: bool):
        """Full endowment: given prices ``w``, output ``wY`` and balanced expenditure are the
        margins of a PPML fit (FE + offset ``log t1``); market clearing updates
        ``w = (omr'/omr)^(1/sigma)`` until ``max |dw| < tol``."""
        base, cdl = self._base_cdl()
        if conditional:
            return base, cdl, cdl
        phi = self.e / self.y
        w = np.ones(self.n)
        ok = False
        it = 0
        while it < maxiter:
            it += 1
            y1 = w * self.y
            e1 = fp.balanced_expenditure(y1, phi)
            fitted, pi1, chi1 = self.fit(np.outer(y1, e1) / y1.sum(), self.t1)
            state = self._state(fitted, pi1, chi1, y1, e1, w, it, False)
            new = (state.omr / base.omr) ** (1.0 / self.sigma)
            step = float(np.max(np.abs(new - w)))
            w = new
            if step < tol:
                ok = True
                break
        y1 = w * self.y
        e1 = fp.balanced_expenditure(y1, phi)
        fitted, pi1, chi1 = self.fit(np.outer(y1, e1) / y1.sum(), self.t1)
        return base, cdl, self._state(fitted, pi1, chi1, y1, e1, w, it, ok)

    def guide(self, tol: float, maxiter: int, conditional: bool):
        """Yotov et al. (2016, ch. 2) iteration and stopping rule, step by step as in their Stata
        code: trade is updated by ``p_i p_j / (OMR_i IMR_j)`` increments and re-estimated, until
        the standard deviation and the maximum of the change in the price increments are both
        <= ``tol``. Final values are built as in the guide (``Y = p Y_bln``, ``E = phi Y``)."""
        base, cdl = self._base_cdl()
        if conditional:
            return base, cdl, cdl
        inv = 1.0 / (1.0 - self.sigma)
        phi = self.e / self.y
        e_r0 = self.e[self.ref]
        pis = [self.y * e_r0 / base.omr, self.y * e_r0 / cdl.omr]
        e_rs = [e_r0, e_r0]
        omrs, imrs = [base.omr, cdl.omr], [base.imr, cdl.imr]
        c_price = [np.zeros(self.n), (pis[1] / pis[0]) ** inv]
        c_omr, c_imr = np.ones(self.n), np.ones(self.n)
        fitted = cdl.trade
        it, ok = 0, False
        while it < maxiter:
            it += 1
            cp = c_price[-1]
            y_dep = fitted * np.outer(cp, cp) / np.outer(c_omr, c_imr)
            fitted, pi_s, chi_s = self.fit(y_dep, self.t1)
            y_s = fitted.sum(axis=1)
            e_s = phi * y_s
            e_r = e_s[self.ref]
            omr_s = y_s * e_r / pi_s
            imr_s = e_s / (chi_s * e_r)
            c_omr, c_imr = omr_s / omrs[-1], imr_s / imrs[-1]
            dif = c_price[-1] - c_price[-2]
            c_price.append(((pi_s / pis[-1]) / (e_r / e_rs[-1])) ** inv)
            pis.append(pi_s)
            e_rs.append(e_r)
            omrs.append(omr_s)
            imrs.append(imr_s)
            if np.std(dif, ddof=1) <= tol and abs(np.max(dif)) <= tol:
                ok = True
                break
        price = ((pis[-1] / pis[0]) / (e_rs[-1] / e_rs[0])) ** inv
        y_full = price * self.y
        e_full = phi * y_full
        omr_full = y_full * e_rs[-1] / pis[-1]
        imr_full = imrs[-1]
        x_full = np.outer(y_full, e_full) * self.t1 / np.outer(omr_full, imr_full)
        full = fp.Equilibrium(trade=x_full, output=y_full, expenditure=e_full, omr=omr_full,
                              imr=imr_full, price=price, iterations=it, converged=ok)
        return base, cdl, full


def _square_lookup(matrix: pd.DataFrame, exporters: pd.Series, importers: pd.Series,
                   name: str) -> np.ndarray:
    """Values of a square matrix (index exporters, columns importers) for each row's pair."""
    stacked = matrix.stack(future_stack=True)
    keys = pd.MultiIndex.from_arrays([exporters, importers])
    values = stacked.reindex(keys).to_numpy(float)
    if np.isnan(values).any():
        r = int(np.flatnonzero(np.isnan(values))[0])
        raise DataError(f"{name}: no value for {exporters.iloc[r]}->{importers.iloc[r]} in the "
                        "cost matrix", row=r, column=name)
    return values


def _in_data_order(values: np.ndarray, order: np.ndarray, name: str) -> np.ndarray:
    """Reorder an array given in the data's row order to the model's [exporter, importer] order."""
    if values.shape != order.shape:
        raise SpecificationError(f"new values of {name!r} have shape {values.shape}; expected "
                                 f"one per data row {order.shape}")
    return values[order]


def _square(data: pd.DataFrame, exporter: str, importer: str, trade: str,
            cost_terms: list[str], file: object) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    """Validate a square cross-section. Returns sorted countries, rows in [exporter, importer]
    order, and for each of those rows its position in ``data``."""
    need = [exporter, importer, trade, *cost_terms]
    absent = [c for c in need if c not in data.columns]
    if absent:
        raise DataError(f"missing column(s) {absent}", file=file, column=absent[0])
    df = data[need].reset_index(drop=True)
    dup = df.duplicated([exporter, importer], keep=False)
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"duplicate pair {df.at[r, exporter]}->{df.at[r, importer]}",
                        file=file, row=r, column=importer)
    for c in [trade, *cost_terms]:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(v) | ((v < 0) if c == trade else False))
        if bad.size:
            r = int(bad[0])
            raise DataError(f"{'negative or missing' if c == trade else 'missing'} value "
                            f"{df.at[r, c]!r} for {df.at[r, exporter]}->{df.at[r, importer]} "
                            f"({bad.size} such rows)", file=file, row=r, column=c)
        df[c] = v
    countries = sorted(set(df[exporter]) | set(df[importer]))
    present = set(zip(df[exporter], df[importer], strict=True))
    no_domestic = [c for c in countries if (c, c) not in present]
    if no_domestic:
        raise DataError(f"domestic flows missing for {len(no_domestic)} countries: "
                        f"{no_domestic[:20]}; GE needs intra-national trade X_ii",
                        file=file, column=trade)
    missing = [(a, b) for a in countries for b in countries if (a, b) not in present]
    if missing:
        shown = ", ".join(f"{a}->{b}" for a, b in missing[:20])
        raise DataError(f"data not square: {len(missing)} exporter-importer pairs missing "
                        f"(e.g. {shown})", file=file, column=importer)
    index = pd.MultiIndex.from_product([countries, countries], names=[exporter, importer])
    df = df.assign(_row=np.arange(len(df))).set_index([exporter, importer]).reindex(index)
    df = df.reset_index()
    return countries, df.drop(columns="_row"), df["_row"].to_numpy()
