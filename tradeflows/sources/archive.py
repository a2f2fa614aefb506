"""Zip archives as the publishers ship them: recognised by content, extracted with limits.

* ``is_zip(path)``: the file starts with a zip signature (``PK\\x03\\x04``, or ``PK\\x05\\x06``
  for an empty archive), whatever its name says. The World Bank's
  ``...?downloadformat=csv`` answer, for example, is a zip.
* ``extract_member(archive, member)``: the member is extracted once into a folder named after
  the archive, beside it, with a stamp file recording the sha256 of the archive it came
  from and the member's CRC-32 and size; when the archive's checksum changes (a new release
  downloaded under the same name, or a replaced file) the member is extracted again, even if
  its size is unchanged. The archive's sha256 is computed once per process for an unchanged
  file (same size, modification and change times, inode).
  Extraction stops with ``DataError`` once a member exceeds ``MAX_MEMBER_BYTES`` (or the
  ``TRADEFLOWS_MAX_MEMBER_BYTES`` environment variable), so a zip bomb cannot fill the disk.
"""

from __future__ import annotations

import gzip
import os
import re
import zipfile
from pathlib import Path
from typing import IO

from tradeflows.errors import DataError
from tradeflows.io import atomic_path, sha256_file, write_text

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
MAX_MEMBER_BYTES = 32 << 30  # 32 GiB: a BACI yearly CSV is about 0.5 GiB
_CHUNK = 1 << 20
_STAMP = ".archive.sha256"
# (path, size, mtime_ns, ctime_ns, inode) -> sha256; ctime changes on every write, even one
# that restores the size and the modification time
_checksums: dict[tuple[str, int, int, int, int], str] = {}


def is_zip(path: str | Path) -> bool:
    """True when the file's first bytes are a zip signature (its name does not matter)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in ZIP_SIGNATURES
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror})", file=path) from exc


GZIP_SIGNATURE = b"\x1f\x8b"


def is_gzip(path: str | Path) -> bool:
    """True when the file's first bytes are the gzip signature (its name does not matter)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_SIGNATURE
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror})", file=path) from exc


def open_text(path: str | Path, encoding: str = "utf-8-sig") -> IO[str]:
    """A text handle on ``path``, through gzip when the content is gzip-compressed."""
    opener = gzip.open if is_gzip(path) else open
    return opener(path, "rt", encoding=encoding, newline="")


def max_member_bytes() -> int:
    """Largest member extracted: ``TRADEFLOWS_MAX_MEMBER_BYTES`` or ``MAX_MEMBER_BYTES``."""
    text = os.environ.get("TRADEFLOWS_MAX_MEMBER_BYTES", "").strip()
    if not text:
        return MAX_MEMBER_BYTES
    if not text.isdigit() or int(text) <= 0:
        raise DataError(f"TRADEFLOWS_MAX_MEMBER_BYTES={text!r}; expected a positive number of "
                        "bytes", file="environment")
    return int(text)


def zip_members(archive: str | Path, pattern: str) -> list[str]:
    """Names of the members of a zip archive whose file name matches ``pattern`` (regex)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return sorted(n for n in zf.namelist() if re.search(pattern, Path(n).name))
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"not a readable zip archive ({exc})", file=archive) from exc


def archive_checksum(archive: Path) -> str:
    """sha256 of the archive, computed once per process for an unchanged file."""
    st = archive.stat()
    key = (str(archive.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if key not in _checksums:
        _checksums[key] = sha256_file(archive)
    return _checksums[key]


def extract_member(archive: str | Path, member: str) -> Path:
    """Extract ``member`` of a zip beside it (``<archive without suffix>/<file name>``) and
    return the extracted file's path. An earlier extraction is reused only if its stamp
    records the same archive sha256 and the member's CRC-32 and size. Raises ``DataError``
    for a missing member, a corrupt archive or a member larger than ``max_member_bytes()``."""
    archive = Path(archive)
    folder = archive.parent / (archive.name[:-4] if archive.name.lower().endswith(".zip")
                               else f"{archive.name}.unzipped")
    target = folder / Path(member).name
    stamp = folder / f"{Path(member).name}{_STAMP}"
    limit = max_member_bytes()
    try:
        with zipfile.ZipFile(archive) as zf:
            try:
                info = zf.getinfo(member)
            except KeyError as exc:
                raise DataError(f"cannot extract {member!r}: no such member in the archive",
                                file=archive) from exc
            source = f"{archive_checksum(archive)} {info.CRC:08x} {info.file_size}"
            if target.exists() and stamp.exists() and stamp.read_text().strip() == source:
                return target
            if info.file_size > limit:
                raise DataError(f"member {member!r} would extract to {info.file_size:,} bytes, "
                                f"more than the limit of {limit:,} (TRADEFLOWS_MAX_MEMBER_BYTES)",
                                file=archive)
            # zipfile checks the CRC-32 while reading: a corrupt member raises BadZipFile
            with atomic_path(target) as tmp, zf.open(info) as src, open(tmp, "wb") as dst:
                written = 0
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    if written > limit:
                        raise DataError(f"member {member!r} extracts to more than {limit:,} "
                                        "bytes (TRADEFLOWS_MAX_MEMBER_BYTES)", file=archive)
                    dst.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise DataError(f"corrupt zip archive ({exc})", file=archive) from exc
    write_text(source + "\n", stamp)
    return target
