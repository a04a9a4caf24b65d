"""Find the layers of a CNN worth looking at, by running it once and watching shapes.

Candidates are timm's `feature_info` stages plus every convolution, in the order they run;
the default is the last module whose output still has spatial extent (for any timm CNN that
is the final feature map before global pooling, where Grad-CAM is usually taken).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

DEPTH_LESSONS = {
    "early": "early layer: edges, colours and simple textures",
    "middle": "middle layer: repeated patterns, textures and object parts",
    "final": "final layer: whole objects and the evidence for a class",
}


@dataclass(frozen=True)
class LayerInfo:
    """A module that produces a spatial feature map, with its place in the network."""

    name: str
    channels: int
    height: int
    width: int
    depth: float  # 0 at input resolution, 1 at the network's coarsest feature map
    stage: int | None  # timm feature_info stage, when the module is a stage output

    @property
    def depth_name(self) -> str:
        return "early" if self.depth < 0.45 else "middle" if self.depth < 0.85 else "final"

    @property
    def lesson(self) -> str:
        return DEPTH_LESSONS[self.depth_name]

    @property
    def label(self) -> str:
        stage = f" · stage {self.stage}" if self.stage is not None else ""
        return f"{self.name} · {self.channels}×{self.height}×{self.width}{stage} · {self.depth_name}"


def probe_layers(model: nn.Module, input_size: tuple[int, int, int], device: torch.device) -> tuple[list[LayerInfo], list[LayerInfo], str | None]:
    """Return (candidate layers, every spatial layer), both in execution order, and the default name."""
    order: list[tuple[str, nn.Module, torch.Size, tuple]] = []  # (name, module, shape, tensor identity)
    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(_recorder(name, module, order)))
    try:
        with torch.no_grad():
            model(torch.zeros((1, *input_size), device=device))
    finally:
        for handle in handles:
            handle.remove()

    spatial: dict[str, tuple[nn.Module, torch.Size]] = {}
    for name, module, shape, _key in order:  # a module run twice keeps its first position, last shape
        if len(shape) == 4 and shape[2] * shape[3] > 1 and not isinstance(module, (nn.Identity, nn.Dropout)):
            spatial[name] = (module, shape)
    stages = {info["module"]: index + 1 for index, info in enumerate(_feature_info(model))}
    default = _default_layer(order, spatial, stages)
    sizes = [shape[2] * shape[3] for _m, shape in spatial.values()]
    full, smallest = input_size[1] * input_size[2], min(sizes, default=1)
    span = math.log(full / smallest) if full > smallest else 1.0
    every = [  # depth by downsampling: stride-2 maps are early, the coarsest map is final
        LayerInfo(name, int(shape[1]), int(shape[2]), int(shape[3]),
                  min(1.0, max(0.0, math.log(full / (shape[2] * shape[3])) / span)), stages.get(name))
        for name, (_module, shape) in spatial.items()
    ]
    candidates = [
        layer for layer in every
        if layer.stage is not None or isinstance(spatial[layer.name][0], nn.modules.conv._ConvNd) or layer.name == default
    ]
    return candidates, every, default


def _default_layer(order: list, spatial: dict, stages: dict) -> str | None:
    """The last spatial output; of the modules that return that same tensor, prefer the timm
    stage name (`layer4` rather than its last block), else the innermost that is not a bare
    activation (`bn2` rather than `bn2.act`)."""
    if not spatial:
        return None
    last_name = next(reversed(spatial))
    last_key = next(key for name, _m, _s, key in reversed(order) if name == last_name)
    same = [name for name, module, _s, key in order if key == last_key and name in spatial]
    plain = [name for name in same if "activation" not in type(spatial[name][0]).__module__]
    return next((name for name in same if name in stages), (plain or same)[0])


def _recorder(name: str, module: nn.Module, order: list):
    def hook(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            order.append((name, module, output.shape, (output.data_ptr(), tuple(output.shape))))
    return hook


def _feature_info(model: nn.Module) -> list[dict]:
    info = getattr(model, "feature_info", None)
    if info is None:
        return []
    entries = info.get_dicts() if hasattr(info, "get_dicts") else list(info)
    return [entry for entry in entries if isinstance(entry, dict) and "module" in entry]
