"""Plugin parameters declared as data, so any view can build controls for them.

A plugin lists its knobs as `Param` objects (kind, default, range). The app turns each
into a slider, dropdown, checkbox or image input without knowing the plugin; `coerce` checks a value a
caller passes and turns it into the declared type with a message a user understands.

A parameter of kind "image" is a second picture (style transfer's style): a PIL image or a numpy array (decoded
by the imaging room's one path, `to_rgb`: EXIF turns, modes, size caps), a `pathlib.Path` from a Python caller
(opened by `load_image`, the same caps), or the name of one of its `choices`, the bundled samples it offers.
A plain string that is not such a name is refused: a script's text never becomes a server path.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from registry.imaging import MAX_PIXELS, ImageError, load_image, sample_paths, shorten, to_rgb, too_large

__all__ = ["KINDS", "Param", "PluginSpecError", "parse_number"]

KINDS = ("int", "float", "bool", "choice", "image")
# ASCII only: float() also accepts '²', '٣' or '1_0', which nobody types as a number.
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


class PluginSpecError(ValueError):
    """A plugin (or one of its parameters) is declared wrongly."""


@dataclass(frozen=True)
class Param:
    """One parameter of a plugin: its type, default and allowed values."""

    name: str
    kind: str
    default: Any
    label: str = ""
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise PluginSpecError(f"parameter name {self.name!r} is not a Python identifier")
        if self.kind not in KINDS:
            raise PluginSpecError(f"parameter {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind in ("int", "float"):
            if self.minimum is None or self.maximum is None:
                raise PluginSpecError(f"parameter {self.name!r}: a number needs minimum and maximum")
            if not self.minimum <= self.maximum:
                raise PluginSpecError(f"parameter {self.name!r}: minimum is above maximum")
        if self.kind == "choice":
            if not self.choices or not all(isinstance(c, str) for c in self.choices):
                raise PluginSpecError(f"parameter {self.name!r}: a choice needs a tuple of strings")
            object.__setattr__(self, "choices", tuple(self.choices))
        if self.kind == "image":
            missing = [name for name in self.choices if name not in sample_paths()]
            if missing:
                raise PluginSpecError(f"parameter {self.name!r}: {missing[0]!r} is not a bundled sample image")
            object.__setattr__(self, "choices", tuple(self.choices))
        try:
            checked = self.coerce(self.default)
        except ValueError as exc:
            raise PluginSpecError(f"parameter {self.name!r}: bad default: {exc}") from None
        object.__setattr__(self, "default", checked)

    @property
    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def coerce(self, value: Any) -> Any:
        """Return `value` as this parameter's type; ValueError when it is not allowed."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError(f"{self.display_label} must be true or false, not {shorten(value)}")
        if self.kind == "image":
            return self._picture(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{self.display_label} must be one of {', '.join(self.choices)}; got {shorten(value)}")
            return value
        number = parse_number(value, self.display_label)
        if self.kind == "int":
            if number != int(number):
                raise ValueError(f"{self.display_label} must be a whole number, not {shorten(value)}")
            number = int(number)
        if not self.minimum <= number <= self.maximum:
            raise ValueError(
                f"{self.display_label} must lie between {self.minimum:g} and {self.maximum:g}; got {shorten(value)}"
            )
        return number

    def _picture(self, value: Any) -> str | Image.Image | None:
        """A bundled picture's name (kept as the name: loaded when used), a decoded RGB image, or None."""
        if value is None or (isinstance(value, str) and value in self.choices):
            return value if value is not None else self.default
        if isinstance(value, (Image.Image, np.ndarray, Path)):
            if isinstance(value, Image.Image) and value.width * value.height > MAX_PIXELS:
                raise ValueError(f"{self.display_label}: {too_large(value.width, value.height)}")
            try:
                return load_image(value) if isinstance(value, Path) else to_rgb(value)
            except ImageError as exc:
                raise ValueError(f"{self.display_label}: {exc}") from None
        offered = f"one of {', '.join(self.choices)} or " if self.choices else ""
        raise ValueError(f"{self.display_label} must be {offered}an image (a picture or array), not {shorten(value)}")

    def picture(self, value: Any) -> Image.Image | None:
        """The image a coerced value stands for: a bundled sample's name decoded (by the one path), else as is."""
        if isinstance(value, str):
            return load_image(sample_paths()[value])
        return value


def parse_number(value: Any, label: str) -> float:
    """A finite number from an int, a float or a plain decimal string; ValueError otherwise.

    'inf', 'nan', float('inf') and non-ASCII digits are refused here, so no caller meets an
    OverflowError or a NaN that slips through a range check.
    """
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"{label} must be a number written with the digits 0-9, not {shorten(value)}.")
        number = float(text)
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ValueError(f"{label} must be a number, not {shorten(value)}.")
    if not math.isfinite(number):
        raise ValueError(f"{label} must be a finite number, not {shorten(value)}.")
    return number
