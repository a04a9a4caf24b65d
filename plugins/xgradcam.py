"""XGrad-CAM (Fu et al., 2020) from the shared pass; checked against pytorch-grad-cam.

L = ReLU(Σ_k w_k A^k) with w_k = Σ_ij (A^k_ij / Σ_ab A^k_ab) ∂y_c/∂A^k_ij.
"""

from registry import Context, GradientCam
from registry.methods import HOW_TO_READ_A_CAM


class XGradCam(GradientCam):
    name = "xgradcam"
    title = "XGrad-CAM"
    family = "cam"
    description = (
        "Grad-CAM with channel weights derived from two axioms (sensitivity and conservation): each "
        "channel's gradient is averaged where that channel is active, weighted by its activation, "
        "instead of averaged evenly over the map. Where a channel fires in one small spot, that spot counts more."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " It usually looks much like Grad-CAM; where they differ, XGrad-CAM favours spots where a "
        "channel fires strongly."
    )
    pitfalls = (
        "The axioms it satisfies are about the layer, not the image: it is no more 'true' than Grad-CAM. "
        "Coarse at the final layer."
    )

    def channel_weights(self, ctx: Context):
        activations, gradients = ctx.activations.float(), ctx.gradients.float()
        total = activations.sum(dim=(2, 3), keepdim=True)
        return (gradients * activations / (total + 1e-7)).sum(dim=(2, 3))
