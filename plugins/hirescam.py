"""HiResCAM (Draelos and Carin, 2020) from the shared pass; checked against pytorch-grad-cam.

L = ReLU(Σ_k ∂y_c/∂A^k ⊙ A^k): the gradient multiplies each location instead of being averaged.
"""

import torch.nn.functional as F

from registry import Context, Plugin
from registry.methods import upsample


class HiResCam(Plugin):
    name = "hirescam"
    title = "HiResCAM"
    family = "cam"
    description = (
        "Multiplies each activation by its own gradient, location by location, instead of by the "
        "channel's average gradient as Grad-CAM does. The map then shows exactly which locations "
        "raised the score through this layer, so it can be sharper and never points where the model did not look."
    )
    how_to_read = (
        "Warm colours mark locations whose activations raised the class score through this layer. Because "
        "each location keeps its own gradient, the map never lights up where the layer did not contribute."
    )
    pitfalls = (
        "Still at the layer's resolution (coarse at the final stage). It explains the score through one layer "
        "only; evidence that bypasses it (a skip connection) is not shown."
    )
    needs_target = True
    needs_layer = True
    needs_gradients = True
    reads = ("activations", "gradients")

    def compute(self, ctx: Context):
        return upsample(F.relu((ctx.gradients.float() * ctx.activations.float()).sum(dim=1)), ctx.view_size)
