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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of the shared fresh-venv run first (stable order otherwise): under
    ``-n 2`` they all go to one worker in its first batch (tests/_fresh_venv.py)."""
    items.sort(key=lambda item: item.get_closest_marker("fresh_venv") is None)


@pytest.fixture(scope="session")
def fresh_wheel(tmp_path_factory) -> Path:
    """The wheel built from a clean copy of the source tree, once per session
    (tests/_fresh_venv.py)."""
    from _fresh_venv import build_wheel, once

    made = once(tmp_path_factory, "wheel", lambda folder: {"wheel": str(build_wheel(folder))})
    return Path(made["wheel"])


@pytest.fixture(scope="session")
def fresh_venv(fresh_wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed, once per session (tests/_fresh_venv.py)."""
    from _fresh_venv import make_venv, once

    made = once(tmp_path_factory, "venv",
                lambda folder: {"venv": str(make_venv(fresh_wheel, folder / "fresh"))})
    return Path(made["venv"])


@pytest.fixture(scope="session")
def fresh_reproduce(fresh_venv, tmp_path_factory):
    """``tradeflows init demo``, ``cd demo``, ``tradeflows reproduce`` and a second
    ``tradeflows report`` in the fresh venv, once per session: a
    :class:`_fresh_venv.FreshRun`. Tests using it carry ``_fresh_venv.fresh_venv_group``."""
    from _fresh_venv import FreshRun, init_and_reproduce, once

    return FreshRun.from_json(once(tmp_path_factory, "user",
                                   lambda folder: init_and_reproduce(fresh_venv, folder)))
