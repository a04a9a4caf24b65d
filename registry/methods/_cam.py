"""The class-activation-map family's one shape: a weighted sum of a layer's channels.

Grad-CAM, Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM, Score-CAM and Ablation-CAM differ only in how
they weigh the channels (torch-cam's `_CAM._get_weights` draws the same line), so a subclass writes
only `channel_weights`; the sum, the ReLU and the upsampling to the model view live here once. The
ones weighed by the class score's gradient share their declarations too (torch-cam's `_GradCAM`).
"""

from __future__ import annotations

import contextlib
import dataclasses

import torch
import torch.nn.functional as F

from registry.methods._attribution import seeded, top_channels, upsample
from registry.methods._plugin import Context, Plugin
from registry.methods._shared_pass import SharedPass

__all__ = [
    "FUSABLE_CAMS",
    "HOW_TO_READ_A_CAM",
    "ChannelCam",
    "GradientCam",
    "PerturbationCam",
    "SampledScoreCam",
    "base_maps",
    "first_component",
    "layer_unit_masks",
    "oriented",
]

# How to read any class activation map; each method's `how_to_read` adds a sentence of its own.
HOW_TO_READ_A_CAM = (
    "Warm colours mark where the evidence for the chosen class lies; blue means none (not evidence "
    "against). The map is computed at the layer's resolution (7×7 at the final stage of a 224-pixel "
    "EfficientNet) and stretched to the image, so read it as *which part of the picture*, not *which "
    "pixels*."
)


class ChannelCam(Plugin):
    """A plugin whose map is ReLU(Σ_k w_k A^k) at its layer, upsampled to the model view."""

    needs_layer = True
    output = "heatmap"

    def channel_weights(self, ctx: Context) -> torch.Tensor:
        """The weights of `ctx.activations`' channels for `ctx.target`: one a channel, shape (K,) or (1, K, 1, 1),
        or one a channel and location, (1, K, h, w), as HiResCAM and LayerCAM weigh them."""
        raise NotImplementedError(f"{type(self).__name__} must define channel_weights(ctx)")

    def layer_map(self, ctx: Context) -> torch.Tensor:
        """ReLU(Σ_k w_k A^k) at the layer's resolution, (1, h, w)."""
        activations = ctx.activations.float()
        weights = self.channel_weights(ctx).float().to(activations.device)
        if weights.dim() != activations.dim():
            weights = weights.reshape(1, -1, 1, 1)
        return F.relu((weights * activations).sum(dim=1))

    def compute(self, ctx: Context) -> torch.Tensor:
        return upsample(self.layer_map(ctx), ctx.view_size)


class GradientCam(ChannelCam):
    """A CAM weighed by the class score's gradient at its layer: it reads both from the shared pass."""

    needs_target = True
    needs_gradients = True
    reads = ("activations", "gradients")


# The CAMs a fusion method (RefineCAM's layers, SESS's patches) can take as its base: those whose map is read from
# one pass's activations and gradients, so another pass (more layers, another input) gives theirs too.
FUSABLE_CAMS = ("gradcam", "gradcam_plusplus", "xgradcam", "hirescam", "layercam", "gradcam_elementwise", "shapley_cam")


