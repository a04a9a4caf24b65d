"""Result pictures as files written once, under a name no other request can produce.

Gradio names a returned PIL image after a hash of its bytes and rewrites that file whenever the
same picture is returned again, truncating it under a client that is still downloading it
(8 clients sending one request lost about 2 % of downloads). A path inside Gradio's cache is
served as it is, so each picture is written here to a fresh file and only its path is returned;
Gradio still deletes it with the rest of the cache (`delete_cache` in build_app).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradio.utils import get_upload_folder
from PIL import Image

FOLDER = "cnnlens-results"


def results_folder() -> Path:
    """Where result files go: a folder inside Gradio's cache, so Gradio serves them directly."""
    folder = Path(os.path.realpath(get_upload_folder())) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_unique(image: Image.Image, stem: str) -> str:
    """Write `image` as PNG to a new file nobody else writes to; return its path."""
    handle, path = tempfile.mkstemp(prefix=f"{stem}-", suffix=".png", dir=results_folder())
    with os.fdopen(handle, "wb") as file:
        image.save(file, format="PNG")
    return path
