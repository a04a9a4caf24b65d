"""Grad-CAM (Selvaraju et al., 2017) through captum's LayerGradCam."""

from captum.attr import LayerAttribution, LayerGradCam

from registry import Context, Plugin


class GradCam(Plugin):
    name = "gradcam"
    title = "Grad-CAM"
    description = (
        "Where in the image is the evidence for the chosen class? Grad-CAM weights each channel of a "
        "layer by how much the class score depends on it (its average gradient), sums the weighted "
        "channels and keeps the positive part. Taken at the last spatial layer it shows the object "
        "regions the decision rests on; at earlier layers the map is sharper but less about the class."
    )
    needs_target = True
    needs_layer = True
    needs_gradients = True
    output = "heatmap"

    def compute(self, ctx: Context):
        cam = LayerGradCam(ctx.model, ctx.module)
        attribution = cam.attribute(ctx.x, target=ctx.target, relu_attributions=True)
        return LayerAttribution.interpolate(attribution, ctx.view_size, interpolate_mode="bilinear")[0, 0]
