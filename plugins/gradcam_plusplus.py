"""Grad-CAM++ (Chattopadhyay et al., 2018, eq. 19) from the shared pass; checked against pytorch-grad-cam.

L = ReLU(Σ_k w_k A^k), w_k = Σ_ij α^k_ij ReLU(g^k_ij), α = g² / (2g² + Σ_ab A^k_ab g³), g = ∂y_c/∂A.
"""

import torch

from registry import Context, GradientCam
from registry.methods import HOW_TO_READ_A_CAM


class GradCamPlusPlus(GradientCam):
    name = "gradcam_plusplus"
    title = "Grad-CAM++"
    family = "cam"
    description = (
        "Grad-CAM with a finer weighting: each channel counts by its positive gradients only, each "
        "location weighted by second- and third-order gradient terms. When a class appears several "
        "times, or fills a large area, Grad-CAM++ tends to cover all of it rather than its most telling part."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " Compared with Grad-CAM it tends to spread over all instances of the class and over large objects."
    )
    pitfalls = (
        "A wider map is not a more faithful one; compare deletion scores. Like Grad-CAM, it is only as sharp "
        "as the layer, and its extra gradient terms can be unstable on small or saturated scores."
    )

    def channel_weights(self, ctx: Context):
        activations, gradients = ctx.activations.float(), ctx.gradients.float()
        squared = gradients.pow(2)
        total = activations.sum(dim=(2, 3), keepdim=True)
        alpha = squared / (2 * squared + total * squared * gradients + 1e-6)
        alpha = torch.where(gradients != 0, alpha, torch.zeros_like(alpha))
        return (alpha * gradients.clamp(min=0)).sum(dim=(2, 3))
