"""A zip of images unpacked under one set of rules, wherever a zip comes from (the Evaluate tab, the concept test).

Caps (how many images, how many bytes unpacked) are checked on the zip's directory before anything is written, and
again while writing (a directory may lie); entries that would land outside the folder (zip-slip: an absolute path,
'..', a drive, a NUL) are refused and files that are neither images nor manifests are skipped, both counted in
words. Hidden files and macOS's __MACOSX copies are skipped too.
"""

from __future__ import annotations

import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from registry.evaluation._data import IMAGE_SUFFIXES, MANIFEST_SUFFIXES, DataError, Record, manifest, records

__all__ = ["extract_zip", "unpacked_records"]


def extract_zip(
    archive: str | Path, root: Path, max_images: int | None = None, max_bytes: int | None = None
) -> tuple[int, list[str]]:
    """Unpack the images (and manifests) of `archive` into `root`: (images, notes on what was refused or skipped).
    A broken zip, one over a cap or one without images is a `DataError` in words."""
    try:
        with zipfile.ZipFile(archive) as opened:
            # A name that starts with NUL reaches us empty (zipfile cuts at the NUL): refused below, as unsafe.
            infos = [info for info in opened.infolist() if not (info.filename and info.is_dir())]
            unsafe = [info for info in infos if not _safe(info.filename)]
            wanted = [info for info in infos if info not in unsafe and _kind(info.filename)]
            skipped = len(infos) - len(unsafe) - len(wanted)
            images = sum(1 for info in wanted if _kind(info.filename) == "image")
            if max_images is not None and images > max_images:
                raise DataError(f"The zip holds {images} images; the limit is {max_images}.")
            if max_bytes is not None and sum(info.file_size for info in wanted) > max_bytes:
                raise DataError(f"The zip's images unpack to more than {max_bytes // 2**20} MB, the limit.")
            if not images:
                raise DataError("The zip holds no images (.jpg, .png, …).")
            written = 0
            for info in wanted:
                target = root.joinpath(*PurePosixPath(info.filename).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with opened.open(info) as source, open(target, "wb") as sink:
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if max_bytes is not None and written > max_bytes:
                            raise DataError(f"The zip unpacks to over {max_bytes // 2**20} MB, the limit.")
                        sink.write(chunk)
    except DataError:
        raise
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError, EOFError, zlib.error):
        raise DataError("The file is not a zip CNN Lens can read.") from None
    notes = []
    if unsafe:
        notes.append(f"- {len(unsafe)} entr{'y' if len(unsafe) == 1 else 'ies'} with a path outside the zip refused")
    if skipped:
        notes.append(f"- {skipped} file{'' if skipped == 1 else 's'} that are not images skipped")
    return images, notes


def unpacked_records(root: Path, listing: str | Path | None = None) -> list[Record]:
    """The records of an unpacked zip: those of a manifest (`listing`, one uploaded beside it, copied in; else the
    first one in the zip) whose every path names an image inside `root`, else of the folder (descending into a
    single top folder). One reading of a zip for Evaluate and the audit."""
    found = sorted(path for path in root.rglob("*") if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES)
    table = None
    if listing:
        table = root / ("_manifest" + Path(listing).suffix.lower())
        shutil.copyfile(listing, table)
    elif found:
        table = found[0]
    if table is None:
        top = list(root.iterdir())
        return records(top[0] if len(top) == 1 and top[0].is_dir() else root)
    return manifest(table, within=root)


def _safe(name: str) -> bool:
    """Whether a zip entry's name stays inside the folder it is unpacked into (no absolute path, no '..')."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or ":" in name.split("/")[0]:
        return False
    return all(part not in ("..",) for part in PurePosixPath(name).parts)


def _kind(name: str) -> str | None:
    path = PurePosixPath(name)
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return None
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "manifest" if suffix in MANIFEST_SUFFIXES else None
