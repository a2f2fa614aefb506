"""Packaging metadata: every third-party module imported under ``tradeflows/`` is a declared
dependency (and every declared dependency is used), the version has one source and a
changelog entry, no URL points at an address that does not exist. The wheel's contents are
checked in test_wheel.py."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import tradeflows

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# declared but never imported by name: what uses them
USED_INDIRECTLY = {
    "distributed": "dask.distributed (tradeflows.distributed)",
    "tabulate": "pandas.DataFrame.to_markdown (tradeflows variables --format markdown)",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.split(r"[<>=!~ \[;]", req, maxsplit=1)[0])


def imported_modules(package: Path) -> dict[str, set[str]]:
    """Top-level names of the absolute imports in ``package``'s .py files that are neither
    standard library nor tradeflows: name -> files importing it."""
    found: dict[str, set[str]] = {}
    for file in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "tradeflows":
                    found.setdefault(top, set()).add(file.relative_to(package.parent).as_posix())
    return found


def test_every_imported_module_is_a_declared_dependency_and_vice_versa():
    declared = [_requirement_name(r) for r in PYPROJECT["project"]["dependencies"]]
    assert len(declared) == len(set(declared)), "a dependency is listed twice"
    dists = packages_distributions()
    imported = imported_modules(REPO / "tradeflows")
    assert {"numpy", "pandas", "requests", "rich"} <= set(imported)  # the scan sees imports
    undeclared = {module: sorted(files)[:3] for module, files in imported.items()
                  if not {_norm(d) for d in dists.get(module, [])} & set(declared)}
    assert undeclared == {}
    used = {_norm(d) for module in imported for d in dists.get(module, [])}
    assert set(declared) - used == set(USED_INDIRECTLY)


def test_the_scan_finds_an_undeclared_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text("import os\nfrom .x import y\nimport yaml.loader\n"
                              "from sklearn import linear_model\n", encoding="utf-8")
    assert set(imported_modules(pkg)) == {"yaml", "sklearn"}


def test_version_has_one_source_and_a_changelog_entry():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "tradeflows.__version__"
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(tradeflows.__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$",
                     changelog, flags=re.M)


def test_licence_and_classifiers():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # PEP 639
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
