"""The image sets a concept test reads: a concept's pictures, the class's pictures, and random sets.

A set is given as a folder (its images, in subfolders too), a zip (Evaluate's zip rules: `extract_zip`), "samples"
(the bundled images), or a list of files and pictures. Each set gets a `key`, a digest of what it holds (a file's
bytes; a picture's pixels; a random set's recipe), so activations computed once are found again by the cache
(registry/audit/_activations.py), wherever a zip was unpacked, and a changed file is a new set.

Random sets (Kim et al. 2018 draw theirs from ImageNet) are made here from random crops of the class's images and
the bundled samples, seeded: the same recipe gives the same crops, so the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from registry.evaluation import IMAGE_SUFFIXES, DataError, extract_zip
from registry.evaluation._data import SAMPLES
from registry.imaging import load_image, sample_paths, shorten

__all__ = ["MIN_IMAGES", "ImageSet", "image_set", "random_sets"]

MIN_IMAGES = 10  # fewer images than this per set give CAVs that are mostly noise
_CROP_AREA = (0.1, 0.5)  # a random crop covers this share of its source image


@dataclass
class ImageSet:
    """A named set of pictures (files or PIL images), with a digest of its content as `key`."""

    name: str
    items: list[str | Image.Image]
    key: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


def image_set(name: str, given: Any, workdir: Path, minimum: int = MIN_IMAGES) -> ImageSet:
    """The set `given` (folder, zip, "samples", a list of files / pictures), checked to hold at least `minimum`
    images; what is wrong is said in words naming the set. A zip is unpacked under `workdir` (the caller's
    temporary folder)."""
    notes: list[str] = []
    if isinstance(given, (str, Path)) and str(given) == SAMPLES:
        items: list[str | Image.Image] = [str(path) for path in sample_paths().values()]
    elif isinstance(given, (str, Path)):
        path = Path(given).expanduser()
        items, notes = _from_path(name, path, workdir / f"set-{len(list(workdir.iterdir()))}")
    elif isinstance(given, Image.Image):
        items = [given]
    elif isinstance(given, Iterable):
        items = [item if isinstance(item, Image.Image) else str(item) for item in given]
        missing = [item for item in items if isinstance(item, str) and not Path(item).is_file()]
        if missing:
            raise DataError(f"The set '{name}' names {len(missing)} file(s) that do not exist: {shorten(missing[0])}.")
    else:
        raise DataError(f"The set '{name}' must be a folder, a zip or a list of images; got {shorten(given)}.")
    if not items:
        raise DataError(f"The set '{name}' holds no images ({', '.join(IMAGE_SUFFIXES)}).")
    if len(items) < minimum:
        raise DataError(
            f"The set '{name}' holds {len(items)} image(s); a concept activation vector needs at least {minimum} "
            "(Kim et al. use 50 or more)."
        )
    return ImageSet(name, items, _digest(items), notes)


def random_sets(
    count: int, size: int, pool: Sequence[str | Image.Image], seed: int = 0, side: int = 512
) -> list[ImageSet]:
    """`count` sets of `size` random crops each from `pool` (files or pictures) and the bundled samples; seeded."""
    sources = list(pool) + [str(path) for path in sample_paths().values()]
    pictures = [source if isinstance(source, Image.Image) else load_image(source, side) for source in sources]
    recipe = hashlib.sha256(f"crops-v1:{_digest(sources)}:{size}:{seed}".encode()).hexdigest()[:16]
    made = []
    for number in range(count):
        rng = np.random.default_rng([seed, number])
        crops: list[str | Image.Image] = [_crop(pictures[int(rng.integers(len(pictures)))], rng) for _ in range(size)]
        made.append(ImageSet(f"random {number}", crops, f"{recipe}-{number}"))
    return made


def _crop(picture: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random square-ish crop covering 10–50 % of the picture, anywhere in it."""
    width, height = picture.size
    area = rng.uniform(*_CROP_AREA) * width * height
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    w = int(min(width, max(8, round(np.sqrt(area * aspect)))))
    h = int(min(height, max(8, round(np.sqrt(area / aspect)))))
    x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return picture.crop((x0, y0, x0 + w, y0 + h))


def _from_path(name: str, path: Path, unpack: Path) -> tuple[list[str | Image.Image], list[str]]:
    if path.is_dir():
        return _images_under(path), []
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            _, notes = extract_zip(path, unpack)
        except DataError as exc:
            raise DataError(f"The set '{name}': {exc}") from None
        return _images_under(unpack), notes
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [str(path)], []
    if not path.exists():
        raise DataError(f"The set '{name}': there is no folder or zip called '{path.name}'.")
    raise DataError(f"The set '{name}': '{path.name}' is neither a folder of images nor a zip.")


def _images_under(folder: Path) -> list[str | Image.Image]:
    """Every image in `folder` and its subfolders, hidden ones left out, sorted."""
    return [
        str(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(folder).parts)
    ]


def _digest(items: Sequence[str | Image.Image]) -> str:
    """What the set holds, in order: files by their bytes (wherever a zip was unpacked), pictures by their pixels."""
    digest = hashlib.sha256()
    for item in items:
        if isinstance(item, Image.Image):
            digest.update(f"{item.mode}{item.size}".encode())
            digest.update(item.tobytes())
        else:
            with open(item, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        digest.update(b"\n")
    return digest.hexdigest()[:32]
