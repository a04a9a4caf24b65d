"""What a batch is made of: a decoded image (or a 2×2 grid of them) ready for the model, with its geometry.

`decode` and `compose` need no model, so they run in DataLoader workers (the local engine) or in Ray's actors,
while the model computes. A unit travels between processes as plain JSON (`Unit.spec`), never as pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from registry.evaluation._data import Record
from registry.evaluation._geometry import ViewGeometry, ViewMaker
from registry.evaluation._metrics import grid_cells
from registry.imaging import ImageError

__all__ = ["GRID", "IMAGE", "Item", "Unit", "compose", "decode", "load"]

IMAGE, GRID = "image", "grid"


@dataclass(frozen=True)
class Unit:
    """One thing to explain: an image record, or a grid of images of different classes (`cells`: their paths,
    `classes`: each cell's class on the backbone that chose them)."""

    kind: str
    record: Record
    cells: tuple[str, ...] = ()
    classes: tuple[int, ...] = ()
    skip: tuple[str, ...] = ()  # methods whose rows of this unit a resumed run already has

    @property
    def key(self) -> str:
        """The unit's name in every row: the image's path, or "grid:" and its cells' paths."""
        return self.record.path if self.kind == IMAGE else "grid:" + "|".join(self.cells)

    def spec(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "record": list(self.record),
                "cells": list(self.cells),
                "classes": list(self.classes),
                "skip": list(self.skip),
            }
        )

    @classmethod
    def from_spec(cls, text: str) -> Unit:
        data = json.loads(text)
        path, label, box, mask = data["record"]
        record = Record(path, label, tuple(box) if box is not None else None, mask)
        return cls(data["kind"], record, tuple(data["cells"]), tuple(data["classes"]), tuple(data["skip"]))


@dataclass
class Item:
    """A decoded unit: the (C, H, W) input on the CPU, the model view, where the file's pixels went, the
    object's mask at the file's size (None: no mask), or the sentence saying why it could not be read."""

    unit: Unit
    x: torch.Tensor | None = None
    view: Image.Image | None = None
    geometry: ViewGeometry | None = None
    mask: np.ndarray | None = field(default=None, repr=False)
    error: str | None = None


def load(maker: ViewMaker, unit: Unit) -> Item:
    """`decode` an image unit or `compose` a grid, a failure kept as the item's error sentence."""
    try:
        return decode(maker, unit) if unit.kind == IMAGE else compose(maker, unit)
    except (ImageError, ValueError, OSError) as exc:
        return Item(unit, error=str(exc) or type(exc).__name__)


def decode(maker: ViewMaker, unit: Unit) -> Item:
    """An image record decoded, resized and cropped as the backbone prepares it, its mask file read."""
    picture, size = maker.picture(unit.record.path)
    x, view = maker.view(picture)
    mask = None
    if unit.record.mask:
        try:
            with Image.open(unit.record.mask) as image:
                mask = np.asarray(image.convert("L")) > 0
        except (OSError, SyntaxError):
            raise ImageError(f"The mask '{Path(unit.record.mask).name}' is not an image this app can read.") from None
        if mask.shape[::-1] != tuple(size):
            raise ImageError(
                f"The mask '{Path(unit.record.mask).name}' is {mask.shape[1]}×{mask.shape[0]} pixels but its image "
                f"'{Path(unit.record.path).name}' is {size[0]}×{size[1]}; a mask must match its image."
            )
    return Item(unit, x, view, maker.geometry(size, picture.size), mask)


def compose(maker: ViewMaker, unit: Unit) -> Item:
    """A grid of model views, each shrunk into its cell of one model-view-sized picture (row by row), so any
    model takes the grid at its own input size."""
    width, height = maker.data_config["input_size"][2], maker.data_config["input_size"][1]
    views = [maker.view(maker.picture(path)[0])[1] for path in unit.cells]
    canvas = Image.new(views[0].mode, (width, height))
    for view, (rows, columns) in zip(views, grid_cells(height, width)):
        cell = (columns.stop - columns.start, rows.stop - rows.start)
        canvas.paste(view.resize(cell, Image.BILINEAR, reducing_gap=None), (columns.start, rows.start))
    return Item(unit, maker.to_tensor(canvas), canvas)


def collate(items: list[Item]) -> list[Item]:
    """The DataLoader's batch: the items as they are (the engine stacks the inputs)."""
    return items


def as_unit(record: Any) -> Unit:
    return record if isinstance(record, Unit) else Unit(IMAGE, record)
