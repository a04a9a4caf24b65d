"""Vanilla gradient saliency (Simonyan et al., 2014) from the shared pass; equal to captum's Saliency (tested).

R = max (or mean) over colour channels of |∂y_c/∂x|.
"""

from registry import Context, Param, Plugin


class Saliency(Plugin):
    name = "saliency"
    title = "Saliency"
    family = "gradients"
    description = (
        "Which pixels, if nudged, would change the class score most? Saliency is the gradient of the "
        "class score with respect to each input pixel, taken in absolute value and reduced over the "
        "colour channels. It is sharp but noisy: it shows sensitivity, not necessarily importance."
    )
    how_to_read = (
        "Bright pixels are those whose small change would move the class score most. The map is sharp and "
        "speckled; look for outlines and dense clusters rather than single bright pixels."
    )
    pitfalls = (
        "Saliency is sensitivity, not importance: a pixel can be sensitive without having contributed "
        "anything. It is noisy, and part of its look is the image's own edges (the randomization check below "
        "shows how much). Try SmoothGrad for a steadier map."
    )
    needs_target = True
    needs_gradients = True
    reads = ("input_gradient",)
    output = "heatmap"
    scale_percentile = 99.0  # the brightest 1 % of gradients saturate, so the rest stays visible
    params = (
        Param(
            "reduce",
            "choice",
            "max",
            label="Colour channels",
            choices=("max", "mean"),
            help="How the three colour gradients of a pixel become one value.",
        ),
    )

    def compute(self, ctx: Context):
        gradients = ctx.input_gradient[0].abs()
        return gradients.amax(dim=0) if ctx.params["reduce"] == "max" else gradients.mean(dim=0)
