"""Results as plain data, so a script reads numbers instead of parsing the markdown under a map.

Every plugin endpoint returns `result_json(...)` as its `json` output; `ResultJSON` declares the same
fields in the API schema, so `view_api()` lists them and a test can hold the two together. `/predict`'s
top-5 carry each class's number beside its "282: tiger cat" label (`Predictions`).
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
from gradio.components.label import LabelConfidence, LabelData

import registry
from registry import Visualization
from registry.models import parse_class_number


def _maybe(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(**fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": fields}


_INT, _NUM, _STR, _BOOL = {"type": "integer"}, {"type": "number"}, {"type": "string"}, {"type": "boolean"}
SCHEMA: dict[str, Any] = _obj(
    plugin=_STR,
    **{"class": _maybe(_INT)},  # the class explained (None for methods that explain none)
    label=_maybe(_STR),
    probability=_maybe(_NUM),
    layer=_maybe(_obj(name=_STR, shape={"type": "array", "items": _INT}, depth=_STR)),
    backbone=_STR,
    weights=_STR,
    device=_STR,
    seconds=_NUM,
    untrained=_BOOL,
    notes={"type": "array", "items": _STR},
    warnings={"type": "array", "items": _STR},  # those of the notes that say the map may mislead
    map=_maybe(_obj(size={"type": "array", "items": _INT}, scale=_NUM, raw_min=_NUM, raw_max=_NUM, signed=_BOOL)),
)


def result_json(result: Visualization, backbone: registry.Backbone) -> dict[str, Any]:
    """What a script needs from one result: class, layer (shape, depth), backbone, weights, device, time, notes
    (and which of them are warnings), and the map's size and scale (`map.scale` is the raw value at the top of the
    colour scale)."""
    layer = result.layer
    raw = result.raw
    data = {
        "plugin": result.plugin,
        "class": result.target,
        "label": result.label,
        "probability": None if result.probability is None else round(float(result.probability), 6),
        "layer": None
        if layer is None
        else {"name": layer.name, "shape": [layer.channels, layer.height, layer.width], "depth": layer.depth_name},
        "backbone": result.backbone,
        "weights": backbone.weights_source,
        "device": result.device,
        "seconds": round(float(result.seconds), 4),
        "untrained": bool(result.untrained),
        "notes": [str(note) for note in result.notes],
        "warnings": [str(note) for note in result.warnings],
        "map": None
        if raw is None
        else {
            "size": list(raw.shape),
            "scale": float(result.scale),
            "raw_min": float(np.min(raw)),
            "raw_max": float(np.max(raw)),
            "signed": bool(result.signed),
        },
    }
    return data


class ResultJSON(gr.JSON):
    """gr.JSON whose API schema names the result's fields (`dict(class: int | None, …)`) instead of "any valid json"."""

    def get_block_name(self) -> str:
        return "json"

    def api_info(self) -> dict[str, Any]:
        return SCHEMA


class ClassConfidence(LabelConfidence):
    index: int | None = None  # the class number, as `target` takes it


class PredictionsData(LabelData):
    index: int | None = None  # the top-1 class's number
    confidences: list[ClassConfidence] | None = None


def _number(label: Any) -> int | None:
    """282 from "282: tiger cat" (the panel's labels, app/handlers.py); None for anything else."""
    try:
        return parse_class_number(str(label).split(":", 1)[0])
    except ValueError:
        return None


class Predictions(gr.Label):
    """gr.Label whose data also gives each class's number (`index`), so a script need not parse "282: tiger cat"."""

    data_model = PredictionsData

    def get_block_name(self) -> str:
        return "label"

    def postprocess(self, value: Any) -> PredictionsData | dict:
        data = super().postprocess(value)
        if not isinstance(data, LabelData):
            return data
        confidences = [
            ClassConfidence(label=c.label, confidence=c.confidence, index=_number(c.label))
            for c in data.confidences or []
        ]
        return PredictionsData(label=data.label, index=_number(data.label), confidences=confidences or None)
