"""Plugin parameters declared as data, so any view can build controls for them.

A plugin lists its knobs as `Param` objects (kind, default, range). The app turns each
into a slider, dropdown or checkbox without knowing the plugin; `coerce` checks a value a
caller passes and turns it into the declared type with a message a user understands.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.imaging import shorten

__all__ = ["KINDS", "Param", "PluginSpecError", "parse_number"]

KINDS = ("int", "float", "bool", "choice")
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
