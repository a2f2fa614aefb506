"""Atomic writes, staged multi-file commits and checksums: an interrupted run never leaves a
half-written output, nor a set of outputs mixing two runs.

* ``atomic_path`` / ``write_*``: one file, written beside its target and renamed onto it.
* ``StagedOutputs``: the files of one stage (e.g. flows, panel and their manifest) are
  written into a staging folder ``<root>/.stage-<pid>-<random>/`` beside their targets. On
  success the folder is renamed ``.commit-<pid>-<random>`` (one atomic step: from here the
  new set is decided) and its files are moved onto their targets, ``manifest.json`` files
  last. ``recover(root)``, run at the start of every stage, finishes an interrupted move
  (roll forward), deletes staging folders of runs that died before deciding (roll back)
  and removes temporary files of dead processes. After a kill and ``recover``, the outputs
  are the old set or the new one, with their manifest.
* ``staging_dir`` / ``replace_dir``: a whole output folder (e.g. ``sectors/``) built in a
  hidden sibling ``.<name>.dstage-<pid>-<random>/`` and swapped in by two renames (the old
  folder first set aside as ``.<name>.old-<pid>``). ``recover(parent)`` removes the staging
  folders of dead processes and, if a run died between the two renames, puts the old
  folder back (or, when the new one is already in place, removes the old one).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

TMP_SUFFIX = ".tmp"
STAGE_PREFIX = ".stage-"
COMMIT_PREFIX = ".commit-"
LAST = ("manifest.json",)  # file names moved into place after every other file
LAST_LIST = ".last.json"  # in a decided stage: further names to move last
_TMP_NAME = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")
_STAGE_NAME = re.compile(r"^\.(?:stage|commit)-(\d+)-")
_DIR_STAGE_NAME = re.compile(r"^\.(?P<name>.+)\.dstage-(?P<pid>\d+)-[^.]+$")
_DIR_OLD_NAME = re.compile(r"^\.(?P<name>.+)\.old-(?P<pid>\d+)$")


def _alive(pid: int) -> bool:
    """True if a process with this id runs (ours included)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=TMP_SUFFIX,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_parquet(df: pd.DataFrame, target: str | Path) -> Path:
    """Write ``df`` to Parquet atomically (pyarrow, no index, deterministic bytes).

    ``df.attrs`` (reader bookkeeping such as the source file's path) is not stored: outputs
    hold no absolute paths and are equal across checkouts."""
    if df.attrs:
        df = df.copy(deep=False)
        df.attrs = {}
    with atomic_path(target) as tmp:
        df.to_parquet(tmp, engine="pyarrow", index=False)
    return Path(target)


def write_text(text: str, target: str | Path) -> Path:
    """Write text atomically (UTF-8, ``\\n`` line ends)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(target)


def write_json(obj: Any, target: str | Path) -> Path:
    """Write JSON atomically with sorted keys, so equal content gives equal bytes."""
    return write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", target)


class StagedOutputs:
    """The files of one stage, written into a staging folder and moved into place together.

    ``path(target)`` gives the staged location of ``target`` (a file under ``root``); write
    there (with the ``write_*`` functions), then ``commit()``. Used as a context manager, an
    exception (or a kill) leaves the targets untouched. ``copy_existing=True`` starts the
    staging folder as a hard-linked copy of ``root`` (for stages that list or check the
    whole folder, such as the report).
    """

    def __init__(self, root: str | Path, *, copy_existing: bool = False,
                 last: tuple[str, ...] = ()) -> None:
        self.root = Path(root)
        self.last = last  # more names moved after the others (beside ``LAST``)
        self.root.mkdir(parents=True, exist_ok=True)
        recover(self.root)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-",
                                         dir=self.root))
        self.staging = self.dir  # ``dir`` becomes the decided folder on commit
        if copy_existing:
            for f in _visible_files(self.root):
                dest = self.dir / f.relative_to(self.root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(f, dest)
                except OSError:
                    shutil.copy2(f, dest)
        self.committed = False

    def path(self, target: str | Path) -> Path:
        """Staged location of ``target`` (which must lie under ``root``)."""
        rel = Path(target).absolute().relative_to(self.root.absolute())
        staged = self.dir / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def target(self, staged: str | Path) -> Path:
        """The final location of a staged file (given before or after ``commit``)."""
        return self.root / Path(staged).absolute().relative_to(self.staging.absolute())

    def commit(self) -> None:
        """Decide the new set (rename the staging folder) and move its files into place."""
        decided = self.dir.with_name(COMMIT_PREFIX + self.dir.name[len(STAGE_PREFIX):])
        if self.last:
            write_json(list(self.last), self.dir / LAST_LIST)
        _fsync_tree(self.dir)
        os.replace(self.dir, decided)
        self.dir = decided
        self.committed = True
        _apply(decided, self.root)

    def abort(self) -> None:
        """Drop the staged files (the targets keep the previous run's outputs)."""
        if not self.committed:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and not self.committed:
            self.commit()
        else:
            self.abort()


def _visible_files(folder: Path) -> list[Path]:
    """Files under ``folder``, skipping hidden files and folders (temporaries, stages)."""
    return [f for f in sorted(folder.rglob("*")) if f.is_file()
            and not any(part.startswith(".") for part in f.relative_to(folder).parts)]


def _fsync_tree(folder: Path) -> None:
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())


