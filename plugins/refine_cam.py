"""RefineCAM (pytorch-grad-cam 1.5.7's meta-method): a CAM of the chosen layer multiplied by the same CAM of every
later stage; checked against pytorch-grad-cam's RefineCAM on the same layers.

L = Π_l norm(CAM_l) over the chosen layer and the deeper stage outputs, each map stretched to [0, 1] at the model
view: an early layer's sharp but noisy map keeps only what the deep layers also find.
"""

from __future__ import annotations

import torch

import registry
from registry import Backbone, Context, Param, Plugin
from registry.methods import FUSABLE_CAMS, HOW_TO_READ_A_CAM, base_maps


class RefineCam(Plugin):
    name = "refine_cam"
    title = "RefineCAM"
    family = "cam"
    description = (
        "Sharp and about the class at once: a CAM of an early layer is sharp but noisy, one of the last layer is "
        "about the class but coarse. RefineCAM multiplies the chosen layer's map by the same method's map at "
        "every later stage, so only what all of them agree on stays hot."
    )
    how_to_read = HOW_TO_READ_A_CAM.split(" The map is computed")[0] + (
        " The map has the chosen layer's detail where the deeper layers also see the class; the notes list the "
        "layers multiplied."
    )
    pitfalls = (
        "A product is harsh: a place that one layer misses is dark, however hot in the others. Chosen at the last "
        "layer, it is just the base method's map."
    )
    needs_target = True
    needs_layer = True
    needs_gradients = True
    default_depth = "middle"
    params = (
        Param(
            "base",
            "choice",
            "gradcam_plusplus",
            label="CAM at each layer",
            choices=FUSABLE_CAMS,
            help="The method whose maps are multiplied (Grad-CAM++ is the package's default).",
        ),
    )

    def compute(self, ctx: Context) -> torch.Tensor:
        base = registry.get_plugin(ctx.params["base"])
        layers = fused_layers(ctx.backbone, ctx.layer)
        maps, _ = base_maps(base, ctx, ctx.x, layers, ctx.view_size)
        empty = [not torch.any(one) for one in maps]
        if any(empty) and not all(empty):  # a layer with no evidence anywhere (a class-token transformer's last
            # block: its patch tokens never reach the output) would blank the product; it says nothing about places
            blank = [name for name, nothing in zip(layers, empty) if nothing]
            layers, maps = zip(*[(name, one) for name, one, nothing in zip(layers, maps, empty) if not nothing])
            ctx.notes.append(f"Left out of the product, blank everywhere (nothing there reaches the class score): "
                             f"{', '.join(blank)}.")  # fmt: skip
        ctx.notes.append(f"{base.title} maps multiplied at {', '.join(layers)}.")
        product = torch.stack(list(maps)).prod(dim=0)
        return product - product.min()


def fused_layers(backbone: Backbone, layer: str) -> list[str]:
    """`layer`, then every stage output deeper than it, ending at the backbone's default layer."""
    depth = backbone.layer_info(layer).depth
    deeper = [info.name for info in backbone.layers if info.stage is not None and info.depth > depth]
    return list(dict.fromkeys([layer, *deeper, *([backbone.default_layer] if layer != backbone.default_layer else [])]))