def base_maps(
    base: ChannelCam, ctx: Context, x: torch.Tensor, layers: list[str], size: tuple[int, int]
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """`base`'s maps of `layers` for `ctx`'s class on input `x` (one image), from one forward and one backward of
    their own (the job's pass holds one layer of one input), each upsampled to `size` and stretched to [0, 1] as a
    fusion method combines them; and the class probabilities of `x`. Call it from `compute` (under the lock)."""
    shared = SharedPass(ctx.backbone, x, layers=layers, gradients=True)
    values = base.resolve_params({})
    maps = []
    for layer in layers:
        one = dataclasses.replace(ctx, layer=layer, shared=shared, params=values, notes=[], warnings=[])
        cam = upsample(base.layer_map(one), size)  # its remarks are about one part: the fusion words its own
        cam = cam - cam.min()
        maps.append(cam / (cam.max() + 1e-7))
    return maps, shared.probabilities


class PerturbationCam(ChannelCam):
    """A CAM weighed by forward passes of changed inputs, one per channel tried (Score-CAM, Ablation-CAM): no
    gradients, and heavy, so a plugin caps the channels it tries (`channel_cap_param`)."""

    needs_target = True
    cost = "heavy"
    reads = ("activations",)


class SampledScoreCam(PerturbationCam):
    """Score-CAM with each channel's score averaged over samples of its mask (SS-CAM: noise added to it; IS-CAM:
    the mask scaled up step by step), as torch-cam's SSCAM and ISCAM compute them: channel k weighs
    softmax_k(mean_i y_c(x ⊙ sample_mask(M_k, i))), M_k the channel stretched to [0, 1] at the layer, then upsampled.

    torch-cam subtracts the blank image's score from every score first; a softmax does not change when one number
    is subtracted from all its inputs, so that pass is not run. A subclass writes `sample_mask`, and offers the
    parameters "channels", "samples" and "batch_size" (and "seed" when it draws noise: the draws are seeded)."""

    def sample_mask(self, masks: torch.Tensor, sample: int, ctx: Context) -> torch.Tensor:
        """The i-th sample (0-based) of the chosen channels' (n, 1, H, W) masks, as the factor the input is
        multiplied by."""
        raise NotImplementedError(f"{type(self).__name__} must define sample_mask(masks, sample, ctx)")

    def channel_weights(self, ctx: Context) -> torch.Tensor:
        activations = ctx.activations.float()
        chosen = top_channels(activations, ctx.params["channels"])
        masks = layer_unit_masks(activations[:, chosen], ctx.x.shape[-2:])[0, :, None].to(ctx.x.dtype)
        samples, batch = ctx.params["samples"], ctx.params["batch_size"]
        totals = torch.zeros(len(chosen))
        steps = samples * -(-len(chosen) // batch)
        noise = seeded(ctx.x.device, ctx.params["seed"]) if "seed" in ctx.params else contextlib.nullcontext()
        with torch.no_grad(), noise:
            for sample in range(samples):  # one sample of every channel at a time, in torch-cam's order of draws
                sampled = self.sample_mask(masks, sample, ctx)
                for start in range(0, len(chosen), batch):
                    logits = ctx.model(ctx.x * sampled[start : start + batch])
                    totals[start : start + batch] += logits[:, ctx.target].float().cpu()
                    ctx.step(sample * -(-len(chosen) // batch) + start // batch + 1, steps)
        ctx.notes.append(
            f"{self.title} scored {len(chosen)} of {activations.shape[1]} channels, {samples} samples each: "
            f"{len(chosen) * samples} masked forward passes."
        )
        weights = torch.zeros(activations.shape[1])  # the channels not scored weigh nothing
        weights[chosen.cpu()] = (totals / samples).softmax(dim=0)
        return weights


def layer_unit_masks(activations: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """(1, K, h, w) channels each stretched to [0, 1] at the layer, then upsampled bilinearly to `size`: torch-cam's
    order for its Score-CAM variants (Score-CAM here stretches after upsampling, as pytorch-grad-cam does)."""
    flat = activations.flatten(2)
    low = flat.amin(dim=2)[..., None, None]
    stretched = activations - low
    stretched = stretched / (stretched.flatten(2).amax(dim=2)[..., None, None] + 1e-8)
    return F.interpolate(stretched, size=tuple(size), mode="bilinear", align_corners=False)


def oriented(projection: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """A principal component's projection (one value a location) with the sign that makes it high where
    `strength` is: an SVD or a kernel PCA fixes a component only up to its sign, so without this a map may show
    the strongest locations as the cold part (pytorch-grad-cam's Eigen-CAM, Eigen-Grad-CAM and KPCA-CAM leave it)."""
    return -projection if torch.dot(projection.flatten(), (strength - strength.mean()).flatten()) < 0 else projection


def first_component(maps: torch.Tensor) -> torch.Tensor:
    """The (h, w) projection of a (K, h, w) stack's centred locations on its first principal component, signed
    high where the stack's channel sum is (Eigen-CAM's map, and Eigen-Grad-CAM's of gradient × activation)."""
    flat = maps.float().flatten(1).T  # one row per location
    centred = flat - flat.mean(dim=0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return oriented(centred @ vh[0], flat.sum(dim=1)).reshape(maps.shape[1:])
