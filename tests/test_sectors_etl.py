"""Streaming BACI ETL: equal to the pandas reader, checks with line numbers, bounded memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeflows.cli import main
from tradeflows.errors import DataError
from tradeflows.panel.build import read_extra
from tradeflows.sectors.concordance import load_concordance
from tradeflows.sectors.etl import baci_trade_table, build_sectors, read_hs6, read_level
from tradeflows.sectors.synthetic import write_baci
from tradeflows.sources.baci import read_baci

FIXTURE = Path(__file__).parent / "fixtures" / "sources" / "baci"
CSV = FIXTURE / "BACI_HS92_Y2021_V202401.csv"


def _copy_fixture(tmp_path: Path, lines: list[str] | None = None) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIXTURE / "country_codes_V202401.csv", folder)
    target = folder / CSV.name
    text = CSV.read_text()
    if lines is not None:
        text = "\n".join(lines) + "\n"
    target.write_text(text)
    return target


def test_fixture_matches_pandas_reader(tmp_path):
    out = tmp_path / "sectors"
    summary = build_sectors([CSV], out, concordances=("energy_gold", "oil_gas"))
    assert summary.rows_read == 12 and summary.rows_written == 11
    assert summary.drops == {"aggregate_exporter": 0, "aggregate_importer": 1}
    pd.testing.assert_frame_equal(baci_trade_table(out), read_baci(CSV), check_exact=False,
                                  rtol=1e-12)
    # every level, recomputed from the product rows of the pandas reader
    prod = read_baci(CSV, keep_product=True)
    k = prod["product"].astype(int).to_numpy()
    for level in ("chapter", "section", "energy_gold", "oil_gas"):
        conc = load_concordance(level)
        ref = (prod.assign(sector=np.asarray(conc.sectors, dtype=object)[conc.table[k]])
               .groupby(["year", "exporter", "importer", "sector"], as_index=False)
               .agg(value_usd=("value_usd", "sum"), n_products=("value_usd", "size")))
        got = read_level(out, level).sort_values(["year", "exporter", "importer", "sector"])
        pd.testing.assert_frame_equal(got.reset_index(drop=True), ref, check_dtype=False)
    hs6 = read_hs6(out)
    assert len(hs6) == 11 and list(hs6.columns[:1]) == ["year"]
    assert set(hs6["product"]) >= {"080211", "270900"}
    eg = read_level(out, "energy_gold").set_index(["exporter", "importer", "sector"])
    assert eg.loc[("AZE", "KAZ", "energy"), "value_usd"] == pytest.approx(1_523_418.0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows_read"] == 12 and list(manifest["inputs"]) == [CSV.name]


def test_zip_equals_extracted_csvs(tmp_path):
    files = write_baci(tmp_path / "csv", [2019, 2020], 3000, n_countries=15, n_products=300)
    (zipped,) = write_baci(tmp_path / "zip", [2019, 2020], 3000, n_countries=15,
                           n_products=300, zip_name="BACI_HS92_V202401.zip")
    a = build_sectors(files, tmp_path / "a", block_bytes=20_000)
    b = build_sectors([zipped], tmp_path / "b")
    assert a.rows_read == b.rows_read == 6000
    for level in ("total", "section", "energy_gold"):
        pd.testing.assert_frame_equal(read_level(tmp_path / "a", level),
                                      read_level(tmp_path / "b", level))
    pd.testing.assert_frame_equal(read_hs6(tmp_path / "a", years=[2020]),
                                  read_hs6(tmp_path / "b", years=[2020]))
    # and the pandas reader of the zip gives the same pair totals
    ref = read_baci(zipped)
    pd.testing.assert_frame_equal(baci_trade_table(tmp_path / "b"), ref, check_exact=False,
                                  rtol=1e-12)


@pytest.mark.parametrize(("line", "row", "column", "text"), [
    ("2021,31,398,100199,-1,2", 14, "v", "value must be finite"),
    ("2021,31,555,100199,1,2", 14, "j", "unknown BACI country code"),
    ("2020,31,398,100199,1,2", 14, "t", "year differs"),
    ("2021,31,398,100199,abc,2", 14, "v", "is not a number"),
    ("2021,31,398,,1,2", 14, "k", "empty cell"),
    ("2021,31,398,080211,5,1", 14, None, "duplicate rows"),
])
def test_bad_lines_are_named(tmp_path, line, row, column, text):
    path = _copy_fixture(tmp_path, [*CSV.read_text().splitlines(), line])
    with pytest.raises(DataError, match=text) as err:
        build_sectors([path], tmp_path / "out")
    assert err.value.row == row
    assert column is None or err.value.column == column
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_duplicate_in_sorted_file_found_in_one_pass(tmp_path):
    lines = ["t,i,j,k,v,q", "2021,31,398,080211,1,1", "2021,31,398,270900,1,1",
             "2021,31,398,270900,2,1", "2021,31,792,270900,1,1"]
    path = _copy_fixture(tmp_path, lines)
    with pytest.raises(DataError, match=r"lines 3 and 4"):
        build_sectors([path], tmp_path / "out", block_bytes=4096)


def test_failed_build_keeps_previous_output(tmp_path):
    out = tmp_path / "out"
    build_sectors([CSV], out)
    before = (out / "total.parquet").read_bytes()
    bad = _copy_fixture(tmp_path, [*CSV.read_text().splitlines(), "2021,31,398,1,-5,1"])
    with pytest.raises(DataError):
        build_sectors([bad], out)
    assert (out / "total.parquet").read_bytes() == before
    assert not list(tmp_path.glob(".out.*"))


def test_concordances(tmp_path):
    eg = load_concordance("energy_gold")
    codes = eg.codes(np.array([271000, 710812, 710110, 10121]))
    assert [eg.sectors[c] for c in codes] == ["energy", "gold", "other", "other"]
    sec = load_concordance("section")
    assert sec.sectors[sec.table[270900]] == "V" and sec.sectors[sec.table[851712]] == "XVI"
    with pytest.raises(DataError, match="product 990000 has no sector"):
        sec.codes(np.array([990000]))
    user = tmp_path / "mine.csv"
    user.write_text("hs_prefix,sector\n27,fuel\n2709,crude\n")
    mine = load_concordance(user)
    assert mine.name == "mine" and mine.sectors[mine.table[270900]] == "crude"
    assert mine.sectors[mine.table[271100]] == "fuel"
    with pytest.raises(DataError, match="no sector in concordance 'mine'") as err:
        build_sectors([CSV], tmp_path / "out", concordances=(user,))
    assert err.value.row == 3  # 080211 on line 3
    user.write_text("hs_prefix,sector\n27,fuel\n2a,x\n")
    with pytest.raises(DataError, match="not 2, 4 or 6 digits") as err:
        load_concordance(user)
    assert err.value.row == 3


def test_build_extra_routes_baci_through_the_etl(tmp_path):
    sectors_dir = tmp_path / "processed" / "sectors"
    got = read_extra(CSV, sectors_dir=sectors_dir)
    pd.testing.assert_frame_equal(got, read_baci(CSV), check_exact=False, rtol=1e-12)
    assert got.attrs["drops"] == read_baci(CSV).attrs["drops"]
    assert (sectors_dir / "section.parquet").exists()


def test_cli_sectors_build(tmp_path):
    res = CliRunner().invoke(main, ["--quiet", "sectors", "build", str(CSV), "--out",
                                    str(tmp_path / "s"), "--concordance", "gold"])
    assert res.exit_code == 0, res.output
    assert "gold" in res.output and (tmp_path / "s" / "gold.parquet").exists()


_MEASURE = textwrap.dedent("""
    import glob, sys
    mode, folder, out, n_years = sys.argv[1:5]
    files = sorted(glob.glob(folder + "/BACI_*.csv"))[: int(n_years)]
    if mode == "etl":
        from tradeflows.sectors.etl import build_sectors
        build_sectors(files, out, block_bytes=1 << 20)
    else:
        import pandas as pd
        import tradeflows.sectors.etl  # same imports as the ETL run
        frames = [pd.read_csv(f) for f in files]
    # VmHWM: this process's own peak (ru_maxrss can carry the forking parent's peak)
    with open("/proc/self/status") as fh:
        print(next(line.split()[1] for line in fh if line.startswith("VmHWM")))
