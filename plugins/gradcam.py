"""Grad-CAM (Selvaraju et al., 2017) from the shared pass; equal to captum's LayerGradCam (tested).

L = ReLU(Σ_k w_k A^k) with w_k = mean_ij ∂y_c/∂A^k_ij.
"""

from registry import Context, GradientCam
from registry.methods import HOW_TO_READ_A_CAM


class GradCam(GradientCam):
    name = "gradcam"
    title = "Grad-CAM"
    family = "cam"
    description = (
        "Where in the image is the evidence for the chosen class? Grad-CAM weights each channel of a "
        "layer by how much the class score depends on it (its average gradient), sums the weighted "
        "channels and keeps the positive part. Taken at the last spatial layer it shows the object "
        "regions the decision rests on; at earlier layers the map is sharper but less about the class."
    )
    how_to_read = HOW_TO_READ_A_CAM + " Switch the class to see where the evidence for another class sits."
    pitfalls = (
        "At a 7×7 layer the map is coarse: a hot blob over the object does not mean every pixel of it "
        "matters. Grad-CAM at early layers is noisy and barely about the class. A map can look right for the "
        "wrong reason (a boat found by its water); check with *How faithful is this map?* below. Two classes "
        "can share one hot region."
    )

    def channel_weights(self, ctx: Context):
        return ctx.gradients.mean(dim=(2, 3))  # the average gradient of each channel, as captum's LayerGradCam
