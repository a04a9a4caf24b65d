"""The first convolution: its filters as small RGB patches (the classic picture) beside what each
one responds to in this image.

A first-layer filter is a small colour image itself: the weights it multiplies each input colour
by, pixel by pixel. Drawn with zero as mid-grey, a filter that is light on one side and dark on the
other is an edge detector; one tinted red against blue is a colour detector. Its feature map is
where that pattern occurs in the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from registry.imaging import render
from registry.methods._shared_pass import SharedPass
from registry.models import Backbone
from registry.teaching import _describe as describe

__all__ = ["COLOURS", "PATCH", "FirstLayer", "describe_filter", "filter_patches", "first_convolution", "first_layer"]

PATCH = 48  # pixels per filter in the picture
COLOURS = ("red", "green", "blue")


@dataclass
class FirstLayer:
    """The first convolution's filters and their responses to one image."""

    layer: str
    weights: np.ndarray  # (filters, 3, k, k), as the model holds them
    patches: np.ndarray  # (filters, k, k, 3) in [0, 1]: what the picture draws
    bank: Image.Image  # every filter, row by row, no captions (pixels read straight from `patches`)
    pairs: Image.Image  # the most active filters, each beside its feature map on this image
    activity: np.ndarray  # (filters,) mean positive response of each filter on this image
    shown: list[int]  # the filters in `pairs`, most active first
    response: np.ndarray  # (filters, h, w) the convolution's output on this image
    sentence: str


def first_convolution(backbone: Backbone) -> tuple[str, nn.Conv2d]:
    """The convolution that reads the image's pixels: the first Conv2d, in execution order, that takes the input's
    channels (3 colours, or 1 for a greyscale model)."""
    modules = dict(backbone.model.named_modules())
    channels = backbone.channels
    for layer in backbone.layers:  # execution order, as probed
        module = modules.get(layer.name)
        if isinstance(module, nn.Conv2d) and module.in_channels == channels:
            return layer.name, module
    for name, module in modules.items():
        if isinstance(module, nn.Conv2d) and module.in_channels == channels:
            return name, module
    what = "three colour channels" if channels == 3 else "greyscale input"
    raise ValueError(f"{backbone.name} has no convolution that reads the {what}.")


def filter_patches(weights: np.ndarray | torch.Tensor) -> np.ndarray:
    """(filters, 3 or 1, k, k) weights → (filters, k, k, 3) colours in [0, 1]: 0.5 + 0.5 · w / max|w| per filter.

    Zero is mid-grey and each filter uses its full range, as in the classic pictures: a weak filter
    is as visible as a strong one, and the sign of every weight shows (lighter: positive).
    """
    values = torch.as_tensor(weights).detach().float().cpu().numpy()
    if values.shape[1] == 1:  # a greyscale model's filters: drawn grey
        values = np.repeat(values, 3, axis=1)
    peak = np.abs(values).reshape(len(values), -1).max(axis=1)
    scaled = values / np.where(peak > 0, peak, 1.0)[:, None, None, None]
    return np.transpose(0.5 + 0.5 * scaled, (0, 2, 3, 1))


def describe_filter(weights: np.ndarray) -> str:
    """What one (3, k, k) filter detects, from how its weights split into overall brightness, spatial
    pattern (edges) and colour contrast (an orthogonal split of the weights' energy)."""
    w = np.asarray(weights, dtype=np.float64)
    luminance = w.sum(axis=0)  # the same weight on every colour, times 3
    level = luminance.mean()
    pattern = luminance - level
    colour = w - w.mean(axis=0, keepdims=True)  # what differs between the colours
    energies = {"level": level**2 * luminance.size / 3, "pattern": (pattern**2).sum() / 3, "colour": (colour**2).sum()}
    kind = max(energies, key=energies.get)
    if kind == "colour":
        means = w.mean(axis=(1, 2))
        return f"a colour detector ({COLOURS[int(means.argmax())]} against {COLOURS[int(means.argmin())]})"
    if kind == "level":
        return "a brightness detector (light areas)" if level > 0 else "a darkness detector (dark areas)"
    across = np.abs(np.diff(luminance, axis=1)).sum()  # changes from left to right: vertical edges
    down = np.abs(np.diff(luminance, axis=0)).sum()  # changes from top to bottom: horizontal edges
    if across > 1.5 * down:
        return "a vertical-edge detector"
    if down > 1.5 * across:
        return "a horizontal-edge detector"
    return "a detector of diagonal edges and spots"


def first_layer(backbone: Backbone, image, count: int = 8) -> FirstLayer:
    """The first convolution's filters and their feature maps on `image`; the `count` most active are paired."""
    name, conv = first_convolution(backbone)
    x, _view = backbone.prepare(image)
    with backbone.lock:
        response = SharedPass(backbone, x, layers=[name]).activations(name)[0].float().cpu().numpy()
    weights = conv.weight.detach().float().cpu().numpy()
    patches = filter_patches(weights)
    activity = np.clip(response, 0, None).mean(axis=(1, 2))
    shown = [int(i) for i in np.argsort(-activity, kind="stable")[: max(1, count)]]
    bank = render.grid(
        [render.rgb_patch(p, PATCH) for p in patches], [""] * len(patches), columns=min(16, len(patches))
    )
    tiles, captions = [], []
    for index in shown:
        tiles += [render.rgb_patch(patches[index], 96), render.tile(response[index], 96)]
        captions += [f"filter {index}", f"map {index}"]
    pairs = render.with_colorbar(  # render.tile's colours: each map stretched to its own range
        render.grid(tiles, captions, columns=4), render.TILE_COLORMAP, None, label="each feature map on its own range"
    )
    top = shown[0]
    average = float(activity.mean())
    strength = f"{activity[top] / average:.1f}× the average filter's" if average > 0 else "the only positive"
    sentence = (
        f"Filter {top} of `{name}` is the most active on this image (mean positive response {activity[top]:.2f}, "
        f"{strength}): it is {describe_filter(weights[top])}, and it fires most in "
        f"{describe.place(np.clip(response[top], 0, None))}. {_census(weights)}"
    )
    return FirstLayer(name, weights, patches, bank, pairs, activity, shown, response, sentence)


def _census(weights: np.ndarray) -> str:
    """How the filters divide between edges, colours and brightness, e.g. "Of its 32 filters, 19 detect edges…"."""
    kinds = [describe_filter(w) for w in weights]
    edges = sum("edge" in kind for kind in kinds)
    colours = sum(kind.startswith("a colour") for kind in kinds)
    level = len(kinds) - edges - colours
    return (
        f"Of its {len(kinds)} filters, {edges} detect edges or spots, {colours} colour contrasts and "
        f"{level} plain brightness: the first layer looks for simple patterns only."
    )
