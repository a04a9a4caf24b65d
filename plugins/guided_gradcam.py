"""Guided Grad-CAM (Selvaraju et al., 2017): guided backprop times the upsampled Grad-CAM, as captum's GuidedGradCam.

R = GuidedBackprop(x) ⊙ upsample(Grad-CAM).
"""

from registry import Context, GradientCam
from registry.methods import guided_gradient, note_activations, upsample


class GuidedGradCam(GradientCam):
    name = "guided_gradcam"
    title = "Guided Grad-CAM"
    family = "gradients"
    description = (
        "Guided Backprop's fine edges multiplied by Grad-CAM's coarse class map: the detail of the first, "
        "kept only where the second finds evidence for the class. It is sharp and class-specific; on "
        "models with smooth activations (SiLU, GELU) the guided part is the plain gradient."
    )
    how_to_read = (
        "Bright pixels are fine edges kept only where Grad-CAM finds evidence for the class: the detail of "
        "Guided Backprop inside Grad-CAM's coarse region."
    )
    pitfalls = (
        "The detail comes from Guided Backprop, which ignores the class; only the coarse mask is "
        "class-specific. A sharp picture is not a more faithful one."
    )
    scale_percentile = 99.0

    def channel_weights(self, ctx: Context):
        return ctx.gradients.mean(dim=(2, 3))  # Grad-CAM's: the average gradient of each channel

    def compute(self, ctx: Context):
        cam = upsample(self.layer_map(ctx), tuple(ctx.x.shape[-2:]))  # at the input's size, where guided lies
        note_activations(ctx)
        guided = guided_gradient(ctx.model, ctx.x, ctx.target)[0]
        return (guided * cam).abs().amax(dim=0)
