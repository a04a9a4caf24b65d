"""The bundled sample images: where they are, and their true ImageNet classes and licences from SOURCES.md.

The images are examples/ in the repository and registry/imaging/examples/ once installed (the wheel
ships them inside this package, so the registry never looks inside the app).

That table is the one record (people read it, the app and the tests parse it), so a sample's label
cannot drift between the documentation and the code. A file is recognised as a sample by its
bytes (SHA-256), not its name: an upload that happens to be called cat.png is not the sample.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "EXAMPLES",
    "IMAGE_SUFFIXES",
    "SOURCES",
    "Sample",
    "Verdict",
    "identify",
    "judge",
    "labelled_samples",
    "sample_paths",
]

_HERE = Path(__file__).resolve().parent
_REPOSITORY = _HERE.parent.parent / "examples"
EXAMPLES = next((folder for folder in (_HERE / "examples", _REPOSITORY) if folder.is_dir()), _REPOSITORY)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SOURCES = "SOURCES.md"
_CLASS = re.compile(r"\b(\d{1,4}) ([^,(]+)")  # "281 tabby" in "281 tabby, 282 tiger cat"


@dataclass(frozen=True)
class Sample:
    """One bundled image: its file, what it shows, its true classes (maybe none) and its licence."""

    file: str
    what: str
    classes: tuple[int, ...]  # empty: the picture shows no ImageNet class
    class_names: tuple[str, ...]  # as the table writes them, e.g. "tiger cat"
    classes_text: str  # the table's cell as written, for a sample without classes
    licence: str

    @property
    def name(self) -> str:
        return Path(self.file).stem

    @property
    def path(self) -> Path:
        return EXAMPLES / self.file

    @property
    def truth(self) -> str:
        """The true classes in words, e.g. "892 wall clock or 409 analog clock"."""
        return (
            " or ".join(f"{index} {name}" for index, name in zip(self.classes, self.class_names)) or self.classes_text
        )


@dataclass(frozen=True)
class Verdict:
    """Whether a top-1 prediction is right for a known sample: True, False, or None (no ImageNet class)."""

    sample: Sample
    predicted: int
    right: bool | None

    def sentence(self, predicted_label: str) -> str:
        """One line for the predictions panel,
        e.g. "✅ Right: cat.png is 281 tabby, …; the model says 282: tiger cat"."""
        said = f"{self.predicted}: {predicted_label}"
        if self.right is None:
            return (
                f"ℹ️ {self.sample.file} shows {self.sample.what}: {self.sample.classes_text}, so the top-1 "
                f"({said}) is neither right nor wrong. Licence: {self.sample.licence}."
            )
        mark = "✅ Right" if self.right else "❌ Wrong"
        return (
            f"{mark}: {self.sample.file} is {self.sample.truth}; the model says {said}. Licence: {self.sample.licence}."
        )


@lru_cache(maxsize=1)
def labelled_samples() -> dict[str, Sample]:
    """Every row of examples/SOURCES.md, by file stem ("cat": Sample(...)). Parsed once."""
    rows: dict[str, Sample] = {}
    for line in (EXAMPLES / SOURCES).read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not re.search(r"\.(png|jpe?g)$", cells[0], flags=re.I):
            continue
        file, what, classes, licence = cells
        found = _CLASS.findall(classes)
        rows[Path(file).stem] = Sample(
            file,
            what,
            tuple(int(number) for number, _ in found),
            tuple(name.strip() for _, name in found),
            classes,
            licence,
        )
    return rows


@lru_cache(maxsize=1)
def _by_digest() -> dict[str, Sample]:
    return {_digest(sample.path): sample for sample in labelled_samples().values() if sample.path.is_file()}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def identify(path: str | Path | None) -> Sample | None:
    """The bundled sample whose bytes `path` holds, or None (any other file, or no file)."""
    if not path:
        return None
    try:
        candidate = Path(path)
        if (
            not candidate.is_file() or candidate.stat().st_size > 16 * 2**20
        ):  # samples are small: skip hashing big uploads
            return None
        return _by_digest().get(_digest(candidate))
    except OSError:
        return None


def judge(sample: Sample, predicted: int) -> Verdict:
    """Right when the top-1 is one of the sample's classes; None when it has no ImageNet class."""
    return Verdict(sample, predicted, (predicted in sample.classes) if sample.classes else None)


def sample_paths() -> dict[str, Path]:
    """The sample images by stem, sorted: {"cat": …/cat.png, …}."""
    return {path.stem: path for path in sorted(EXAMPLES.iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES}
