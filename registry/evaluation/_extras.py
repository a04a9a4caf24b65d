"""The optional packages of evaluation, imported where a feature uses them.

A Space installs only what the app needs (requirements.txt); Parquet rows and the command line's progress bar come
with `pip install "cnn-lens[evaluate]"`, the Ray engine with `pip install "cnn-lens[ray]"`. A missing one is a
sentence naming the install that brings it, not a bare ModuleNotFoundError from deep inside a run.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "require"]

# top-level module: (what needs it, the extra that brings it, the packages that extra installs)
EXTRAS = {
    "pyarrow": ("Parquet output (out=, Evaluation.table)", "evaluate", "pyarrow tqdm"),
    "tqdm": ("The progress bar of `cnnlens evaluate`", "evaluate", "pyarrow tqdm"),
    "ray": ('engine="ray"', "ray", '"ray[data]" pyarrow tqdm'),
}


class MissingExtraError(ImportError):
    """An optional package a feature needs is not installed; the message names the `pip install` that brings it."""


def require(module: str) -> ModuleType:
    """`module` imported (e.g. "pyarrow.parquet"), or MissingExtraError when its package is not installed."""
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != top:
            raise  # the package is there but lacks something of its own: its error says more than ours would
        what, extra, packages = EXTRAS[top]
        raise MissingExtraError(
            f'{what} needs {top}, which is not installed: pip install "cnn-lens[{extra}]" '
            f"(or pip install {packages}) brings it."
        ) from error
