"""CAM (Zhou et al., 2016): the final convolution's maps weighted by the classifier's own weights; equal to
torch-cam's CAM (tested).

L = ReLU(Σ_k w_ck F^k), with F the features the global average pooling reads and w_c the class's row of the one
linear layer after it. No gradient: on such a network the class score is exactly the average of this map plus
the bias, which is why the method exists only there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from registry import Backbone, Context, Plugin
from registry.methods import HOW_TO_READ_A_CAM, upsample

_NEEDS = (
    "CAM reads the classifier's weights as channel weights, so it needs the network to end in global average "
    "pooling followed by one linear layer, and {reason} Grad-CAM asks the same question of any network: use it "
    "instead."
)


class Cam(Plugin):
    name = "cam"
    title = "CAM"
    family = "cam"
    description = (
        "The original class activation map: where a network that ends in global average pooling and one linear "
        "layer finds the chosen class. Each channel of the last convolutional layer is weighted by the "
        "classifier's own weight for the class and the channels are summed, so no gradient is needed: the "
        "class score is this map's average."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " The map is exact for these networks: averaging it over the picture gives the class score (less the bias)."
    )
    pitfalls = (
        "It exists only at the last convolutional layer (7×7 on a 224-pixel EfficientNet), so it is coarse; pick "
        "Grad-CAM for another layer or another kind of network. Negative evidence is cut off by the ReLU, so a "
        "region that argues against the class looks the same as one that does not matter."
    )
    needs_target = True
    cost = "light"

    def refusal(self, backbone: Backbone) -> str | None:
        refused = super().refusal(backbone)
        if refused:
            return refused
        reason = pooled_linear_head(backbone.model)
        return self.refused(backbone, _NEEDS.format(reason=reason)) if reason else None

    def compute(self, ctx: Context) -> torch.Tensor:
        with torch.no_grad():
            features = ctx.model.forward_features(ctx.x).float()
        rows = ctx.model.get_classifier().weight.float()
        if rows.shape[0] == 1:  # a binary head's one logit z: class 1 is explained as z, class 0 as −z
            weights = rows[0] if ctx.target == 1 else -rows[0]
        else:
            weights = rows[ctx.target]
        cam = F.relu(torch.einsum("k,bkhw->bhw", weights, features))
        return upsample(cam, ctx.view_size)


def pooled_linear_head(model: nn.Module) -> str | None:
    """None when `model`'s logits are one linear layer over the global average of `forward_features`' map;
    otherwise the end of a sentence saying what this model has instead.

    Checked on the head itself, with a small random map in place of the features: the head must give what the
    linear layer gives on that map's average (a norm, a second layer or a max pooling after the features
    would not), which costs no pass of the network."""
    if not callable(getattr(model, "forward_features", None)) or not callable(getattr(model, "forward_head", None)):
        return "this model does not say where its features end (it has no forward_features and forward_head)."
    classifier = model.get_classifier() if callable(getattr(model, "get_classifier", None)) else None
    if not isinstance(classifier, nn.Linear):
        return "its classifier is not one linear layer."
    probe = torch.randn(
        2, classifier.in_features, 3, 3, generator=torch.Generator().manual_seed(0), dtype=classifier.weight.dtype
    ).to(classifier.weight.device)
    try:
        with torch.no_grad():
            head = model.forward_head(probe)
            linear = classifier(probe.mean(dim=(2, 3)))
    except (RuntimeError, ValueError, TypeError, IndexError):
        return (
            "its head does not read a map with the classifier's channels (another layer sits in between, or it "
            "classifies from tokens, as a transformer does)."
        )
    if head.shape != linear.shape or not torch.allclose(head, linear, rtol=1e-4, atol=1e-4):
        return "its head does more between the features and the classifier (a norm, another layer or other pooling)."
    return None
