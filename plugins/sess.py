"""SESS, Saliency Enhancing with Scaling and Sliding (Tursun et al., 2022), over any gradient CAM; checked against
pytorch-grad-cam's SESS.

The image is enlarged to several scales and cut into windows of the model's input size; each window's CAM (stretched
to [0, 1]) is weighted by the window's probability for the class (over the best window's), put back where the
window came from, and the windows are fused: at each pixel, the mean of the maps that are positive there (or their
maximum), then a Gaussian blur. Small or repeated objects get windows of their own, so they are not lost.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import registry
from registry import Context, Param, Plugin
from registry.methods import FUSABLE_CAMS, HOW_TO_READ_A_CAM, base_maps, gaussian_blur

SCALE_STEP = 2 / 7  # each scale is the previous one plus this share of the window (224, 288, 352, … as in the paper)
BLUR = (11, 5.0)  # the fused map's Gaussian blur: kernel size and sigma, as the paper's code


class Sess(Plugin):
    name = "sess"
    title = "SESS"
    family = "cam"
    cost = "heavy"
    description = (
        "Makes a CAM see small and repeated objects: the image is enlarged to several scales and cut into "
        "windows the model's own size, each window gets its own CAM, weighted by how sure the model is of the "
        "class in that window, and the maps are put back together."
    )
    how_to_read = HOW_TO_READ_A_CAM.split(" The map is computed")[0] + (
        " Every window is explained at the layer's resolution, so the fused map is finer than one CAM of the "
        "whole image; windows where the class is unlikely count little."
    )
    pitfalls = (
        "It costs a forward and a backward pass per window: two scales are 5 windows, four are 30 (the paper "
        "uses twelve). A window that cuts an object in half may not see it; the larger scales help there."
    )
    needs_target = True
    needs_layer = True
    needs_gradients = True
    quick_params = {"scales": 1}  # the contract suite's settings: the same code, fewer passes
    params = (
        Param(
            "base",
            "choice",
            "gradcam",
            label="CAM of each window",
            choices=FUSABLE_CAMS,
            help="The method each window is explained with (Grad-CAM is the paper's).",
        ),
        Param(
            "scales",
            "int",
            2,
            label="Scales",
            minimum=1,
            maximum=12,
            step=1,
            help="How many sizes the image is enlarged to (1 is the image alone); each adds windows.",
        ),
        Param(
            "pool",
            "choice",
            "mean",
            label="Fusion",
            choices=("mean", "max"),
            help="mean: each pixel averages the windows whose maps are positive there; max: the strongest one.",
        ),
        Param("smooth", "bool", True, label="Blur the fused map", help="A Gaussian blur, as the paper does."),
    )

    def compute(self, ctx: Context) -> torch.Tensor:
        base = registry.get_plugin(ctx.params["base"])
        height, width = ctx.x.shape[-2:]
        window = min(height, width)
        windows = list(sliding_windows(ctx.x, window, ctx.params["scales"]))
        maps, scores, places = [], [], []
        for done, (patch, place) in enumerate(windows, start=1):
            (cam,), probabilities = base_maps(base, ctx, patch, [ctx.layer], (window, window))
            maps.append(cam)
            scores.append(max(float(probabilities[ctx.target]), 0.0))
            places.append(place)
            ctx.step(done, len(windows))
        best = max(scores)
        weights = [score / best if best > 0 else 1.0 for score in scores]
        total, counts = torch.zeros(height, width), torch.zeros(height, width)
        for cam, weight, (left, top, scaled) in zip(maps, weights, places):
            canvas = torch.zeros(scaled)
            canvas[top : top + window, left : left + window] = cam * weight
            pasted = F.interpolate(canvas[None, None], size=(height, width), mode="bilinear", align_corners=False)[0, 0]
            if ctx.params["pool"] == "max":
                total = torch.maximum(total, pasted)
            else:
                total += pasted.clamp(min=0)
                counts += (pasted > 0).float()
        fused = total if ctx.params["pool"] == "max" else torch.where(counts > 0, total / counts.clamp(min=1), 0.0)
        if ctx.params["smooth"]:
            fused = gaussian_blur(fused[None, None], *BLUR)[0, 0]
        ctx.notes.append(
            f"SESS fused {base.title} maps of {len(windows)} windows of {window}×{window} pixels at "
            f"{ctx.params['scales']} scale{'s' * (ctx.params['scales'] > 1)}."
        )
        return fused - fused.min()


def sliding_windows(x: torch.Tensor, window: int, scales: int):
    """Yield (patch, (left, top, (scaled height, scaled width))) for every window of every scale: the image's
    shorter side resized to each scale, then windows of `window` pixels, stepping by a window, the last of each row
    and column shifted back inside the image."""
    height, width = x.shape[-2:]
    step = round(window * SCALE_STEP)
    for scale in (window + step * i for i in range(scales)):
        size = (scale, int(scale * width / height)) if height <= width else (int(scale * height / width), scale)
        scaled = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        for top in starts(size[0], window):
            for left in starts(size[1], window):
                yield scaled[..., top : top + window, left : left + window], (left, top, size)


def starts(length: int, window: int) -> list[int]:
    """Where the windows along one side begin: every `window` pixels, the last one ending at the border."""
    found = []
    for start in range(0, length, window):
        if start + window >= length:
            found.append(max(length - window, 0))
            break
        found.append(start)
    return found
