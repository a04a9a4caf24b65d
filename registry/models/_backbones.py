"""Backbones: any timm model or classifier of one's own, with its weights, preprocessing, classes, layers and a lock.

timm is the only model registry: names are validated against it (including ``hf-hub:`` and ``local-dir:``
names, which bring their own config), its data config drives preprocessing, and class names come from the
model's own config, a labels file, or ImageNet's metadata when the head is ImageNet's. Any other
`nn.Module` classifier enters through `wrap_model`, with its preprocessing and class names said once.

Loaded backbones are cached (least recently used dropped past $CNNLENS_MAX_MODELS models or $CNNLENS_MAX_MODEL_MB
megabytes of parameters and buffers) and each carries a lock, because hooks live on modules and two computations on
one model must not interleave.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import math
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import timm
import torch
from PIL import Image
from timm.data import ImageNetInfo, create_transform, infer_imagenet_subset, resolve_model_data_config
from torch import nn
from torchvision.transforms import Compose
from typing_extensions import deprecated

import registry.settings as settings
from registry.imaging import load_image, shorten, to_rgb
from registry.models._checkpoints import CheckpointError, read_labels, sidecar_labels
from registry.models._device import pick_device, prepare_device
from registry.models._layers import LayerInfo, probe_layers
from registry.models._tokens import Layout
from registry.models._weights import RANDOM, SOURCES, WeightsUnavailableError, build_model

SOFTMAX, SIGMOID, BINARY = "softmax", "sigmoid", "binary"
HEADS = {
    SOFTMAX: "one class per image: the probabilities sum to one",
    SIGMOID: "multi-label: each class has its own probability (a sigmoid), so they need not sum to one",
    BINARY: "one logit z (a sigmoid): positive has probability σ(z), negative 1 − σ(z), explained as −z",
}
MIN_INPUT_SIDE, MAX_INPUT_SIDE = 8, 1024  # pixels a side of a model's input (timm's largest eval size is 800)
MULTI_LABEL = "multi_label_classification"  # a config.json's problem_type for a sigmoid head (transformers' word)

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


class ModelTooLargeError(ValueError):
    """The model's parameters alone exceed the server's model budget ($CNNLENS_MAX_MODEL_MB); refused unloaded."""


class Backbone:
    """A classifier ready for analysis: eval mode, on its device, with its own preprocessing and classes.

    Args:
        name: what the model is called in every output.
        model: a timm model or any `nn.Module` that maps (B, C, H, W) images to (B, classes) logits.
        device: where it runs.
        weights_source: a few words saying where the weights came from (shown with every result).
        untrained: True for random weights: every output then says so.
        data_config: timm's preprocessing keys (``input_size`` (C, H, W), ``mean``, ``std``, ``interpolation``,
            ``crop_pct``, ``crop_mode``); None resolves them from the model's timm config.
        labels: class names (a list, an ``{index: name}`` map or a labels file); None takes the model's
            config's ``label_names``, ImageNet's names for an ImageNet head, else "class 0", "class 1", …
        multi_label: a sigmoid per class instead of a softmax. A single-logit head is binary: "negative" and
            "positive" (or its one name and "not <name>") are two classes, explained as −z and z.
    """

    def __init__(
        self,
        name: str,
        model: nn.Module,
        device: torch.device,
        weights_source: str,
        untrained: bool,
        *,
        data_config: dict | None = None,
        labels: Any = None,
        multi_label: bool = False,
    ):
        self.name = name
        self.device = device
        self.weights_source = weights_source
        self.untrained = untrained
        self.lock = threading.RLock()
        _disable_inplace(model)
        self.model = model.eval().to(device)
        self.data_config = _data_config(model, data_config)
        self._geometry, self._to_tensor = _split_transform(create_transform(**self.data_config, is_training=False))
        outputs = _output_count(self.model, self.data_config["input_size"], device)
        self.labels, self.head = _classes(model, outputs, labels, multi_label)
        signed = _both_signs in self.model._forward_hooks.values()  # a twin's copy has it already
        if self.head == BINARY and not signed:  # "negative" is explained as -z: z becomes (-z, z)
            self.model.register_forward_hook(_both_signs)
        self.layers, self._spatial_layers, self.default_layer = probe_layers(
            self.model, self.data_config["input_size"], device
        )
        # What holding this backbone costs: the model cache is bounded by the sum of these.
        self.nbytes = sum(t.numel() * t.element_size() for t in (*self.model.parameters(), *self.model.buffers()))
        self._heavy_lane: Backbone | None = None
        self._digest: dict[str, str] = {}  # one dict, shared with the heavy lane (a shallow copy keeps it)

    def __repr__(self) -> str:
        return f"Backbone({self.name!r}, device={self.device}, weights={self.weights_source!r})"

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def imagenet(self) -> bool:
        """Whether its classes are ImageNet-1k's (what the bundled samples are labelled with)."""
        return self.num_classes == 1000 and self.labels == _imagenet_names()

    @property
    def channels(self) -> int:
        """Input channels the model takes: 3 for colour, 1 for a greyscale model (an X-ray)."""
        return int(self.data_config["input_size"][0])

    @property
    def head_note(self) -> str:
        """How to read this model's probabilities, in words."""
        return HEADS[self.head]

    @property
    def decode_side(self) -> int:
        """Twice the side the preprocessing resizes to (see `decode_side`)."""
        return decode_side(self.data_config)

    def prepare(self, image: Image.Image | np.ndarray | str | Path) -> tuple[torch.Tensor, Image.Image]:
        """Return the (1, C, H, W) input on the device and the picture the network saw (RGB, or greyscale "L"
        for a 1-channel model: what it sees, not a colour picture it never got)."""
        picture = load_image(image, self.decode_side) if isinstance(image, (str, Path)) else to_rgb(image)
        view = self._geometry(self._in_mode(picture))
        return self._to_tensor(view).unsqueeze(0).to(self.device), view

    def view_tensor(self, view: Image.Image) -> torch.Tensor:
        """The input for a picture already at the model view's size: the tensor half of `prepare`.

        An edited model view (covered, flipped, blurred) reaches the model pixel-aligned with the
        original, instead of being resized and cropped a second time.
        """
        height, width = self.data_config["input_size"][1:]
        if view.size != (width, height):
            raise ValueError(f"{self.name} sees {width}×{height} pictures; this one is {view.width}×{view.height}.")
        return self._to_tensor(self._in_mode(to_rgb(view))).unsqueeze(0).to(self.device)

    def _in_mode(self, picture: Image.Image) -> Image.Image:
        return picture.convert("L") if self.channels == 1 else picture

    def normalized(self, pixels: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
        """Pixel values in [0, 1] in the model's input space, ((pixel - mean) / std) per channel, shaped to
        broadcast over `like` (1, C, H, W) and in its dtype and device: the one place that builds mean and std."""
        mean = torch.tensor(self.data_config["mean"], device=like.device, dtype=like.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.data_config["std"], device=like.device, dtype=like.dtype).view(1, -1, 1, 1)
        return (pixels - mean) / std

    normalised = deprecated(
        "Backbone.normalised is spelled normalized now; the old name goes in the next release.", stacklevel=2
    )(normalized)

    def predict(self, image: Image.Image | np.ndarray | str | Path, k: int = 5) -> list[tuple[int, str, float]]:
        """Top-k classes of a picture as (class index, label, probability): `ranked(probabilities(x), k)`."""
        x, _ = self.prepare(image)
        return self.ranked(self.probabilities(x), k)

    def probabilities(self, x: torch.Tensor | None = None, *, logits: torch.Tensor | None = None) -> torch.Tensor:
        """Class probabilities (1-D, on the CPU): of a prepared input `x` (one forward pass, under the model's
        lock), or of `logits` a pass already computed. Empty for a model with no classifier head: its output is a
        feature vector, and a softmax over features would pass for a prediction."""
        if logits is None:
            with self.lock, torch.no_grad():
                logits = self.model(x)
        if not self.num_classes:
            return torch.empty(0)
        return self.activate(logits)[0].cpu()

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes) to probabilities by the head's own rule: a softmax, or a sigmoid per class for a
        multi-label or binary head. The one place probabilities are made."""
        logits = logits.detach().float()
        return logits.softmax(dim=-1) if self.head == SOFTMAX else logits.sigmoid()

    def ranked(self, probabilities: torch.Tensor, k: int = 5) -> list[tuple[int, str, float]]:
        """The k most probable classes of a probability vector, as (class index, label, probability)."""
        values, indices = probabilities.topk(min(k, probabilities.numel()))
        return [(int(i), self.labels[int(i)], float(p)) for p, i in zip(values, indices)]

    def twin(self, model: nn.Module) -> Backbone:
        """This backbone (name, preprocessing, classes, head) on another copy of its model: the sanity check's
        copies, whose weights it re-initialises."""
        return Backbone(
            self.name,
            model,
            self.device,
            self.weights_source,
            self.untrained,
            data_config=self.data_config,
            labels=self.labels,
            multi_label=self.head == SIGMOID,
        )

    def heavy_lane(self) -> Backbone:
        """This backbone on a second set of modules that shares its weights, with its own lock: heavy requests
        compute there, so a cheap request never waits for one to finish. Hooks live on modules and weights
        are only read (gradients are taken with respect to inputs and activations), so the two never meet;
        the copy costs the modules' bookkeeping, not a second set of weights."""
        if self._heavy_lane is not None:
            return self._heavy_lane
        with self.lock:  # copied while no computation has hooks on the modules
            if self._heavy_lane is None:
                tensors = {id(t): t for t in (*self.model.parameters(), *self.model.buffers())}
                lane = copy.copy(self)
                lane.model = copy.deepcopy(self.model, tensors)
                lane.lock = threading.RLock()
                lane._heavy_lane = lane
                self._heavy_lane = lane
            return self._heavy_lane

    def weights_digest(self) -> str:
        """A digest of the weights themselves (an upload and a checkpoint may share a name), computed once and
        shared with the heavy lane: caches keyed by it tell two sets of weights apart."""
        if "blake2b" not in self._digest:  # two threads at once both compute the same digest: harmless
            digest = hashlib.blake2b(digest_size=16)
            for name, tensor in self.model.state_dict().items():
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
            self._digest["blake2b"] = digest.hexdigest()
        return self._digest["blake2b"]

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
        try:
            module = self.model.get_submodule(name)  # its path only: listing every module cost 3 ms on lite0
        except AttributeError:
            module = None
        if module is None:
            close = difflib.get_close_matches(name, [layer.name for layer in self.layers], n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"{self.name} has no layer called {name!r}.{hint}")
        if self.layer_info(name) is None:  # e.g. the classifier or global pooling: no map to show
            raise ValueError(
                f"Layer {name!r} of {self.name} has no spatial output (no height × width map), so it "
                f"cannot be shown; choose a convolutional layer such as {self.default_layer}."
            )
        return name, module


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
    name: str,
    device: str | torch.device | None = None,
    weights: str | os.PathLike | None = None,
    *,
    labels: Any = None,
    multi_label: bool | None = None,
) -> Backbone:
    """Return a ready backbone (cached).

    A slow load (a Hub download) blocks only callers of that same model; cached ones keep serving.

    Args:
        name: a timm model name, with an optional pretrained tag (``"resnet50.a1_in1k"``); ``"hf-hub:org/name"``
            or ``"local-dir:/folder"`` (a folder timm's `save_for_hf` writes) for a model with its own config.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``…; None picks one ($CNNLENS_DEVICE, else the GPU when present).
        weights: None for the usual order (a bundled package, then the Hub), ``registry.RANDOM``, or a checkpoint
            file of architecture `name` with any head: a state dict as .safetensors, .pth, .pt or .bin (also
            wrapped in ``{"state_dict": …}`` or ``{"model": …}``, keys prefixed ``module.`` or ``model.``). Its
            classes and input channels are read from its tensors; a ``config.json`` beside it (timm's layout)
            gives class names, input size, mean and std, and a labels file beside it class names.
        labels: class names (a list, an ``{index: name}`` map, or a .txt / .json file); None for the model's own.
        multi_label: a sigmoid per class (probabilities that need not sum to one); None reads the config's
            ``"problem_type": "multi_label_classification"``.

    Returns:
        The `Backbone`: model in eval mode on its device, its preprocessing, classes and probed layers.

    Raises:
        UnknownBackboneError: timm cannot create `name` (the message suggests close names).
        WeightsUnavailableError: no real weights could be found, or a checkpoint does not fit (the message
            names the first tensor that differs); pass ``weights=registry.RANDOM`` for random weights.
    """
    name = validate_name(name)
    target = pick_device(device)
    prepare_device(target)
    label_key = labels if labels is None or isinstance(labels, (str, os.PathLike)) else repr(labels)
    key = (name, str(target), None if weights is None else str(weights), str(label_key), multi_label)
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
            check_fits(name)
            loaded = build_model(name, weights)
            own = _own_settings(loaded.config, weights, labels, multi_label)
            try:
                backbone = Backbone(
                    _shown_name(name, weights), loaded.model, target, loaded.source, loaded.untrained, **own
                )
            except (ValueError, OSError) as exc:  # its classes or preprocessing cannot be used as they are
                raise WeightsUnavailableError(str(exc)) from None
        finally:
            with _CACHE_LOCK:
                _LOADING.pop(key, None)
        with _CACHE_LOCK:
            _CACHE[key] = backbone
            _evict()
        return backbone


