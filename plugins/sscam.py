"""SS-CAM (Wang et al., 2020, "SS-CAM: Smoothed Score-CAM"): Score-CAM with each channel's score averaged over
noisy copies of its mask; equal to torch-cam's SSCAM under the same seed (tested).

w_k = softmax_k(mean_i y_c(x ⊙ (M_k + δ_i))), δ_i ~ N(0, σ²) at the input's size, M_k the channel in [0, 1].
"""

import torch

from registry import Context, Param
from registry.methods import (
    HOW_TO_READ_A_CAM,
    SampledScoreCam,
    sampled_score_params,
    seed_note,
    seed_param,
)


class SsCam(SampledScoreCam):
    name = "sscam"
    title = "SS-CAM"
    family = "cam"
    description = (
        "Smoothed Score-CAM: like Score-CAM, each channel of the layer becomes a mask the image is seen through, "
        "and the class score then becomes the channel's weight; here noise is added to each mask several times "
        "and the scores are averaged, which steadies the weights. It costs one forward pass per channel and sample."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " Each channel's weight is the average score of the image seen through noisy copies of that channel's mask."
    )
    pitfalls = (
        "Slow: channels × samples forward passes, so only the most active channels are scored (the cap), and a "
        "channel left out counts as zero. The noise is strong by default (σ = 2 on masks in [0, 1], torch-cam's "
        "value): the masked images are far from natural ones. The noise is seeded; another seed shows its share."
    )
    quick_params = {"channels": 4, "samples": 2}  # the contract suite's settings: the same code, fewer passes
    params = (
        *sampled_score_params("Noisy samples", "Noisy copies of every mask; the scores are averaged."),
        Param(
            "noise",
            "float",
            2.0,
            label="Noise (σ)",
            minimum=0.0,
            maximum=4.0,
            step=0.1,
            help="Standard deviation of the Gaussian noise added to the masks, which lie in [0, 1].",
        ),
        seed_param(),
    )

    def sample_mask(self, masks: torch.Tensor, sample: int, ctx: Context) -> torch.Tensor:
        if sample == 0:
            ctx.notes.append(seed_note(ctx.params["seed"]))
        # drawn on the CPU from the seeded global generator, one (channels, H, W) draw a sample, as torch-cam does
        noise = torch.randn(masks.shape) * ctx.params["noise"]
        return masks + noise.to(device=masks.device, dtype=masks.dtype)
