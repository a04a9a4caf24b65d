"""Eigen-CAM (Muhammad and Yeasin, 2020): the first principal component of a layer's activations.

L = ReLU((A − Ā) v₁): the centred (HW × K) activations on their first right singular vector, signed high where A is.
"""

import torch
import torch.nn.functional as F

from registry import Context, Plugin


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
        activations = ctx.activations[0].float()  # (C, h, w)
        flat = activations.flatten(1).T  # one row per location
        centred = flat - flat.mean(dim=0)
        _, _, vh = torch.linalg.svd(centred, full_matrices=False)
        projection = centred @ vh[0]
        # An SVD fixes a component only up to its sign: choose the sign that makes the map high
        # where the layer is active, so strong activations never show as the cold part.
        strength = flat.sum(dim=1)
        if torch.dot(projection, strength - strength.mean()) < 0:
            projection = -projection
        return F.relu(projection).reshape(activations.shape[1:])
