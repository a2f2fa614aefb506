"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """A project root whose data/raw points at the bundled data and whose panel is built
    (once per test process; shared by the notebook and docs-example tests)."""
    root = tmp_path_factory.mktemp("built_project")
    (root / "data").mkdir()
    (root / "data" / "raw").symlink_to(REPO / "data" / "raw", target_is_directory=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADEFLOWS_ROOT", str(root))
    try:
        from tradeflows.config import paths
        from tradeflows.panel.build import build_panel
        from tradeflows.studies.azerbaijan.config import VALIDATION

        build_panel(paths(), progress=False, validation=VALIDATION)
    finally:
        mp.undo()
    return root
