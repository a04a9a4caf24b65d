"""Create: pictures made by optimising an image through the network, DeepDream (Mordvintsev et al. 2015) and neural
style transfer (Gatys, Ecker & Bethge 2016).

    picture = registry.dream(backbone, "blocks.2", image)                  # (S, S, 3) uint8
    made = registry.transfer_style(backbone, content, style)              # StyleResult: picture, losses, layers

Both share feature visualization's machinery (`_feature_vis.py`): the forward pass stops at the deepest layer they
read, the time budget and progress reach every step through `step(done, total)`, and dreams are cached on disk by
(model, weights, layer, image, settings) in the same bounded cache as the channel pictures.

DeepDream raises a layer's mean positive activation (or one channel's, or a class logit) by normalised gradient
ascent on the pixels, octave by octave (an image pyramid, each octave `ratio` larger, the detail dreamed so far
carried up), with the picture shifted at random each step (jitter), as gordicaleksa/pytorch-deepdream and the
original notebook do. Style transfer optimises the pixels so the Gram matrices at the style stages match the
style image's and the maps at the content stage match the content image's; stages come from timm's
`feature_info` (any timm CNN), else the backbone's early / middle / final layers.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import registry.settings as settings
import registry.storage as storage
from registry.analysis._feature_vis import _read, _write, bounded_cache, cache_folder
from registry.methods import Param, Plugin
from registry.models import NCHW, Backbone, pick_device

__all__ = [
    "AMPLIFY",
    "CreatePlugin",
    "OPTIMIZERS",
    "STYLE_FROM",
    "DreamSettings",
    "StyleResult",
    "StyleSettings",
    "check_create_size",
    "default_create_size",
    "dream",
    "dream_objective",
    "dream_value",
    "gram",
    "style_layers",
    "transfer_style",
]

AMPLIFY = ("layer", "channel", "class")  # what a dream raises: the layer's mean, one channel's, one class logit
OPTIMIZERS = ("adam", "lbfgs")
# Which stages carry the style: the recipe's (early and middle), or the lesson's two halves.
STYLE_FROM = ("early and middle", "early only", "late only")
_EPS = 1e-8
Step = Callable[[int, int], None]


def default_create_size(device: torch.device | str) -> int:
    """The default picture side: 512 on a GPU, 256 on a CPU (the PyTorch tutorial's rule, halved for a CPU)."""
    return 512 if torch.device(device).type == "cuda" else 256


def check_create_size(size: int, shape: tuple[int, int] | None = None) -> None:
    """Refuse a side above $CNNLENS_CREATE_MAX_SIZE, or a picture (`shape`: height, width) with more pixels than
    twice that side squared (a panorama at an allowed short side), in a sentence: memory grows with the pixels."""
    largest = settings.value("CNNLENS_CREATE_MAX_SIZE")
    if size > largest:
        raise ValueError(
            f"A {size}-pixel picture is larger than this server allows ({largest} pixels, CNNLENS_CREATE_MAX_SIZE): "
            "memory grows with the square of the side. Choose a smaller size."
        )
    if shape is not None and shape[0] * shape[1] > 2 * largest * largest:
        raise ValueError(
            f"A {shape[1]}×{shape[0]} picture has more pixels than this server allows ({2 * largest}×{largest}, "
            "twice CNNLENS_CREATE_MAX_SIZE squared): memory grows with the pixels. Choose a smaller size or crop the "
            "image."
        )


class CreatePlugin(Plugin):
    """What DeepDream and style transfer share: the Create family, pictures as output, a heavy cost, a `size`
    parameter whose default follows the device (`size_param`), and no picture for a model that takes other than
    1 or 3 channels."""

    family = "create"
    api_version = "1.7"
    output = "images"
    cost = "heavy"

    @staticmethod
    def size_param() -> Param:
        return Param(
            "size",
            "int",
            default_create_size(pick_device()),
            label="Picture size (short side, pixels)",
            minimum=64,
            maximum=1024,
            step=32,
            help="Larger pictures take longer; sizes above CNNLENS_CREATE_MAX_SIZE are refused.",
        )

    def refusal(self, backbone: Backbone) -> str | None:
        refused = super().refusal(backbone)
        if refused is None and backbone.channels not in (1, 3):
            return self.refused(backbone, f"it takes {backbone.channels}-channel input, which has no picture.")
        if refused is None and backbone.layout(backbone.suggested_layer("final")).kind != NCHW:
            return self.refused(
                backbone,
                "its layers hold a transformer's tokens, tied to its fixed input size and position embeddings, so a "
                "picture cannot be optimised at other sizes; choose a convolutional backbone.",
            )
        return refused


class _Reached(Exception):
    """Raised once every wanted layer has run: nothing after the deepest is computed."""


def _maps(backbone: Backbone, names: Sequence[str], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The (B, C, h, w) maps of `names` for the input `x`, running the model only up to the last of them."""
    captured: dict[str, torch.Tensor] = {}
    wanted = set(names)
    handles = []

    def hook(name: str):
        def store(_module, _inputs, output) -> None:
            if name not in captured:
                captured[name] = output[0] if isinstance(output, (tuple, list)) else output
            if wanted <= set(captured):
                raise _Reached

        return store

    for name in wanted:
        handles.append(backbone.module(name)[1].register_forward_hook(hook(name)))
    try:
        logits = backbone.model(x)
        captured.setdefault("logits", logits)
    except _Reached:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = wanted - set(captured)
    if missing:
        raise ValueError(f"The layer {sorted(missing)[0]} did not run on this input, so it cannot be optimised.")
    return {name: backbone.layout(name).to_map(captured[name]) for name in names}


def _check_maps(backbone: Backbone, layers: Sequence[str], what: str) -> None:
    """A sentence for a layer whose output is not a plain map: a transformer's tokens need the model's fixed input
    size and position embeddings, so a picture of another size, shifted and resized each step, cannot pass."""
    for layer in layers:
        if backbone.layout(layer).kind != NCHW:
            raise ValueError(
                f"{what} needs maps of channels over positions at any picture size; {layer} of {backbone.name} "
                "holds a transformer's tokens, tied to its fixed input size and position embeddings, so it cannot "
                "be optimised at other sizes. Choose a convolutional backbone."
            )


def _pixels(image: Image.Image, size: int, device: torch.device) -> torch.Tensor:
    """A picture as a (1, 3, size, size') tensor in [0, 1], its short side `size` (aspect kept)."""
    scale = size / min(image.size)
    resized = image.convert("RGB").resize(
        (max(16, round(image.width * scale)), max(16, round(image.height * scale))), Image.Resampling.BICUBIC
    )
    return torch.from_numpy(np.asarray(resized).copy()).permute(2, 0, 1)[None].float().div(255).contiguous().to(device)


def _model_input(backbone: Backbone, pixels: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] as the model's input (its mean and std; one channel for a greyscale model)."""
    if backbone.channels == 1:
        pixels = pixels.mean(1, keepdim=True)
    return backbone.normalized(pixels, pixels[:, : backbone.channels])


def _picture(pixels: torch.Tensor) -> np.ndarray:
    return np.round(pixels[0].detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).astype(np.uint8)


# --- DeepDream -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DreamSettings:
    """How a dream is made; all of it is part of the cache key.

    Args:
        octaves: pyramid levels (gordicaleksa: 4-12); each is `ratio` times the one before, the last `size`.
        ratio: the scale between octaves (1.3-1.8 in the anchors).
        steps: gradient-ascent steps per octave (10 in the anchors).
        strength: each step's size, as a fraction of the pixel range, of a gradient normalised to mean |g| = 1.
        size: the short side of the dreamed picture in pixels.
        amplify: "layer" (mean positive activation), "channel" (one channel's) or "class" (one class logit).
        channel: the channel for "channel"; target: the class for "class".
        jitter: the largest random shift in pixels each step (the picture is rolled, so no border appears).
        seed: the shifts' seed.
    """

    octaves: int = 4
    ratio: float = 1.4
    steps: int = 10
    strength: float = 0.01
    size: int = 224
    amplify: str = "layer"
    channel: int = 0
    target: int = 0
    jitter: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        if self.amplify not in AMPLIFY:
            raise ValueError(f"amplify must be one of {', '.join(AMPLIFY)}; got {self.amplify!r}.")
        if not (1 <= self.octaves <= 12 and 1 <= self.steps <= 256 and 32 <= self.size <= 2048):
            raise ValueError("octaves must lie in 1-12, steps in 1-256 and size in 32-2048.")


def dream_objective(backbone: Backbone, layer: str, x: torch.Tensor, settings: DreamSettings) -> torch.Tensor:
    """What a dream raises on the model input `x`: the layer's (or a channel's) mean positive activation, or a logit."""
    if settings.amplify == "class":
        return backbone.model(x)[:, settings.target].sum()
    maps = _maps(backbone, [layer], x)[layer]
    if settings.amplify == "channel":
        maps = maps[:, settings.channel]
    return maps.clamp(min=0).mean()


def dream_value(backbone: Backbone, layer: str, image: Image.Image, settings: DreamSettings) -> float:
    """The dream's objective on a picture seen at the dream's size: what a dream raised, measured."""
    with torch.no_grad():
        pixels = _pixels(image, settings.size, backbone.device)
        return float(dream_objective(backbone, layer, _model_input(backbone, pixels), settings))


def dream(
    backbone: Backbone,
    layer: str,
    image: Image.Image,
    settings: DreamSettings | None = None,
    *,
    step: Step | None = None,
    cache: bool = True,
) -> np.ndarray:
    """`image` dreamed at `layer`: a (H, W, 3) uint8 picture, short side `settings.size`, cached on disk.

    Raises:
        ValueError: a layer holding tokens, a channel or class the model lacks, in a sentence.
    """
    settings = settings or DreamSettings()
    if settings.amplify != "class":
        _check_maps(backbone, [layer], "DeepDream")
    if settings.amplify == "channel":
        count = int(backbone.layer_info(layer).channels)
        if not 0 <= settings.channel < count:
            raise ValueError(f"{layer} has channels 0 to {count - 1}; there is no channel {settings.channel}.")
    if settings.amplify == "class" and not 0 <= settings.target < backbone.num_classes:
        raise ValueError(f"{backbone.name} has classes 0 to {backbone.num_classes - 1}; not {settings.target}.")
    total = settings.octaves * settings.steps
    path = cache_folder() / "dreams" / f"{_dream_key(backbone, layer, image, settings)}.png" if cache else None
    if path is not None and (found := _read(path)) is not None:
        storage.touch(path)
        if step is not None:
            step(total, total)
        return found
    made = _dream(backbone, layer, image, settings, step)
    if path is not None:
        _write(path, made)
        bounded_cache().sweep()
    return made


def _dream(
    backbone: Backbone, layer: str, image: Image.Image, settings: DreamSettings, step: Step | None
) -> np.ndarray:
    device = backbone.device
    base = _pixels(image, settings.size, device)
    check_create_size(settings.size, tuple(base.shape[2:]))
    generator = torch.Generator().manual_seed(settings.seed)
    shapes = [
        (max(16, round(base.shape[2] / settings.ratio**k)), max(16, round(base.shape[3] / settings.ratio**k)))
        for k in reversed(range(settings.octaves))
    ]
    detail = torch.zeros_like(F.interpolate(base, size=shapes[0], mode="bilinear", align_corners=False))
    done, total = 0, settings.octaves * settings.steps
    for shape in shapes:
        below = F.interpolate(base, size=shape, mode="bilinear", align_corners=False)
        detail = F.interpolate(detail, size=shape, mode="bilinear", align_corners=False)
        pixels = (below + detail).clamp(0, 1)
        for _ in range(settings.steps):
            dy, dx = (torch.randint(-settings.jitter, settings.jitter + 1, (2,), generator=generator)).tolist()
            shifted = torch.roll(pixels, (dy, dx), (2, 3)).requires_grad_(True)
            value = dream_objective(backbone, layer, _model_input(backbone, shifted), settings)
            (gradient,) = torch.autograd.grad(value, [shifted])  # the pixels' gradient alone: no weight gradients
            gradient = torch.roll(gradient, (-dy, -dx), (2, 3))
            pixels = (pixels + settings.strength * gradient / (gradient.abs().mean() + _EPS)).clamp(0, 1).detach()
            done += 1
            if step is not None:
                step(done, total)
        detail = pixels - below
    return _picture(pixels)


def _dream_key(backbone: Backbone, layer: str, image: Image.Image, settings: DreamSettings) -> str:
    described = {
        "model": backbone.name,
        "weights": backbone.weights_digest(),
        "layer": layer,
        "image": hashlib.sha256(image.convert("RGB").tobytes() + repr(image.size).encode()).hexdigest(),
        "settings": asdict(settings),
        "version": 1,  # raise when the recipe changes
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:32]


# --- Style transfer --------------------------------------------------------------------------------------------

_LBFGS_HISTORY = 20  # updates L-BFGS keeps (torch's default 100): why in _optimise


def gram(maps: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of (B, C, h, w) maps, (B, C, C), divided by C·h·w (the tutorial's normalisation)."""
    batch, channels, height, width = maps.shape
    flat = maps.reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (channels * height * width)


def style_layers(backbone: Backbone, style_from: str = "early and middle") -> tuple[list[str], str]:
    """(style layers, content layer) from the backbone's stages: timm's `feature_info` modules when it has them,
    else its early / middle / final suggested layers. Style: the early and middle stages (or the early or the
    late half, for the lesson); content: the deepest stage."""
    stages = _stages(backbone)
    depth = {name: backbone.layer_info(name).depth_name for name in stages}
    content = stages[-1]
    if style_from == "early only":
        chosen = [name for name in stages if depth[name] == "early"] or stages[:1]
    elif style_from == "late only":
        chosen = [name for name in stages if depth[name] != "early"][-2:] or stages[-1:]
    elif style_from == "early and middle":
        chosen = [name for name in stages if depth[name] in ("early", "middle")] or stages[:-1] or stages
    else:
        raise ValueError(f"style from must be one of {', '.join(STYLE_FROM)}; got {style_from!r}.")
    return chosen, content


def _stages(backbone: Backbone) -> list[str]:
    info = getattr(backbone.model, "feature_info", None)
    names = []
    try:
        names = [entry["module"] for entry in info] if info is not None else []
    except (TypeError, KeyError):
        names = []
    names = [name for name in names if backbone.layer_info(name) is not None]
    if len(names) < 2:
        names = list(dict.fromkeys(filter(None, (backbone.suggested_layer(d) for d in ("early", "middle", "final")))))
    if not names:
        raise ValueError(f"{backbone.name} has no layers with maps, so it has no style to match.")
    return names


@dataclass(frozen=True)
class StyleSettings:
    """How a style transfer runs.

    Args:
        steps: optimiser steps (L-BFGS: iterations of one evaluation each, as the tutorial counts them).
        size: the short side of the picture made, in pixels.
        content_weight, style_weight: the losses' weights, the tutorial's 1 and 1e6 by default.
        optimizer: "lbfgs" (the tutorial's, one evaluation a step, pixels clamped to [0, 1]; it reached the lower
            loss in the same time on a CPU, benchmarks/RESULTS.md) or "adam" (lr `lr`, on the pixels).
        style_from: which stages carry the style (`STYLE_FROM`).
        start: "content" (the tutorial's start: the content image) or "noise".
        seed: the noise's seed (and torch's for the run).
    """

    steps: int = 100
    size: int = 256
    content_weight: float = 1.0
    style_weight: float = 1e6
    optimizer: str = "lbfgs"
    lr: float = 0.02
    style_from: str = "early and middle"
    start: str = "content"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}.")
        if self.style_from not in STYLE_FROM:
            raise ValueError(f"style from must be one of {', '.join(STYLE_FROM)}; got {self.style_from!r}.")


@dataclass
class StyleResult:
    """A style transfer's picture and how it got there."""

    picture: np.ndarray  # (H, W, 3) uint8
    style_layers: list[str]
    content_layer: str
    style_start: dict[str, float]  # each style layer's Gram distance to the style, before and after
    style_end: dict[str, float]
    content_start: float  # the content distance (mean squared difference of the content maps / their mean square)
    content_end: float
    losses: list[float] = field(default_factory=list)  # the weighted total before each step, then of the result
    seconds: float = 0.0

    @property
    def style_fall(self) -> float:
        """How far the style distance fell over all style layers together, as a fraction of where it started."""
        start, end = sum(self.style_start.values()), sum(self.style_end.values())
        return 1 - end / start if start > 0 else 0.0


class _Losses:
    """The tutorial's losses on one backbone: MSE of the content maps and of the Gram matrices at the style layers."""

    def __init__(self, backbone: Backbone, content: torch.Tensor, style: torch.Tensor, settings: StyleSettings):
        self.backbone = backbone
        self.styles, self.content = style_layers(backbone, settings.style_from)
        self.layers = list(dict.fromkeys([*self.styles, self.content]))
        _check_maps(backbone, self.layers, "Style transfer")
        self.settings = settings
        with torch.no_grad():
            self.content_maps = _maps(backbone, [self.content], _model_input(backbone, content))[self.content]
            found = _maps(backbone, self.styles, _model_input(backbone, style))
            self.style_grams = {name: gram(found[name]) for name in self.styles}

    def parts(self, pixels: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        maps = _maps(self.backbone, self.layers, _model_input(self.backbone, pixels))
        content = F.mse_loss(maps[self.content], self.content_maps)
        return content, {name: F.mse_loss(gram(maps[name]), self.style_grams[name]) for name in self.styles}

    def total(self, pixels: torch.Tensor) -> torch.Tensor:
        content, styles = self.parts(pixels)
        return self.settings.content_weight * content + self.settings.style_weight * sum(styles.values())

    def measured(self, pixels: torch.Tensor) -> tuple[float, dict[str, float]]:
        """(content distance relative to the content maps' mean square, each style layer's Gram MSE)."""
        with torch.no_grad():
            content, styles = self.parts(pixels)
            scale = float(self.content_maps.pow(2).mean()) + _EPS
        return float(content) / scale, {name: float(value) for name, value in styles.items()}


def transfer_style(
    backbone: Backbone,
    content: Image.Image,
    style: Image.Image,
    settings: StyleSettings | None = None,
    *,
    step: Step | None = None,
) -> StyleResult:
    """`content` painted in `style`'s textures (Gatys et al. 2016) on `backbone`'s stages.

    Raises:
        ValueError: a backbone whose layers hold tokens, in a sentence; `PluginTimeout` (from `step`) past the budget.
    """
    settings = settings or StyleSettings()
    started = time.perf_counter()
    device = backbone.device
    torch.manual_seed(settings.seed)
    content_pixels = _pixels(content, settings.size, device)
    check_create_size(settings.size, tuple(content_pixels.shape[2:]))
    style_pixels = _pixels(style, settings.size, device)
    check_create_size(settings.size, tuple(style_pixels.shape[2:]))
    losses = _Losses(backbone, content_pixels, style_pixels, settings)
    if settings.start == "noise":
        generator = torch.Generator().manual_seed(settings.seed)
        pixels = torch.rand(content_pixels.shape, generator=generator).to(device)
    else:
        pixels = content_pixels.clone()
    content_start, style_start = losses.measured(content_pixels)
    pixels, history = _optimise(losses, pixels, settings, step)
    with torch.no_grad():
        history.append(float(losses.total(pixels)))  # the loss of the picture returned, after the last step
    content_end, style_end = losses.measured(pixels)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return StyleResult(
        _picture(pixels),
        losses.styles,
        losses.content,
        style_start,
        style_end,
        content_start,
        content_end,
        history,
        time.perf_counter() - started,
    )


def _optimise(
    losses: _Losses, pixels: torch.Tensor, settings: StyleSettings, step: Step | None
) -> tuple[torch.Tensor, list[float]]:
    pixels = pixels.detach().requires_grad_(True)
    history: list[float] = []
    if settings.optimizer == "lbfgs":
        # A history of 20 updates, not torch's 100: its two-loop recursion walks the whole history on every step (a
        # fifth of a step at 256 px on a CPU), and 20 reached the same loss (benchmarks/RESULTS.md, bench_create.py).
        optimiser = torch.optim.LBFGS([pixels], max_iter=1, history_size=_LBFGS_HISTORY)

        def closure() -> torch.Tensor:
            with torch.no_grad():
                pixels.clamp_(0, 1)
            optimiser.zero_grad()
            loss = losses.total(pixels)
            (pixels.grad,) = torch.autograd.grad(loss, [pixels])
            return loss.detach()

        for done in range(1, settings.steps + 1):
            history.append(float(optimiser.step(closure)))
            if step is not None:
                step(done, settings.steps)
    else:
        optimiser = torch.optim.Adam([pixels], lr=settings.lr)
        for done in range(1, settings.steps + 1):
            loss = losses.total(pixels)
            (pixels.grad,) = torch.autograd.grad(loss, [pixels])
            optimiser.step()
            with torch.no_grad():
                pixels.clamp_(0, 1)
            history.append(float(loss.detach()))
            if step is not None:
                step(done, settings.steps)
    with torch.no_grad():
        pixels.clamp_(0, 1)
    return pixels.detach(), history
