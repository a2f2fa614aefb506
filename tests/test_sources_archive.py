"""Zip archives: told by content, re-extracted when the archive's checksum changes (even if the
member's size does not), member size capped."""

from __future__ import annotations

import os
import time
import zipfile

import pytest
from _services import FIX, zip_bytes

from tradeflows.errors import DataError
from tradeflows.sources.archive import extract_member, is_zip
from tradeflows.sources.baci import read_baci
from tradeflows.sources.itpd import read_itpd

BACI = FIX / "baci" / "BACI_HS92_Y2023_V202601.csv"
CODES = FIX / "baci" / "country_codes_V202601.csv"


def _baci_zip(path, data: bytes, release="V202601"):
    path.write_bytes(zip_bytes({f"BACI_HS92_Y2023_{release}.csv": data,
                                f"country_codes_{release}.csv": CODES.read_bytes()}))
    return path


def test_zip_told_by_signature_not_name(tmp_path):
    odd = _baci_zip(tmp_path / "download.csv", BACI.read_bytes())
    assert is_zip(odd) and not is_zip(BACI)
    assert read_baci(odd)["value_usd"].sum() == pytest.approx(read_baci(BACI, CODES)[
        "value_usd"].sum(), rel=1e-12)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    assert is_zip(empty)


def test_replaced_archive_is_reextracted_even_when_member_size_matches(tmp_path):
    archive = _baci_zip(tmp_path / "BACI_HS92_V202601.zip", BACI.read_bytes())
    first = read_baci(archive)
    changed = BACI.read_bytes().replace(b"612.5", b"712.5")  # same length, other value
    assert len(changed) == len(BACI.read_bytes())
    stat = archive.stat()
    time.sleep(0.05)  # past the file system's timestamp granularity: the ctime changes
    _baci_zip(archive, changed)
    os.utime(archive, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime as before
    second = read_baci(archive)
    key = (second["exporter"] == "AZE") & (second["importer"] == "GEO")
    assert second.loc[key, "value_usd"].item() - first.loc[key, "value_usd"].item() == \
        pytest.approx(100_000.0)


def test_member_size_cap(tmp_path, monkeypatch):
    archive = _baci_zip(tmp_path / "BACI_HS92_V202601.zip", BACI.read_bytes())
    monkeypatch.setenv("TRADEFLOWS_MAX_MEMBER_BYTES", "100")
    with pytest.raises(DataError, match=r"would extract to \d+ bytes, more than the limit "
                                         r"of 100") as info:
        extract_member(archive, "BACI_HS92_Y2023_V202601.csv")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "BACI_HS92_V202601" / "BACI_HS92_Y2023_V202601.csv").exists()
    monkeypatch.setenv("TRADEFLOWS_MAX_MEMBER_BYTES", "lots")
    with pytest.raises(DataError, match="expected a positive number of bytes"):
        extract_member(archive, "BACI_HS92_Y2023_V202601.csv")


def test_member_larger_than_its_header_says_is_refused(tmp_path, monkeypatch):
    """A member whose declared size is small but which inflates beyond it (a zip bomb with a
    forged header) is refused as corrupt; nothing is left extracted."""
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ITPDE_R03.csv", b"0" * 10_000)
    data = bytearray(archive.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # forge the uncompressed size: 50 bytes
        at = data.find(header)
        offset = at + (22 if header == b"PK\x03\x04" else 24)
        data[offset:offset + 4] = (50).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    monkeypatch.setenv("TRADEFLOWS_MAX_MEMBER_BYTES", "1000")
    with pytest.raises(DataError, match=r"bomb\.zip: corrupt zip archive \(Bad CRC"):
        extract_member(archive, "ITPDE_R03.csv")
    assert not any((tmp_path / "bomb").iterdir())


def test_not_a_zip_and_missing_member(tmp_path):
    archive = _baci_zip(tmp_path / "BACI_HS92_V202601.zip", BACI.read_bytes())
    with pytest.raises(DataError, match="cannot extract .nothing.csv.: no such member"):
        extract_member(archive, "nothing.csv")
    broken = tmp_path / "ITPDE_R03.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(DataError, match="not a readable zip archive"):
        read_itpd(broken)
