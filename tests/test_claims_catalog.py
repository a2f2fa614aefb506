"""The claims catalog v2: complete, schema-checked, change-logged; bad entries name the claim
and field; text is data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeflows.errors import SpecificationError
from tradeflows.studies.azerbaijan.claims.catalog import (
    EVIDENCE,
    METHODS,
    entry_fingerprints,
    load_catalog,
    read_catalog,
)

BODY = '''
[[claim]]
id = "X1"
title = "t"
claim = "c"
evidence = "statistical"
hypothesis = "h"
sample = "s"
window = [2000, 2010]
specification = "s"
clustering = "pair"
method = "single_reporter"
sources = ["flows.parquet"]
data_needed_if_untestable = "d"
[claim.inputs]
partner = "AZE"
[claim.rule]
statistic = "slope"
direction = "negative"
level = 0.95
margin = 0.1
[claim.power]
method = "placebo"
target = 0.8
'''


def logged(body: str, tmp_path: Path) -> str:
    """``body`` with a change log registering its claims at their current fingerprints."""
    draft = tmp_path / "draft.toml"
    draft.write_text(body)
    log = "".join(f'\n[[change]]\nclaim = "{cid}"\ndate = "2026-12-01"\nkind = "registered"\n'
                  f'reason = "new"\nfingerprint = "{fp}"\n'
                  for cid, fp in entry_fingerprints(draft).items())
    return body + log


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "claims.toml"
    f.write_text(text)
    return f


def test_packaged_catalog_covers_every_statement():
    cat = read_catalog()
    ids = [c.id for c in cat.claims]
    for cid in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C7F", "C8", "C9", "C10", "C11",
                "C12", "C13", "C14"):
        assert cid in ids
    for c in cat.claims:
        assert c.method in METHODS and c.evidence in EVIDENCE
        assert c.hypothesis and c.sample and c.specification and c.clustering
        assert c.window[0] <= c.window[1]
        if c.evidence == "statistical":
            assert c.power is not None and c.rule.level is not None
        if c.method == "untestable":
            assert c.data_needed_if_untestable
        assert cat.log_for(c.id), c.id
    by_id = {c.id: c for c in cat.claims}
    assert by_id["C1"].inputs["reporters"] == ["KAZ", "KGZ", "UZB"]
    assert by_id["C5"].inputs["countries"][:2] == ["AZE", "ARM"]
    assert "equivalence margin 0.1" in by_id["C2"].rule.describe()
    # the v1 claims were estimated before, so their v2 designs are logged changes
    for cid in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"):
        kinds = [ch.kind for ch in cat.log_for(cid)]
        assert kinds[:2] == ["registered", "changed"] and set(kinds[2:]) <= {"changed"}, cid


def test_good_minimal_entry(tmp_path):
    (c,) = load_catalog(write(tmp_path, logged(BODY, tmp_path)))
    assert c.id == "X1" and c.window == (2000, 2010) and c.rule.margin == 0.1
    assert c.power.method == "placebo"


@pytest.mark.parametrize(("old", "new", "field"), [
    ('direction = "negative"', 'direction = "down"', "rule.direction"),
    ("level = 0.95", "level = 95", "rule.level"),
    ("window = [2000, 2010]", "window = [2010, 2000]", "window"),
    ('method = "single_reporter"', 'method = "magic"', "method"),
    ('evidence = "statistical"', 'evidence = "anecdotal"', "evidence"),
    ('hypothesis = "h"', 'hypothesis = ""', "hypothesis"),
    ('clustering = "pair"', "", "clustering"),
    ('sources = ["flows.parquet"]', "sources = []", "sources"),
    ('statistic = "slope"', "", "rule.statistic"),
    ("margin = 0.1", "", "rule.margin"),
    ("margin = 0.1", "margin = -1", "rule.margin"),
    ('method = "placebo"', 'method = "guess"', "power.method"),
    ('title = "t"', 'title = "t"\ncolour = "red"', "?"),
])
def test_bad_entry_names_claim_and_field(tmp_path, old, new, field):
    f = write(tmp_path, logged(BODY.replace(old, new), tmp_path))
    with pytest.raises(SpecificationError) as err:
        load_catalog(f)
    msg = str(err.value)
    assert str(f) in msg and "claim 'X1'" in msg and f"field {field!r}" in msg


def test_statistical_claim_needs_power(tmp_path):
    body = BODY.split("[claim.power]")[0]
    with pytest.raises(SpecificationError, match="field 'power'"):
        load_catalog(write(tmp_path, logged(body, tmp_path)))


def test_unlogged_edit_fails_and_logged_edit_loads(tmp_path):
    text = logged(BODY, tmp_path)
    edited = text.replace("margin = 0.1", "margin = 0.5")  # widening the margin after the fact
    with pytest.raises(SpecificationError, match="changed without a logged change"):
        load_catalog(write(tmp_path, edited))
    assert load_catalog(write(tmp_path, edited), check_log=False)[0].rule.margin == 0.5
    new_fp = entry_fingerprints(tmp_path / "claims.toml")["X1"]
    edited += (f'\n[[change]]\nclaim = "X1"\ndate = "2026-12-02"\nkind = "changed"\n'
               f'reason = "margin widened: argued in the text"\nfingerprint = "{new_fp}"\n')
    cat = read_catalog(write(tmp_path, edited))
    assert [ch.kind for ch in cat.log_for("X1")] == ["registered", "changed"]


@pytest.mark.parametrize(("entry", "msg"), [
    ('claim = "X9"\ndate = "2026-12-01"\nkind = "registered"\nreason = "r"', "unknown claim"),
    ('claim = "X1"\ndate = "1 Dec"\nkind = "registered"\nreason = "r"', "YYYY-MM-DD"),
    ('claim = "X1"\ndate = "2026-12-01"\nkind = "edited"\nreason = "r"', "kind"),
    ('claim = "X1"\ndate = "2026-12-01"\nkind = "changed"\nreason = ""', "reason"),
])
def test_bad_change_log(tmp_path, entry, msg):
    text = logged(BODY, tmp_path) + f"\n[[change]]\n{entry}\n"
    with pytest.raises(SpecificationError, match=msg):
        load_catalog(write(tmp_path, text))


def test_missing_rule_duplicate_id_bad_toml_and_unknown_top_level(tmp_path):
    no_rule = BODY.split("[claim.rule]")[0]
    with pytest.raises(SpecificationError, match="field 'rule'"):
        load_catalog(write(tmp_path, no_rule), check_log=False)
    with pytest.raises(SpecificationError, match="field 'id': duplicate"):
        load_catalog(write(tmp_path, BODY + BODY), check_log=False)
    with pytest.raises(SpecificationError, match="not valid TOML"):
        load_catalog(write(tmp_path, BODY + "\n[[claim]\n"))
    with pytest.raises(SpecificationError, match="unknown top-level"):
        load_catalog(write(tmp_path, "exec = 'rm -rf /'\n" + BODY), check_log=False)


def test_text_is_data_never_evaluated(tmp_path):
    hostile = BODY.replace('hypothesis = "h"',
                           'hypothesis = "__import__(\'os\').system(\'touch pwned\') {{ 7*7 }}"')
    (c,) = load_catalog(write(tmp_path, logged(hostile, tmp_path)))
    assert c.hypothesis.startswith("__import__") and not (tmp_path / "pwned").exists()
    bad_id = BODY.replace('id = "X1"', 'id = "../x"')
    with pytest.raises(SpecificationError, match="field 'id'"):
        load_catalog(write(tmp_path, bad_id), check_log=False)


def test_untestable_entry_needs_reason(tmp_path):
    text = BODY.replace('method = "single_reporter"', 'method = "untestable"')
    with pytest.raises(SpecificationError, match="inputs.reason"):
        load_catalog(write(tmp_path, text), check_log=False)
