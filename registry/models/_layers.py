"""Find the layers of a network worth looking at, by running it once and watching shapes.

Candidates are timm's `feature_info` stages plus every convolution, in the order they run;
the default is the last module whose output still has spatial extent (for any timm CNN that
is the final feature map before global pooling, where Grad-CAM is usually taken).

Transformers (ViT, DeiT, EVA, Swin, ...) hold their maps as tokens (registry/models/_tokens.py); their
blocks are candidates too, and their default is measured, not assumed: the last map whose patch
tokens still receive a gradient from the class score. A ViT that classifies from its class token
discards the patch tokens of its last block, so every map after that block's first norm has a zero
gradient there and would give a blank Grad-CAM; a ViT or Swin that averages its tokens keeps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from registry.models._tokens import NCHW, Layout, TokenGrid, layout_of, map_shape, token_grid

__all__ = ["LayerInfo", "probe_layers"]


@dataclass(frozen=True)
class LayerInfo:
    """A module that produces a spatial feature map, with its place in the network."""

    name: str
    channels: int
    height: int
    width: int
    depth: float  # 0 at input resolution, 1 at the coarsest feature map (a ViT: by position, 1 at the default)
    stage: int | None  # timm feature_info stage, when the module is a stage output
    layout: Layout = Layout()  # how the output holds the map: (B, C, H, W), (B, H, W, C) or tokens

    @property
    def depth_name(self) -> str:
        return "early" if self.depth < 0.45 else "middle" if self.depth < 0.85 else "final"

    @property
    def label(self) -> str:
        stage = f" · stage {self.stage}" if self.stage is not None else ""
        return f"{self.name} · {self.channels}×{self.height}×{self.width}{stage} · {self.depth_name}"


def probe_layers(
    model: nn.Module, input_size: tuple[int, int, int], device: torch.device
) -> tuple[list[LayerInfo], list[LayerInfo], str | None]:
    """Return (candidate layers, every spatial layer), both in execution order, and the default name."""
    grid = token_grid(model, input_size)
    order: list[tuple[str, nn.Module, torch.Size, tuple]] = []  # (name, module, shape, tensor identity)
    outputs: dict[str, torch.Tensor] = {}  # a transformer's gradient check reads them
    alive: list[torch.Tensor] = []  # every output held until the probe ends, so no two share a memory address
    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(_recorder(name, module, order, outputs, alive)))
    try:
        with torch.set_grad_enabled(grid is not None):
            logits = model(_probe_input(input_size, device, grid))
    finally:
        for handle in handles:
            handle.remove()

    spatial: dict[str, tuple[nn.Module, torch.Size, Layout]] = {}
    for name, module, shape, _key in order:  # a module run twice keeps its first position, last shape
        layout = None if isinstance(module, (nn.Identity, nn.Dropout)) else layout_of(shape, module, grid)
        if layout is not None:
            spatial[name] = (module, shape, layout)
    stages = {info["module"]: index + 1 for index, info in enumerate(_feature_info(model))}
    default = _default_layer(order, spatial, stages)
    if grid is not None:  # measured; when nothing reaches (say a zeroed head) the last map stays the default
        default = _default_layer(order, spatial, stages, _reaching(spatial, outputs, logits)) or default
    depths = _depths(spatial, input_size, default, grid)
    every = [
        LayerInfo(name, *map_shape(shape, layout), depths[name], stages.get(name), layout)
        for name, (_module, shape, layout) in spatial.items()
    ]
    modules = dict(model.named_modules())
    candidates = [
        layer
        for layer in every
        if layer.stage is not None
        or isinstance(spatial[layer.name][0], nn.modules.conv._ConvNd)
        or layer.name == default
        or (layer.layout.kind != NCHW and _is_block(layer.name, modules))
    ]
    return candidates, every, default


def _probe_input(input_size: tuple[int, int, int], device: torch.device, grid: TokenGrid | None) -> torch.Tensor:
    """Zeros for a CNN (shapes only); for a transformer, seeded noise that carries a gradient, so that
    patch tokens differ and no path is zero by accident."""
    if grid is None:
        return torch.zeros((1, *input_size), device=device)
    noise = torch.randn((1, *input_size), generator=torch.Generator().manual_seed(0))
    return noise.to(device).requires_grad_(True)


def _reaching(spatial: dict, outputs: dict[str, torch.Tensor], logits: torch.Tensor) -> list[str]:
    """The maps, in execution order, whose patch tokens (most of them) get a gradient from the top class
    score. Linear projections (qkv, fc) and bare activations are left out: a default should be a
    representation of the image, not a projection of it."""
    names = [
        name
        for name, (module, _shape, _layout) in spatial.items()
        if name in outputs
        and outputs[name].requires_grad
        and not isinstance(module, nn.Linear)
        and "activation" not in type(module).__module__
    ]
    if not names or not logits.requires_grad:
        return []
    score = logits[0, int(logits[0].argmax())]
    grads = torch.autograd.grad(score, [outputs[name] for name in names], allow_unused=True)
    reached = []
    for name, grad in zip(names, grads):
        if grad is not None:
            touched = spatial[name][2].to_map(grad).abs().sum(dim=1) > 0  # (1, H, W): which patches got one
            if float(touched.float().mean()) > 0.5:
                reached.append(name)
    return reached


def _depths(
    spatial: dict, input_size: tuple[int, int, int], default: str | None, grid: TokenGrid | None
) -> dict[str, float]:
    """Depth in [0, 1] per layer. By downsampling (stride-2 maps are early, the coarsest is final), or, for
    a transformer whose blocks all share one grid (ViT), by position: the default layer is depth 1."""
    token_grids = {(layout.height, layout.width) for _m, _s, layout in spatial.values() if layout.kind != NCHW}
    names = list(spatial)
    if grid is not None and len(token_grids) == 1 and default in spatial and names.index(default) > 0:
        at = names.index(default)
        return {name: min(1.0, index / at) for index, name in enumerate(names)}
    sizes = {
        name: map_shape(shape, layout)[1] * map_shape(shape, layout)[2] for name, (_m, shape, layout) in spatial.items()
    }
    full, smallest = input_size[1] * input_size[2], min(sizes.values(), default=1)
    span = math.log(full / smallest) if full > smallest else 1.0
    return {name: min(1.0, max(0.0, math.log(full / size) / span)) for name, size in sizes.items()}


def _is_block(name: str, modules: dict[str, nn.Module]) -> bool:
    """An element of a Sequential or ModuleList (`blocks.3`, Swin's `layers.2.blocks.5`): a transformer block."""
    parent, _, index = name.rpartition(".")
    return index.isdigit() and isinstance(modules.get(parent), (nn.Sequential, nn.ModuleList))


def _default_layer(order: list, spatial: dict, stages: dict, eligible: list[str] | None = None) -> str | None:
    """The last spatial output (of `eligible` ones, when given); of the modules that return that same
    tensor, prefer the timm stage name (`layer4` rather than its last block), else the innermost that is
    not a bare activation (`bn2` rather than `bn2.act`)."""
    names = [name for name in spatial if eligible is None or name in eligible]
    if not names:
        return None
    last_name = names[-1]
    last_key = next(key for name, _m, _s, key in reversed(order) if name == last_name)
    same = [name for name, module, _s, key in order if key == last_key and name in spatial]
    plain = [name for name in same if "activation" not in type(spatial[name][0]).__module__]
    return next((name for name in same if name in stages), (plain or same)[0])


def _recorder(name: str, module: nn.Module, order: list, outputs: dict[str, torch.Tensor], alive: list):
    def hook(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            order.append((name, module, output.shape, (output.data_ptr(), tuple(output.shape))))
            outputs[name] = output
            alive.append(output)

    return hook


def _feature_info(model: nn.Module) -> list[dict]:
    info = getattr(model, "feature_info", None)
    if info is None:
        return []
    entries = info.get_dicts() if hasattr(info, "get_dicts") else list(info)
    return [entry for entry in entries if isinstance(entry, dict) and "module" in entry]