def wrap_model(
    model: nn.Module,
    name: str,
    *,
    labels: Any = None,
    input_size: tuple[int, int, int] | tuple[int, int] = (3, 224, 224),
    mean: tuple[float, ...] = (0.485, 0.456, 0.406),
    std: tuple[float, ...] = (0.229, 0.224, 0.225),
    interpolation: str = "bilinear",
    crop_pct: float = 0.875,
    multi_label: bool = False,
    device: str | torch.device | None = None,
    weights_source: str = "your own module",
    untrained: bool = False,
) -> Backbone:
    """Any classifier `nn.Module` (torchvision's resnet18, a network of one's own) as a `Backbone`.

    Every plugin, `compare`, `faithfulness`, `sanity_check` and the Learn steps then work on it. Its layers are
    found by running it once and watching which modules output a spatial map (no timm `feature_info` needed).

    Args:
        model: maps a (B, C, H, W) batch to (B, classes) logits. It is put in eval mode on `device`, and its
            in-place activations are turned off (they break hooks).
        name: what it is called in every output.
        labels: class names (a list, an ``{index: name}`` map or a file); None: "class 0", "class 1", …
        input_size: (channels, height, width) or (height, width) of what it takes (1 channel: greyscale).
        mean, std: per-channel normalisation of pixels in [0, 1] (the default is ImageNet's).
        interpolation, crop_pct: the resize before the centre crop, as timm's eval transform does it.
        multi_label: a sigmoid per class instead of a softmax.
        device: None picks one ($CNNLENS_DEVICE, else the GPU when present).
        weights_source: a few words shown with every result; untrained: mark every output as untrained.
    """
    size = tuple(input_size) if len(input_size) == 3 else (len(mean), *input_size)
    target = pick_device(device)
    prepare_device(target)
    config = {
        "input_size": size,
        "mean": tuple(mean),
        "std": tuple(std),
        "interpolation": interpolation,
        "crop_pct": crop_pct,
        "crop_mode": "center",
    }
    return Backbone(
        name, model, target, weights_source, untrained, data_config=config, labels=labels, multi_label=multi_label
    )


