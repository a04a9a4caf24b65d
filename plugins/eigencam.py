"""Eigen-CAM (Muhammad and Yeasin, 2020): the first principal component of a layer's activations.

L = ReLU((A − Ā) v₁): the centred (HW × K) activations on their first right singular vector, signed high where A is.
"""

import torch.nn.functional as F

from registry import Context, Plugin
from registry.methods import first_component


class EigenCam(Plugin):
    name = "eigencam"
    title = "Eigen-CAM"
    family = "cam"
    description = (
        "Needs no class and no gradient: it finds the single spatial pattern that explains most of the "
        "layer's activations (their first principal component). It shows what the layer finds most "
        "salient overall, so the map is the same whichever class you pick."
    )
    how_to_read = (
        "Warm colours mark the dominant spatial pattern of the layer's activations. It is the same for every "
        "class: it shows what the layer finds most salient, usually the main object."
    )
    pitfalls = (
        "It is not a class explanation: with two objects, the map may sit on the one you did not ask about. "
        "The sign of a principal component is arbitrary; it is chosen so the map is high where the layer is "
        "most active, which is usually, not always, the object."
    )
    needs_layer = True
    reads = ("activations",)

    def compute(self, ctx: Context):
        return F.relu(first_component(ctx.activations[0]))
