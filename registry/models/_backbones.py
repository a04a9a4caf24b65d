"""Backbones: any timm model, with its weights, preprocessing, labels, layers and a lock.

timm is the only model registry: names are validated against it, its data config drives
preprocessing and its ImageNet metadata gives class names. Loaded backbones are cached
(least recently used dropped past $CNNLENS_MAX_MODELS models or $CNNLENS_MAX_MODEL_MB megabytes
of parameters and buffers) and each carries a lock, because
hooks live on modules and two computations on one model must not interleave.
"""

from __future__ import annotations

import difflib
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import timm
import torch
from PIL import Image
from timm.data import ImageNetInfo, create_transform, infer_imagenet_subset, resolve_model_data_config
from torch import nn
from torchvision.transforms import Compose

from registry.imaging import load_image, to_rgb
from registry.models._device import pick_device, prepare_device
from registry.models._layers import LayerInfo, probe_layers
from registry.models._tokens import Layout
from registry.models._weights import RANDOM, build_model

DEFAULT_BACKBONE = "tf_efficientnet_lite0"
CURATED = (
    "tf_efficientnet_lite0",
    "tf_efficientnet_lite1",
    "tf_efficientnet_lite2",
    "resnet50",
    "resnet18",
    "convnext_tiny",
    "efficientnet_b0",
    "mobilenetv3_large_100",
    "densenet121",
    "regnety_016",
    "vgg16_bn",
)


class UnknownBackboneError(ValueError):
    """The name is not a timm model; the message suggests close names."""