def _apply(decided: Path, root: Path) -> None:
    """Move every file of a decided stage onto its target (``LAST`` names last), then drop
    the folder. Safe to rerun after an interruption: moved files are no longer there."""
    listed = decided / LAST_LIST
    last = set(LAST)
    if listed.is_file():
        last |= set(json.loads(listed.read_text(encoding="utf-8")))
        listed.unlink()
    files = [f for f in sorted(decided.rglob("*")) if f.is_file()]
    files.sort(key=lambda f: f.name in last)
    for f in files:
        target = root / f.relative_to(decided)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, target)
    shutil.rmtree(decided, ignore_errors=True)


def staging_dir(out_dir: str | Path) -> Path:
    """A new empty folder beside ``out_dir`` in which to build its replacement (readable by
    others like a normal folder); :func:`replace_dir` swaps it in, :func:`recover` of the
    parent removes it if this process dies first."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.dstage-{os.getpid()}-",
                                  dir=out_dir.parent))
    stage.chmod(0o755)
    return stage


def replace_dir(stage: str | Path, out_dir: str | Path) -> None:
    """Replace ``out_dir`` by the finished ``stage`` folder (two renames; see the module
    docstring for what :func:`recover` does after a kill between them)."""
    out_dir = Path(out_dir)
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(out_dir, old)
    os.replace(stage, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _recover_dirs(root: Path) -> list[str]:
    """The folder swaps of :func:`staging_dir` / :func:`replace_dir` left by dead processes."""
    done = []
    for d in sorted(root.iterdir()):
        stage, old = _DIR_STAGE_NAME.match(d.name), _DIR_OLD_NAME.match(d.name)
        m = stage or old
        if not d.is_dir() or m is None or _alive(int(m.group("pid"))):
            continue
        target = root / m.group("name")
        if old is not None and not target.exists():
            os.replace(d, target)  # died between the two renames: the old folder stays
            done.append(f"restored {target.name} from {d.name}")
        else:
            shutil.rmtree(d, ignore_errors=True)
            done.append(f"removed {d.name}")
    return done


def recover(root: str | Path) -> list[str]:
    """Finish or drop what killed runs left under ``root``: complete decided commits, delete
    undecided staging folders (of :class:`StagedOutputs` and of :func:`staging_dir`) and
    temporary files of processes no longer running, and put back a folder set aside by an
    interrupted :func:`replace_dir`. Returns what was done (one line per item, for logs and
    tests)."""
    root = Path(root)
    done: list[str] = []
    if not root.is_dir():
        return done
    done += _recover_dirs(root)
    for d in sorted(root.iterdir()):
        m = _STAGE_NAME.match(d.name)
        if not d.is_dir() or m is None or _alive(int(m.group(1))):
            continue
        if d.name.startswith(COMMIT_PREFIX):
            _apply(d, root)
            done.append(f"completed {d.name}")
        else:
            shutil.rmtree(d, ignore_errors=True)
            done.append(f"removed {d.name}")
    for f in sorted(root.rglob(f".*{TMP_SUFFIX}")):
        m = _TMP_NAME.match(f.name)
        if f.is_file() and m is not None and not _alive(int(m.group(1))):
            f.unlink(missing_ok=True)
            done.append(f"removed {f.relative_to(root).as_posix()}")
    return done


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
