"""IS-CAM (Naidu et al., 2020, "IS-CAM: Integrated Score-CAM"): Score-CAM with each channel's score averaged along a
path of growing masks; equal to torch-cam's ISCAM (tested).

w_k = softmax_k(mean_i y_c(x ⊙ c_i M_k)), c_i = Σ_{j≤i} j / N for i = 1 … N (torch-cam's coefficients), M_k the
channel in [0, 1].
"""

import torch

from registry import Context
from registry.methods import HOW_TO_READ_A_CAM, SampledScoreCam, sampled_score_params


class IsCam(SampledScoreCam):
    name = "iscam"
    title = "IS-CAM"
    family = "cam"
    description = (
        "Integrated Score-CAM: like Score-CAM, each channel of the layer becomes a mask the image is seen through; "
        "here the mask is applied at growing strengths and the class scores along the way are averaged, as "
        "Integrated Gradients averages along a path. It costs one forward pass per channel and step."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " Each channel's weight is the average score of the image seen through its mask at growing strengths."
    )
    pitfalls = (
        "Slow: channels × steps forward passes, so only the most active channels are scored (the cap), and a "
        "channel left out counts as zero. torch-cam's strengths grow past 1 (up to (N + 1) / 2), so later steps "
        "show the model a brightened image."
    )
    quick_params = {"channels": 4, "samples": 2}  # the contract suite's settings: the same code, fewer passes
    params = sampled_score_params("Integration steps", "Mask strengths averaged per channel.")

    def sample_mask(self, masks: torch.Tensor, sample: int, ctx: Context) -> torch.Tensor:
        steps = ctx.params["samples"]
        return masks * sum((j + 1) / steps for j in range(sample + 1))
