"""FEM, the Feature Explanation Method (Fuad et al., 2020), from the shared pass; checked against
pytorch-grad-cam's FEM.

L = ReLU(Σ_k w_k A^k), w_k = the share of channel k's locations above its mean + k_σ standard deviations:
a channel counts by how much of it stands out, no class and no gradient.
"""

import torch

from registry import ChannelCam, Context, Param
from registry.methods import HOW_TO_READ_A_CAM


class Fem(ChannelCam):
    name = "fem"
    title = "FEM"
    family = "cam"
    description = (
        "Needs no class and no gradient: each channel of the layer counts by the share of its locations that "
        "stand out (above the channel's mean by a few standard deviations), and the channels are summed with "
        "those weights. It shows where the layer's unusual responses gather."
    )
    how_to_read = HOW_TO_READ_A_CAM.replace("for the chosen class ", "") + (
        " The map is the same whichever class you pick: it shows what stands out to the layer, not to a class."
    )
    pitfalls = (
        "It is not a class explanation: with two objects, the map may sit on the one you did not ask about. The "
        "threshold (how many standard deviations) decides which channels count; a channel with one sharp peak "
        "weighs little however strong the peak."
    )
    reads = ("activations",)
    params = (
        Param(
            "sigmas",
            "float",
            2.0,
            label="Standard deviations above the mean",
            minimum=0.0,
            maximum=4.0,
            step=0.5,
            help="A location stands out when it is this many standard deviations above its channel's mean.",
        ),
    )

    def channel_weights(self, ctx: Context) -> torch.Tensor:
        activations = ctx.activations.float()
        mean = activations.mean(dim=(2, 3), keepdim=True)
        spread = activations.std(dim=(2, 3), correction=0, keepdim=True)
        return (activations > mean + ctx.params["sigmas"] * spread).float().mean(dim=(2, 3))
