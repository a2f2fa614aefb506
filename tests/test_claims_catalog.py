"""The claims catalog: the packaged file is complete; bad entries name the claim and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeflows.claims.catalog import METHODS, load_catalog
from tradeflows.errors import SpecificationError

GOOD = '''
[[claim]]
id = "X1"
title = "t"
claim = "c"
hypothesis = "h"
window = [2000, 2010]
specification = "s"
method = "concentration"
sources = ["panel.parquet"]
data_needed_if_untestable = "d"
[claim.inputs]
country = "AZE"
kink = 2005
[claim.rule]
statistic = "slope"
direction = "negative"
level = 0.95
'''


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "claims.toml"
    f.write_text(text)
    return f


def test_packaged_catalog_has_the_eight_claims():
    claims = load_catalog()
    assert [c.id for c in claims] == [f"C{i}" for i in range(1, 9)]
    for c in claims:
        assert c.method in METHODS
        assert c.rule.direction in ("positive", "negative")
        assert c.hypothesis and c.specification and c.data_needed_if_untestable
        assert c.window[0] <= c.window[1]
    by_id = {c.id: c for c in claims}
    assert by_id["C5"].inputs["countries"][:2] == ["AZE", "ARM"]
    assert by_id["C7"].rule.level is None
    assert "supported if the 95% interval" in by_id["C1"].rule.describe()


def test_good_minimal_entry(tmp_path):
    (c,) = load_catalog(write(tmp_path, GOOD))
    assert c.id == "X1" and c.window == (2000, 2010) and c.inputs["kink"] == 2005


@pytest.mark.parametrize(("old", "new", "field"), [
    ('direction = "negative"', 'direction = "down"', "rule.direction"),
    ("level = 0.95", "level = 95", "rule.level"),
    ("window = [2000, 2010]", "window = [2010, 2000]", "window"),
    ('method = "concentration"', 'method = "magic"', "method"),
    ('hypothesis = "h"', 'hypothesis = ""', "hypothesis"),
    ('sources = ["panel.parquet"]', "sources = []", "sources"),
    ('statistic = "slope"', "", "rule.statistic"),
    ('title = "t"', 'title = "t"\ncolour = "red"', "?"),
])
def test_bad_entry_names_claim_and_field(tmp_path, old, new, field):
    f = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(SpecificationError) as err:
        load_catalog(f)
    msg = str(err.value)
    assert str(f) in msg and "claim 'X1'" in msg and f"field {field!r}" in msg


def test_missing_rule_duplicate_id_and_bad_toml(tmp_path):
    no_rule = GOOD.split("[claim.rule]")[0]
    with pytest.raises(SpecificationError, match="field 'rule'"):
        load_catalog(write(tmp_path, no_rule))
    with pytest.raises(SpecificationError, match="field 'id': duplicate"):
        load_catalog(write(tmp_path, GOOD + GOOD))
    with pytest.raises(SpecificationError, match="not valid TOML"):
        load_catalog(write(tmp_path, GOOD + "\n[[claim]\n"))


def test_untestable_entry_needs_reason(tmp_path):
    text = GOOD.replace('method = "concentration"', 'method = "untestable"')
    with pytest.raises(SpecificationError, match="inputs.reason"):
        load_catalog(write(tmp_path, text))
