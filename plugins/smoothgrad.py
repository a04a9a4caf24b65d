"""SmoothGrad (Smilkov et al., 2017): captum's NoiseTunnel around Saliency, with seeded noise.

R = max over colour channels of mean_n |∂y_c/∂x (x + ε_n)|, ε_n ~ N(0, σ²), σ = noise · (max x − min x).
"""

from registry import Context, Plugin
from registry.methods import batch_param, noise_param, samples_param, seed_note, seed_param, seeded


class SmoothGrad(Plugin):
    name = "smoothgrad"
    title = "SmoothGrad"
    family = "gradients"
    description = (
        "Saliency averaged over noisy copies of the image. A single gradient is speckled because it reacts "
        "to tiny local wiggles; averaging over noise keeps what is stable, so the object's outline stands "
        "out. The noise is seeded, so the same image and seed give the same map."
    )
    how_to_read = (
        "Like saliency, bright pixels are those the score is most sensitive to, averaged over noisy copies so "
        "stable structures (outlines, textures of the object) stand out and speckle fades."
    )
    pitfalls = (
        "Still sensitivity, not importance. The noise level changes the picture a lot: too little and it is "
        "plain saliency, too much and it blurs into a blob. Few samples leave it noisy."
    )
    needs_target = True
    cost = "moderate"
    needs_gradients = True
    scale_percentile = 99.0
    quick_params = {"samples": 2}  # the contract suite's settings: the same code, fewer passes
    params = (
        samples_param("Noisy samples", "How many noisy copies are averaged; more is smoother and slower."),
        noise_param(0.15, "Standard deviation of the noise as a fraction of the input's range (10-20 % is typical)."),
        batch_param(6, 16, "Noisy copies evaluated together: bounds memory."),
        seed_param(),
    )

    def compute(self, ctx: Context):
        from captum.attr import NoiseTunnel, Saliency  # lazy: captum adds ~1 s to start-up

        spread = float(ctx.x.max() - ctx.x.min()) * ctx.params["noise"]
        ctx.notes.append(seed_note(ctx.params["seed"]))
        with seeded(ctx.x.device, ctx.params["seed"]):
            batches = -(-ctx.params["samples"] // ctx.params["batch_size"])  # each batch a step: budget and cancel
            attribution = NoiseTunnel(Saliency(ctx.counted(batches))).attribute(
                ctx.x,
                nt_type="smoothgrad",
                nt_samples=ctx.params["samples"],
                stdevs=spread,
                nt_samples_batch_size=ctx.params["batch_size"],
                target=ctx.target,
                abs=True,
            )
        return attribution[0].amax(dim=0)