def _shown_name(name: str, weights: Any) -> str:
    """What a backbone is called in every output: a checkpoint of one's own carries its file's name, so it is
    never mistaken for the stock architecture beside it (in Compare, say)."""
    if weights is None or str(weights) == RANDOM:
        return name
    return f"{name} ({Path(weights).name})"


def _own_settings(config: dict, weights: Any, labels: Any, multi_label: bool | None) -> dict[str, Any]:
    """Backbone keywords from a model's own config.json and the files beside its checkpoint."""
    settings: dict[str, Any] = {"multi_label": bool(multi_label)}
    if multi_label is None:
        settings["multi_label"] = config.get("problem_type") == MULTI_LABEL
    path = Path(weights) if weights is not None and str(weights) != RANDOM else None
    if labels is None and path is not None:
        labels = config.get("label_names") or sidecar_labels(path)
    settings["labels"] = labels
    pretrained = config.get("pretrained_cfg") if path is not None else None  # hf-hub / local-dir: timm applied it
    if isinstance(pretrained, dict):
        keys = ("input_size", "mean", "std", "interpolation", "crop_pct", "crop_mode")
        settings["data_config"] = {key: pretrained[key] for key in keys if key in pretrained}
    return settings


def model_budget_bytes() -> float:
    """$CNNLENS_MAX_MODEL_MB in bytes: what the loaded backbones may hold together (default 1024 MB)."""
    return settings.value("CNNLENS_MAX_MODEL_MB") * 2**20


