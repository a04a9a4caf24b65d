"""Integrated Gradients (Sundararajan et al., 2017) with captum; the convergence delta goes into the notes.

φ = (x − x') ⊙ ∫₀¹ ∂y_c/∂x (x' + α(x − x')) dα, a Riemann sum over `steps` points.
"""

from registry import Context, Param, Plugin
from registry.methods import INPUT_BASELINES, apply_sign, baseline, batch_param, channel_sum, sign_param


class IntegratedGradients(Plugin):
    name = "integrated_gradients"
    title = "Integrated Gradients"
    family = "gradients"
    description = (
        "Fades the image in from a baseline (black, blurred or noise) and adds up the gradients along the "
        "way. Each pixel's share then adds up to the score difference between the image and the baseline, "
        "so red pixels raised the class score and blue ones lowered it. More steps make that sum more exact."
    )
    how_to_read = (
        "Red pixels raised the class score relative to the baseline, blue ones lowered it; all the values add "
        "up to the score difference between the image and the baseline (the notes give the convergence "
        "delta)."
    )
    pitfalls = (
        "The answer depends on the baseline: a black baseline makes dark pixels look unimportant, a blurred "
        "one ignores what survives blurring. Too few steps leave a large convergence delta. Like every "
        "attribution, it describes the model, not the world."
    )
    needs_target = True
    cost = "heavy"
    needs_gradients = True
    signed = True
    scale_percentile = 99.0
    reads = ("logits",)  # the convergence delta's score of the image itself comes from the shared pass
    params = (
        Param(
            "steps",
            "int",
            32,
            label="Steps",
            minimum=2,
            maximum=300,
            step=1,
            help="Points on the path from the baseline to the image; more is more exact and slower.",
        ),
        Param(
            "baseline",
            "choice",
            "black",
            label="Baseline",
            choices=INPUT_BASELINES,
            help="The 'absence of signal' the image is compared with.",
        ),
        batch_param(
            8,
            16,
            "Path points evaluated together: bounds memory (at most 16). 8 is fastest on a 2-core CPU.",
            name="internal_batch_size",
        ),
        sign_param(),
    )

    def compute(self, ctx: Context):
        from captum.attr import IntegratedGradients as CaptumIntegratedGradients  # lazy: captum adds ~1 s to start-up

        reference = baseline(ctx.backbone, ctx.x, ctx.params["baseline"])
        batches = -(-ctx.params["steps"] // ctx.params["internal_batch_size"]) + 1  # + the baseline, for the delta
        attribution, delta = CaptumIntegratedGradients(ctx.counted(batches)).attribute(
            ctx.x,
            baselines=reference,
            target=ctx.target,
            n_steps=ctx.params["steps"],
            internal_batch_size=ctx.params["internal_batch_size"],
            return_convergence_delta=True,
        )
        total = float(attribution.sum())
        ctx.notes.append(
            f"Convergence delta {float(delta[0]):+.4g}: the attributions sum to {total:.4g}, the score "
            f"difference from the {ctx.params['baseline']} baseline is {total - float(delta[0]):.4g} "
            f"(more steps bring these closer)."
        )
        return apply_sign(channel_sum(attribution), ctx.params["sign"])
