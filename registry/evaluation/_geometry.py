"""From image pixels to the model view and back: where a box drawn on the file lands in what the network saw.

A dataset's boxes and masks are in the file's pixels; every map is aligned with the model view, which timm's
eval transform makes by resizing the short side (to input / crop_pct) and cropping the centre. Both steps are
affine per axis, so one `ViewGeometry` (a scale and an offset per axis) carries points, boxes and masks either
way. It is read from the same torchvision transforms `Backbone.prepare` runs (so it cannot drift from them), and
it accounts for the reduced decode of large files (`load_image(min_side=…)`).

Transforms, in a batch: `ViewMaker` is the half of `Backbone.prepare` that needs no model (decode, resize,
crop, to tensor), picklable, so DataLoader workers can run it while the model computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from timm.data import create_transform
from torchvision import transforms as T

from registry.imaging import load_image_sized
from registry.models import decode_side

__all__ = ["GeometryError", "ViewGeometry", "ViewMaker", "geometry"]


class GeometryError(ValueError):
    """Preprocessing whose geometry is not a resize and a centre crop, so boxes cannot be carried into the view."""


@dataclass(frozen=True)
class ViewGeometry:
    """view = image × scale − offset, per axis (x then y), for a file of `image_size` seen as `view_size`.

    Coordinates are continuous: pixel (u, v) covers [u, u+1) × [v, v+1), its centre is (u + ½, v + ½).
    """

    image_size: tuple[int, int]  # (width, height) of the file, before any reduced decode
    view_size: tuple[int, int]  # (width, height) of the model view
    scale: tuple[float, float]
    offset: tuple[float, float]

    def to_view(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale[0] - self.offset[0], y * self.scale[1] - self.offset[1]

    def to_image(self, u: float, v: float) -> tuple[float, float]:
        return (u + self.offset[0]) / self.scale[0], (v + self.offset[1]) / self.scale[1]

    def box_in_view(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """An image-pixel box in view coordinates (it may reach outside the view, where the crop cut it)."""
        u0, v0 = self.to_view(box[0], box[1])
        u1, v1 = self.to_view(box[2], box[3])
        return u0, v0, u1, v1

    def view_mask(self, mask: np.ndarray) -> np.ndarray:
        """A boolean mask at the file's size, sampled at each view pixel's centre (nearest pixel): (h, w) bool."""
        width, height = self.view_size
        xs, _ = self.to_image(np.arange(width) + 0.5, 0.0)
        _, ys = self.to_image(0.0, np.arange(height) + 0.5)
        columns = np.clip(np.floor(xs).astype(np.int64), 0, mask.shape[1] - 1)
        rows = np.clip(np.floor(ys).astype(np.int64), 0, mask.shape[0] - 1)
        inside = ((xs >= 0) & (xs < mask.shape[1]))[None, :] & ((ys >= 0) & (ys < mask.shape[0]))[:, None]
        return mask[rows[:, None], columns[None, :]] & inside

    def box_mask(self, box: tuple[float, float, float, float]) -> np.ndarray:
        """The view pixels whose centres fall inside an image-pixel box: (h, w) bool."""
        width, height = self.view_size
        u0, v0, u1, v1 = self.box_in_view(box)
        columns = (np.arange(width) + 0.5 >= u0) & (np.arange(width) + 0.5 < u1)
        rows = (np.arange(height) + 0.5 >= v0) & (np.arange(height) + 0.5 < v1)
        return rows[:, None] & columns[None, :]


def geometry(steps: list, image_size: tuple[int, int], decoded_size: tuple[int, int] | None = None) -> ViewGeometry:
    """The affine map of torchvision geometry `steps` (Resize, CenterCrop) for a file of `image_size` (w, h),
    decoded at `decoded_size` (a reduced decode of a large file; None: full size)."""
    width, height = decoded_size or image_size
    sx, sy = _decode_scale(image_size[0], width), _decode_scale(image_size[1], height)
    ox = oy = 0.0
    for step in steps:
        if isinstance(step, T.Resize) and step.max_size is None:
            size = step.size
            if isinstance(size, int) or len(size) == 1:
                side = size if isinstance(size, int) else size[0]
                if width <= height:
                    new = (side, int(side * height / width))
                else:
                    new = (int(side * width / height), side)
            else:
                new = (size[1], size[0])
            fx, fy = new[0] / width, new[1] / height
            sx, sy, ox, oy = sx * fx, sy * fy, ox * fx, oy * fy
            width, height = new
        elif isinstance(step, T.CenterCrop):
            crop_h, crop_w = step.size
            if crop_w > width or crop_h > height:  # torchvision pads first, the extra pixel on the right / bottom
                pad_x = (crop_w - width) // 2 if crop_w > width else 0
                pad_y = (crop_h - height) // 2 if crop_h > height else 0
                ox, oy = ox - pad_x, oy - pad_y
                width, height = max(width, crop_w), max(height, crop_h)
            left, top = int(round((width - crop_w) / 2.0)), int(round((height - crop_h) / 2.0))
            ox, oy = ox + left, oy + top
            width, height = crop_w, crop_h
        else:
            raise GeometryError(
                f"The preprocessing step {type(step).__name__} is not a resize or a centre crop, so boxes and "
                "masks cannot be carried into the model view; the pointing game and the energy in the box need them."
            )
    return ViewGeometry(tuple(image_size), (width, height), (sx, sy), (ox, oy))


def _decode_scale(original: int, decoded: int) -> float:
    """Decoded pixels per file pixel. A reduced decode (JPEG draft, `Image.reduce`) shrinks by a whole factor
    and rounds the size up, so 1600 pixels reduced by 3 are 534, each worth 3 (not 1600 / 534)."""
    if decoded >= original:
        return decoded / original
    factor = round(original / decoded)
    return 1.0 / factor if factor >= 1 and math.ceil(original / factor) == decoded else decoded / original


class ViewMaker:
    """Decode a file and make the model's input from a timm data config, as `Backbone.prepare` does (equal
    tensors, tested), without the model: picklable, for DataLoader workers."""

    def __init__(self, data_config: dict):
        self.data_config = dict(data_config)
        steps = list(create_transform(**self.data_config, is_training=False).transforms)
        cut = next(i for i, step in enumerate(steps) if "Tensor" in type(step).__name__)
        self.steps, self.geometry_steps = T.Compose(steps[:cut]), steps[:cut]
        self.to_tensor = T.Compose(steps[cut:])
        self.channels = int(self.data_config["input_size"][0])
        self.side = decode_side(self.data_config)

    def picture(self, path: str | Path) -> tuple[Image.Image, tuple[int, int]]:
        """The decoded picture and the file's own (width, height), from one decode."""
        return load_image_sized(path, self.side)

    def view(self, picture: Image.Image) -> tuple[torch.Tensor, Image.Image]:
        """The (C, H, W) input on the CPU and the model view, from a decoded RGB picture."""
        view = self.steps(picture.convert("L") if self.channels == 1 else picture)
        return self.to_tensor(view), view

    def geometry(self, image_size: tuple[int, int], decoded_size: tuple[int, int]) -> ViewGeometry:
        return geometry(self.geometry_steps, image_size, decoded_size)
