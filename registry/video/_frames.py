"""Frames explained in batches through Evaluate's batched shared pass, and where each map's heat sits.

`FrameExplainer` is Evaluate's `Evaluator` for one backbone and one method with no metric, told to hand over each
frame's map as it is made (`on_map`): one forward for the batch, one backward for every frame's top class, the
CAM family and saliency computed from each frame's slice. A video and the webcam both explain through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from registry.evaluation._data import Record
from registry.evaluation._engine import Evaluator, Settings
from registry.evaluation._geometry import ViewGeometry
from registry.evaluation._units import IMAGE, Item, Unit
from registry.methods._discovery import get_plugin
from registry.models import Backbone

__all__ = ["FrameExplainer", "FrameMap", "heat_centre"]


@dataclass
class FrameMap:
    """One frame explained: the model view, its map as shown ([0, 1], the view's size), the class probabilities,
    the top class and the geometry from the frame's pixels to the view."""

    view: Image.Image
    shown: np.ndarray
    probabilities: np.ndarray
    target: int
    label: str
    geometry: ViewGeometry

    def top(self, k: int, labels: list[str]) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(labels[int(c)], float(self.probabilities[int(c)])) for c in order]


class FrameExplainer:
    """One backbone and one heatmap method, ready to explain batches of pictures (not thread-safe: one per run)."""

    def __init__(
        self,
        backbone: Backbone,
        method: str = "gradcam",
        layer: str | None = None,
        params: dict[str, Any] | None = None,
        what: str = "The video",
    ):
        self.plugin = get_plugin(method)
        self.backbone = backbone
        settings = Settings(
            metrics=("top1",), layer=layer, params=((self.plugin.name, json.dumps(params or {}, sort_keys=True)),)
        )
        self.evaluator = Evaluator(backbone, [self.plugin.name], settings, [None])
        self.evaluator.what = what
        self.maker = self.evaluator.maker

    def explain(self, pictures: list[Image.Image]) -> list[FrameMap]:
        """Each picture's map for its top class, in one batched pass; a method failing is a ValueError sentence."""
        items = []
        for number, picture in enumerate(pictures):
            x, view = self.maker.view(picture)
            geometry = self.maker.geometry(picture.size, picture.size)
            items.append(Item(Unit(IMAGE, Record(f"frame {number}")), x, view, geometry))
        made: dict[str, FrameMap] = {}

        def keep(row: dict[str, Any], item: Item, shown: np.ndarray, probabilities: np.ndarray) -> None:
            made[item.unit.key] = FrameMap(
                item.view, shown, probabilities, int(row["target"]), str(row["target_label"]), item.geometry
            )

        self.evaluator.on_map = keep
        with torch.inference_mode(False):
            rows = self.evaluator.rows(items)
        failed = next((row["error"] for row in rows if row.get("error")), None)
        if failed:
            raise ValueError(failed)
        return [made[item.unit.key] for item in items]


def heat_centre(frame: FrameMap, shown: np.ndarray | None = None) -> tuple[float | None, float | None, float | None]:
    """Where the heat sits in the frame's pixels: its centroid (x, y) and its spread (the root mean square distance
    from the centroid, weighted by the heat). None three times for a map with no heat."""
    heat = np.clip(frame.shown if shown is None else shown, 0.0, None).astype(np.float64)
    total = heat.sum()
    if not total > 0:
        return None, None, None
    rows, columns = np.indices(heat.shape)
    u = float((heat * (columns + 0.5)).sum() / total)
    v = float((heat * (rows + 0.5)).sum() / total)
    spread = float(np.sqrt((heat * ((columns + 0.5 - u) ** 2 + (rows + 0.5 - v) ** 2)).sum() / total))
    x, y = frame.geometry.to_image(u, v)
    scale = float(np.mean(frame.geometry.scale))
    return float(x), float(y), spread / scale
