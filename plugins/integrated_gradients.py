"""Integrated Gradients (Sundararajan et al., 2017) with captum; the convergence delta goes into the notes.

φ = (x − x') ⊙ ∫₀¹ ∂y_c/∂x (x' + α(x − x')) dα, a Riemann sum over `steps` points.
"""

from registry import Context, Param, Plugin
from registry.methods import INPUT_BASELINES, apply_sign, baseline, batch_param, channel_sum, sign_param

CONVERGED = 0.05  # the attributions add up when they miss the score difference by at most this (Sundararajan et al.)
MAX_STEPS = 300


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
    quick_params = {"steps": 4}  # the contract suite's settings: the same code, fewer passes
    params = (
        Param(
            "steps",
            "int",
            64,  # with the blurred baseline: within 2 % on every sample (32 missed by 14 % on the cat; black by 28 %)
            label="Steps",
            minimum=2,
            maximum=MAX_STEPS,
            step=1,
            help="Points on the path from the baseline to the image; more is more exact and slower.",
        ),
        Param(
            "baseline",
            "choice",
            "blurred",  # from black, even 128 steps missed by 7 % on the cat (benchmarks/RESULTS.md)
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
        total, miss = float(attribution.sum()), float(delta[0])
        difference = total - miss
        share = abs(miss) / abs(difference) if difference else float("inf")
        said = (
            f"Convergence delta {miss:+.4g}: the attributions sum to {total:.4g}, the score difference from the "
            f"{ctx.params['baseline']} baseline is {difference:.4g}"
        )
        if share <= CONVERGED:
            ctx.notes.append(f"{said}: they add up to within {share:.1%} (well inside {CONVERGED:.0%}).")
        else:
            more = min(2 * ctx.params["steps"], MAX_STEPS)
            remedy = (
                f"raise Steps from {ctx.params['steps']} to {more} or more (each doubling brings them closer)"
                if more > ctx.params["steps"]
                else "choose the blurred baseline (the path from it is shorter)"
            )
            ctx.warn(
                f"{said}: they miss it by {share:.0%}, more than the {CONVERGED:.0%} within which the map can be "
                f"trusted to add up. To remove this, {remedy}, and run again."
            )
        return apply_sign(channel_sum(attribution), ctx.params["sign"])
