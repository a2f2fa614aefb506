"""Dask fan-out: serial, in-process LocalCluster and a real scheduler + worker started as
separate processes on 127.0.0.1 give the same sector fits and GE draws."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tradeflows as tf
from tradeflows.distributed import ENV_SCHEDULER, fan_out, scheduler_address
from tradeflows.gravity.ge_multisector import MultiSectorGE, simulate_draws
from tradeflows.sectors.gravity import ppml_by
from tradeflows.sectors.synthetic import sector_panel_data

FORMULA = "trade ~ policy + ln_dist | exp_year + imp_year"
DASK = [sys.executable, "-m", "dask"]


def _square(x: float, offset: float = 0.0) -> float:
    return x * x + offset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def remote_scheduler(tmp_path_factory):
    """``dask scheduler`` and one ``dask worker`` as child processes; killed afterwards."""
    from dask.distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    procs = []
    try:
        with open(logs / "scheduler.log", "w") as out:
            procs.append(subprocess.Popen(
                [*DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--no-dashboard"], stdout=out, stderr=subprocess.STDOUT, env=env))
        with open(logs / "worker.log", "w") as out:
            procs.append(subprocess.Popen(
                [*DASK, "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                 "--nthreads", "1", "--no-dashboard", "--no-nanny",
                 "--local-directory", str(logs), "--death-timeout", "60"],
                stdout=out, stderr=subprocess.STDOUT, env=env))
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(1, timeout=max(1, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError) as exc:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    text = "\n".join(p.read_text()[-2000:] for p in logs.glob("*.log"))
                    pytest.fail(f"dask scheduler/worker did not start ({exc}):\n{text}")
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def _ge_model() -> MultiSectorGE:
    """Two sectors, six countries, square with domestic flows."""
    rng = np.random.default_rng(3)
    names = [f"C{i}" for i in range(6)]
    rows = [{"sector": s, "exporter": a, "importer": b,
             "trade": rng.lognormal(3, 1) * (20 if a == b else 1),
             "ln_dist": 0.0 if a == b else rng.uniform(5, 9), "policy": 0.0}
            for s in ("S000", "S001") for a in names for b in names]
    return MultiSectorGE(pd.DataFrame(rows), ["ln_dist", "policy"],
                         {"ln_dist": -0.8, "policy": 0.3}, {"S000": 4.0, "S001": 7.0})


def _draws(model: MultiSectorGE) -> np.ndarray:
    rng = np.random.default_rng(0)
    return model.coefs[None] + rng.normal(0, 0.05, size=(5, *model.coefs.shape))


def test_scheduler_from_environment(monkeypatch):
    monkeypatch.setenv(ENV_SCHEDULER, "tcp://127.0.0.1:1")
    assert scheduler_address() == "tcp://127.0.0.1:1"
    assert scheduler_address("tcp://127.0.0.1:2") == "tcp://127.0.0.1:2"
    monkeypatch.delenv(ENV_SCHEDULER)
    assert scheduler_address() is None


def test_fan_out_keeps_order_and_shared_arguments():
    items = list(range(7))
    assert fan_out(_square, [], workers=1) == []
    assert fan_out(_square, items, serial=True, shared={"offset": 1.0}) == \
        fan_out(_square, items, workers=1, shared={"offset": 1.0}) == \
        [x * x + 1.0 for x in items]


def test_remote_scheduler_gives_the_serial_results(remote_scheduler, monkeypatch):
    df = sector_panel_data(8, 4, 3, seed=2)
    serial = ppml_by(df, FORMULA, serial=True)
    local = ppml_by(df, FORMULA, workers=1)
    remote = ppml_by(df, FORMULA, scheduler=remote_scheduler)
    monkeypatch.setenv(ENV_SCHEDULER, remote_scheduler)
    from_env = ppml_by(df, FORMULA)
    from_env_by = tf.ppml(df, FORMULA, by="sector")  # the scheduler from the environment
    monkeypatch.delenv(ENV_SCHEDULER)
    by = tf.ppml(df, FORMULA, by="sector", scheduler=remote_scheduler)
    assert list(serial) == list(local) == list(remote) == list(from_env) == list(by) == \
        list(from_env_by) == ["S000", "S001", "S002"]
    for name in serial:
        for other in (local, remote, from_env, by, from_env_by):
            np.testing.assert_allclose(other[name].coef, serial[name].coef, rtol=1e-12)
            np.testing.assert_allclose(other[name].se, serial[name].se, rtol=1e-12)
    model = _ge_model()
    new = {"policy": np.where(np.arange(72) % 7 == 0, 0.0, 1.0)}
    a, fa = simulate_draws(model, new, _draws(model), serial=True)
    b, fb = simulate_draws(model, new, _draws(model), scheduler=remote_scheduler)
    assert fa == fb == 0
    np.testing.assert_allclose(b, a, rtol=1e-12)


def test_remote_worker_imports_tradeflows(remote_scheduler):
    from dask.distributed import Client

    with Client(remote_scheduler, timeout="10s") as client:
        where = client.submit(lambda: __import__("tradeflows").__file__).result()
    assert Path(where).name == "__init__.py"


def test_one_sector_ge_draws_on_the_remote_scheduler(remote_scheduler):
    """The existing GE intervals (``tradeflows simulate --draws``) give the same table when
    their draws run on the remote scheduler."""
    from tradeflows.config import paths
    from tradeflows.gravity.ge import GEModel
    from tradeflows.gravity.uncertainty import simulate_intervals

    sample = pd.read_csv(paths().raw / "gegravity_sample" / "sample_data_set.csv")
    terms = ["lndist", "contiguity", "pta", "international"]
    coefs = {"lndist": -0.39, "contiguity": 0.89, "pta": 0.47, "international": -3.41}
    model = GEModel(sample, cost_terms=terms, sigma=5, reference="DEU", coefs=coefs)
    vcov = pd.DataFrame(np.diag([0.07, 0.13, 0.11, 0.2]) ** 2, index=terms, columns=terms)
    shock = sample[["exporter", "importer"]].assign(
        international=np.where(sample["pta"] == 1, 0.0, sample["international"]))
    local = simulate_intervals(model, shock, vcov, draws=6, seed=3, workers=1)
    remote = simulate_intervals(model, shock, vcov, draws=6, seed=3, workers=1,
                                scheduler=remote_scheduler)
    pd.testing.assert_frame_equal(remote.country, local.country, check_exact=False,
                                  rtol=1e-12)
    assert remote.failed == local.failed


def test_local_cluster_does_not_claim_the_dashboard_port():
    """With port 8787 taken, a local cluster starts without the "Port 8787 is already in
    use" warning (no dashboard unless asked)."""
    import warnings

    from tradeflows.distributed import dask_client

    blocker = socket.socket()
    try:
        blocker.bind(("", 8787))
        blocker.listen()
    except OSError:
        pass  # already taken by someone else: the same situation
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with dask_client(workers=1) as client:
                assert fan_out(_square, [2, 3], client=client) == [4, 9]
    finally:
        blocker.close()
