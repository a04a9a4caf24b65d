"""Which files a client may make the server open: uploads and the bundled examples, nothing else.

Gradio 6.31 opens whatever path a hand-written API call names when the file reference lacks its
`meta` tag, so the app checks every input file itself. The refusal is one sentence that says
nothing about the path, and is the same whether the file exists or not: a file inside the upload
cache that is not an image gets it too, so no visitor can learn which files other visitors left there.
Gradio's own refusals (a tagged path outside its cache, a file input's reference without its `meta` tag)
would reach the client as an empty error; `FileRefusals` makes them that same sentence.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.exceptions import InvalidPathError
from gradio.utils import get_upload_folder
from pydantic import ValidationError

from app.own_models import max_upload_bytes as max_model_bytes
from registry import settings
from registry.imaging import EXAMPLES

REFUSED = (
    "This file could not be read as an image (PNG, JPEG, WebP, BMP, TIFF or GIF), or is no longer on the server. "
    "Please upload an image."
)


def max_file_bytes() -> int:
    """The largest file a client may upload, which Gradio enforces as the bytes arrive (launch's max_file_size):
    $CNNLENS_MAX_UPLOAD_MB (default 400), never below the model upload cap, so a model that cap allows arrives."""
    return max(int(settings.value("CNNLENS_MAX_UPLOAD_MB") * 2**20), max_model_bytes())


class RefusedFile(ValueError):
    """A file reference the app will not open; the message is safe to show anyone."""

    def __init__(self) -> None:
        super().__init__(REFUSED)

    @staticmethod
    def as_error() -> gr.Error:
        """The refusal as the client sees it: the sentence, no traceback in the server's log."""
        return gr.Error(REFUSED, print_exception=False)


# The data models of file references: a payload they refuse is a bad file reference, answered with REFUSED.
FILE_MODELS = ("FileData", "ListFiles", "ImageData")


class FileRefusals:
    """A Blocks mix-in: a request whose file reference Gradio itself refuses gets REFUSED, the sentence every other
    bad file reference gets, instead of `{"error": null}` (Gradio shows no text for these errors)."""

    async def preprocess_data(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().preprocess_data(*args, **kwargs)
        except InvalidPathError:
            raise RefusedFile.as_error() from None
        except ValidationError as exc:
            if exc.title in FILE_MODELS:
                raise RefusedFile.as_error() from None
            raise


def allowed_roots() -> list[Path]:
    """Gradio's upload cache ($GRADIO_TEMP_DIR or <tmp>/gradio) and the examples folder, symlinks resolved."""
    return [Path(os.path.realpath(get_upload_folder())), Path(os.path.realpath(EXAMPLES))]


def checked_upload(path: str | os.PathLike | None) -> str:
    """The real path of `path` if it is a regular file inside an allowed root; RefusedFile otherwise.

    The path is resolved first (so a symlink in the cache cannot point outside it) and stat'ed
    before anyone opens it (so a named pipe or a device is refused at once instead of blocking).
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise RefusedFile()
    try:
        real = Path(os.path.realpath(path))
        if not any(real.is_relative_to(root) and real != root for root in allowed_roots()):
            raise RefusedFile()
        if not stat.S_ISREG(os.stat(real).st_mode):
            raise RefusedFile()
    except (OSError, ValueError):  # missing, unreadable, NUL in the name: all look the same
        raise RefusedFile() from None
    return str(real)


class CheckedFile(gr.File):
    """gr.File that opens only Gradio's own uploads, like the image input: a path, or a list of them when
    `file_count` is "multiple". Every file input other than the image must be one (app/ui.py checks)."""

    def get_block_name(self) -> str:
        return "file"

    def preprocess(self, payload: Any) -> Any:
        if payload is None:
            return None
        items = payload.root if hasattr(payload, "root") else payload
        items = items if isinstance(items, list) else [items]
        try:
            paths = [checked_upload(getattr(item, "path", None)) for item in items]
        except RefusedFile:
            raise RefusedFile.as_error() from None
        if self.file_count == "single":
            return paths[0] if paths else None
        return paths


def takes_files(component: object) -> bool:
    """Whether a Gradio component receives files from clients (its API schema holds a FileData)."""
    api_info = getattr(component, "api_info", None)
    return callable(api_info) and "gradio.FileData" in json.dumps(api_info(), default=str)


def unguarded_file_inputs(demo: object, guarded: type) -> list[str]:
    """Labels of event inputs that take files but are not `guarded` instances (should be none)."""
    found = {}
    for fn in getattr(demo, "fns", {}).values():
        for component in fn.inputs:
            if takes_files(component) and not isinstance(component, guarded):
                found[id(component)] = getattr(component, "label", None) or type(component).__name__
    return sorted(found.values())
