"""Result files (pictures, raw maps) written once, under a name no other request can produce.

Gradio names a returned PIL image after a hash of its bytes and rewrites that file whenever the
same picture is returned again, truncating it under a client that is still downloading it
(8 clients sending one request lost about 2 % of downloads). A path inside Gradio's cache is
served as it is, so each run's files are written here into a fresh folder and only their paths are
returned. They share the bounds of Gradio's cache (`served_files`): $CNNLENS_FILES_TTL after they were written,
$CNNLENS_FILES_MB for the uploaded images and results together, the oldest first.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
from gradio.utils import get_upload_folder
from PIL import Image

from registry import settings, storage

FOLDER = "cnnlens-results"


def results_folder() -> Path:
    """Where result files go: a folder inside Gradio's cache, so Gradio serves them directly."""
    folder = Path(os.path.realpath(get_upload_folder())) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def served_files() -> storage.Bounded:
    """Gradio's cache (visitors' images, result files) under its bounds; each run's folder is one entry."""
    return storage.Bounded(
        Path(os.path.realpath(get_upload_folder())),
        max_bytes=settings.value("CNNLENS_FILES_MB") * 2**20,
        lifetime=settings.value("CNNLENS_FILES_TTL"),
        expand=(FOLDER,),
    )


def new_folder(prefix: str) -> Path:
    """A fresh folder for one request's result files (and a sweep, at most every few seconds, to keep the bounds)."""
    served_files().sweep_soon()
    return Path(tempfile.mkdtemp(prefix=prefix, dir=results_folder()))


def save_run(stem: str, pictures: dict[str, Image.Image], arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """Write one run's files (pictures as `<stem>_<key>.png`, arrays as float32 `<stem>_<key>.npy`) into a
    new folder of their own, so the names people download are readable and no other run writes there.
    Returns each key's path."""
    folder = new_folder("run-")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "result"
    paths = {}
    for key, image in pictures.items():
        path = folder / f"{stem}_{key}.png"
        image.save(path, format="PNG", compress_level=3)  # level 6: 3x the time for 6 % less
        paths[key] = str(path)
    for key, array in arrays.items():
        path = folder / f"{stem}_{key}.npy"
        np.save(path, np.asarray(array, dtype=np.float32), allow_pickle=False)
        paths[key] = str(path)
    return paths
