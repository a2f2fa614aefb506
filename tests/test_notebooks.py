"""Execute every notebook in notebooks/ in a fresh kernel of this interpreter.

Each runs from a temporary project root whose data/raw points at the repository's bundled
data and whose panel is already built (``built_project``, tests/conftest.py), so the
notebooks write nothing into the checkout. The kernel is this test's Python
(a kernel spec made in a temporary directory), so a fresh ``make test`` venv works.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNEL = "tradeflows-test"


@pytest.fixture(scope="module")
def project(tmp_path_factory, built_project: Path) -> tuple[Path, Path]:
    """(project root, directory for JUPYTER_PATH holding the kernel spec)."""
    root = built_project  # panel already built (tests/conftest.py), shared with the docs tests
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tradeflows test kernel", "language": "python"}))
    return root, jupyter


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"tour.ipynb", "claims.ipynb", "replication.ipynb", "tutorial.ipynb"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(notebook: Path, project: tuple[Path, Path], monkeypatch):
    root, jupyter = project
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    monkeypatch.setenv("TRADEFLOWS_ROOT", str(root))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(root)}})
    client.execute()  # raises CellExecutionError naming the cell on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
