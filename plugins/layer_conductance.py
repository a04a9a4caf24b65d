"""Layer Conductance (Dhamdhere et al., 2018) with captum: Integrated Gradients' flow through a layer's neurons.

cond_j = Σ_i (x_i − x'_i) ∫₀¹ ∂y_c/∂a_j · ∂a_j/∂x_i dα along the straight path, summed over the layer's channels.
"""

from registry import Context, Param, Plugin
from registry.methods import INPUT_BASELINES, apply_sign, baseline, batch_param, sign_param


class LayerConductance(Plugin):
    name = "layer_conductance"
    title = "Layer Conductance"
    family = "relevance"
    description = (
        "Integrated Gradients seen at a layer: how much of the score difference between the image and a baseline "
        "flows through each location of the layer on the way from one to the other. The layer's values add up to "
        "that difference, so it shows where in the layer the class score is made, at the layer's resolution."
    )
    how_to_read = (
        "Red locations of the layer carried the class score up from the baseline, blue ones down; the map is the "
        "layer's grid stretched over the image, so it is coarse at deep layers."
    )
    pitfalls = (
        "It depends on the baseline and on the number of steps, as Integrated Gradients does; few steps make the "
        "sum inexact. The upsampled grid suggests more precision than the layer has."
    )
    needs_target = True
    needs_layer = True
    default_depth = "middle"
    cost = "heavy"
    needs_gradients = True
    signed = True
    scale_percentile = 99.0
    quick_params = {"steps": 4, "internal_batch_size": 4}  # the contract suite's settings: the same code, fewer passes
    params = (
        Param(
            "steps",
            "int",
            16,
            label="Steps",
            minimum=2,
            maximum=300,
            step=1,
            help="Points on the path from the baseline to the image; more is more exact and slower.",
        ),
        Param(
            "baseline",
            "choice",
            "blurred",
            label="Baseline",
            choices=INPUT_BASELINES,
            help="The 'absence of signal' the image is compared with.",
        ),
        batch_param(8, 16, "Path points evaluated together: bounds memory (at most 16).", name="internal_batch_size"),
        sign_param(),
    )

    def compute(self, ctx: Context):
        from captum.attr import LayerConductance as CaptumLayerConductance  # lazy: captum adds ~1 s to start-up

        reference = baseline(ctx.backbone, ctx.x, ctx.params["baseline"])
        batches = -(-ctx.params["steps"] // ctx.params["internal_batch_size"])
        attribution = CaptumLayerConductance(ctx.counted(batches), ctx.module).attribute(
            ctx.x,
            baselines=reference,
            target=ctx.target,
            n_steps=ctx.params["steps"],
            internal_batch_size=ctx.params["internal_batch_size"],
        )
        return apply_sign(ctx.layout.to_map(attribution.detach())[0].sum(dim=0), ctx.params["sign"])
