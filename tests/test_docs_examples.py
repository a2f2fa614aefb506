"""Every ```python example of README.md and docs/*.md runs as written, and the API reference
builds with mkdocs --strict (warnings are errors).

The examples of one file run in order in one namespace, from a temporary project root whose
data/raw points at the bundled data and whose panel is built once per test process
(``built_project`` in tests/conftest.py, shared with the notebook tests), so
"data/processed/panel.parquet" in an example is the real panel. The BACI examples of
docs/sources.md read the test fixtures, copied (and zipped as a release) under the file
names they use.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


WITH_CODE = [p for p in FILES if _blocks(p)]


@pytest.fixture(scope="module")
def built(built_project: Path) -> Path:
    """The shared built project (tests/conftest.py) with the BACI files the docs/sources.md
    examples read: the fixture files, and a release zip made of the V202601 ones."""
    fixture = REPO / "tests" / "fixtures" / "sources" / "baci"
    for name in ("BACI_HS92_Y2021_V202401.csv", "country_codes_V202401.csv"):
        shutil.copy(fixture / name, built_project / name)
    with zipfile.ZipFile(built_project / "BACI_HS92_V202601.zip", "w") as z:
        for name in ("BACI_HS92_Y2023_V202601.csv", "BACI_HS92_Y2024_V202601.csv",
                     "country_codes_V202601.csv"):
            z.write(fixture / name, name)
    return built_project


def test_docs_have_examples() -> None:
    names = {p.name for p in WITH_CODE}
    assert {"README.md", "estimation.md", "ge.md", "ARCHITECTURE.md"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("doc", WITH_CODE, ids=[p.name for p in WITH_CODE])
def test_examples_run_as_written(doc: Path, built: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRADEFLOWS_ROOT", str(built))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(built)
    namespace: dict = {"__name__": f"docs_{doc.stem}"}
    for k, code in enumerate(_blocks(doc)):
        try:
            exec(compile(code, f"{doc.name} example {k + 1}", "exec"), namespace)  # noqa: S102
        except Exception as exc:
            pytest.fail(f"{doc.name}, example {k + 1}: {type(exc).__name__}: {exc}")


def test_api_reference_builds_strict(tmp_path) -> None:
    pytest.importorskip("mkdocstrings")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                          "-f", str(REPO / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    page = (tmp_path / "site" / "api" / "estimation" / "index.html").read_text()
    assert "FitCollection" in page and "expand_formula" in page
