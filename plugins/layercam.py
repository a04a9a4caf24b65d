"""LayerCAM (Jiang et al., 2021) from the shared pass; checked against pytorch-grad-cam.

L = ReLU(Σ_k ReLU(∂y_c/∂A^k) ⊙ A^k).
"""

from registry import Context, GradientCam


class LayerCam(GradientCam):
    name = "layercam"
    title = "LayerCAM"
    family = "cam"
    description = (
        "Weights every activation by its own positive gradient, location by location. Unlike Grad-CAM it "
        "still gives fine, reliable maps at early layers, so try it with an early or middle layer to see "
        "the edges and parts the class score rests on."
    )
    how_to_read = (
        "Warm colours mark locations whose activations raised the class score. It works at early and middle "
        "layers too, where it shows the edges and parts the score rests on; at the final layer it resembles "
        "Grad-CAM."
    )
    pitfalls = (
        "Maps from different layers are on different scales: compare shapes, not brightness. Early-layer maps "
        "highlight edges, which can look convincing on any model (see the randomization check)."
    )

    def channel_weights(self, ctx: Context):
        return ctx.gradients.float().clamp(min=0)  # each location's own positive gradient
