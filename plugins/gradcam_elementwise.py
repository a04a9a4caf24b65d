"""Grad-CAM element-wise (pytorch-grad-cam's GradCAMElementWise) from the shared pass; checked against it.

L = Σ_k ReLU(∂y_c/∂A^k ⊙ A^k): HiResCAM's products, each rectified before the channels are summed.
"""

import torch
import torch.nn.functional as F

from registry import Context, GradientCam
from registry.methods import HOW_TO_READ_A_CAM


class GradCamElementWise(GradientCam):
    name = "gradcam_elementwise"
    title = "Grad-CAM element-wise"
    family = "cam"
    description = (
        "Multiplies each activation by its own gradient, as HiResCAM does, but keeps only the positive "
        "products before adding the channels: a channel that argues against the class at a place cannot "
        "cancel one that argues for it there."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " Every location shows the sum of the positive evidence its channels give; evidence against is left "
        "out, not subtracted."
    )
    pitfalls = (
        "Because negative products are dropped before the sum, a place where the channels disagree looks as "
        "hot as one where they all agree: compare with HiResCAM, which keeps the disagreement."
    )

    def layer_map(self, ctx: Context) -> torch.Tensor:
        return F.relu(ctx.gradients.float() * ctx.activations.float()).sum(dim=1)
