"""Small pieces the attribution plugins share: the sign choice, baselines, upsampling, seeded noise.

Each plugin stays one short file; what several of them need (a CAM upsampled to the model view,
"which sign do you want to see", a black / blurred / noise baseline in the model's input space,
reproducible noise) lives here once. The settings they offer alike are in `_shared_params`.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from registry.models import Backbone, global_seed

__all__ = [
    "SEED",
    "INPUT_BASELINES",
    "SIGNS",
    "apply_sign",
    "baseline",
    "blank_channels",
    "channel_sum",
    "gaussian_blur",
    "seed_note",
    "seeded",
    "top_channels",
    "upsample",
]

SIGNS = ("all", "positive", "negative", "absolute")
# The reference input of a path attribution (Integrated Gradients); the trust checks' insertion canvas is
# another thing, registry.BASELINES (registry/analysis/_faithfulness.py).
INPUT_BASELINES = ("black", "blurred", "noise")
SEED = 0  # noise-based methods are seeded: the same request gives the same map


def seed_note(seed: int) -> str:
    """The sentence a sampled map carries, so a reader can reproduce it."""
    return f"Noise seed {seed}: the same image, settings and seed give this map exactly, whatever else the server runs."


def apply_sign(attribution: torch.Tensor, sign: str) -> torch.Tensor:
    """Keep the part of a signed map the user asked for (negative stays negative, so it shows blue)."""
    if sign == "positive":
        return attribution.clamp(min=0)
    if sign == "negative":
        return attribution.clamp(max=0)
    if sign == "absolute":
        return attribution.abs()
    return attribution


def channel_sum(attribution: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) input attribution → (H, W), summing colours so signs can cancel, as captum does."""
    return attribution[0].sum(dim=0)


def upsample(cam: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A layer-resolution map (h, w) or (1, 1, h, w) → (H, W) at the model view, bilinear."""
    cam = cam.reshape(1, 1, *cam.shape[-2:]).float()
    return F.interpolate(cam, size=size, mode="bilinear", align_corners=False)[0, 0]


def baseline(backbone: Backbone, x: torch.Tensor, kind: str) -> torch.Tensor:
    """A reference input in the model's input space: black pixels, a heavy blur of `x`, or uniform noise.

    The input is normalised per channel, ((pixel - mean) / std), so "black" is not zero here.
    """
    if kind == "black":
        return backbone.normalized(0.0, x).expand_as(x).contiguous()
    if kind == "blurred":  # blurring commutes with the per-channel normalisation
        sigma = max(x.shape[-2:]) / 20.0
        return gaussian_blur(x, 2 * int(2 * sigma) + 1, sigma)
    if kind == "noise":
        generator = torch.Generator(device="cpu").manual_seed(SEED)
        pixels = torch.rand(x.shape, generator=generator).to(device=x.device, dtype=x.dtype)
        return backbone.normalized(pixels, x)
    raise ValueError(f"unknown baseline {kind!r}; choose one of {INPUT_BASELINES}")


def gaussian_blur(x: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur per channel; reflected borders, so the edges do not darken."""
    offsets = torch.arange(kernel, dtype=x.dtype, device=x.device) - (kernel - 1) / 2
    line = torch.exp(-(offsets**2) / (2 * sigma**2))
    line = line / line.sum()
    channels = x.shape[1]
    pad = kernel // 2
    blurred = F.conv2d(
        F.pad(x, (pad, pad, 0, 0), mode="reflect"), line.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels
    )
    return F.conv2d(
        F.pad(blurred, (0, 0, pad, pad), mode="reflect"),
        line.view(1, 1, -1, 1).repeat(channels, 1, 1, 1),
        groups=channels,
    )


def seeded(device: torch.device, seed: int = SEED) -> contextlib.AbstractContextManager[None]:
    """Seed torch's and numpy's global generators for a block, restoring both afterwards; one seeded block runs
    at a time in the process (registry.models.global_seed), so a map does not change with what runs beside it.

    captum draws its noise and baseline choices from them (GradientShap uses numpy's).
    """
    return global_seed(seed, device)


def blank_channels(activations: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Which of the `chosen` channels of (1, C, h, w) are zero everywhere (a boolean per chosen channel):
    masking with one hides the whole image, switching one off changes nothing."""
    return ~activations[0, chosen].flatten(1).any(dim=1)


def top_channels(activations: torch.Tensor, cap: int) -> torch.Tensor:
    """Indices of the `cap` channels of (1, C, h, w) with the highest mean activation (all when cap ≥ C)."""
    strength = activations[0].float().flatten(1).mean(dim=1)
    if cap >= strength.numel():
        return torch.arange(strength.numel(), device=activations.device)
    return strength.topk(cap).indices.sort().values
