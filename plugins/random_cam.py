"""RandomCAM (pytorch-grad-cam's control): the layer's channels under random weights; equal to pytorch-grad-cam's
RandomCAM under the same numpy seed (tested).

L = ReLU(Σ_k w_k A^k), w_k drawn uniformly from [−1, 1] by numpy's seeded legacy generator. It is not the trust
checks' random maps (registry/analysis/_faithfulness.py): those are noise on the feature grid that ignores the
image; this one keeps the layer's own structure, so it is the control a CAM must beat to show its weights matter.
"""

import numpy as np
import torch

from registry import ChannelCam, Context
from registry.methods import HOW_TO_READ_A_CAM, seed_note, seed_param


class RandomCam(ChannelCam):
    name = "random_cam"
    title = "RandomCAM"
    family = "cam"
    reads = ("activations",)
    description = (
        "A control, not an explanation: the layer's channels are summed with random weights between −1 and 1. "
        "Its map follows the shapes the layer sees but knows nothing of any class, so a method whose map looks "
        "no better than this one has not shown that its channel weights mean anything."
    )
    how_to_read = HOW_TO_READ_A_CAM.replace("for the chosen class ", "") + (
        " Here the weights are random: heat shows where the layer is active and the dice fell positive."
    )
    pitfalls = (
        "It can look convincing, because a layer's activations already sit on the objects: that is the point of "
        "the control. Another seed gives another map; the same seed gives the same one."
    )
    # Any seed is as good as another; this one's map is not blank on the bundled examples, with the default backbone
    # or the contract suite's tiny random one (seeds 0-3 leave test_resnet's last layer negative everywhere).
    params = (seed_param(default=5),)

    def channel_weights(self, ctx: Context) -> torch.Tensor:
        ctx.notes.append(seed_note(ctx.params["seed"]))
        channels = ctx.activations.shape[1]
        return torch.from_numpy(np.random.RandomState(ctx.params["seed"]).uniform(-1, 1, size=channels))
