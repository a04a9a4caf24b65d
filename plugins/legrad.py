"""LeGrad (Bousselham et al., 2024: explaining a vision transformer by the sensitivity of each block's feature
formation); equal to torch-cam's LeGrad (tested).

For every block l: s^l = the model's own final norm and head applied to the average of the block's output tokens
(class and register tokens included, as the paper's code and torch-cam average them), and
E^l = mean over heads and queries of ReLU(∂s^l_c / ∂A^l), with A^l the block's post-softmax attention. The map is the
patch keys of E^l (prefix keys dropped) on the patch grid, averaged over the blocks. Attention values themselves are
not multiplied in.
"""

from __future__ import annotations

import torch
from torch import nn

from registry import Backbone, Context, Plugin
from registry.methods import HOW_TO_READ_A_CAM, upsample
from registry.models import token_grid

_INSTEAD = " Grad-CAM asks where the evidence for a class lies on any network: use it instead."
_NOT_A_TRANSFORMER = (
    "LeGrad follows the class score into the attention maps of a vision transformer's blocks, and this network has "
    "no patch tokens and no attention (it is convolutional)." + _INSTEAD
)
_OTHER_BLOCKS = (
    "LeGrad reads the attention maps of a ViT-style model's blocks (ViT, DeiT, EVA: one `blocks` list whose attention "
    "can run unfused), and this transformer {reason}." + _INSTEAD
)


class LeGrad(Plugin):
    name = "legrad"
    title = "LeGrad"
    family = "cam"
    description = (
        "Where a vision transformer finds the chosen class, read from its attention: at every block the model's "
        "own head scores the block's average token, and LeGrad takes how that score rises as each patch receives "
        "more attention (the positive gradient with respect to the attention map), averaged over heads, queries "
        "and blocks. For transformers only (ViT, DeiT, EVA); on a convolutional network use Grad-CAM."
    )
    how_to_read = HOW_TO_READ_A_CAM.replace(
        "the layer's resolution (7×7 at the final stage of a 224-pixel EfficientNet)",
        "the transformer's patch grid (14×14 for a ViT with 16-pixel patches at 224 pixels)",
    ) + (
        " Every block contributes, the early ones included, so the map is the class's evidence as the tokens are "
        "formed, not only at the end."
    )
    pitfalls = (
        "The map has one value per patch, so it is coarse. Only attention counts: evidence that reaches the score "
        "through the MLPs without changing where a block attends is not shown. A block's score comes from the "
        "average of its tokens, as in the paper, not from the class token the model classifies with, so the last "
        "blocks' maps need not match what the head reads."
    )
    needs_target = True
    needs_gradients = True
    reads = ("attention",)  # every block's tokens and attention maps, from the shared forward pass
    api_version = "1.9"
    cost = "light"

    def refusal(self, backbone: Backbone) -> str | None:
        refused = super().refusal(backbone)  # no head: that sentence first
        reason = None if refused else _unreadable(backbone)
        return self.refused(backbone, reason) if reason else refused

    def compute(self, ctx: Context) -> torch.Tensor:
        return upsample(legrad_map(ctx.backbone, ctx.attention_maps, ctx.target), ctx.view_size)


def legrad_map(backbone: Backbone, blocks: list[tuple[torch.Tensor, torch.Tensor]], target: int) -> torch.Tensor:
    """LeGrad's map of class `target` on the patch grid (h, w), before any normalisation, from each block's
    (output tokens, post-softmax attention) of one forward pass with their graph (the shared pass's
    `attention_maps`): one short backward per block, from the block's own score to its attention map, through that
    block and the head only."""
    grid = token_grid(backbone.model, backbone.data_config["input_size"])
    keys = grid.prefix + grid.height * grid.width
    if not blocks or any(maps.ndim != 4 or maps.shape[-1] != keys for _, maps in blocks):
        raise ValueError(
            f"LeGrad could not read the attention maps of {backbone.name}: its blocks do not compute attention as "
            "timm's ViT does." + _INSTEAD
        )
    relevance = []
    for tokens, maps in blocks:
        (gradient,) = torch.autograd.grad(_class_score(backbone.model, tokens, target), maps, retain_graph=True)
        keyed = gradient.clamp(min=0).mean(dim=(1, 2))[0, grid.prefix :]  # over heads and queries; prefix keys dropped
        relevance.append(keyed.reshape(grid.height, grid.width))
    return torch.stack(relevance).mean(dim=0).detach().float()


def _class_score(model: nn.Module, tokens: torch.Tensor, target: int) -> torch.Tensor:
    """The class score a block's tokens give: the final norm and the model's own head applied to their average
    (placed at every position, so the head's pooling, whichever it is, reads that average)."""
    average = tokens.mean(dim=1, keepdim=True).expand_as(tokens)
    logits = model.forward_head(getattr(model, "norm", nn.Identity())(average))
    if logits.shape[-1] == 1:  # a binary head's one logit z: class 1 is z, class 0 is −z
        return logits[0, 0] if target == 1 else -logits[0, 0]
    return logits[0, target]


def _unreadable(backbone: Backbone) -> str | None:
    """None when LeGrad can read `backbone`'s attention; otherwise why not, in words."""
    model = backbone.model
    grid = token_grid(model, backbone.data_config["input_size"])
    if grid is None:
        return _NOT_A_TRANSFORMER
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.Sequential | nn.ModuleList) or not len(blocks):
        return _OTHER_BLOCKS.format(reason="keeps its blocks in stages (as Swin does) or has no attention")
    if grid.nhwc:
        return _OTHER_BLOCKS.format(reason="holds its maps as (height, width, channels) grids, not tokens")
    for block in blocks:
        attn = getattr(block, "attn", None)
        if not isinstance(getattr(attn, "attn_drop", None), nn.Dropout) or not hasattr(attn, "fused_attn"):
            return _OTHER_BLOCKS.format(reason="computes its attention in a way LeGrad cannot read")
    if not callable(getattr(model, "forward_head", None)):
        return _OTHER_BLOCKS.format(reason="does not say where its head starts (it has no forward_head)")
    return None
