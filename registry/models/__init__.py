"""Models: backbones (timm models, or any classifier through `wrap_model`, with their preprocessing, classes and
probed layers), weights and checkpoints of one's own, the device, token layouts and class numbers. Imports only
from registry.imaging."""

from __future__ import annotations

from registry.models._backbones import (
    CURATED,
    DEFAULT_BACKBONE,
    HEADS,
    Backbone,
    ModelTooLargeError,
    UnknownBackboneError,
    cached_backbones,
    decode_side,
    list_backbones,
    load_backbone,
    validate_name,
    wrap_model,
)
from registry.models._checkpoints import WEIGHT_SUFFIXES, CheckpointError, read_labels, read_state_dict
from registry.models._device import pick_device, prepare_device
from registry.models._labels import MAX_CLASS_QUERY, class_index, find_classes, parse_class_number
from registry.models._layers import LayerInfo, probe_layers
from registry.models._random import global_seed
from registry.models._tokens import NCHW, NHWC, TOKENS, Layout, TokenGrid, layout_of, map_shape, token_grid
from registry.models._weights import (
    PACKAGED,
    RANDOM,
    PackagedWeights,
    WeightsUnavailableError,
    build_model,
    hub_reachable,
    weights_here,
)

__all__ = [
    "CURATED",
    "DEFAULT_BACKBONE",
    "HEADS",
    "MAX_CLASS_QUERY",
    "NCHW",
    "NHWC",
    "PACKAGED",
    "RANDOM",
    "TOKENS",
    "WEIGHT_SUFFIXES",
    "Backbone",
    "CheckpointError",
    "LayerInfo",
    "Layout",
    "ModelTooLargeError",
    "PackagedWeights",
    "TokenGrid",
    "UnknownBackboneError",
    "WeightsUnavailableError",
    "build_model",
    "cached_backbones",
    "class_index",
    "decode_side",
    "find_classes",
    "global_seed",
    "hub_reachable",
    "layout_of",
    "list_backbones",
    "load_backbone",
    "map_shape",
    "parse_class_number",
    "pick_device",
    "prepare_device",
    "probe_layers",
    "read_labels",
    "read_state_dict",
    "token_grid",
    "validate_name",
    "weights_here",
    "wrap_model",
]
