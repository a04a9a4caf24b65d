"""Feature maps: the activations of one layer, strongest channels first.

F_k = A^k, the layer's k-th channel, for the channels with the largest mean (or max) activation.
"""

import numpy as np
import torch
import torch.nn.functional as F

from registry import Context, Param, Plugin, render


class FeatureMaps(Plugin):
    name = "feature_maps"
    title = "Feature maps"
    family = "representations"
    description = (
        "What does one layer respond to? Each tile is one channel's activation over the image, "
        "stretched to its own range (bright = strong). Early layers respond to edges and colours, "
        "middle layers to textures and parts, the final layers to whole objects. Pick a layer to compare."
    )
    how_to_read = (
        "Each tile is one channel: bright where that channel responds, on its own scale (so a weak channel "
        "looks as bright as a strong one; compare tiles by pattern, not brightness). Early layers give sharp "
        "maps that follow edges and colours; at the final stage each cell covers a large patch of the image, "
        "and a channel lights up on object parts."
    )
    pitfalls = (
        "A channel is not a concept: most respond to mixtures of things, and its name (#123) means nothing. "
        "Sixteen channels out of hundreds are a small sample. Feature maps show what the layer responds to, "
        "not what the class decision uses — for that, use Grad-CAM."
    )
    needs_layer = True
    reads = ("activations",)
    default_depth = "middle"  # shapes and textures: the most telling layer to start from
    output = "images"
    params = (
        Param("count", "int", 16, label="Channels shown", minimum=1, maximum=64, step=1),
        Param(
            "rank_by",
            "choice",
            "mean",
            label="Rank channels by",
            choices=("mean", "max"),
            help="Show the channels with the highest mean (or peak) activation.",
        ),
        Param(
            "overlay",
            "bool",
            False,
            label="Draw channels over the image",
            help="Each channel stretched over the picture, so a coarse 7×7 map points at the object it responds to.",
        ),
        Param("colormap", "choice", "viridis", label="Colormap", choices=render.COLORMAPS),
    )

    def compute(self, ctx: Context):
        activations = ctx.activations[0].float().cpu()  # (C, h, w)
        flat = activations.flatten(1)
        scores = flat.mean(1) if ctx.params["rank_by"] == "mean" else flat.amax(1)
        order = scores.argsort(descending=True)[: ctx.params["count"]].tolist()
        colormap = ctx.params["colormap"]
        if ctx.params["overlay"]:
            tiles = [
                render.overlay(ctx.view, self._over_view(activations[c], ctx), colormap).resize((112, 112))
                for c in order
            ]
        else:  # at the layer's own resolution: a 7×7 map looks like 7×7 cells
            tiles = [render.tile(activations[c].numpy(), 112, colormap) for c in order]
        shape = f"{activations.shape[0]} channels of {activations.shape[1]}×{activations.shape[2]}"
        strongest = order[0]
        return [
            (
                render.grid(tiles, [f"#{c}" for c in order]),
                f"top {len(order)} channels by {ctx.params['rank_by']} activation ({ctx.layer}, {shape}): "
                + ", ".join(f"#{c}" for c in order),
            ),
            (
                render.overlay(ctx.view, self._over_view(activations[strongest], ctx), colormap),
                f"channel #{strongest}, the most active, over the image",
            ),
            (ctx.view, f"what the model saw ({ctx.view.width}×{ctx.view.height})"),
        ]

    @staticmethod
    def _over_view(channel: torch.Tensor, ctx: Context) -> np.ndarray:
        """One channel upsampled to the model's view and stretched to [0, 1] on its own range."""
        upsampled = F.interpolate(channel[None, None], size=ctx.view_size, mode="bilinear", align_corners=False)[0, 0]
        low, high = float(upsampled.min()), float(upsampled.max())
        return ((upsampled - low) / (high - low)).numpy() if high > low else np.zeros(ctx.view_size, np.float32)
