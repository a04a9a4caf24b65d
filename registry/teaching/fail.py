"""Make it fail: controlled changes to the picture the model sees, and how the answer and the map move.

    result = fail.make_it_fail(backbone, "examples/rocket.jpg", "upside_down")
    result.before.top5, result.after.top5, result.sentence
    test = fail.cover_test(backbone, "examples/coffee.png")
    test.drop_top, test.drop_random   # covering the Grad-CAM region vs random regions of the same size

Every change is made to the model view (the picture the network actually saw) and reaches the
model through the tensor half of its preprocessing, so the changed picture and its map stay
pixel-aligned with the original. Grad-CAM comes from the registered plugin, run on the shared pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter, ImageOps

from registry.imaging import render, samples
from registry.methods._discovery import get_plugin
from registry.methods._plugin import Visualization
from registry.methods._runner import Job, check_applies, compute_jobs
from registry.models import Backbone
from registry.teaching import _describe as describe

__all__ = [
    "CHANGES",
    "COVER_AREA",
    "GREY",
    "RANDOM_REGIONS",
    "SEED",
    "Change",
    "CoverTest",
    "Explained",
    "FailResult",
    "cover_test",
    "explain_view",
    "make_it_fail",
]

GREY = (128, 128, 128)  # what a covered or rotated-in pixel becomes: the middle of the range
COVER_AREA = 1 / 9  # the covered square: a third of each side, one cell of a 3×3 grid
RANDOM_REGIONS = 8  # random squares averaged for the score to beat
SEED = 0


@dataclass(frozen=True)
class Change:
    """One controlled change: its title and what it does to the model view at a strength in [0, 1]."""

    title: str
    apply: Callable[[Image.Image, float], Image.Image]
    amount: Callable[[float], str]  # the change in words at a strength, e.g. "rotated by 90°"


def _rotate(view: Image.Image, strength: float) -> Image.Image:
    return view.rotate(round(180 * strength), resample=Image.Resampling.BILINEAR, fillcolor=GREY)


def _crop(view: Image.Image, strength: float) -> Image.Image:
    keep = 1 - 0.75 * strength
    width, height = view.size
    box = (
        round(width * (1 - keep) / 2),
        round(height * (1 - keep) / 2),
        round(width * (1 + keep) / 2),
        round(height * (1 + keep) / 2),
    )
    return view.crop(box).resize(view.size, Image.Resampling.BILINEAR)


def _noise(view: Image.Image, strength: float) -> Image.Image:
    rng = np.random.default_rng(SEED)
    pixels = np.asarray(view, dtype=np.float64) + rng.normal(0.0, 80 * strength, size=(view.height, view.width, 3))
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


CHANGES: dict[str, Change] = {
    "rotate": Change("Rotate", _rotate, lambda s: f"rotated by {round(180 * s)}°"),
    "upside_down": Change("Flip upside down", lambda view, _s: ImageOps.flip(view), lambda _s: "flipped upside down"),
    "crop": Change(
        "Crop (zoom in)", _crop, lambda s: f"cropped to the central {100 * (1 - 0.75 * s):.0f} % of each side"
    ),
    "cover": Change(
        "Grey out the Grad-CAM region", lambda view, _s: view, lambda _s: "greyed out over its hottest Grad-CAM square"
    ),
    "blur": Change(
        "Blur",
        lambda view, s: view.filter(ImageFilter.GaussianBlur(8 * s)),
        lambda s: f"blurred (radius {8 * s:.1f} px)",
    ),
    "noise": Change("Add noise", _noise, lambda s: f"made noisy (σ = {80 * s:.0f} grey levels)"),
    "greyscale": Change(
        "Greyscale", lambda view, _s: ImageOps.grayscale(view).convert("RGB"), lambda _s: "turned to greyscale"
    ),
}


@dataclass
class Explained:
    """One picture through the model: its top-5, every probability, and Grad-CAM for its top-1."""

    view: Image.Image
    probabilities: torch.Tensor
    top5: list[tuple[int, str, float]]
    gradcam: Visualization


@dataclass
class CoverTest:
    """Covering the top Grad-CAM square vs random squares of the same size: how far the class probability falls."""

    target: int
    label: str
    probability: float  # before covering
    side: int  # the square's side in model-view pixels
    top_box: tuple[int, int]  # (x, y) of the Grad-CAM square's top-left corner
    random_boxes: list[tuple[int, int]]
    top_probability: float
    random_probabilities: list[float]
    top_view: Image.Image
    random_view: Image.Image  # the first random square, to show

    @property
    def drop_top(self) -> float:
        return self.probability - self.top_probability

    @property
    def drop_random(self) -> float:
        """The mean drop over the random squares."""
        return self.probability - float(np.mean(self.random_probabilities))

    @property
    def area(self) -> float:
        return self.side**2 / (self.top_view.width * self.top_view.height)

    def sentence(self) -> str:
        verdict = (
            "the map points at what the model uses"
            if self.drop_top > self.drop_random
            else "the map is no better than chance at finding what the model uses here"
        )
        return (
            f"Greying out the Grad-CAM square ({self.side}×{self.side} px, {describe.percent(self.area)} of the "
            "image) moves "
            f"the probability of {self.label} from {self.probability:.3f} to {self.top_probability:.3f} "
            f"({'down' if self.drop_top >= 0 else 'up'} by {abs(self.drop_top):.3f}); greying out a random square of "
            f"the same size {'lowers' if self.drop_random >= 0 else 'raises'} it by {abs(self.drop_random):.3f} "
            "on average over "
            f"{len(self.random_probabilities)} positions: {verdict}."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "label": self.label,
            "p": round(self.probability, 4),
            "p_top_covered": round(self.top_probability, 4),
            "drop_top": round(self.drop_top, 4),
            "drop_random": round(self.drop_random, 4),
            "side": self.side,
            "area": round(self.area, 4),
        }


@dataclass
class FailResult:
    """A change, the picture before and after it through the model, and what moved."""

    change: str
    amount: str
    before: Explained
    after: Explained
    sentence: str
    figure: Image.Image
    cover: CoverTest | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


def explain_view(backbone: Backbone, view: Image.Image, target: int | None = None) -> Explained:
    """Top-5 and Grad-CAM (for `target`, default the top-1) of a model view, in one shared pass."""
    plugin = get_plugin("gradcam")  # switched off: a sentence saying so, not a KeyError
    check_applies(plugin, backbone)  # no classifier head: nothing to explain, said in words
    job = Job(plugin, target, None, plugin.resolve_params({}))
    run = compute_jobs(backbone, backbone.view_tensor(view), view, [job])
    gradcam = plugin.finish(job.ctx, job.raw, job.probability, run.seconds + job.seconds)
    probabilities = run.shared.probabilities
    top5 = backbone.ranked(probabilities, 5)
    return Explained(view, probabilities, top5, gradcam)


def _square_sums(heatmap: np.ndarray, side: int) -> np.ndarray:
    """Total heat in every side×side window (index: its top-left corner)."""
    tensor = torch.as_tensor(np.asarray(heatmap, dtype=np.float32))[None, None]
    return F.avg_pool2d(tensor, side, stride=1)[0, 0].numpy()


def _covered(view: Image.Image, box: tuple[int, int], side: int) -> Image.Image:
    pixels = np.array(view.convert("RGB"))
    x, y = box
    pixels[y : y + side, x : x + side] = GREY
    return Image.fromarray(pixels)


def cover_test(
    backbone: Backbone,
    image: Any,
    target: int | None = None,
    area: float = COVER_AREA,
    regions: int = RANDOM_REGIONS,
    seed: int = SEED,
    before: Explained | None = None,
) -> CoverTest:
    """Grey out the square of `area` (a fraction of the image) holding the most Grad-CAM heat for `target`
    (default: the top-1), then `regions` random squares of the same size; the probabilities in one batch."""
    if not 0 < area < 1:
        raise ValueError(f"The covered area is a fraction of the image between 0 and 1, not {area}.")
    if before is None:
        _x, view = backbone.prepare(image)
        before = explain_view(backbone, view, target)
    view, result = before.view, before.gradcam
    side = max(1, round(np.sqrt(area * view.width * view.height)))
    sums = _square_sums(result.heatmap, side)
    y, x = np.unravel_index(int(sums.argmax()), sums.shape)
    rng = np.random.default_rng(seed)
    boxes = [
        (int(rng.integers(0, view.width - side + 1)), int(rng.integers(0, view.height - side + 1)))
        for _ in range(regions)
    ]
    views = [_covered(view, (int(x), int(y)), side)] + [_covered(view, box, side) for box in boxes]
    batch = torch.cat([backbone.view_tensor(v) for v in views])
    with backbone.lock, torch.no_grad():
        probabilities = backbone.activate(backbone.model(batch))[:, result.target].cpu().numpy()
    return CoverTest(
        result.target,
        result.label,
        float(before.probabilities[result.target]),
        side,
        (int(x), int(y)),
        boxes,
        float(probabilities[0]),
        [float(p) for p in probabilities[1:]],
        views[0],
        views[1],
    )


def make_it_fail(backbone: Backbone, image: Any, change: str, strength: float = 0.5) -> FailResult:
    """Apply one of CHANGES to the model view at `strength` (0 to 1); explain the picture before and after."""
    if change not in CHANGES:
        raise ValueError(f"There is no change called {change!r}; the changes are: {', '.join(CHANGES)}.")
    if not 0 <= float(strength) <= 1:
        raise ValueError(f"The strength is between 0 and 1, not {strength}.")
    spec = CHANGES[change]
    _x, view = backbone.prepare(image)
    before = explain_view(backbone, view)
    cover = None
    if change == "cover":
        cover = cover_test(backbone, image, before=before)
        changed = cover.top_view
    else:
        changed = spec.apply(view, float(strength))
    after = explain_view(backbone, changed)
    sample = samples.identify(image) if isinstance(image, (str, Path)) else None
    sentence = _moved(spec.amount(float(strength)), before, after, sample)
    if cover is not None:
        sentence += " " + cover.sentence()
    pictures = [view, before.gradcam.images[0], changed, after.gradcam.images[0]]
    captions = ["before", "Grad-CAM", "after", "Grad-CAM"]  # the classes are in the top-5 table: captions stay short
    bars = [None, _colour_bar(before.gradcam), None, _colour_bar(after.gradcam)]  # each map on its own scale
    if cover is not None:
        pictures.append(cover.random_view)
        captions.append("random")
    figure = render.grid(pictures, captions, columns=len(pictures), below=bars)
    numbers = {"top1_before": before.top5[0][0], "top1_after": after.top5[0][0]} | (cover.as_dict() if cover else {})
    return FailResult(change, spec.amount(float(strength)), before, after, sentence, figure, cover, numbers)


def _colour_bar(result: Visualization) -> Image.Image | None:
    """The bar under a Grad-CAM map: what its colours mean, in raw units (none for a map that is zero everywhere)."""
    if not result.scale:
        return None
    return render.colorbar(result.images[0].width, result.colormap, result.scale, result.signed)


def _moved(amount: str, before: Explained, after: Explained, sample: samples.Sample | None) -> str:
    """What the change did to the answer, its probability and the map, in one or two sentences."""
    (old, old_label, old_p), (new, new_label, new_p) = before.top5[0], after.top5[0]
    still = float(after.probabilities[old])
    rank = int((after.probabilities > after.probabilities[old]).sum()) + 1
    if new == old:
        answer = f"the top-1 stays {old} {old_label}, its probability going from {old_p:.2f} to {new_p:.2f}"
    else:
        answer = (
            f"the top-1 changes from {old} {old_label} (p = {old_p:.2f}) to {new} {new_label} (p = {new_p:.2f}); "
            f"{old_label} falls to p = {still:.2f}, ranked {rank}"
        )
    judged = ""
    if sample is not None and sample.classes:
        was, now = (samples.judge(sample, index).right for index in (old, new))
        judged = (
            " — a right answer turned wrong"
            if was and not now
            else " — a wrong answer turned right"
            if now and not was
            else " — still right"
            if now
            else " — still wrong"
        )
    places = [describe.place(explained.gradcam.heatmap) for explained in (before, after)]
    shares = [
        describe.percent(describe.share(describe.hot_mask(explained.gradcam.heatmap))) for explained in (before, after)
    ]
    moved = f"stays in {places[0]}" if places[0] == places[1] else f"moves from {places[0]} to {places[1]}"
    return (
        f"With the picture {amount}, {answer}{judged}. The Grad-CAM heat (for each picture's top-1) {moved} and "
        f"covers {shares[1]} of the image instead of {shares[0]}."
    )
