"""The kernels' warm-up: after it, the usual fits compile nothing (checked in a fresh process,
so that kernels compiled by other tests cannot hide a gap)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from tradeflows.cli import main
from tradeflows.estimation.codes import code_sizes
from tradeflows.estimation.demean import NARROW_LEVELS, fe_index
from tradeflows.estimation.sample import build_sample
from tradeflows.estimation.warmup import FORMULA, wide_panel

_AFTER_WARM_UP = r"""
import json, sys, warnings
from numba.core.registry import CPUDispatcher
import numpy as np
import tradeflows.estimation as est
from tradeflows.estimation.synthetic import gravity_panel
from tradeflows.estimation.warmup import FORMULA, warm_up

warm_up()

def signatures():
    seen = {}
    for m in list(sys.modules.values()):
        if not getattr(m, "__name__", "").startswith("tradeflows."):
            continue
        for name, f in vars(m).items():
            if isinstance(f, CPUDispatcher):
                seen[f"{m.__name__}.{name}"] = len(f.signatures)
    return seen

before = signatures()
d = gravity_panel(15, 6, seed=1)
d["w"] = 1.0 + d["x1"]
d["ln_flow"] = np.log1p(d["flow"])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est.ppml(d, FORMULA)
    est.ppml(d, FORMULA, vcov={"CL": "pair"}, separation=("fe",), threads=2)
    est.ppml(d, FORMULA, weights="w", vcov="hetero")
    est.ppml(d, FORMULA, offset="x2", vcov={"CL": "exp_year"})
    est.ppml(d, FORMULA, weights="w", offset="x2", vcov="iid")
    est.ols(d, FORMULA.replace("flow ~", "ln_flow ~"), vcov={"CL": "pair"})
after = signatures()
print(json.dumps({k: [before.get(k, 0), v] for k, v in after.items() if v != before.get(k, 0)}))
"""


def test_fits_after_the_warm_up_compile_nothing():
    out = subprocess.run([sys.executable, "-c", _AFTER_WARM_UP], capture_output=True,
                         text=True, check=True)
    new = json.loads(out.stdout.strip().splitlines()[-1])
    assert new == {}, f"kernels compiled after the warm-up: {new}"


def test_wide_panel_has_more_levels_than_the_narrow_codes_hold():
    s = build_sample(wide_panel(), FORMULA, model="ppml", vcov=None, separation=("fe",))
    assert int(code_sizes(s.fe).sum()) > NARROW_LEVELS
    assert fe_index(s.fe).other.dtype == np.int32  # the kernels' int32 variants


def test_warm_up_command_reports_each_step():
    res = CliRunner().invoke(main, ["--quiet", "warm-up"])
    assert res.exit_code == 0, res.output
    assert "PPML, default separation checks" in res.output and "OLS" in res.output
    assert "kernels ready in" in res.output
