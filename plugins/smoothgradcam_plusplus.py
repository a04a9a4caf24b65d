"""Smooth Grad-CAM++ (Omeiza et al., 2019): Grad-CAM++ with its gradient terms averaged over noisy copies of the
input, as SmoothGrad averages saliency; torch-cam's SmoothGradCAMpp is the oracle (tested, with what differs).

L = ReLU(Σ_k w_k A^k), w_k = Σ_ij α^k_ij ReLU(ḡ^k_ij), α = mean g² / (2 mean g² + Σ_ab A^k_ab mean g³),
g = ∂y_c/∂A at x + ε_n, ε_n ~ N(0, σ²) in the model's input space, A the layer's activations on the image itself.
"""

import torch

from registry import Context, Param
from registry.methods import (
    HOW_TO_READ_A_CAM,
    ChannelCam,
    batch_param,
    gradients_of,
    record_forward,
    samples_param,
    seed_note,
    seed_param,
    seeded,
)


class SmoothGradCamPlusPlus(ChannelCam):
    name = "smoothgradcam_plusplus"
    title = "Smooth Grad-CAM++"
    family = "cam"
    description = (
        "Grad-CAM++ made steadier the way SmoothGrad steadies saliency: the layer's gradients are taken on several "
        "noisy copies of the image and averaged before Grad-CAM++ weighs the channels with them. The noise is "
        "seeded, so the same image and seed give the same map."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " Like Grad-CAM++ it tends to cover every instance of the class; the noise smooths away weights that hang "
        "on one exact pixel pattern."
    )
    pitfalls = (
        "Few samples leave the average noisy, and too much noise blurs the class into the background. It costs one "
        "forward and backward pass per sample. A wider map is not a more faithful one; compare deletion scores."
    )
    needs_target = True
    needs_gradients = True
    cost = "moderate"
    reads = ("activations",)
    quick_params = {"samples": 2}  # the contract suite's settings: the same code, fewer passes
    params = (
        samples_param("Noisy samples", "Noisy copies of the image whose gradients are averaged.", default=4),
        Param(
            "noise",
            "float",
            0.3,
            label="Noise (σ)",
            minimum=0.0,
            maximum=2.0,
            step=0.05,
            help="Standard deviation of the noise, in the model's normalised input units (torch-cam's 0.3).",
        ),
        batch_param(4, 32, "Noisy copies evaluated together: bounds memory."),
        seed_param(),
    )

    def channel_weights(self, ctx: Context) -> torch.Tensor:
        activations = ctx.activations.float()
        samples, batch = ctx.params["samples"], ctx.params["batch_size"]
        ctx.notes.append(seed_note(ctx.params["seed"]))
        with seeded(ctx.x.device, ctx.params["seed"]):  # one (1, 3, H, W) draw a sample on the CPU, as torch-cam
            noise = torch.cat([torch.randn(ctx.x.shape) * ctx.params["noise"] for _ in range(samples)])
        sums = [torch.zeros_like(activations[0]) for _ in range(3)]  # Σ g, Σ g², Σ g³ over the samples
        for start in range(0, samples, batch):
            noisy = (ctx.x.detach() + noise[start : start + batch].to(ctx.x)).requires_grad_(True)
            logits, outputs = record_forward(ctx.backbone, noisy, [ctx.layer])
            gradients = ctx.layout.to_map(gradients_of(logits[:, ctx.target].sum(), outputs)[ctx.layer]).float()
            for power, total in enumerate(sums, start=1):
                total += gradients.pow(power).sum(dim=0)
            ctx.step(min(start + batch, samples), samples)
        mean, squared, cubed = (total / samples for total in sums)
        alpha = squared / (2 * squared + (cubed * activations[0]).sum(dim=(1, 2), keepdim=True) + 1e-8)
        return (alpha * mean.clamp(min=0)).sum(dim=(1, 2))
