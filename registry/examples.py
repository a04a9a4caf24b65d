"""Where the bundled sample images are: examples/ in the repository, app/examples/ once installed."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = next((folder for folder in (_ROOT / "app" / "examples", _ROOT / "examples") if folder.is_dir()), _ROOT / "examples")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def sample_paths() -> dict[str, Path]:
    """The sample images by stem, sorted: {"cat": …/cat.png, …}."""
    return {path.stem: path for path in sorted(EXAMPLES.iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES}
