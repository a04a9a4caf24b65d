"""ShapleyCAM (Cai, 2025: CAM methods read as Shapley values) from the shared pass; checked against
pytorch-grad-cam's ShapleyCAM.

L = ReLU(Σ_k w_k A^k), w_k = mean_ij (∂y_c/∂A − ½ H·A)^k_ij, with H the Hessian of the class logit with respect
to the layer's output A: Grad-CAM's weights with the second-order term of the score's Taylor expansion.
"""

import torch

from registry import Backbone, Context, GradientCam
from registry.methods import HOW_TO_READ_A_CAM


class ShapleyCam(GradientCam):
    name = "shapley_cam"
    title = "ShapleyCAM"
    family = "cam"
    cost = "moderate"
    description = (
        "Grad-CAM with a correction: a channel's weight is its average gradient less half of how that gradient "
        "changes when the activations are scaled (a Hessian-vector product), which estimates each channel's "
        "Shapley value, its fair share of the class score, more closely than the gradient alone."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " Where the network after the layer is piecewise linear (ReLU and linear layers only), the correction is "
        "zero and the map is Grad-CAM's."
    )
    pitfalls = (
        "The correction needs a second backward pass through the first (about three passes in all). On a network "
        "whose later layers are all ReLU and linear it changes nothing, so a map equal to Grad-CAM's is expected "
        "there, not a fault."
    )

    def refusal(self, backbone: Backbone) -> str | None:
        refused = super().refusal(backbone)
        if refused is None and any(getattr(module, "fused_attn", False) for module in backbone.model.modules()):
            return self.refused(
                backbone,
                "its attention runs PyTorch's fused kernel, which has no second derivative, and ShapleyCAM needs one "
                "(a Hessian-vector product); Grad-CAM works on it.",
            )
        return refused

    def channel_weights(self, ctx: Context) -> torch.Tensor:
        return (ctx.gradients.float() - 0.5 * ctx.hessian_product.float()).mean(dim=(2, 3))