class Backbone:
    """A timm model ready for analysis: eval mode, on its device, with its own preprocessing."""

    def __init__(self, name: str, model: nn.Module, device: torch.device, weights_source: str, untrained: bool):
        self.name = name
        self.device = device
        self.weights_source = weights_source
        self.untrained = untrained
        self.lock = threading.RLock()
        _disable_inplace(model)
        self.model = model.eval().to(device)
        self.data_config = resolve_model_data_config(model)
        self._geometry, self._to_tensor = _split_transform(create_transform(**self.data_config, is_training=False))
        self.labels = _class_names(model)
        self.layers, self._spatial_layers, self.default_layer = probe_layers(
            self.model, self.data_config["input_size"], device
        )
        # What holding this backbone costs: the model cache is bounded by the sum of these.
        self.nbytes = sum(t.numel() * t.element_size() for t in (*self.model.parameters(), *self.model.buffers()))

    def __repr__(self) -> str:
        return f"Backbone({self.name!r}, device={self.device}, weights={self.weights_source!r})"

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def decode_side(self) -> int:
        """Twice the side the preprocessing resizes to (see `decode_side`)."""
        return decode_side(self.data_config)

    def prepare(self, image: Image.Image | np.ndarray | str | Path) -> tuple[torch.Tensor, Image.Image]:
        """Return the (1, 3, H, W) input on the device and the RGB image the network saw."""
        picture = load_image(image, self.decode_side) if isinstance(image, (str, Path)) else to_rgb(image)
        view = self._geometry(picture)
        return self._to_tensor(view).unsqueeze(0).to(self.device), view

    def view_tensor(self, view: Image.Image) -> torch.Tensor:
        """The input for a picture already at the model view's size: the tensor half of `prepare`.

        An edited model view (covered, flipped, blurred) reaches the model pixel-aligned with the
        original, instead of being resized and cropped a second time.
        """
        height, width = self.data_config["input_size"][1:]
        if view.size != (width, height):
            raise ValueError(f"{self.name} sees {width}×{height} pictures; this one is {view.width}×{view.height}.")
        return self._to_tensor(to_rgb(view)).unsqueeze(0).to(self.device)

    def normalised(self, pixels: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
        """Pixel values in [0, 1] in the model's input space, ((pixel - mean) / std) per channel, shaped to
        broadcast over `like` (1, C, H, W) and in its dtype and device: the one place that builds mean and std."""
        mean = torch.tensor(self.data_config["mean"], device=like.device, dtype=like.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.data_config["std"], device=like.device, dtype=like.dtype).view(1, -1, 1, 1)
        return (pixels - mean) / std

    def predict(self, image: Image.Image | np.ndarray | str | Path, k: int = 5) -> list[tuple[int, str, float]]:
        """Top-k classes of a picture as (class index, label, probability): `ranked(probabilities(x), k)`."""
        x, _ = self.prepare(image)
        return self.ranked(self.probabilities(x), k)

    def probabilities(self, x: torch.Tensor | None = None, *, logits: torch.Tensor | None = None) -> torch.Tensor:
        """Softmax class probabilities (1-D, on the CPU): of a prepared input `x` (one forward pass, under the
        model's lock), or of `logits` a pass already computed. The one way to get them. Empty for a model with no
        classifier head: its output is a feature vector, and a softmax over features would pass for a prediction."""
        if logits is None:
            with self.lock, torch.no_grad():
                logits = self.model(x)
        if not self.num_classes:
            return torch.empty(0)
        return logits.detach().float().softmax(dim=-1)[0].cpu()

    def ranked(self, probabilities: torch.Tensor, k: int = 5) -> list[tuple[int, str, float]]:
        """The k most probable classes of a probability vector, as (class index, label, probability)."""
        values, indices = probabilities.topk(min(k, probabilities.numel()))
        return [(int(i), self.labels[int(i)], float(p)) for p, i in zip(values, indices)]

    def layer_info(self, name: str | None) -> LayerInfo | None:
        """Shape and depth of any module with a spatial output (None for other modules)."""
        name = name or self.default_layer
        return next((layer for layer in self._spatial_layers if layer.name == name), None)

    def layout(self, name: str | None) -> Layout:
        """How layer `name` holds its map (tokens, NHWC or NCHW): `layout(name).to_map(output)` is (B, C, H, W)."""
        info = self.layer_info(name)
        return info.layout if info is not None else Layout()

    def suggested_layer(self, depth: str = "final") -> str | None:
        """A good layer at a depth: "final" is the default layer, "early"/"middle" a timm stage."""
        if depth == "final" or not self.layers:
            return self.default_layer
        stages = [layer for layer in self.layers if layer.stage is not None] or self.layers
        return stages[0].name if depth == "early" else stages[len(stages) // 2].name

    def module(self, name: str | None) -> tuple[str, nn.Module]:
        """The module called `name` (None: the default layer), with a clear error when absent."""
        name = name or self.default_layer
        if name is None:
            raise ValueError(
                f"{self.name} has no layer with spatial extent (no height × width map), so layer-based "
                "methods have nothing to look at."
            )
        modules = dict(self.model.named_modules())
        if name not in modules:
            close = difflib.get_close_matches(name, [layer.name for layer in self.layers], n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"{self.name} has no layer called {name!r}.{hint}")
        if self.layer_info(name) is None:  # e.g. the classifier or global pooling: no map to show
            raise ValueError(
                f"Layer {name!r} of {self.name} has no spatial output (no height × width map), so it "
                f"cannot be shown; choose a convolutional layer such as {self.default_layer}."
            )
        return name, modules[name]


def decode_side(data_config: dict) -> int:
    """Twice the side a timm data config resizes to: a file is decoded no smaller than this (short
    side), so large images skip full-resolution copies without changing the model view."""
    side = max(data_config["input_size"][1:])
    return 2 * math.ceil(side / min(1.0, data_config.get("crop_pct") or 1.0))


def list_backbones() -> list[str]:
    """The curated shortlist shown in the UI; any other timm name is accepted too."""
    return list(CURATED)


_CACHE: OrderedDict[tuple, Backbone] = OrderedDict()
_CACHE_LOCK = threading.Lock()  # guards the dicts only; never held while a model loads
_LOADING: dict[tuple, threading.Lock] = {}  # one lock per model being loaded


def load_backbone(
    name: str, device: str | torch.device | None = None, weights: str | os.PathLike | None = None
) -> Backbone:
    """Return a ready backbone (cached).

    A slow load (a Hub download) blocks only callers of that same model; cached ones keep serving.

    Args:
        name: a timm model name, with an optional pretrained tag (``"resnet50.a1_in1k"``).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``…; None picks one ($CNNLENS_DEVICE, else the GPU when present).
        weights: None for the usual order (a bundled package, then the Hub), a file path, or ``registry.RANDOM``.

    Returns:
        The `Backbone`: model in eval mode on its device, its preprocessing, labels and probed layers.

    Raises:
        UnknownBackboneError: timm cannot create `name` (the message suggests close names).
        WeightsUnavailableError: no real weights could be found (pass ``weights=registry.RANDOM`` to go on).
    """
    name = validate_name(name)
    target = pick_device(device)
    prepare_device(target)
    key = (name, str(target), None if weights is None else str(weights))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            _evict()  # the limits may have changed since it was loaded
            return _CACHE[key]
        loading = _LOADING.setdefault(key, threading.Lock())
    with loading:
        with _CACHE_LOCK:
            if key in _CACHE:  # another caller finished loading it while we waited
                return _CACHE[key]
        try:
            loaded = build_model(name, weights)
            backbone = Backbone(name, loaded.model, target, loaded.source, loaded.untrained)
        finally:
            with _CACHE_LOCK:
                _LOADING.pop(key, None)
        with _CACHE_LOCK:
            _CACHE[key] = backbone
            _evict()
        return backbone


def _evict() -> None:
    """Drop least recently used backbones past $CNNLENS_MAX_MODELS or $CNNLENS_MAX_MODEL_MB (the
    bytes of their parameters and buffers); the newest always stays. Caller holds _CACHE_LOCK."""
    count = max(1, int(os.environ.get("CNNLENS_MAX_MODELS", "3")))
    budget = float(os.environ.get("CNNLENS_MAX_MODEL_MB", "1024")) * 2**20
    while len(_CACHE) > 1 and (len(_CACHE) > count or sum(b.nbytes for b in _CACHE.values()) > budget):
        _CACHE.popitem(last=False)


def cached_backbones() -> list[str]:
    """Names of the backbones currently held in memory, least recently used first."""
    with _CACHE_LOCK:
        return [key[0] for key in _CACHE]


def validate_name(name: str) -> str:
    """Return the cleaned name if timm knows it; otherwise raise with close suggestions."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise UnknownBackboneError("Choose a backbone: a timm model name such as tf_efficientnet_lite0.")
    if timm.is_model(cleaned):
        return cleaned
    close = difflib.get_close_matches(cleaned.lower(), timm.list_models(), n=5, cutoff=0.6)
    hint = f" Close names: {', '.join(close)}." if close else " See timm.list_models() for the names."
    raise UnknownBackboneError(f"{cleaned!r} is not a timm model.{hint}")


def _disable_inplace(model: nn.Module) -> None:
    """In-place activations break hooks and gradients on the tensors we capture; turn them off."""
    for module in model.modules():
        if getattr(module, "inplace", False) is True:
            module.inplace = False


def _split_transform(transform: Compose) -> tuple[Compose, Compose]:
    """timm's eval transform, cut where PIL geometry (resize, crop) ends and tensor work begins."""
    steps = list(transform.transforms)
    cut = next(i for i, step in enumerate(steps) if "Tensor" in type(step).__name__)
    return Compose(steps[:cut]), Compose(steps[cut:])


def _class_names(model: nn.Module) -> list[str]:
    count = getattr(model, "num_classes", 0) or 0
    subset = infer_imagenet_subset(model)
    if subset:
        info = ImageNetInfo(subset)
        if info.num_classes() == count:
            return [info.index_to_description(i) for i in range(count)]
    return [f"class {i}" for i in range(count)]


__all__ = [
    "CURATED",
    "DEFAULT_BACKBONE",
    "RANDOM",
    "Backbone",
    "UnknownBackboneError",
    "cached_backbones",
    "list_backbones",
    "load_backbone",
    "validate_name",
]
