"""HiResCAM (Draelos and Carin, 2020) from the shared pass; checked against pytorch-grad-cam.

L = ReLU(Σ_k ∂y_c/∂A^k ⊙ A^k): the gradient multiplies each location instead of being averaged.
"""

from registry import Context, GradientCam


class HiResCam(GradientCam):
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

    def channel_weights(self, ctx: Context):
        return ctx.gradients  # each location's own gradient, not the channel's average
