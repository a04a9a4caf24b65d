"""Vanilla gradient saliency (Simonyan et al., 2014) through captum's Saliency."""

from captum.attr import Saliency as CaptumSaliency

from registry import Context, Param, Plugin


class Saliency(Plugin):
    name = "saliency"
    title = "Saliency"
    description = (
        "Which pixels, if nudged, would change the class score most? Saliency is the gradient of the "
        "class score with respect to each input pixel, taken in absolute value and reduced over the "
        "colour channels. It is sharp but noisy: it shows sensitivity, not necessarily importance."
    )
    needs_target = True
    needs_gradients = True
    output = "heatmap"
    scale_percentile = 99.0  # the brightest 1 % of gradients saturate, so the rest stays visible
    params = (
        Param("reduce", "choice", "max", label="Colour channels", choices=("max", "mean"),
              help="How the three colour gradients of a pixel become one value."),
    )

    def compute(self, ctx: Context):
        gradients = CaptumSaliency(ctx.model).attribute(ctx.x.clone(), target=ctx.target, abs=True)[0]
        return gradients.amax(dim=0) if ctx.params["reduce"] == "max" else gradients.mean(dim=0)
