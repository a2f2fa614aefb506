"""Studies built on the general library: each is a package of its own (focus countries,
application, scenarios, claims catalog, report) that the command line loads by name.

The general library (sources, panel, policy, estimation, gravity, GE, report machinery)
names no country; a study passes its countries and files to it as parameters. Another
study sits beside ``azerbaijan`` as ``tradeflows/studies/<name>/`` with the same interface
(:class:`tradeflows.studies.azerbaijan.STUDY`) and an entry in :data:`STUDIES`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Study name -> module; the module holds ``STUDY`` (its settings) and ``register(cli)``.
STUDIES = {"azerbaijan": "tradeflows.studies.azerbaijan"}
DEFAULT_STUDY = "azerbaijan"


def load_study(name: str | None = None) -> ModuleType:
    """The study module ``name`` (default :data:`DEFAULT_STUDY`); KeyError lists the known."""
    key = name or DEFAULT_STUDY
    if key not in STUDIES:
        raise KeyError(f"unknown study {key!r}; known: {sorted(STUDIES)}")
    return importlib.import_module(STUDIES[key])
