"""The class-activation-map family's one shape: a weighted sum of a layer's channels.

Grad-CAM, Grad-CAM++, XGrad-CAM, Score-CAM and Ablation-CAM differ only in how they weigh the
channels (torch-cam's `_CAM._get_weights` draws the same line), so a subclass writes only
`channel_weights`; the sum, the ReLU and the upsampling to the model view live here once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from registry.methods._attribution import upsample
from registry.methods._plugin import Context, Plugin

__all__ = ["ChannelCam"]


class ChannelCam(Plugin):
    """A plugin whose map is ReLU(Σ_k w_k A^k) at its layer, upsampled to the model view."""

    needs_layer = True
    output = "heatmap"

    def channel_weights(self, ctx: Context) -> torch.Tensor:
        """One weight per channel of `ctx.activations` (shape (K,) or (1, K, 1, 1)) for `ctx.target`."""
        raise NotImplementedError(f"{type(self).__name__} must define channel_weights(ctx)")

    def compute(self, ctx: Context) -> torch.Tensor:
        activations = ctx.activations.float()
        weights = self.channel_weights(ctx).float().reshape(1, -1, 1, 1).to(activations.device)
        return upsample(F.relu((weights * activations).sum(dim=1)), ctx.view_size)
