"""Build hook: copy the bundled raw data (``data/raw``) into the wheel as
``tradeflows/_bundled/raw`` with a SHA256SUMS list, so ``tradeflows init`` works from an
installed package. Metadata lives in pyproject.toml. Editable installs read ``data/raw``
of the checkout directly and copy nothing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
RAW = HERE / "data" / "raw"
SKIP = {"__pycache__", ".DS_Store", ".gitkeep"}


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not SKIP & set(p.relative_to(folder).parts))


class BuildWithRawData(build_py):
    """``build_py`` that also copies data/raw into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not RAW.is_dir():
            return
        target = Path(self.build_lib) / "tradeflows" / "_bundled" / "raw"
        if target.exists():
            shutil.rmtree(target)
        sums = []
        for src in _files(RAW):
            rel = src.relative_to(RAW)
            dst = target / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            sums.append(f"{hashlib.sha256(src.read_bytes()).hexdigest()}  {rel.as_posix()}\n")
        (target.parent / "SHA256SUMS").write_text("".join(sums), encoding="utf-8")


setup(cmdclass={"build_py": BuildWithRawData})