def check_fits(name: str) -> None:
    """Refuse a timm model whose parameters and buffers alone exceed the model budget, before anything is
    allocated or downloaded: it is built on PyTorch's meta device, which holds shapes, not memory. A model
    that cannot be built there (a few call .item() while initialising) is left to load as before."""
    if name.startswith(SOURCES):
        return
    try:
        with torch.device("meta"):
            shapes = timm.create_model(name, pretrained=False)
    except Exception:
        return
    needed = sum(t.numel() * t.element_size() for t in (*shapes.parameters(), *shapes.buffers()))
    if needed > model_budget_bytes():
        millions = sum(p.numel() for p in shapes.parameters()) / 1e6
        raise ModelTooLargeError(
            f"{name} holds {millions:.0f} M parameters ({needed / 2**20:.0f} MB); this server holds models up to "
            f"{model_budget_bytes() / 2**20:.0f} MB (CNNLENS_MAX_MODEL_MB). Choose a smaller model."
        )


def _evict() -> None:
    """Drop least recently used backbones past $CNNLENS_MAX_MODELS or $CNNLENS_MAX_MODEL_MB (the
    bytes of their parameters and buffers); the newest always stays. Caller holds _CACHE_LOCK."""
    count = settings.value("CNNLENS_MAX_MODELS")
    budget = model_budget_bytes()
    while len(_CACHE) > 1 and (len(_CACHE) > count or sum(b.nbytes for b in _CACHE.values()) > budget):
        _CACHE.popitem(last=False)


