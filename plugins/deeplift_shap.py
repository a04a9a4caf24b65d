"""DeepLiftShap (Lundberg and Lee, 2017) with captum: DeepLift averaged over several references.

φ = E_{x'}[(x − x') ⊙ m(x, x')] over the black, blurred and noise references; it adds up to y_c(x) − E[y_c(x')].
"""

import torch

from registry import Context
from registry.methods import INPUT_BASELINES, RuleAttribution, baseline, model_outputs, note_completeness


class DeepLiftShap(RuleAttribution):
    name = "deeplift_shap"
    title = "DeepLiftShap"
    description = (
        "DeepLift from several references at once (black, blurred and noise) and averaged: an estimate of SHAP "
        "values that depends less on any one reference. Red pixels raised the class score compared with the "
        "references, blue ones lowered it. captum's rules need ReLU-family activations, each used once, so other "
        "networks are refused."
    )
    how_to_read = (
        "Red pixels raised the class score compared with the references on average, blue ones lowered it; the "
        "values add up to the score minus the references' mean score."
    )
    pitfalls = (
        "Three references are few for SHAP's expectation, and SHAP's guarantees assume independent features, "
        "which neighbouring pixels are not. Where the references disagree the average can cancel to white."
    )
    cost = "moderate"
    reads = ("logits",)  # the completeness note's score of the image itself is the shared pass's

    def attribute(self, ctx: Context):
        from captum.attr import DeepLiftShap as CaptumDeepLiftShap  # lazy: captum adds ~1 s to start-up

        references = torch.cat([baseline(ctx.backbone, ctx.x, kind) for kind in INPUT_BASELINES])
        with model_outputs(ctx.model) as outputs:  # one pass: the image once per reference, then the references
            attribution = CaptumDeepLiftShap(ctx.model).attribute(ctx.x, baselines=references, target=ctx.target)
        scores = outputs[0][len(outputs[0]) // 2 :, ctx.target]  # the references' rows
        note_completeness(ctx, attribution, scores, "references' mean score")
        return attribution
