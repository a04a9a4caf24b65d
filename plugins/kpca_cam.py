"""KPCA-CAM (Karmani et al., 2024): Eigen-CAM with a kernel PCA; checked against pytorch-grad-cam's KPCA_CAM.

L = ReLU(first kernel principal component of the layer's centred locations), by scikit-learn's KernelPCA,
signed high where the layer is active.
"""

import torch
import torch.nn.functional as F

from registry import Context, Param, Plugin
from registry.methods import oriented


class KpcaCam(Plugin):
    name = "kpca_cam"
    title = "KPCA-CAM"
    family = "cam"
    description = (
        "Eigen-CAM with a kernel: the layer's locations are compared through a non-linear kernel before the "
        "dominant pattern is taken (a kernel principal component), so patterns that a straight line through "
        "the activations misses can still lead. No class and no gradient."
    )
    how_to_read = (
        "Warm colours mark the dominant pattern of the layer's activations under the kernel. It is the same for "
        "every class: it shows what the layer finds most salient, usually the main object."
    )
    pitfalls = (
        "It is not a class explanation. The kernel and its scale change the map; the sign of a component is "
        "arbitrary and is chosen so the map is high where the layer is most active, which is usually, not always, "
        "the object."
    )
    needs_layer = True
    reads = ("activations",)
    cost = "moderate"
    params = (
        Param(
            "kernel",
            "choice",
            "sigmoid",
            label="Kernel",
            choices=("sigmoid", "rbf", "poly", "cosine", "linear"),
            help="How two locations are compared; 'linear' gives Eigen-CAM's map.",
        ),
    )

    def compute(self, ctx: Context) -> torch.Tensor:
        activations = ctx.activations[0].float()
        flat = activations.flatten(1).T.cpu().double()
        centred = flat - flat.mean(dim=0)
        from sklearn.decomposition import KernelPCA  # here: scikit-learn (and pandas under it) load on first use

        component = KernelPCA(n_components=1, kernel=ctx.params["kernel"]).fit_transform(centred.numpy())
        projection = torch.from_numpy(component[:, 0]).float()
        return F.relu(oriented(projection, flat.sum(dim=1).float())).reshape(activations.shape[1:])