def cached_backbones() -> list[str]:
    """Names of the backbones currently held in memory, least recently used first."""
    with _CACHE_LOCK:
        return [key[0] for key in _CACHE]


def validate_name(name: str) -> str:
    """Return the cleaned name if timm can create it; otherwise raise with close suggestions."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise UnknownBackboneError("Choose a backbone: a timm model name such as tf_efficientnet_lite0.")
    if cleaned.startswith(SOURCES):  # timm.is_model says False for these: check their form, timm reads the rest
        where = cleaned.partition(":")[2].strip()
        if cleaned.startswith("hf-hub:") and not _HUB_ID.fullmatch(where):
            raise UnknownBackboneError(
                f"{shorten(cleaned)} is not a Hub model id: write hf-hub:org/name (or org/name@revision)."
            )
        if not where:
            raise UnknownBackboneError("local-dir: needs a folder, as in local-dir:/path/to/model.")
        return cleaned
    if timm.is_model(cleaned):
        return _with_known_tag(cleaned)
    # Close names of a name no model has this long: comparing it with every model would take seconds.
    names = timm.list_models() if len(cleaned) <= 200 else []
    close = difflib.get_close_matches(cleaned.lower(), names, n=5, cutoff=0.6)
    hint = f" Close names: {', '.join(close)}." if close else " See timm.list_models() for the names."
    raise UnknownBackboneError(f"{shorten(cleaned)} is not a timm model.{hint}")


def _with_known_tag(name: str) -> str:
    """`name` when its pretrained tag (after the dot) is one timm knows; timm itself would raise a bare
    RuntimeError ("Invalid pretrained tag") deep inside model creation."""
    architecture, _, tag = name.partition(".")
    if not tag:
        return name
    tags = timm.list_pretrained(f"{architecture}.*")
    if name in tags:
        return name
    known = ", ".join(t.partition(".")[2] for t in tags[:12]) or "none"
    raise UnknownBackboneError(
        f"{shorten(architecture, quoted=False)} has no weights tagged {shorten(tag, 40)}. Its tags: {known}; or leave "
        "the tag out for the default."
    )


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}(@[\w./-]{1,100})?")


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


def _data_config(model: nn.Module, given: dict | None) -> dict:
    """timm's preprocessing for `model`, with what the caller said on top; mean and std as long as the channels."""
    config = dict(resolve_model_data_config(model))
    config.update({key: value for key, value in (given or {}).items() if value is not None})
    channels, height, width = (int(v) for v in config["input_size"])
    stem = _first_conv(model)
    if stem is not None and not (given or {}).get("input_size"):  # a 1-channel timm model keeps a 3-channel config
        channels = stem.in_channels
    if channels not in (1, 3):
        raise ValueError(f"Models that take {channels}-channel input cannot be shown pictures; 1 or 3 channels work.")
    # A config may come from a client's upload: sizes that would allocate gigabytes, or divide by zero, stop here.
    if not (MIN_INPUT_SIDE <= height <= MAX_INPUT_SIDE and MIN_INPUT_SIDE <= width <= MAX_INPUT_SIDE):
        raise ValueError(
            f"An input of {width}×{height} pixels is outside what CNN Lens shows ({MIN_INPUT_SIDE} to "
            f"{MAX_INPUT_SIDE} pixels a side)."
        )
    crop = config.get("crop_pct")
    if crop is not None and not (isinstance(crop, (int, float)) and 0.25 <= float(crop) <= 1.0):
        raise ValueError(f"crop_pct must be a number from 0.25 to 1; got {crop!r}.")
    config["input_size"] = (channels, height, width)
    for key in ("mean", "std"):
        values = _numbers(config[key], key, channels)
        if len(values) != channels:
            values = (sum(values) / len(values),) * channels if channels == 1 or len(values) == 1 else values
        if len(values) != channels:
            raise ValueError(f"{key} has {len(values)} values for a {channels}-channel input.")
        if not all(math.isfinite(v) for v in values) or (key == "std" and min(values) <= 0):
            raise ValueError(f"{key} must be finite numbers{' above 0' if key == 'std' else ''}; got {values}.")
        config[key] = values
    return config


