"""Feature visualization: what a channel looks for, as the image that excites it most and as the patches of real
images that excite it most (Erhan et al. 2009; Zeiler & Fergus 2014; Olah et al., "Feature Visualization", 2017).

    pictures = registry.visualize_channels(backbone, "blocks.3", [12, 40])   # one (S, S, 3) uint8 array each
    examples = registry.channel_examples(backbone, "blocks.3", [12, 40], images)

Activation maximisation follows the published recipe (Olah et al. 2017; Lucent's defaults): the image is a
Fourier spectrum scaled by 1/frequency, its colours decorrelated with ImageNet's colour covariance and squashed
by a sigmoid; each step it is padded, jittered, scaled and rotated at random (one affine warp per image, which
also resizes it to the model's input), and Adam (lr 0.05) raises the channel's mean activation. Every channel
of a request is optimised in one batch, and the forward pass stops at the layer: nothing past it is computed.

Pictures are cached on disk by (model, weights, layer, channel, settings), so a second look costs a file read.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

import registry.settings as settings
import registry.storage as storage
from registry.models import Backbone

__all__ = [
    "FEATURE_VIS_STEPS",
    "OBJECTIVES",
    "ChannelExample",
    "FeatureVisSettings",
    "cache_folder",
    "channel_examples",
    "default_steps",
    "image_activations",
    "layer_activations",
    "picture_activations",
    "visualize_channels",
]

FEATURE_VIS_STEPS = 128  # Adam steps when neither a caller nor $CNNLENS_FEATURE_VIS_STEPS says otherwise
OBJECTIVES = ("channel", "neuron")  # the channel's mean over positions, or its value at the centre position
# ImageNet's colour covariance, square-rooted (the colour decorrelation of Olah et al. 2017): the optimised
# image lives in a space whose axes are uncorrelated colours, which keeps it from drifting into saturated noise.
_COLOUR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
_COLOUR = _COLOUR_SQRT / _COLOUR_SQRT.norm(dim=0).max()
_SPECTRUM_SD = 0.01
_EXAMINED: OrderedDict = OrderedDict()  # (backbone, weights, layer, files) → their views, maps and field side
_CLAMPS = (nn.ReLU, nn.ReLU6, nn.Hardtanh)  # activations with flat parts, where a unit can pass no gradient
_PAD, _JITTER, _SCALE, _ROTATE = 12, 12, 0.1, 10.0  # pixels, pixels, ±fraction, ±degrees (Lucent's transforms)


def default_steps() -> int:
    """Adam steps when none are given: $CNNLENS_FEATURE_VIS_STEPS (a Space on a slow CPU may lower it, for the
    plugin's default and Learn's pictures alike), else FEATURE_VIS_STEPS; a value that is not 1-4096 is ignored."""
    return settings.value("CNNLENS_FEATURE_VIS_STEPS")


@dataclass(frozen=True)
class FeatureVisSettings:
    """How a channel's picture is optimised. Part of the cache key: a changed setting is a new picture.

    Args:
        steps: Adam steps (Lucent: 512; `default_steps()` here, 128 unless $CNNLENS_FEATURE_VIS_STEPS says
            otherwise: six channels take about 40 s on a 2-core CPU, a Space's lot, and change little after it).
        size: the optimised image's side in pixels (Lucent: 128), warped up to the model's input each step.
        lr: Adam's learning rate (Lucent: 0.05).
        objective: "channel" (mean over positions: a texture that fills the picture) or "neuron" (the
            centre position alone: one instance, the size of the unit's receptive field).
        transforms: random pad, jitter, scale and rotation each step (without them the picture fills with
            high-frequency patterns that fool the channel rather than show what it detects).
        seed: the initial spectrum's and the transforms' random seed.
    """

    steps: int = field(default_factory=default_steps)
    size: int = 128
    lr: float = 0.05
    objective: str = "channel"
    transforms: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}; got {self.objective!r}.")
        if not 1 <= self.steps <= 4096 or not 16 <= self.size <= 1024 or not 0 < self.lr <= 1:
            raise ValueError("steps must lie in 1-4096, size in 16-1024 and lr in (0, 1].")


@dataclass(frozen=True)
class ChannelExample:
    """One patch of a real image that excites a channel: the crop, its source and the activation there."""

    patch: Image.Image
    source: str
    activation: float
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) in the model view's pixels


class _Reached(Exception):
    """Raised by the layer's hook: the forward pass has what it needs, so nothing after the layer runs."""


def layer_activations(backbone: Backbone, layer: str, x: torch.Tensor) -> torch.Tensor:
    """The output of `layer` for the input batch `x` as (B, C, h, w) maps, running the model only up to it."""
    _, module = backbone.module(layer)
    return backbone.layout(layer).to_map(_until(backbone.model, module, x))


def _until(
    model: nn.Module, module: nn.Module, x: torch.Tensor, clamp: tuple[nn.Module, int] | None = None
) -> torch.Tensor:
    """The output of `module` for `x`, running the model only up to it; with `clamp` (a module and which of its
    calls), the input of that call instead: the layer's value before its final ReLU."""
    captured: list[torch.Tensor] = []
    calls = [0]

    def hook(_module: nn.Module, _inputs, output) -> None:
        captured.append(output[0] if isinstance(output, (tuple, list)) else output)
        raise _Reached

    def before(_module: nn.Module, inputs) -> None:
        calls[0] += 1
        if calls[0] == clamp[1]:
            captured.append(inputs[0])
            raise _Reached  # before an in-place ReLU overwrites it

    handle = clamp[0].register_forward_pre_hook(before) if clamp else module.register_forward_hook(hook)
    try:
        model(x)
    except _Reached:
        pass
    finally:
        handle.remove()
    if not captured:
        raise ValueError("The layer did not run on this input, so there is nothing to visualise.")
    return captured[0]


def _final_clamp(model: nn.Module, module: nn.Module, x: torch.Tensor) -> tuple[nn.Module, int] | None:
    """The ReLU-like call (module, call number) whose output is the layer's output, if its last step is one.

    A unit behind a ReLU that is dead (or a ReLU6 that is saturated) on the starting picture passes no gradient,
    so its picture would stay grey: the optimisation raises the value before that clamp instead (the problem
    Lucid's redirected ReLU answers). A layer that ends otherwise (a projection, a residual sum) is raised as is.
    """
    calls: list[tuple[nn.Module, int, int]] = []
    counts: dict[int, int] = {}

    def seen(clamp: nn.Module, _inputs, output) -> None:
        counts[id(clamp)] = counts.get(id(clamp), 0) + 1
        calls.append((clamp, counts[id(clamp)], output.data_ptr()))

    clamps = [m for m in module.modules() if isinstance(m, _CLAMPS)]
    handles = [m.register_forward_hook(seen) for m in clamps]
    try:
        with torch.no_grad():
            output = _until(model, module, x)
    finally:
        for handle in handles:
            handle.remove()
    if calls and calls[-1][2] == output.data_ptr():
        return calls[-1][0], calls[-1][1]
    return None


def cache_folder() -> Path:
    """Where pictures are kept: $CNNLENS_FEATURE_VIS_CACHE, else `feature-vis` in the data folder."""
    given = settings.value("CNNLENS_FEATURE_VIS_CACHE")
    return Path(given).expanduser() if given else storage.data_folder() / "feature-vis"


def bounded_cache(folder: Path | None = None) -> storage.Bounded:
    """The cache folder under its size bound ($CNNLENS_FEATURE_VIS_CACHE_MB; a cache has no lifetime)."""
    return storage.bounded_cache(folder or cache_folder(), settings.value("CNNLENS_FEATURE_VIS_CACHE_MB"))


def visualize_channels(
    backbone: Backbone,
    layer: str,
    channels: Sequence[int],
    settings: FeatureVisSettings | None = None,
    *,
    step: Callable[[int, int], None] | None = None,
    cache: Path | None | bool = True,
) -> list[np.ndarray]:
    """The image that most excites each of `channels` of `layer`, as (size, size, 3) uint8 arrays.

    Args:
        backbone: the model (any timm model, a model of one's own, a transformer's token layer).
        layer: a layer with a spatial map (`backbone.layers`).
        channels: channel indices; the ones not cached are optimised together, as one batch.
        settings: the recipe (`FeatureVisSettings`); its defaults when None.
        step: called as ``step(done, steps)`` after each step (`Context.step`: progress and the time budget).
        cache: True for `cache_folder()`, a folder, or False for none.

    Raises:
        ValueError: a channel the layer does not have, or a layer with no map, in a sentence.
    """
    settings = settings or FeatureVisSettings()
    count = _channel_count(backbone, layer)
    wrong = [c for c in channels if not 0 <= int(c) < count]
    if wrong:
        raise ValueError(f"{layer} has channels 0 to {count - 1}; there is no channel {wrong[0]}.")
    folder = cache_folder() if cache is True else (Path(cache) if cache else None)
    keys = [_cache_key(backbone, layer, int(c), settings) for c in channels]
    pictures: dict[int, np.ndarray] = {}
    if folder is not None:
        for index, key in enumerate(keys):
            found = _read(folder / f"{key}.png")
            if found is not None:
                pictures[index] = found
                storage.touch(folder / f"{key}.png")  # used now: the size bound removes it last
    missing = [index for index in range(len(channels)) if index not in pictures]
    if missing:
        made = _optimise(backbone, layer, [int(channels[i]) for i in missing], settings, step)
        for index, picture in zip(missing, made):
            pictures[index] = picture
            if folder is not None:
                _write(folder / f"{keys[index]}.png", picture)
        if folder is not None:
            bounded_cache(folder).sweep()
    elif step is not None:
        step(settings.steps, settings.steps)
    return [pictures[index] for index in range(len(channels))]


def _channel_count(backbone: Backbone, layer: str) -> int:
    info = backbone.layer_info(layer)
    if info is None:
        raise ValueError(f"{backbone.name} has no layer '{layer}' with a map of channels to visualise.")
    return int(info.channels)


def _optimise(
    backbone: Backbone,
    layer: str,
    channels: list[int],
    settings: FeatureVisSettings,
    step: Callable[[int, int], None] | None,
) -> list[np.ndarray]:
    _, module = backbone.module(layer)
    layout = backbone.layout(layer)
    device = backbone.device
    generator = torch.Generator().manual_seed(settings.seed)
    colours = backbone.channels
    height, width = backbone.data_config["input_size"][1:]
    spectrum_shape = (len(channels), colours, settings.size, settings.size // 2 + 1, 2)
    spectrum = (torch.randn(spectrum_shape, generator=generator) * _SPECTRUM_SD).to(device).requires_grad_(True)
    scale = _spectrum_scale(settings.size).to(device)
    optimiser = torch.optim.Adam([spectrum], lr=settings.lr)
    index = torch.tensor(channels, device=device)
    like = torch.zeros(1, colours, 1, 1, device=device)
    clamp = _final_clamp(backbone.model, module, torch.zeros(1, colours, height, width, device=device))
    for done in range(1, settings.steps + 1):
        pixels = _pixels(spectrum, scale, colours)
        warp = _random_warp(len(channels), generator, settings.transforms, settings.size).to(device)
        seen = _warp(pixels, warp, (height, width))
        maps = layout.to_map(_until(backbone.model, module, backbone.normalized(seen, like), clamp))
        chosen = maps[torch.arange(len(channels), device=device), index]  # (B, h, w): each its own channel
        if settings.objective == "neuron":
            value = chosen[:, chosen.shape[1] // 2, chosen.shape[2] // 2]
        else:
            value = chosen.flatten(1).mean(1)
        # The gradient of the pictures alone: the weights get none, so nothing accumulates on a shared model.
        (spectrum.grad,) = torch.autograd.grad(-value.sum(), [spectrum])
        optimiser.step()
        if step is not None:
            step(done, settings.steps)
    with torch.no_grad():
        final = _pixels(spectrum, scale, colours).permute(0, 2, 3, 1).cpu().numpy()
    if colours == 1:
        final = np.repeat(final, 3, axis=3)
    return [np.round(picture * 255).astype(np.uint8) for picture in final]


def _spectrum_scale(size: int) -> torch.Tensor:
    """1 / frequency (at least 1 / size): each frequency starts with the energy natural images give it."""
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    frequency = torch.sqrt(fx**2 + fy**2)
    return (1.0 / frequency.clamp(min=1.0 / size))[None, None, :, :, None]


def _pixels(spectrum: torch.Tensor, scale: torch.Tensor, colours: int) -> torch.Tensor:
    """The spectrum as images in [0, 1]: inverse FFT, then decorrelated colours, then a sigmoid."""
    size = spectrum.shape[2]
    image = torch.fft.irfft2(torch.view_as_complex(spectrum * scale), s=(size, size), norm="ortho") / 4.0
    if colours == 3:
        image = torch.einsum("bchw,dc->bdhw", image, _COLOUR.to(image.device))
    return torch.sigmoid(image)


def _random_warp(batch: int, generator: torch.Generator, random: bool, size: int) -> torch.Tensor:
    """One affine matrix per image (B, 2, 3): a random shift, scale and rotation; the identity without `random`.
    The padding is folded in: the picture is seen from a frame `_PAD` pixels wider on each side."""
    frame = (size + 2 * _PAD) / size
    if not random:
        return torch.eye(2, 3).repeat(batch, 1, 1) * torch.tensor([[frame, frame, 1.0]])
    uniform = torch.rand(batch, 4, generator=generator) * 2 - 1
    scale = frame / (1 + _SCALE * uniform[:, 0])
    angle = uniform[:, 1] * math.radians(_ROTATE)
    shift = uniform[:, 2:] * (2 * _JITTER / size)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    return torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)


def _warp(pixels: torch.Tensor, warp: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The pictures warped and resized to the model's input in one bilinear resampling; outside is mid-grey."""
    grid = F.affine_grid(warp.to(pixels.dtype), [pixels.shape[0], pixels.shape[1], *size], align_corners=False)
    return F.grid_sample(pixels - 0.5, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 0.5


def channel_examples(
    backbone: Backbone,
    layer: str,
    channels: Sequence[int],
    images: dict[str, Image.Image | str | Path],
    count: int = 3,
    known: dict[str, torch.Tensor] | None = None,
) -> list[list[ChannelExample]]:
    """For each channel, the `count` images of `images` (name → picture or file) whose strongest position excites
    it most, each cropped to the channel's effective receptive field around that position (one patch per image).

    `known` maps a picture's name to its layer map (C, h, w) when a pass has computed it already (the shared
    pass's, for the current image): it is not run through the model again.
    """
    if not images or count <= 0:
        return [[] for _ in channels]
    names, views, maps, side = _examined(backbone, layer, images, known)
    height, width = backbone.data_config["input_size"][1:]
    found = []
    for channel in channels:
        peaks = maps[:, int(channel)].flatten(1).max(1)
        order = peaks.values.argsort(descending=True)[:count].tolist()
        examples = []
        for n in order:
            row, column = divmod(int(peaks.indices[n]), maps.shape[3])
            centre_y = (row + 0.5) * height / maps.shape[2]
            centre_x = (column + 0.5) * width / maps.shape[3]
            box = _box(centre_x, centre_y, side, width, height)
            examples.append(ChannelExample(views[n].crop(box), names[n], float(peaks.values[n]), box))
        found.append(examples)
    return found


def image_activations(
    backbone: Backbone,
    layer: str,
    channels: Sequence[int],
    images: dict[str, Image.Image | str | Path],
    statistic: str = "mean",
    known: dict[str, torch.Tensor] | None = None,
) -> np.ndarray:
    """(distinct images, channels): each channel's mean activation over positions on each picture or file, or
    with `statistic="peak"` its strongest position's. `known`: as `channel_examples` takes it."""
    if statistic not in ("mean", "peak"):
        raise ValueError(f"statistic must be 'mean' or 'peak'; got {statistic!r}.")
    _, _, maps, _ = _examined(backbone, layer, images, known)
    chosen = maps[:, [int(c) for c in channels]].flatten(2)
    return (chosen.mean(2) if statistic == "mean" else chosen.amax(2)).numpy()


def picture_activations(
    backbone: Backbone,
    layer: str,
    channels: Sequence[int],
    pictures: Sequence[np.ndarray],
    settings: FeatureVisSettings | None = None,
) -> list[float]:
    """Each channel's mean activation on its own optimised picture, seen as the optimisation saw it (in its grey
    frame, resized to the model's input) without the random transforms."""
    settings = settings or FeatureVisSettings()
    pixels = torch.stack([torch.from_numpy(np.array(p)).permute(2, 0, 1).float() / 255 for p in pictures])
    if backbone.channels == 1:
        pixels = pixels[:, :1]
    pixels = pixels.to(backbone.device)
    height, width = backbone.data_config["input_size"][1:]
    warp = _random_warp(len(pictures), torch.Generator(), False, pixels.shape[-1]).to(backbone.device)
    seen = _warp(pixels, warp, (height, width))
    with torch.no_grad():
        maps = layer_activations(backbone, layer, backbone.normalized(seen, seen[:1]))
    chosen = maps[torch.arange(len(pictures)), torch.tensor([int(c) for c in channels])]
    return [float(v) for v in chosen.flatten(1).mean(1)]


def _examined(
    backbone: Backbone,
    layer: str,
    images: dict[str, Image.Image | str | Path],
    known: dict[str, torch.Tensor] | None = None,
) -> tuple[list[str], list[Image.Image], torch.Tensor, int]:
    """(names, views, maps (N, C, h, w), receptive field side) of `images`, duplicates dropped (the current image
    is often a sample). Files' maps are kept in memory per model and layer, and a picture's map in `known` is
    taken as given: a second look runs only the pictures nobody has run yet."""
    files = tuple((name, str(image)) for name, image in images.items() if not isinstance(image, Image.Image))
    key = (id(backbone), backbone.weights_digest(), layer, files)
    if key not in _EXAMINED:
        views, batch = _views(backbone, [path for _, path in files])
        with torch.no_grad():
            maps = layer_activations(backbone, layer, batch).float().cpu()
        _EXAMINED[key] = (views, maps, _receptive_side(backbone, layer, batch[:1]))
        while len(_EXAMINED) > 16:
            _EXAMINED.popitem(last=False)
    known_views, known_maps, side = _EXAMINED[key]
    pictures = [(name, image) for name, image in images.items() if isinstance(image, Image.Image)]
    names, views, maps = [name for name, _ in files], list(known_views), [known_maps]
    if pictures:
        given = _views(backbone, [image for _, image in pictures])[0]
        seen = {view.tobytes() for view in views}
        fresh = [n for n, view in enumerate(given) if view.tobytes() not in seen]
        known = dict(known or {})
        run = [n for n in fresh if pictures[n][0] not in known]
        if run:
            with torch.no_grad():
                ran = layer_activations(backbone, layer, torch.cat([backbone.view_tensor(given[n]) for n in run]))
            known.update({pictures[n][0]: found for n, found in zip(run, ran.float().cpu())})
        names += [pictures[n][0] for n in fresh]
        views += [given[n] for n in fresh]
        maps += [torch.stack([known[pictures[n][0]].detach().float().cpu() for n in fresh])] if fresh else []
    return names, views, torch.cat(maps), side


def _views(backbone: Backbone, images: list[Image.Image | str | Path]) -> tuple[list[Image.Image], torch.Tensor]:
    """The model's views of pictures and files, and their input batch. A picture already at the model's input
    size is taken as a view (the app's current image), not resized and cropped again."""
    height, width = backbone.data_config["input_size"][1:]
    views = [
        image if isinstance(image, Image.Image) and image.size == (width, height) else backbone.prepare(image)[1]
        for image in images
    ]
    return views, torch.cat([backbone.view_tensor(view) for view in views])


def _receptive_side(backbone: Backbone, layer: str, x: torch.Tensor) -> int:
    """The side of the input square that moves the centre position of `layer` (its effective receptive field):
    where the input gradient of that position's channel sum exceeds 1 % of its largest value."""
    x = x.detach().clone().requires_grad_(True)
    maps = layer_activations(backbone, layer, x)
    (gradient,) = torch.autograd.grad(maps[0, :, maps.shape[2] // 2, maps.shape[3] // 2].sum(), [x])
    reach = gradient[0].abs().sum(0)
    if not bool((reach > 0).any()):
        return int(min(x.shape[-2:]))
    rows, columns = torch.nonzero(reach > 0.01 * reach.max(), as_tuple=True)
    side = max(int(rows.max() - rows.min()) + 1, int(columns.max() - columns.min()) + 1)
    return max(16, min(side, int(min(x.shape[-2:]))))


def _box(x: float, y: float, side: int, width: int, height: int) -> tuple[int, int, int, int]:
    """A `side`-pixel square around (x, y), moved (not cut) to lie inside the picture."""
    x0 = int(round(min(max(x - side / 2, 0), width - side)))
    y0 = int(round(min(max(y - side / 2, 0), height - side)))
    return (max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height))


def _cache_key(backbone: Backbone, layer: str, channel: int, settings: FeatureVisSettings) -> str:
    described = {
        "model": backbone.name,
        "weights": backbone.weights_digest(),
        "layer": layer,
        "channel": channel,
        "settings": asdict(settings),
        "version": 2,  # raise when the recipe changes, so old pictures are not served for new settings
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:32]


def _read(path: Path) -> np.ndarray | None:
    try:
        with Image.open(path) as opened:
            return np.asarray(opened.convert("RGB"))
    except (OSError, ValueError):
        return None


def _write(path: Path, picture: np.ndarray) -> None:
    storage.write_atomically(path, lambda handle: Image.fromarray(picture).save(handle, format="PNG"))
