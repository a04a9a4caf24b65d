"""Eigen-Grad-CAM (pytorch-grad-cam's, after Muhammad and Yeasin's Eigen-CAM, 2020) from the shared pass; checked
against pytorch-grad-cam's EigenGradCAM.

L = ReLU(first principal component of the locations of ∂y_c/∂A ⊙ A), signed high where the products sum high.
"""

import torch
import torch.nn.functional as F

from registry import Context, GradientCam
from registry.methods import HOW_TO_READ_A_CAM, first_component


class EigenGradCam(GradientCam):
    name = "eigen_gradcam"
    title = "Eigen-Grad-CAM"
    family = "cam"
    description = (
        "Eigen-CAM made about a class: each activation is first multiplied by the class score's gradient, and "
        "the map is the single spatial pattern that explains most of those products (their first principal "
        "component). It keeps what the channels agree on and drops what only a few of them say."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " The map is the one pattern most of the channels' gradient × activation share, so isolated hot spots "
        "that only a few channels support fade."
    )
    pitfalls = (
        "A principal component has no sign of its own: the map is oriented to be high where gradient × "
        "activation sums high, which is usually, not always, the evidence for the class. When a class's "
        "evidence lies in two separate places, one component may show only one of them."
    )

    def layer_map(self, ctx: Context) -> torch.Tensor:
        products = (ctx.gradients.float() * ctx.activations.float())[0]
        return F.relu(first_component(products))[None]
