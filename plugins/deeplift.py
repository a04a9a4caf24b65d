"""DeepLift (Shrikumar et al., 2017) with captum's rescale rule; refused where captum's hooks would be wrong.

φ = (x − x') ⊙ m, the multipliers m chained back with Δy/Δx at every activation instead of its gradient, so the
map adds up to y_c(x) − y_c(x') (summation-to-delta; the notes say how closely).
"""

from registry import Context, Param
from registry.methods import (
    INPUT_BASELINES,
    RuleAttribution,
    baseline,
    model_outputs,
    note_completeness,
    sign_param,
)


class DeepLift(RuleAttribution):
    name = "deeplift"
    title = "DeepLift"
    description = (
        "Compares the image with a reference (black, blurred or noise) and passes the difference in the class "
        "score back through the network, at each activation by the ratio of its change in output to its change "
        "in input rather than by its gradient. Each pixel's share adds up to the score difference, in one pass. "
        "captum's rules need ReLU-family activations, each used once, so other networks are refused."
    )
    how_to_read = (
        "Red pixels raised the class score relative to the reference, blue ones lowered it; all the values add up "
        "to the score difference between the image and the reference (the notes say how closely)."
    )
    pitfalls = (
        "The answer depends on the reference, as with Integrated Gradients. The rule is one choice among several "
        "that add up (Integrated Gradients is another) and they can disagree where the network saturates. Like "
        "every attribution, it describes the model, not the world."
    )
    cost = "light"
    reads = ("logits",)  # the completeness note's score of the image itself is the shared pass's
    params = (
        Param(
            "baseline",
            "choice",
            "blurred",  # as Integrated Gradients, so the two compare on the same reference
            label="Baseline",
            choices=INPUT_BASELINES,
            help="The 'absence of signal' the image is compared with.",
        ),
        sign_param(),
    )

    def attribute(self, ctx: Context):
        from captum.attr import DeepLift as CaptumDeepLift  # lazy: captum adds ~1 s to start-up

        reference = baseline(ctx.backbone, ctx.x, ctx.params["baseline"])
        with model_outputs(ctx.model) as outputs:  # one pass of the image and the reference, stacked
            attribution = CaptumDeepLift(ctx.model).attribute(ctx.x, baselines=reference, target=ctx.target)
        scores = outputs[0][len(outputs[0]) // 2 :, ctx.target]  # the reference's row
        note_completeness(ctx, attribution, scores, f"{ctx.params['baseline']} baseline")
        return attribution
