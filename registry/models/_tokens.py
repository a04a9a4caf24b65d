"""Where a transformer keeps its patches, and the one conversion of a layer's output to (B, C, H, W).

Every map method is written for CNN feature maps, (B, C, H, W). A ViT-style timm model gives
tokens instead: (B, N, C), N = prefix tokens (class, distillation, registers) followed by the
patch grid row by row; Swin's stages give (B, H, W, C). The grid and the prefix come from the
model itself (`patch_embed.grid_size`, `num_prefix_tokens`), never from a guess such as 14×14.
`Layout.to_map` is the one place any layer output becomes a map, and `Layout.from_map` the way
back, for methods that write into a layer (Ablation-CAM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

NCHW, NHWC, TOKENS = "NCHW", "NHWC", "tokens"
REDUCTIONS = (1, 2, 4, 8, 16, 32)  # hierarchical transformers (Swin) halve the grid at each stage


@dataclass(frozen=True)
class TokenGrid:
    """A transformer's patch grid at the model's input size, and the tokens that precede it."""

    height: int
    width: int
    prefix: int  # class, distillation and register tokens before the patches
    nhwc: bool  # the model says its feature maps are (B, H, W, C) (timm's output_fmt)

    def is_grid(self, height: int, width: int) -> bool:
        """(height, width) is the patch grid, or the grid after stages that halve it (Swin)."""
        if height * width <= 1:
            return False
        return any(
            (height, width)
            in {(self.height // r, self.width // r), (math.ceil(self.height / r), math.ceil(self.width / r))}
            for r in REDUCTIONS
        )


@dataclass(frozen=True)
class Layout:
    """How one layer's output holds its map; `to_map` gives (B, C, H, W) whatever the layout."""

    kind: str = NCHW
    prefix: int = 0  # tokens dropped before the grid (TOKENS only)
    height: int = 0
    width: int = 0

    def to_map(self, output: torch.Tensor) -> torch.Tensor:
        """The output (or its gradient) as (B, C, H, W), prefix tokens dropped."""
        if self.kind == NCHW:
            return output
        if self.kind == NHWC:
            return output.permute(0, 3, 1, 2).contiguous()
        patches = output[:, self.prefix :]
        return patches.reshape(len(output), self.height, self.width, -1).permute(0, 3, 1, 2).contiguous()

    def from_map(self, maps: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """`maps` (B, C, H, W) back in this layer's own layout; prefix tokens are taken from `like`,
        an output of the same layer (batch 1 or B)."""
        if self.kind == NCHW:
            return maps
        if self.kind == NHWC:
            return maps.permute(0, 2, 3, 1).contiguous()
        tokens = like.expand(len(maps), -1, -1).clone()
        tokens[:, self.prefix :] = maps.flatten(2).transpose(1, 2).to(tokens.dtype)
        return tokens


def token_grid(model: nn.Module, input_size: tuple[int, int, int]) -> TokenGrid | None:
    """The patch grid of a ViT-style timm model (None for a CNN), read from its patch embedding."""
    embed = _patch_embed(model)
    if embed is None:
        return None
    height, width = (int(v) for v in embed.grid_size)
    image = tuple(input_size[-2:])
    if (
        getattr(embed, "img_size", None) is not None
        and tuple(embed.img_size) != image
        and hasattr(embed, "dynamic_feat_size")
    ):
        height, width = (int(v) for v in embed.dynamic_feat_size(image))  # a model that accepts other sizes
    fmt = getattr(model, "output_fmt", None)
    return TokenGrid(
        height, width, int(getattr(model, "num_prefix_tokens", 0) or 0), getattr(fmt, "value", fmt) == NHWC
    )


def layout_of(shape: torch.Size, module: nn.Module, grid: TokenGrid | None) -> Layout | None:
    """The layout of an output of `shape`, or None when it holds no spatial map.

    Without a token grid (a CNN) every 4-D output with more than one location is a (B, C, H, W) map.
    With one, a 3-D output is tokens when its length is the grid (plus the prefix tokens, if any),
    and a 4-D one is (B, H, W, C) when its middle two sizes are the grid and its last two are not.
    Outputs whose batch is not the input's (Swin's attention windows) are not maps of the image.
    """
    if grid is None:
        return Layout(NCHW) if len(shape) == 4 and shape[2] * shape[3] > 1 else None
    if shape[0] != 1:
        return None
    if len(shape) == 3:
        for reduction in REDUCTIONS:
            height, width = grid.height // reduction, grid.width // reduction
            for prefix in dict.fromkeys((grid.prefix, 0)):
                if height * width > 1 and shape[1] == prefix + height * width:
                    return Layout(TOKENS, prefix, height, width)
        return None
    if len(shape) != 4:
        return None
    channels_first, channels_last = grid.is_grid(shape[2], shape[3]), grid.is_grid(shape[1], shape[2])
    if channels_last and (not channels_first or (grid.nhwc and not isinstance(module, nn.modules.conv._ConvNd))):
        return Layout(NHWC, 0, int(shape[1]), int(shape[2]))
    return Layout(NCHW) if shape[2] * shape[3] > 1 else None


def map_shape(shape: torch.Size, layout: Layout) -> tuple[int, int, int]:
    """(channels, height, width) of the map an output of `shape` holds."""
    if layout.kind == NCHW:
        return int(shape[1]), int(shape[2]), int(shape[3])
    if layout.kind == NHWC:
        return int(shape[3]), int(shape[1]), int(shape[2])
    return int(shape[2]), layout.height, layout.width


def _patch_embed(model: nn.Module) -> nn.Module | None:
    """`model.patch_embed` (ViT, DeiT, EVA, Swin), else the first patch embedding inside (Mixer's `stem`)."""
    embed = getattr(model, "patch_embed", None)
    if embed is not None and hasattr(embed, "grid_size"):
        return embed
    from timm.layers import PatchEmbed

    return next((m for m in model.modules() if isinstance(m, PatchEmbed) and getattr(m, "grid_size", None)), None)
