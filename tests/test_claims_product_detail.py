"""Claims that need product detail run their check on BACI when it is built, and say which
check could not run when it is not."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tradeflows.config import Paths
from tradeflows.studies.azerbaijan.claims.catalog import load_catalog
from tradeflows.studies.azerbaijan.claims.evaluate import _Inputs, assess_claim
from tradeflows.studies.azerbaijan.claims.product_detail import product_note


def _claims() -> dict:
    return {c.id: c for c in load_catalog()}


def test_without_baci_the_note_says_which_check_did_not_run(tmp_path):
    claims = _claims()
    assert "trade net of energy (HS 27)" in product_note(claims["C1"], tmp_path)
    assert "not run" in product_note(claims["C6"], tmp_path)
    assert product_note(claims["C2"], tmp_path) == ""
    row = assess_claim(claims["C6"], _Inputs(Paths(tmp_path))).row()
    assert "Product-level check not run" in row["note"]


def test_net_of_gold_energy_on_baci_levels(tmp_path):
    rows = []
    for year in range(2015, 2024):
        post = year >= 2022
        rows += [(year, "AZE", "KAZ", "energy", 300.0 if post else 100.0),
                 (year, "AZE", "KAZ", "gold", 50.0),
                 (year, "KAZ", "AZE", "other", 150.0 if post else 100.0),
                 (year, "AZE", "TUR", "other", 999.0)]  # not a claim pair
    pd.DataFrame(rows, columns=["year", "exporter", "importer", "sector", "value_usd"]) \
        .to_parquet(tmp_path / "energy_gold.parquet")
    # the data's years as the claim's window (the check reads the claim's window)
    note = product_note(dataclasses.replace(_claims()["C1"], window=(2015, 2023)), tmp_path)
    # net: 100 -> 150 (+50%); all: 250 -> 500 (+100%); energy+gold share over 2015-2023
    share = (7 * 150 + 2 * 350) / (7 * 250 + 2 * 500)
    assert "changed +50% from the 2015-2021 mean to the 2022-2023 mean" in note
    assert "(all products +100%)" in note and f"{100 * share:.0f}%" in note


def test_non_oil_diversification_on_baci_levels(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for year in range(2005, 2021):
        for partner in ("TUR", "RUS", "ITA", "GEO"):
            rows.append((year, "AZE", partner, "other", float(rng.uniform(1, 10))))
            rows.append((year, "AZE", partner, "crude_oil", 1000.0))
    df = pd.DataFrame(rows, columns=["year", "exporter", "importer", "sector", "value_usd"])
    df.to_parquet(tmp_path / "oil_gas.parquet")
    note = product_note(dataclasses.replace(_claims()["C6"], window=(2005, 2020)), tmp_path)
    first = df[(df["year"] == 2005) & (df["sector"] == "other")]["value_usd"]
    hhi = 10000 * ((first / first.sum()) ** 2).sum()
    assert f"went from {hhi:.0f} in 2005" in note and "excluding oil and gas" in note