def _numbers(given: Any, key: str, channels: int) -> tuple[float, ...]:
    """A config's mean or std as floats; anything else (text, nested lists, a map) is refused in a sentence."""
    try:
        values = tuple(float(v) for v in np.atleast_1d(np.asarray(given, dtype=object)))
    except (TypeError, ValueError):
        values = ()
    if not values:
        above = " above 0" if key == "std" else ""
        raise ValueError(f"{key} must be 1 or {channels} finite numbers{above}; got {shorten(given)}.")
    return values


def _first_conv(model: nn.Module) -> nn.Conv2d | None:
    """The stem convolution timm's config names (``first_conv``), when it has one."""
    name = (getattr(model, "pretrained_cfg", None) or {}).get("first_conv")
    module = dict(model.named_modules()).get(name) if isinstance(name, str) else None
    return module if isinstance(module, nn.Conv2d) else None


def _output_count(model: nn.Module, input_size: tuple[int, int, int], device: torch.device) -> int | None:
    """How many logits the model returns (one probe pass): timm says it, any other module is measured."""
    count = getattr(model, "num_classes", None)
    if isinstance(count, int):
        return count
    with torch.no_grad():
        output = model(torch.zeros((1, *input_size), device=device))
    return int(output.shape[-1]) if isinstance(output, torch.Tensor) and output.dim() == 2 else None


def _classes(model: nn.Module, count: int | None, labels: Any, multi_label: bool) -> tuple[list[str], str]:
    """(class names, head kind). A single logit is a binary head: two classes, negative first."""
    count = count or 0
    if _both_signs in model._forward_hooks.values():  # a binary model's copy: its two classes are already made
        count = 1
    names = None
    if labels is not None:
        names = read_labels(labels)
    else:
        configured = (getattr(model, "pretrained_cfg", None) or {}).get("label_names")
        if configured:
            names = read_labels(configured)
    if count == 1:
        if names is not None and len(names) not in (1, 2):
            raise CheckpointError(f"A single-logit (binary) model takes 1 or 2 class names; got {len(names)}.")
        if names is None:
            names = ["negative", "positive"]
        elif len(names) == 1:
            names = [f"not {names[0]}", names[0]]
        return names, BINARY
    head = SIGMOID if multi_label else SOFTMAX
    if names is not None:
        if len(names) != count:
            raise CheckpointError(f"{len(names)} class names were given for a model with {count} outputs.")
        return names, head
    subset = infer_imagenet_subset(model)
    if subset:
        info = ImageNetInfo(subset)
        if info.num_classes() == count:
            return [info.index_to_description(i) for i in range(count)], head
    return [f"class {i}" for i in range(count)], head


@functools.cache
def _imagenet_names() -> list[str]:
    info = ImageNetInfo("imagenet-1k")
    return [info.index_to_description(i) for i in range(info.num_classes())]


def _both_signs(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
    """A forward hook on a single-logit model: z becomes (-z, z), so "negative" is a class to explain too."""
    return torch.cat([-output, output], dim=-1)


__all__ = [
    "CURATED",
    "DEFAULT_BACKBONE",
    "RANDOM",
    "Backbone",
    "ModelTooLargeError",
    "UnknownBackboneError",
    "cached_backbones",
    "list_backbones",
    "load_backbone",
    "validate_name",
    "wrap_model",
]
