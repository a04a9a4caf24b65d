"""The perturbation methods that switch superpixels on and off (captum's Lime, KernelShap, FeatureAblation,
ShapleyValueSampling): one base, so each plugin is its declarations and the captum class it calls.

The features are SLIC superpixels of the model view (scikit-image): regions of similar colour that follow the
image's edges, so switching one off removes a part of an object rather than an arbitrary square. A switched-off
superpixel takes the baseline's pixels there: the image's own mean colour, or a heavy blur of it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from registry.methods._attribution import apply_sign, baseline, channel_sum, seed_note, seeded
from registry.methods._params import Param
from registry.methods._plugin import Context, Plugin
from registry.methods._shared_params import batch_param, seed_param, sign_param

__all__ = [
    "SUPERPIXEL_BASELINES",
    "SuperpixelAttribution",
    "superpixel_baseline",
    "superpixel_mask",
    "superpixel_params",
]

SUPERPIXEL_BASELINES = ("mean", "blurred")
COMPACTNESS = 10.0  # SLIC's balance of colour and place on its Lab scale: scikit-image's default, regular regions


def superpixel_mask(view: Image.Image, count: int, size: tuple[int, int]) -> torch.Tensor:
    """SLIC superpixels of the RGB `view` at `size` (H, W) as a (1, 1, H, W) long mask numbered 0 … n − 1, the
    feature mask captum's perturbation methods take (one id per region, shared by the colour channels).

    SLIC gives about `count` regions (fewer when the image is plain); the ids are renumbered so none is skipped.
    """
    from skimage.segmentation import slic  # here: scikit-image loads only when a superpixel method runs

    height, width = size
    if view.size != (width, height):
        view = view.resize((width, height), Image.BILINEAR)
    labels = slic(np.asarray(view.convert("RGB")), n_segments=count, compactness=COMPACTNESS, start_label=0)
    _, numbered = np.unique(labels, return_inverse=True)
    return torch.from_numpy(numbered.reshape(height, width).astype(np.int64))[None, None]


def superpixel_baseline(ctx: Context, kind: str) -> torch.Tensor:
    """What a switched-off superpixel shows: the image's mean colour (per channel), or the blurred image."""
    if kind == "mean":
        return ctx.x.mean(dim=(2, 3), keepdim=True).expand_as(ctx.x).contiguous()
    return baseline(ctx.backbone, ctx.x, kind)


def superpixel_params(samples: int | None, batch: int) -> tuple[Param, ...]:
    """The settings every superpixel method offers; a sampling one (`samples` given) adds its samples and seed."""
    sampled = () if samples is None else (_samples(samples), seed_param())
    return (
        Param(
            "superpixels",
            "int",
            30,
            label="Superpixels (about)",
            minimum=4,
            maximum=400,
            step=1,
            help="How many regions SLIC cuts the image into (about: a plain image gives fewer). More regions give "
            "a finer map and cost more passes.",
        ),
        *sampled,
        Param(
            "baseline",
            "choice",
            "mean",
            label="Switched-off regions show",
            choices=SUPERPIXEL_BASELINES,
            help="mean: the image's average colour; blurred: a heavy blur of the image (keeps the colours nearby).",
        ),
        batch_param(
            batch,
            64,
            "How many perturbed copies of the image go through the model at once (captum's perturbations_per_eval): "
            "more is faster on a GPU but needs more memory.",
            label="Perturbations per batch",
        ),
        sign_param(),
    )


def _samples(default: int) -> Param:
    return Param(
        "samples",
        "int",
        default,
        label="Samples",
        minimum=1,
        maximum=1000,
        step=1,
        help="Random perturbations (for Shapley value sampling: random orders of the regions); more is steadier "
        "and slower.",
    )


class SuperpixelAttribution(Plugin):
    """A captum perturbation method on SLIC superpixels. A subclass names its captum class in `explainer`, says
    how many batches it runs in `batches`, and may add keyword arguments for the explainer in `options`."""

    family = "perturbation"
    needs_target = True
    cost = "heavy"
    signed = True
    scale_percentile = 100.0  # a map of flat regions: no few extreme pixels to clip
    explainer: ClassVar[str] = ""  # the name of the captum.attr class
    sampled: ClassVar[bool] = True  # takes n_samples and a seed

    def batches(self, features: int, samples: int, batch: int) -> int:
        """How many times the model runs, for progress and the time budget."""
        return -(-samples // batch)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for the captum class's constructor beyond the model."""
        return {}

    def compute(self, ctx: Context) -> torch.Tensor:
        import captum.attr  # lazy: captum adds ~1 s to start-up

        params = ctx.params
        mask = superpixel_mask(ctx.view, params["superpixels"], tuple(ctx.x.shape[-2:])).to(ctx.x.device)
        features, samples = int(mask.max()) + 1, params.get("samples", 0)
        forward = ctx.counted(self.batches(features, samples, params["batch_size"]))
        explainer = getattr(captum.attr, self.explainer)(forward, **self.options())
        arguments = {"n_samples": samples} if self.sampled else {}
        shown = "the image's mean colour" if params["baseline"] == "mean" else "a blur of the image"
        ctx.notes.append(f"{features} superpixels (SLIC); a switched-off one shows {shown}.")
        if self.sampled:
            ctx.notes.append(seed_note(params["seed"]))
        with seeded(ctx.x.device, params.get("seed", 0)):
            attribution = explainer.attribute(
                ctx.x,
                baselines=superpixel_baseline(ctx, params["baseline"]),
                target=ctx.target,
                feature_mask=mask,
                perturbations_per_eval=params["batch_size"],
                **arguments,
            )
        return apply_sign(channel_sum(attribution.detach()), params["sign"])
