"""Where evaluation images come from: one `Record` per image, whatever the dataset looks like.

    records("val/")            # val/<class name or number>/*.jpg, or a folder of unlabelled images
    records("val.csv")         # a manifest: path, label, box (x0,y0,x1,y1 in image pixels), mask
    records("samples")         # the bundled samples, with the boxes recorded in examples/SOURCES.md

A record says what is known of an image as the dataset wrote it: its label is text (a class number, a
name, a WordNet id, or several joined by "|" when any of them is right), matched to each model's own
classes later (`resolve_labels`), since two backbones may name their classes differently. Problems a
person can fix (a missing file, a class no model has, a malformed box) are `DataError`s: a sentence
that names the file and line, never a traceback. A record repeated exactly is read once (its row would be
the same row); one image given two boxes or masks for one label is refused, since its rows would collide.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from registry.imaging import EXAMPLES, labelled_samples, shorten
from registry.models import Backbone, class_index

__all__ = [
    "IMAGE_SUFFIXES",
    "MANIFEST_SUFFIXES",
    "NOT_IN_UPLOAD",
    "DataError",
    "LabelError",
    "Record",
    "image_folder",
    "manifest",
    "parse_box",
    "records",
    "resolve_labels",
    "sample_boxes",
    "samples",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MANIFEST_SUFFIXES = (".csv", ".jsonl", ".json", ".ndjson")
SAMPLES = "samples"  # the name that means the bundled sample images
# What a server says of every manifest path that is not an image inside the client's upload: one sentence,
# whether the file is missing, a folder, unreadable or a server file, so no reply tells them apart.
NOT_IN_UPLOAD = (
    "{count} line(s) of {name} ({lines}) name no image inside the upload: name each image (and mask) by its path "
    "inside the zip, as cats/1.jpg."
)
_WORDNET = re.compile(r"n\d{8}")
_BOX = re.compile(r"\s*(-?[\d.]+)\s*[, ]\s*(-?[\d.]+)\s*[, ]\s*(-?[\d.]+)\s*[, ]\s*(-?[\d.]+)\s*")


class DataError(ValueError):
    """A dataset that cannot be read as it is: the message says which file (and line) and what to change."""


class LabelError(DataError):
    """Class names in the data that a model does not have; the message lists them with close names."""


class Record(NamedTuple):
    """One image to evaluate: its file, its label as written (None: unlabelled), its object box in image pixels
    (x0, y0, x1, y1; None: no box) and the file of its object mask (None: no mask)."""

    path: str
    label: str | None = None
    box: tuple[float, float, float, float] | None = None
    mask: str | None = None


def records(data: Any) -> list[Record]:
    """The records of `data`: a folder (by class, or unlabelled), a manifest file, "samples", or a list of
    records, (path, label, box, mask) tuples or paths. Checked up front, so a bad dataset fails before any
    model runs."""
    if isinstance(data, (str, Path)):
        if str(data) == SAMPLES:
            return samples()
        path = Path(data).expanduser()
        if path.is_dir():
            return image_folder(path)
        if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
            return manifest(path)
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            return [Record(str(path))]
        if not path.exists():
            raise DataError(f"There is no folder or file called '{path}'.")
        raise DataError(f"'{path.name}' is neither a folder of images nor a manifest ({', '.join(MANIFEST_SUFFIXES)}).")
    found = []
    for index, item in enumerate(data):
        if isinstance(item, (str, Path)):
            found.append(Record(str(item)))
        elif isinstance(item, Sequence) and 1 <= len(item) <= 4:
            path, label, box, mask = (*item, None, None, None)[:4]
            where = f"item {index + 1}"
            label = None if label is None else str(label)
            found.append(Record(str(path), label, parse_box(box, where), None if mask is None else str(mask)))
        else:
            raise DataError(f"Item {index + 1} is not a path or a (path, label, box, mask) record: {shorten(item)}.")
    return _checked(found, "the list")


def image_folder(root: str | Path) -> list[Record]:
    """The images under `root`: `root/<class>/*.jpg` gives labelled records (the folder's name is the class, a
    number or a name), images directly in `root` unlabelled ones. Sorted, so every run sees the same order."""
    root = Path(root)
    loose = _images_in(root)
    classes = sorted(folder for folder in root.iterdir() if folder.is_dir() and not folder.name.startswith("."))
    labelled = [(folder, _images_in(folder)) for folder in classes]
    labelled = [(folder, images) for folder, images in labelled if images]
    if loose and labelled:
        raise DataError(
            f"'{root.name}' holds images both loose ({len(loose)}) and in class folders ({len(labelled)} folders); "
            "put every image in its class's folder, or none of them."
        )
    if not loose and not labelled:
        raise DataError(f"'{root.name}' holds no images ({', '.join(IMAGE_SUFFIXES)}), loose or in class folders.")
    if loose:
        return [Record(str(path)) for path in loose]
    return [Record(str(path), folder.name) for folder, images in labelled for path in images]


def manifest(path: str | Path, within: str | Path | None = None) -> list[Record]:
    """Records from a CSV (a header with `path` and any of `label`, `box` or x0,y0,x1,y1, `mask`) or JSON-lines
    file (one object a line, the same keys; `box` a list). Relative paths are relative to the manifest.

    `within` is for a server reading a client's manifest: every image and mask must then be an image file
    inside that folder (the client's upload), and every other path, whether missing, a folder, unreadable or
    a file of the server's, gets the one sentence `NOT_IN_UPLOAD`, which names neither the path nor why, so a
    reply cannot tell which server files exist ("~" is not expanded either). Left None (the Python API, the
    command line), a person's own manifest may name their own files anywhere and is told which are missing."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise DataError(f"The manifest '{path.name}' could not be read as UTF-8 text.") from None
    if path.suffix.lower() == ".csv":
        rows = list(_csv_rows(text, path.name))
    else:
        rows = list(_json_rows(text, path.name))
    if not rows:
        raise DataError(f"The manifest '{path.name}' lists no images.")
    found, lines = [], []
    for line, row in rows:
        where = f"line {line} of {path.name}"
        image = row.get("path") or row.get("image") or row.get("file")
        if not image:
            raise DataError(f"{where.capitalize()} has no path: name the image in a 'path' column.")
        box = row.get("box")
        if box in (None, "") and all(row.get(key) not in (None, "") for key in ("x0", "y0", "x1", "y1")):
            box = [row[key] for key in ("x0", "y0", "x1", "y1")]
        label = row.get("label")
        mask = row.get("mask") or None
        expand = within is None
        found.append(
            Record(
                str(_beside(path, str(image), expand)),
                None if label in (None, "") else str(label),
                parse_box(box, where),
                None if mask is None else str(_beside(path, str(mask), expand)),
            )
        )
        lines.append(line)
    if within is not None:
        return _inside(found, lines, Path(within), path.name)
    return _checked(found, path.name)


def samples() -> list[Record]:
    """The bundled samples that show an ImageNet class, labelled with every class SOURCES.md accepts ("281|282|285")
    and boxed as its object-box table records."""
    boxes = sample_boxes()
    return [
        Record(str(sample.path), "|".join(str(c) for c in sample.classes), boxes.get(sample.file))
        for sample in labelled_samples().values()
        if sample.classes and sample.path.is_file()
    ]


def sample_boxes() -> dict[str, tuple[float, float, float, float]]:
    """The object boxes of examples/SOURCES.md's box table (`| file | x0,y0,x1,y1 | what the box holds |`)."""
    boxes = {}
    text = (EXAMPLES / "SOURCES.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.search(r"\.(png|jpe?g)$", cells[0], flags=re.I) and _BOX.fullmatch(cells[1]):
            boxes[cells[0]] = parse_box(cells[1], f"the box of {cells[0]} in SOURCES.md")
    return boxes


def parse_box(box: Any, where: str) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) from "x0,y0,x1,y1" or four numbers; None for no box. x0 < x1 and y0 < y1, in image
    pixels (a pixel (u, v) covers [u, u+1) × [v, v+1))."""
    if box is None or box == "" or (isinstance(box, float) and box != box):
        return None
    if isinstance(box, str):
        match = _BOX.fullmatch(box)
        values = match.groups() if match else ()
    else:
        values = tuple(box) if isinstance(box, Iterable) else ()
    try:
        numbers = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise DataError(
            f"The box on {where} must be four numbers x0,y0,x1,y1 in image pixels, none infinite; got {shorten(box)}."
        )
    x0, y0, x1, y1 = numbers
    if not (x0 < x1 and y0 < y1) or min(numbers) < 0:
        raise DataError(
            f"The box on {where} must have x0 < x1 and y0 < y1, none negative (x0,y0 the top left corner); "
            f"got {shorten(box)}."
        )
    return numbers


def resolve_labels(labels: Iterable[str | None], backbone: Backbone) -> dict[str, tuple[int, ...]]:
    """Each distinct label text as `backbone`'s class numbers. A number, a class's exact name (or one of its
    synonyms; "_" reads as a space), or an ImageNet WordNet id (n02123045) for an ImageNet model; "a|b" means
    either. Every text that matches no class is reported at once, with close names (LabelError)."""
    resolved, wrong = {}, []
    synsets = _synsets() if backbone.imagenet else {}
    for text in dict.fromkeys(label for label in labels if label is not None):
        classes = []
        for part in text.split("|"):
            part = part.strip()
            try:
                if _WORDNET.fullmatch(part) and part in synsets:
                    classes.append(synsets[part])
                else:
                    classes.append(class_index(_spaced(part, backbone.labels), backbone.labels))
            except ValueError as exc:
                wrong.append(f"{shorten(part)} ({exc})")
        resolved[text] = tuple(dict.fromkeys(classes))
    if wrong:
        shown = "; ".join(wrong[:5]) + (f"; and {len(wrong) - 5} more" if len(wrong) > 5 else "")
        raise LabelError(f"{len(wrong)} class name(s) in the data match none of {backbone.name}'s classes: {shown}")
    return resolved


def _spaced(part: str, labels: Sequence[str]) -> str:
    """A folder's name as a class name: "tiger_cat" is "tiger cat" unless the model has a class with the "_"."""
    if "_" not in part:
        return part
    names = {name.strip().lower() for label in labels for name in label.split(",")}
    return part if part.lower() in names else part.replace("_", " ")


def _synsets() -> dict[str, int]:
    from timm.data import ImageNetInfo

    return {synset: index for index, synset in enumerate(ImageNetInfo("imagenet-1k").label_names())}


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def _beside(manifest: Path, path: str, expand: bool = True) -> Path:
    candidate = Path(path)
    if expand:
        with contextlib.suppress(RuntimeError):  # "~nobody/a.jpg": no such home, so it stays as written (missing)
            candidate = candidate.expanduser()
    return candidate if candidate.is_absolute() else manifest.parent / candidate


def _csv_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "path" not in [field.strip().lower() for field in reader.fieldnames]:
        raise DataError(f"The manifest '{name}' needs a header line naming a 'path' column (and label, box, mask).")
    for line, row in enumerate(reader, start=2):
        cleaned = {str(key).strip().lower(): (value or "").strip() for key, value in row.items() if key is not None}
        if any(cleaned.values()):
            yield line, cleaned


def _json_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if text.lstrip().startswith("["):  # a .json file holding one list of objects
        try:
            rows = json.loads(text)
        except (json.JSONDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
            raise DataError(f"{name} is not JSON: write a list of objects, or one object a line.") from None
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise DataError(f'Item {number} of {name} is not an object like {{"path": "a.jpg"}}.')
            yield number, {str(key).lower(): value for key, value in row.items()}
        return
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise DataError(f"Line {line} of {name} is not JSON: write one object a line.") from None
        if not isinstance(row, dict):
            raise DataError(f'Line {line} of {name} is not an object like {{"path": "a.jpg", "label": 3}}.')
        yield line, {str(key).lower(): value for key, value in row.items()}


def _checked(found: list[Record], where: str) -> list[Record]:
    """Every image and mask file exists; reported all at once (the first five)."""
    missing = [path for record in found for path in (record.path, record.mask) if path and not Path(path).is_file()]
    if missing:
        shown = ", ".join(f"'{path}'" for path in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise DataError(f"{len(missing)} file(s) named in {where} do not exist: {shown}.")
    if not found:
        raise DataError(f"{where.capitalize()} lists no images.")
    return _distinct(found, where)


def _inside(found: list[Record], lines: list[int], root: Path, name: str) -> list[Record]:
    """Every image and mask an image file inside `root`; the lines that name anything else, in one sentence."""
    inside = os.path.realpath(root)
    wrong = [
        line
        for line, record in zip(lines, found)
        if not all(_image_file_inside(path, inside) for path in (record.path, record.mask) if path)
    ]
    if wrong:
        shown = ", ".join(str(line) for line in wrong[:5]) + (" …" if len(wrong) > 5 else "")
        raise DataError(NOT_IN_UPLOAD.format(count=len(wrong), name=name, lines=shown))
    return _distinct(found, name)


def _image_file_inside(path: str, inside: str) -> bool:
    """Whether `path` is a readable regular file with an image's suffix under the folder `inside`."""
    try:
        real = os.path.realpath(path)
        return (
            Path(real).is_relative_to(inside)
            and real != inside
            and Path(real).suffix.lower() in IMAGE_SUFFIXES
            and stat.S_ISREG(os.stat(real).st_mode)
            and os.access(real, os.R_OK)
        )
    except (OSError, ValueError):  # missing, a NUL in the name: the same answer as any other
        return False


def _distinct(found: list[Record], where: str) -> list[Record]:
    """The records without exact repeats (a repeat's rows would be the same rows, computed again). A row is one
    image and label, so two boxes or masks for one image and label are refused rather than one silently lost."""
    kept: dict[tuple[str, str | None], Record] = {}
    for record in found:
        first = kept.setdefault((record.path, record.label), record)
        if first != record:
            raise DataError(
                f"{where.capitalize()} gives {shorten(Path(record.path).name)} two boxes or masks for the label "
                f"{shorten(record.label)}; each image is scored once per label, so keep one of them."
            )
    return list(kept.values())
