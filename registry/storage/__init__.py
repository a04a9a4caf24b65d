"""Every file the server writes has an owner and an end: one data folder ($CNNLENS_DATA_DIR), a subfolder per
kind of file, and for each a lifetime and a size bound, enforced by removing what was used least recently.

Kinds (subfolders): `gradio` (Gradio's cache: the images visitors upload and the result files the app serves),
`own-models` (models uploaded under *Your model*) and `feature-vis` (the channel-picture cache). A `Bounded`
folder's entries are its direct children (a file, or a folder holding one upload or one run); an entry's age is
the time since it was last written or used (`touch`). `sweep` removes entries past the lifetime, then the least
recently used while the folder is over its size; the newest entry always stays, so a file being served survives.
The server sweeps every folder now and then (`app/janitor.py`) and removes its own folders when it stops.

Only the registry's lowest rooms are below this one: it reads settings and knows nothing else of CNN Lens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import registry.settings as settings

__all__ = [
    "Bounded",
    "Entry",
    "bounded_cache",
    "data_folder",
    "entries",
    "touch",
    "write_atomically",
]


_SWEEPING = threading.Lock()  # one sweep at a time: two would count the same entries
_LAST_SWEEP: dict[Path, float] = {}  # folder → time.monotonic() of its last sweep


def data_folder() -> Path:
    """The one folder the server writes under: $CNNLENS_DATA_DIR, else `<system temp>/cnnlens`."""
    given = settings.value("CNNLENS_DATA_DIR")
    return Path(given).expanduser() if given else Path(tempfile.gettempdir()) / "cnnlens"


@dataclass(frozen=True)
class Entry:
    """One direct child of a bounded folder: its path, bytes (a folder's files added up) and last use."""

    path: Path
    nbytes: int
    used: float  # seconds since the epoch: the latest modification time of it or anything in it


def entries(folder: Path, expand: tuple[str, ...] = ()) -> list[Entry]:
    """The folder's entries, least recently used first (a missing folder has none); a child named in `expand`
    is not an entry itself: its own children are (a folder of runs inside a folder of uploads)."""
    found = []
    try:
        children = list(os.scandir(folder))
    except OSError:
        return []
    for child in children:
        if child.name in expand and child.is_dir(follow_symlinks=False):
            found += entries(Path(child.path))
            continue
        try:
            stat = child.stat(follow_symlinks=False)
            folder = child.is_dir(follow_symlinks=False)
            nbytes, used = (0 if folder else stat.st_size), stat.st_mtime  # a folder: its files' bytes
            if folder:
                for root, _dirs, files in os.walk(child.path):
                    for name in files:
                        inner = os.lstat(os.path.join(root, name))
                        nbytes, used = nbytes + inner.st_size, max(used, inner.st_mtime)
        except OSError:  # removed meanwhile
            continue
        found.append(Entry(Path(child.path), nbytes, used))
    return sorted(found, key=lambda entry: entry.used)


def touch(path: Path) -> None:
    """Mark an entry (or a file in it) as used now, so the size bound removes it last."""
    with contextlib.suppress(OSError):
        os.utime(path)


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """`write(handle)` into a temporary file beside `path`, renamed onto it: a reader never meets half a file. For
    caches: a disk that refuses (read-only, full) costs the cache entry, never the result, so nothing is raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            write(handle)
        os.replace(handle.name, path)
    except OSError:
        pass


def bounded_cache(folder: Path, megabytes: float) -> Bounded:
    """A cache folder: no lifetime, at most `megabytes` (its `CNNLENS_…_MB` setting); least recently used go first."""
    return Bounded(folder, max_bytes=megabytes * 2**20)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@dataclass
class Bounded:
    """A folder whose entries last `lifetime` seconds after their last use (None: no limit) and take at most
    `max_bytes` together (None: no limit). Cheap to make: callers build one from the settings when they sweep."""

    path: Path
    max_bytes: float | None = None
    lifetime: float | None = None
    expand: tuple[str, ...] = ()  # subfolders whose children are entries (see `entries`)

    def sweep(self, now: float | None = None) -> list[Path]:
        """Remove expired entries, then the least recently used past the size bound; returns what went."""
        with _SWEEPING:
            _LAST_SWEEP[self.path] = time.monotonic()
            now = time.time() if now is None else now
            found = entries(self.path, self.expand)
            gone = []
            if self.lifetime is not None:
                expired = [entry for entry in found if now - entry.used > self.lifetime]
                gone += expired
                found = [entry for entry in found if entry not in expired]
            if self.max_bytes is not None:
                total = sum(entry.nbytes for entry in found)
                for entry in found[:-1]:  # the newest always stays
                    if total <= self.max_bytes:
                        break
                    gone.append(entry)
                    total -= entry.nbytes
            for entry in gone:
                _remove(entry.path)
            return [entry.path for entry in gone]

    def sweep_soon(self, every: float = 5.0) -> None:
        """Sweep unless one ran in the last `every` seconds: cheap enough to call after each write."""
        if time.monotonic() - _LAST_SWEEP.get(self.path, float("-inf")) >= every:
            self.sweep()

    def size(self) -> int:
        """The bytes the folder holds now."""
        return sum(entry.nbytes for entry in entries(self.path, self.expand))

    def clear(self) -> None:
        """Remove the folder and everything in it (the server's own folders, when it stops)."""
        shutil.rmtree(self.path, ignore_errors=True)