""")


def _peak_kib(mode: str, folder: Path, out: Path, n_years: int) -> int:
    # One malloc arena and Arrow's system pool: the peak then measures what the code holds,
    # not how many per-thread arenas the allocator happened to open (that noise reached
    # 43 MB between two runs of the same input on the CI machine).
    env = dict(os.environ, MALLOC_ARENA_MAX="1", ARROW_DEFAULT_MEMORY_POOL="system")
    res = subprocess.run([sys.executable, "-c", _MEASURE, mode, str(folder), str(out),
                          str(n_years)], capture_output=True, text=True, timeout=300,
                         check=True, env=env)
    return int(res.stdout.split()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_peak_memory_does_not_grow_with_years(tmp_path):
    """Going from 4 to 20 years of the same size, a pandas read of the files grows by the
    data (measured +124 MB), the streaming ETL by its writers' bookkeeping only (measured
    +6 MB, about 0.4 MB a year). The bound is a tenth of the pandas growth."""
    folder = tmp_path / "baci"
    write_baci(folder, list(range(2001, 2021)), 150_000, n_countries=40, n_products=800)
    etl_small = _peak_kib("etl", folder, tmp_path / "o1", 4)
    etl_large = _peak_kib("etl", folder, tmp_path / "o2", 20)
    pandas_small = _peak_kib("pandas", folder, tmp_path / "o3", 4)
    pandas_large = _peak_kib("pandas", folder, tmp_path / "o4", 20)
    pandas_growth = pandas_large - pandas_small
    assert pandas_growth > 90_000  # 2.4M more lines held: the measurement sees growth
    assert etl_large - etl_small < pandas_growth / 10, (etl_small, etl_large, pandas_growth)


_CELLS = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e999", "-1", "", "NA", "..", "True",
                     "2999", "0x10", "1,000", "9" * 30, '"', "\x00", "é", "AZE", "\n", ",",
                     "080211", "1000000", "-5", "2021.5"]),
    st.text(max_size=8), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**12, max_value=10**12).map(str))


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(line=st.integers(0, 40), field=st.integers(0, 10), cell=_CELLS,
       codes=st.booleans())
def test_one_hostile_cell_gives_a_data_error_or_a_valid_build(tmp_path, line, field, cell,
                                                              codes):
    """Any one cell of the data or the country-code file replaced: the ETL either stops
    with a DataError or writes finite, valid tables equal in total to what it read."""
    import csv
    import io
    import uuid

    work = tmp_path / uuid.uuid4().hex
    work.mkdir()
    path = _copy_fixture(work)
    target = path.parent / "country_codes_V202401.csv" if codes else path
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    k = line % len(lines)
    row = next(csv.reader([lines[k]]), [""]) or [""]
    row[field % len(row)] = cell
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(row)
    lines[k] = buf.getvalue()
    target.write_text("".join(lines), encoding="utf-8")
    try:
        summary = build_sectors([path], work / "out")
    except DataError:
        return
    total = baci_trade_table(work / "out")
    assert np.isfinite(total["value_usd"]).all() and (total["value_usd"] >= 0).all()
    section = read_level(work / "out", "section")
    assert section["value_usd"].sum() == pytest.approx(total["value_usd"].sum(), rel=1e-12)
    assert summary.rows_written + sum(summary.drops.values()) == summary.rows_read


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), as_zip=st.booleans())
def test_arbitrary_bytes_give_a_data_error_or_a_valid_build(tmp_path, data, as_zip):
    """Arbitrary bytes as the yearly CSV, or as a release zip."""
    import uuid

    work = tmp_path / uuid.uuid4().hex
    work.mkdir()
    path = _copy_fixture(work)
    if as_zip:
        path = work / "in" / "BACI_HS92_V202401.zip"
    path.write_bytes(data)
    try:
        build_sectors([path], work / "out")
    except DataError:
        return
    assert np.isfinite(baci_trade_table(work / "out")["value_usd"]).all()


def test_year_from_the_data_when_the_name_lacks_it(tmp_path):
    path = _copy_fixture(tmp_path)
    renamed = path.with_name("baci_download.csv")
    path.rename(renamed)
    assert build_sectors([renamed], tmp_path / "out").years == [2021]


_KILLED_BUILD = textwrap.dedent("""
    import sys, time
    import tradeflows.sectors.etl as etl

    def stop_before_swap(stage, out_dir):  # everything written, nothing swapped in yet
        print(stage, flush=True)
        time.sleep(600)

    etl.replace_dir = stop_before_swap
    etl.build_sectors(sys.argv[2:], sys.argv[1])
