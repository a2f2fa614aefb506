"""End to end: `tradeflows reproduce` from the bundled raw data writes the full report; a
second `report` run gives identical bytes; the HTML opens in headless Chromium without
console errors (screenshot taken), and every figure loads and is not blank.

The pipeline runs once per session, in a fresh venv with the built wheel installed, in a
project made by `tradeflows init` (the ``fresh_reproduce`` fixture, tests/_fresh_venv.py);
test_wheel.py checks the same run from the packaging side."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _fresh_venv import REPO, fresh_venv_group
from test_claims_data import synthetic_tree

from tradeflows.config import paths as project_paths
from tradeflows.studies.azerbaijan.claims.catalog import load_catalog
from tradeflows.studies.azerbaijan.report.build import build_report

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
BROWSER_ERRORS = ("Uncaught", "ERR_FILE_NOT_FOUND", "Failed to load resource",
                  "Not allowed to load local resource")


def screenshot(index: Path, png: Path, profile: Path) -> str:
    """Open ``index`` in headless Chromium, save a 1280x2000 screenshot; return its log."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           f"--screenshot={png}", "--window-size=1280,2000", index.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


# Injected into a copy of the report: after load, every <img> gets data attributes with its
# natural width and the share of its pixels that are not white (drawn on a canvas).
_PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    img.dataset.width = img.naturalWidth;
    try {
      const c = document.createElement("canvas");
      c.width = Math.max(1, Math.min(img.naturalWidth, 800));
      c.height = Math.max(1, Math.round(c.width * img.naturalHeight / Math.max(1, img.naturalWidth)));
      const g = c.getContext("2d");
      g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height);
      g.drawImage(img, 0, 0, c.width, c.height);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 720) ink++;
      img.dataset.ink = (ink / (d.length / 4)).toFixed(4);
    } catch (e) { img.dataset.ink = "error: " + e.name; }
  }
  document.body.dataset.probed = "yes";
});
</script>"""


def figures_in_page(index: Path) -> list[str]:
    """The src of every <img> of the report page."""
    return re.findall(r'<img src="([^"]+)"', index.read_text(encoding="utf-8"))


def check_figure_files(index: Path) -> None:
    """Every figure of the page exists; its PNG (300 dpi) is not blank."""
    import matplotlib.image as mpimg

    srcs = figures_in_page(index)
    assert srcs
    for src in srcs:
        file = index.parent / src
        assert file.is_file(), src
        png = file.with_suffix(".png")
        pixels = mpimg.imread(png)[..., :3]
        ink = float((pixels.sum(axis=2) < 2.82).mean())
        assert ink > 0.005, f"{png.name} is blank ({ink:.4f} of pixels not white)"
        assert file.suffix != ".svg" or b"<path" in file.read_bytes()


def check_figures_in_browser(index: Path, tmp: Path) -> None:
    """Open a copy of the page with a probe: each <img> loaded (natural width > 0) and drawn
    with more than 0.5% non-white pixels."""
    probe = index.with_name(".probe_index.html")
    probe.write_text(index.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"),
                     encoding="utf-8")
    try:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--allow-file-access-from-files", "--disable-background-networking",
               f"--user-data-dir={tmp / 'chromium-probe'}", "--virtual-time-budget=15000",
               "--dump-dom", probe.as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    finally:
        probe.unlink()
    dom = done.stdout
    assert 'data-probed="yes"' in dom, done.stderr[-2000:]
    imgs = re.findall(r"<img [^>]*>", dom)
    assert len(imgs) == len(figures_in_page(index))
    for tag in imgs:
        src = re.search(r'src="([^"]+)"', tag).group(1)
        width = int(re.search(r'data-width="(\d+)"', tag).group(1))
        ink = re.search(r'data-ink="([^"]+)"', tag).group(1)
        assert width > 0, f"{src} did not load"
        assert not ink.startswith("error") and float(ink) > 0.005, f"{src} is blank ({ink})"


def check_in_browser(index: Path, tmp: Path) -> Path:
    check_figure_files(index)
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI installs it with apt-get install chromium)")
    png = tmp / "report.png"
    log = screenshot(index, png, tmp / "chromium-profile")
    bad = [line for line in log.splitlines() if any(e in line for e in BROWSER_ERRORS)]
    assert bad == []
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    check_figures_in_browser(index, tmp)
    return png


def test_synthetic_report_opens_in_chromium(tmp_path):
    p = project_paths(synthetic_tree(tmp_path / "project"))
    check_in_browser(build_report(p, progress=False), tmp_path)


@pytest.mark.slow
@fresh_venv_group
def test_reproduce_writes_the_full_report(fresh_reproduce):
    """The full report is written, its descriptive section comes first, the manifest lists
    every raw input and output with their checksums."""
    first = fresh_reproduce.first
    for name in ("index.html", "report.md", "manifest.json", "tables/claims.tex",
                 "tables/claims.html", "tables/claims.md", "figures/verdicts.png",
                 "figures/verdicts.svg", "figures/corridor_cargo.svg",
                 "figures/claim_c1_placebo.png", "figures/claim_c2_randomization.png",
                 "figures/claim_c3_event_study.svg", "figures/ge_zangezur_full.png",
                 "figures/claim_c4_series.png", "figures/claim_c5_minimum.svg",
                 "figures/claim_c6_record.png", "figures/claim_c13_routes.svg",
                 "figures/route_value_middle_corridor.png",
                 "tables/route_value_middle_corridor.html"):
        assert name in first, name
    assert any(n.startswith("tables/gravity_application.") for n in first)
    man = json.loads(first["manifest.json"])
    raw = sorted(p for p in (REPO / "data" / "raw").rglob("*")
                 if p.is_file() and not p.name.startswith("."))
    assert len(man["inputs"]) == len(raw)
    some = raw[0]
    key = "data/raw/" + some.relative_to(REPO / "data" / "raw").as_posix()
    assert man["inputs"][key] == hashlib.sha256(some.read_bytes()).hexdigest()
    assert set(man["outputs"]) == {f"reports/{n}" for n in first if n != "manifest.json"}
    md = first["report.md"].decode()
    assert md.count("\n### C") == len(load_catalog())
    assert "## Scenario comparisons" in md
    assert md.index("## Descriptive evidence") < md.index("## Claims and verdicts")
    row = next(x for x in first["tables/claims.md"].decode().splitlines()
               if x.startswith("| C1 |"))
    assert "statistical" in row


@pytest.mark.slow
@fresh_venv_group
def test_second_report_run_is_byte_identical(fresh_reproduce):
    first, second = fresh_reproduce.first, fresh_reproduce.second
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


@pytest.mark.slow
@fresh_venv_group
def test_reproduced_report_figures_and_browser(fresh_reproduce, tmp_path):
    """Every figure of the page exists and is not blank; the page opens in Chromium."""
    index = fresh_reproduce.demo / "reports" / "index.html"
    check_figure_files(index)
    if CHROMIUM is not None:  # without it, the synthetic browser test reports the skip
        check_in_browser(index, tmp_path)


def test_blank_or_missing_figure_is_caught(tmp_path):
    """The figure checks fail on a white figure and on a missing one."""
    import matplotlib.pyplot as plt

    p = project_paths(synthetic_tree(tmp_path / "project"))
    index = build_report(p, progress=False)
    blank = p.reports / "figures" / "verdicts"
    fig = plt.figure(figsize=(2, 1))
    fig.savefig(blank.with_suffix(".png"), dpi=50)
    fig.savefig(blank.with_suffix(".svg"))
    plt.close(fig)
    with pytest.raises(AssertionError, match="blank"):
        check_figure_files(index)
    if CHROMIUM is not None:
        with pytest.raises(AssertionError, match="verdicts.svg is blank"):
            check_figures_in_browser(index, tmp_path)
    blank.with_suffix(".svg").unlink()
    with pytest.raises(AssertionError, match="verdicts.svg"):
        check_figure_files(index)
    if CHROMIUM is not None:
        with pytest.raises(AssertionError, match="did not load"):
            check_figures_in_browser(index, tmp_path)


def test_make_reproduce_runs_the_cli():
    """`make reproduce` is `tradeflows reproduce` of the checkout's venv (the run itself is
    checked above, from a fresh venv)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed",
                           "reproduce"], cwd=REPO, env=env, capture_output=True, text=True,
                          check=True)  # (inside `make test` too)
    assert done.stdout.strip().splitlines()[-1] == ".venv/bin/tradeflows reproduce"


_ONCE = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from _fresh_venv import once

class Factory:
    def getbasetemp(self):
        return Path({base!r}) / sys.argv[1]

def make(folder):
    with open(Path({base!r}) / "calls", "a") as f:
        f.write(sys.argv[1] + "\\n")
    time.sleep(1.0)
    return {{"folder": str(folder)}}

print(once(Factory(), "step", make)["folder"])
"""


def test_once_runs_a_step_once_across_workers(tmp_path):
    """Two xdist-like workers ask for the same step at the same time: one runs it, the other
    waits and reads its result."""
    for worker in ("popen-gw0", "popen-gw1"):
        (tmp_path / worker).mkdir()
    code = _ONCE.format(tests=str(REPO / "tests"), base=str(tmp_path))
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw0"}
    procs = [subprocess.Popen([sys.executable, "-c", code, worker], env=env, text=True,
                              stdout=subprocess.PIPE)
             for worker in ("popen-gw0", "popen-gw1")]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert len((tmp_path / "calls").read_text().split()) == 1
    assert outs[0] == outs[1] == str(tmp_path / "step")
