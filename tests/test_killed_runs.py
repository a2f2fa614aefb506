"""Killed runs leave a consistent state: `tradeflows build` and `tradeflows report` are killed
at random moments in subprocesses; after recovery every output set is the old one or the new
one, with a manifest whose checksums match. Staged commits are also interrupted at every step
deterministically."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_claims_data import synthetic_tree
from test_panel_build import _make_raw

import tradeflows.io as tio
from tradeflows.io import StagedOutputs, recover, sha256_file, write_text

BUILD_OUTPUTS = ("flows.parquet", "investment.parquet", "panel.parquet", "manifest.json")
KILLS = 3  # kills per command (the report's are slower: statsmodels import + claims)
SEED = 20261201


def _cli(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "tradeflows.cli", "--root", str(root),
                             "--quiet", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)


def _run(root: Path, *args: str) -> float:
    start = time.perf_counter()
    proc = _cli(root, *args)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return time.perf_counter() - start


def _kill_at(root: Path, delay: float, *args: str) -> None:
    proc = _cli(root, *args)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*")
                  if p.name.startswith((".stage-", ".commit-")) or p.name.endswith(".tmp"))


def _build_state(processed: Path) -> dict[str, str]:
    state = {n: sha256_file(processed / n) for n in BUILD_OUTPUTS if (processed / n).is_file()}
    manifest = json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
    for name in BUILD_OUTPUTS[:3]:
        assert manifest["outputs"][f"data/processed/{name}"]["sha256"] == state[name], name
    return state


def test_killed_build_leaves_old_or_new_outputs(tmp_path) -> None:
    raw = tmp_path / "raw"
    _make_raw(raw)
    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    (root / "data" / "raw").symlink_to(raw, target_is_directory=True)
    processed = root / "data" / "processed"
    variants = {"all": ("build",), "every2": ("build", "--interval", "2")}
    seconds, states = {}, {}
    for name in ("every2", "all"):  # "all" is on disk afterwards
        seconds[name] = _run(root, *variants[name])
        states[name] = _build_state(processed)
    assert states["all"] != states["every2"]
    rng = random.Random(SEED)
    for k in range(KILLS):
        target = ("every2", "all")[k % 2]
        before = _build_state(processed)
        _kill_at(root, rng.uniform(0.3, 1.05) * seconds[target], *variants[target])
        recover(processed)
        after = _build_state(processed)
        assert after in (before, states[target]), k
        assert _leftovers(processed) == []


def _report_state(reports: Path) -> dict[str, str]:
    files = {p.relative_to(reports).as_posix(): sha256_file(p)
             for p in sorted(reports.rglob("*")) if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(reports).parts)}
    manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    listed = {k.removeprefix("reports/"): v for k, v in manifest["outputs"].items()}
    assert listed == {k: v for k, v in files.items() if k != "manifest.json"}
    return files


def test_killed_report_leaves_old_or_new_report(tmp_path) -> None:
    root = synthetic_tree(tmp_path / "proj")
    # an input of the report (claim C5's counterfactual), in two versions
    estimates = root / "data" / "processed" / "counterfactuals" / "zangezur_full.parquet"
    versions = {"a": pd.read_parquet(estimates)}
    versions["b"] = versions["a"].assign(real_gdp=-versions["a"]["real_gdp"])
    reports = root / "reports"
    seconds, states = {}, {}
    for name in ("b", "a"):
        versions[name].to_parquet(estimates, index=False)
        seconds[name] = _run(root, "report")
        states[name] = _report_state(reports)
    assert states["a"]["index.html"] != states["b"]["index.html"]
    rng = random.Random(SEED)
    for k in range(KILLS - 1):
        target = ("b", "a")[k % 2]
        before = _report_state(reports)
        versions[target].to_parquet(estimates, index=False)
        _kill_at(root, rng.uniform(0.3, 1.05) * seconds[target], "report")
        recover(reports)
        after = _report_state(reports)
        assert after in (before, states[target]), k
        assert _leftovers(reports) == []


def _stage_two(root: Path, text: str) -> StagedOutputs:
    stage = StagedOutputs(root)
    for name in ("a.txt", "sub/b.txt", "manifest.json"):
        write_text(f"{text} {name}", stage.path(root / name))
    return stage


def _texts(root: Path) -> dict[str, str]:
    return {n: (root / n).read_text() for n in ("a.txt", "sub/b.txt", "manifest.json")}


@pytest.mark.parametrize("moves_before_kill", [0, 1, 2])
def test_commit_interrupted_at_each_move_rolls_forward(tmp_path, monkeypatch,
                                                       moves_before_kill) -> None:
    _stage_two(tmp_path, "old").commit()
    stage = _stage_two(tmp_path, "new")
    real, count = os.replace, {"moves": 0}

    def dying_replace(src, dst):
        if Path(src).parent.name.startswith(".commit-") or ".commit-" in str(src):
            if count["moves"] == moves_before_kill:
                raise KeyboardInterrupt  # the process dies here
            count["moves"] += 1
        return real(src, dst)

    monkeypatch.setattr(tio.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        stage.commit()
    monkeypatch.setattr(tio.os, "replace", real)
    monkeypatch.setattr(tio, "_alive", lambda pid: False)  # as if after a restart
    assert (tmp_path / "manifest.json").read_text() == "old manifest.json"  # manifest last
    assert any(line.startswith("completed .commit-") for line in recover(tmp_path))
    assert _texts(tmp_path) == {n: f"new {n}" for n in ("a.txt", "sub/b.txt",
                                                        "manifest.json")}
    assert _leftovers(tmp_path) == []


def test_undecided_stage_and_temp_files_are_removed(tmp_path, monkeypatch) -> None:
    _stage_two(tmp_path, "old").commit()
    _stage_two(tmp_path, "new")  # never committed: the run died
    (tmp_path / ".a.txt.999999999.abcd1234.tmp").write_text("half")
    (tmp_path / "sub" / ".b.txt.999999999.x_y.tmp").write_text("half")
    monkeypatch.setattr(tio, "_alive", lambda pid: pid == os.getpid() and False)
    done = recover(tmp_path)
    assert len(done) == 3
    assert _texts(tmp_path) == {n: f"old {n}" for n in ("a.txt", "sub/b.txt",
                                                        "manifest.json")}
    assert _leftovers(tmp_path) == []


def test_live_process_stage_is_left_alone(tmp_path) -> None:
    stage = _stage_two(tmp_path, "new")
    assert recover(tmp_path) == []  # our own process is alive
    stage.commit()
    assert _texts(tmp_path)["a.txt"] == "new a.txt"


def test_named_last_file_moves_last(tmp_path, monkeypatch) -> None:
    """A scenario's JSON (``last=``) is its set's manifest: moved after the tables."""
    for text in ("old", "new"):
        stage = StagedOutputs(tmp_path, last=("s.json",))
        for name in ("a.parquet", "s.json", "z.parquet"):
            write_text(f"{text} {name}", stage.path(tmp_path / name))
        if text == "old":
            stage.commit()
    real, moves = os.replace, []

    def dying_replace(src, dst):
        if ".commit-" in str(src):
            if len(moves) == 2:
                raise KeyboardInterrupt
            moves.append(Path(dst).name)
        return real(src, dst)

    monkeypatch.setattr(tio.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        stage.commit()
    assert moves == ["a.parquet", "z.parquet"]
    assert (tmp_path / "s.json").read_text() == "old s.json"
    monkeypatch.setattr(tio.os, "replace", real)
    monkeypatch.setattr(tio, "_alive", lambda pid: False)
    recover(tmp_path)
    assert (tmp_path / "s.json").read_text() == "new s.json"
    assert _leftovers(tmp_path) == []