""")


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_recover_removes_a_killed_builds_stage_and_keeps_the_old_output(tmp_path):
    from tradeflows.io import recover, sha256_file

    files = write_baci(tmp_path / "in", [2019, 2020], 3000, n_countries=12, n_products=200)
    processed = tmp_path / "processed"
    out = processed / "sectors"
    build_sectors(files[:1], out, write_hs6=False)
    before = {p.name: sha256_file(p) for p in out.iterdir()}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_BUILD, str(out), *map(str, files)],
                            stdout=subprocess.PIPE, text=True)
    try:
        stage = Path(proc.stdout.readline().strip())
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert stage.parent == processed and stage.name.startswith(".sectors.dstage-")
    assert (stage / "manifest.json").exists()  # a complete build, killed before the swap
    done = recover(processed)
    assert done == [f"removed {stage.name}"] and not stage.exists()
    assert {p.name: sha256_file(p) for p in out.iterdir()} == before
    # killed between the two renames: the old folder is put back, or dropped if the new
    # one is in place
    pid = _dead_pid()
    aside = processed / f".sectors.old-{pid}"
    out.rename(aside)
    assert recover(processed) == [f"restored sectors from {aside.name}"]
    assert {p.name: sha256_file(p) for p in out.iterdir()} == before
    shutil.copytree(out, aside)
    assert recover(processed) == [f"removed {aside.name}"] and out.is_dir()
    # a running build's stage is left alone
    live = processed / f".sectors.dstage-{os.getpid()}-abc"
    live.mkdir()
    assert recover(processed) == [] and live.exists()


def test_suffixed_release_and_misnamed_zip_build(tmp_path):
    """BACI_HS22_Y2023_V202501b.csv with country_codes_V202501b.csv (and an older release's
    table beside it), as files and as a zip with no .zip name: the same sector totals as the
    plain release."""
    from _services import zip_bytes

    plain = write_baci(tmp_path / "plain", [2023], 2000, n_countries=10, n_products=100)
    codes = (tmp_path / "plain" / "country_codes_V202401.csv").read_bytes()
    data = plain[0].read_bytes()
    folder = tmp_path / "suffixed"
    folder.mkdir()
    (folder / "BACI_HS22_Y2023_V202501b.csv").write_bytes(data)
    (folder / "country_codes_V202501b.csv").write_bytes(codes)
    (folder / "country_codes_V202401.csv").write_bytes(b"country_code,country_iso3\n")
    archive = tmp_path / "download"
    archive.write_bytes(zip_bytes({"BACI_HS22_Y2023_V202501b.csv": data,
                                   "country_codes_V202401.csv": b"country_code,country_iso3\n",
                                   "country_codes_V202501b.csv": codes}))
    build_sectors(plain, tmp_path / "o0", write_hs6=False)
    want = read_level(tmp_path / "o0", "section")
    for name, inputs in (("files", [folder / "BACI_HS22_Y2023_V202501b.csv"]),
                         ("zip", [archive])):
        build_sectors(inputs, tmp_path / name, write_hs6=False)
        pd.testing.assert_frame_equal(read_level(tmp_path / name, "section"), want)
    assert read_baci(archive)["value_usd"].sum() == pytest.approx(
        read_baci(plain[0])["value_usd"].sum(), rel=1e-12)
