"""GradientSHAP (Lundberg and Lee, 2017) with captum: expected gradients from noisy baselines, seeded.

φ = E_{x', α}[(x − x') ⊙ ∂y_c/∂x at x' + α(x − x')], x' drawn from noisy baselines.
"""

import torch

from registry import Context, Plugin
from registry.methods import (
    apply_sign,
    baseline,
    batch_param,
    channel_sum,
    noise_param,
    samples_param,
    seed_note,
    seed_param,
    seeded,
    sign_param,
)


class GradientShap(Plugin):
    name = "gradient_shap"
    title = "GradientSHAP"
    family = "gradients"
    description = (
        "A quick estimate of SHAP values: gradients taken at random points between the image and a few "
        "reference images (black, blurred, noise), times the difference to them, averaged. Red pixels "
        "raised the class score compared with the references, blue ones lowered it; the noise is seeded."
    )
    how_to_read = (
        "Red pixels raised the class score compared with the references, blue ones lowered it. It averages "
        "gradients over random points between the image and several references."
    )
    pitfalls = (
        "It is an estimate: with few samples it is noisy, and it changes with the references and noise level. "
        "SHAP's guarantees assume independent features, which neighbouring pixels are not."
    )
    needs_target = True
    cost = "moderate"
    needs_gradients = True
    signed = True
    scale_percentile = 99.0
    quick_params = {"samples": 2}  # the contract suite's settings: the same code, fewer passes
    params = (
        samples_param("Samples", "Random points between image and references; more is steadier and slower."),
        noise_param(0.05, "Noise added to each sample, as a fraction of the input's range."),
        batch_param(
            6, 16, "Samples evaluated together: bounds memory (each costs about one forward and backward pass)."
        ),
        sign_param(),
        seed_param(),
    )

    def compute(self, ctx: Context):
        from captum.attr import GradientShap as CaptumGradientShap  # lazy: captum adds ~1 s to start-up

        references = torch.cat([baseline(ctx.backbone, ctx.x, kind) for kind in ("black", "blurred", "noise")])
        spread = float(ctx.x.max() - ctx.x.min()) * ctx.params["noise"]
        total, batch = ctx.params["samples"], ctx.params["batch_size"]
        sizes = [min(batch, total - start) for start in range(0, total, batch)]  # captum would take all at once
        explainer = CaptumGradientShap(ctx.counted(len(sizes)))  # each batch a step: progress, budget, cancel
        attribution = torch.zeros_like(ctx.x)
        ctx.notes.append(seed_note(ctx.params["seed"]))
        with seeded(ctx.x.device, ctx.params["seed"]):
            for size in sizes:  # the mean of the batches' means, weighted by their sizes, is the mean of all
                part = explainer.attribute(
                    ctx.x, baselines=references, n_samples=size, stdevs=spread, target=ctx.target
                )
                attribution += part.detach() * (size / total)
        return apply_sign(channel_sum(attribution), ctx.params["sign"])
