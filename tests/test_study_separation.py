"""The general library names no country: every study-specific thing (focus countries,
application, scenarios, claims, report) lives in ``tradeflows/studies/<study>/``; data files
(``tradeflows/data``) may name countries."""

from __future__ import annotations

import re
from pathlib import Path

import pycountry
import pytest

import tradeflows
from tradeflows.countries import country_name
from tradeflows.studies import STUDIES, load_study

PACKAGE = Path(tradeflows.__file__).resolve().parent
#: Where countries may be named: the studies and the data files.
EXEMPT = (PACKAGE / "studies", PACKAGE / "data")
#: Known exceptions, each with its reason: the default release of the bundled UNCTAD
#: workbook is named by its economy's ISO3 code (the file name of the publisher).
ALLOWED = {("sources/registry.py", "AZE")}


def _library_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*")
                  if p.suffix in (".py", ".j2", ".toml") and "__pycache__" not in p.parts
                  and not any(p.is_relative_to(e) for e in EXEMPT))


def _stem(name: str) -> str:
    """Kazakh(stan), Uzbek(istan), Azerbaij(an, ani): adjectives are caught too."""
    for end in ("istan", "stan"):
        if name.endswith(end):
            return name[: -len(end)]
    return name[:-2] if len(name) > 8 else name


def _forbidden() -> dict[str, re.Pattern[str]]:
    """Each study's focus countries: the ISO3 code as a word and the country's names."""
    words: dict[str, re.Pattern[str]] = {}
    for name in STUDIES:
        for code in load_study(name).FOCUS:
            words[code] = re.compile(rf"\b{code}\b")
            country = pycountry.countries.get(alpha_3=code)
            names = {country_name(code), country_name(code).split()[0].rstrip(","),
                     *(getattr(country, a, None) for a in ("name", "common_name"))} - {None}
            for text in names:
                words[text] = re.compile(rf"\b{re.escape(_stem(text))}", re.IGNORECASE)
    words["study name"] = re.compile("|".join(rf"\b{re.escape(s)}\b" for s in STUDIES),
                                     re.IGNORECASE)
    return words


def test_the_library_names_no_country() -> None:
    files = _library_files()
    assert len(files) > 50  # the walk found the library
    hits = []
    for file in files:
        rel = file.relative_to(PACKAGE).as_posix()
        text = file.read_text(encoding="utf-8")
        for label, pattern in _forbidden().items():
            if (rel, label) in ALLOWED:
                continue
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                hits.append(f"{rel}:{line}: {match.group(0)!r}")
    assert not hits, "the general library names a study country:\n" + "\n".join(hits)


def test_the_check_finds_a_country(tmp_path: Path) -> None:
    """The patterns catch codes and names (so the test above can fail)."""
    text = 'x = "AZE"  # trade of Kazakhstan and the Kyrgyz Republic'
    found = {label for label, p in _forbidden().items() if p.search(text)}
    assert {"AZE", "Kazakhstan", "Kyrgyzstan"} <= found
    assert not any(p.search("FRA DEU, the EU and the USA") for p in _forbidden().values())


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_a_study_has_the_interface_the_cli_uses(name: str) -> None:
    study = load_study(name)
    for attr in ("FOCUS", "HEADLINE", "VALIDATION", "TITLE", "scenarios", "estimate",
                 "simulate", "evaluate_claims", "build_report"):
        assert hasattr(study, attr), attr
    assert study.scenarios() and all(p.is_file() for p in study.scenarios().values())
    with pytest.raises(KeyError, match="unknown study"):
        load_study("no_such_study")
