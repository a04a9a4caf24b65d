"""Deletion and insertion (Petsiuk et al., RISE, 2018): does the map rank pixels the way the model uses them?

    score = registry.faithfulness(backbone, image, result)
    score.deletion_auc, score.insertion_auc, score.random_deletion_auc, score.figure

Deletion removes pixels in the map's order, most important first, and follows the probability of
the explained class: a faithful map makes it collapse early (low area under the curve). Insertion
reveals pixels in the same order onto a blurred copy: a faithful map makes it rise early (high
area). A number alone says little, so the same curves are computed for random maps (several
seeds) and for the map's own inverse (least important first): the scores a map must beat.

Everything happens in the model's input space (the tensor `backbone.prepare` gives; the heatmap is
aligned with it), and every masked image goes through the model in batches of at most
`batch_size`, so memory stays bounded however many steps are asked for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from registry.methods._attribution import gaussian_blur
from registry.methods._plugin import PluginTimeout, Progress, Visualization, report, time_budget
from registry.methods._request import RequestStopped, check_request, in_lane
from registry.models import RANDOM, Backbone, load_backbone

__all__ = [
    "BASELINES",
    "CLEAR_SPREADS",
    "MIN_SEEDS",
    "DEFAULT_BATCH",
    "DEFAULT_SEEDS",
    "DEFAULT_STEPS",
    "MAX_STEPS",
    "TIE_SEED",
    "CurveTest",
    "FaithfulnessScore",
    "Verdict",
    "faithfulness",
    "faithfulness_for_cells",
    "masked",
    "random_grid",
    "random_map",
    "ranking",
    "substrate",
]

BASELINES = ("blur", "grey", "zero")
BLUR_KERNEL, BLUR_SIGMA = 11, 5.0  # the reference's insertion canvas (RISE evaluation.py)
DEFAULT_STEPS = 20  # as torch-cam's metric
MAX_STEPS = 224
DEFAULT_SEEDS = 8  # 3 under-estimated the spread by half on the cat (0.035 against 0.065 over 10): see RESULTS.md
DEFAULT_BATCH = 4  # fastest on a 2-core CPU: bigger batches overflow its cache
TIE_SEED = 12345  # equal map values are ordered at random, the same way every time
CLEAR_SPREADS = 2.0  # a map beats the random maps when its AUC is better than their mean by this many spreads
MIN_SEEDS = 5  # fewer random maps than this give no spread worth the name, so no verdict


def _measured(measure: str, curve: str) -> property:
    """One figure of one curve read as an attribute: `deletion_auc` is `auc("deletion")`."""
    return property(lambda self: getattr(self, measure)(curve), doc=f"{measure} of the {curve} curve")


@dataclass
class FaithfulnessScore:
    """Deletion and insertion curves of one map, with the random and inverse maps it must beat.

    `curves[name]` is the class probability after each step (`fractions` of the pixels removed or
    revealed); the random curves have one row per seed. AUCs are trapezoid areas over [0, 1].
    """

    plugin: str
    backbone: str
    target: int
    label: str
    steps: int
    baseline: str  # what insertion starts from (the pixels not yet revealed)
    deletion_baseline: str  # what a deleted pixel becomes
    fractions: np.ndarray
    curves: dict[str, np.ndarray]
    random_grid: tuple[int, int] = (7, 7)  # the random maps' resolution before upsampling
    seconds: float = 0.0
    forward_passes: int = 0
    stopped: str | None = None  # why the scoring ended early; the curves are the ones it finished
    _figure: Image.Image | None = field(default=None, repr=False)

    def auc(self, curve: str) -> float:
        """Area under one curve (for the random curves: the mean over seeds); NaN if it was not computed."""
        if curve not in self.curves:
            return float("nan")
        values = np.atleast_2d(self.curves[curve])
        return float(np.mean([np.trapezoid(row, self.fractions) for row in values]))

    def spread(self, curve: str) -> float:
        """Sample standard deviation over seeds of a random curve's area (0 for a single curve)."""
        if curve not in self.curves:
            return float("nan")
        values = np.atleast_2d(self.curves[curve])
        areas = [np.trapezoid(row, self.fractions) for row in values]
        return float(np.std(areas, ddof=1)) if len(areas) > 1 else 0.0

    def test(self, mode: str) -> CurveTest:
        """One curve ("deletion" or "insertion") against the random maps and the map's reverse order."""
        return CurveTest(
            mode,
            self.auc(mode),
            self.auc(f"random_{mode}"),
            self.spread(f"random_{mode}"),
            self.auc(f"inverse_{mode}"),
            self.seeds,
        )

    @property
    def verdict(self) -> Verdict:
        """Whether the map beats random: on both curves, clearly better than the random maps and than its own
        reverse order; otherwise the tests it fails, in words."""
        return Verdict((self.test("deletion"), self.test("insertion")))

    deletion_auc = _measured("auc", "deletion")
    insertion_auc = _measured("auc", "insertion")
    random_deletion_auc = _measured("auc", "random_deletion")
    random_insertion_auc = _measured("auc", "random_insertion")
    random_deletion_spread = _measured("spread", "random_deletion")
    random_insertion_spread = _measured("spread", "random_insertion")
    inverse_deletion_auc = _measured("auc", "inverse_deletion")
    inverse_insertion_auc = _measured("auc", "inverse_insertion")

    @property
    def seeds(self) -> int:
        return int(np.atleast_2d(self.curves["random_deletion"]).shape[0])

    @property
    def figure(self) -> Image.Image:
        """Both curves of the map against the random band and the inverse map (matplotlib, as PIL)."""
        if self._figure is None:
            from registry.analysis._figures import faithfulness_figure

            self._figure = faithfulness_figure(self)
        return self._figure

    def as_dict(self) -> dict[str, Any]:
        """The numbers as plain data (for JSON, a table row, or Compare's AUC column)."""
        numbers = {
            name: None if np.isnan(value) else round(value, 4)
            for name, value in (
                ("deletion_auc", self.deletion_auc),
                ("insertion_auc", self.insertion_auc),
                ("random_deletion_auc", self.random_deletion_auc),
                ("random_deletion_spread", self.random_deletion_spread),
                ("random_insertion_auc", self.random_insertion_auc),
                ("random_insertion_spread", self.random_insertion_spread),
                ("inverse_deletion_auc", self.inverse_deletion_auc),
                ("inverse_insertion_auc", self.inverse_insertion_auc),
            )
        }
        verdict = self.verdict
        return {
            "plugin": self.plugin,
            "backbone": self.backbone,
            "target": self.target,
            "label": self.label,
            "steps": self.steps,
            "baseline": self.baseline,
            "deletion_baseline": self.deletion_baseline,
            "seeds": self.seeds,
            **numbers,
            "beats_random": verdict.beats_random,
            "fails": list(verdict.failures),
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "curves": {name: np.round(values, 5).tolist() for name, values in self.curves.items()},
            "fractions": np.round(self.fractions, 5).tolist(),
        }


@dataclass(frozen=True)
class CurveTest:
    """One curve's two tests: is the map's AUC clearly better than the random maps' (by `CLEAR_SPREADS` of their
    spread, with at least `MIN_SEEDS` of them), and better than its own reverse order's? Deletion is better lower,
    insertion higher."""

    mode: str  # "deletion" or "insertion"
    mine: float
    random: float  # the random maps' mean AUC
    spread: float  # their standard deviation
    inverse: float  # the reverse order's AUC; NaN when it was not scored
    seeds: int  # how many random maps

    @property
    def gain(self) -> float:
        """How much better than the random maps' mean the map scores (positive: better)."""
        return (self.random - self.mine) if self.mode == "deletion" else (self.mine - self.random)

    @property
    def spreads(self) -> float:
        """The gain in spreads of the random maps (inf when they all scored the same)."""
        if self.spread > 0:
            return self.gain / self.spread
        return 0.0 if self.gain == 0 else float(np.copysign(np.inf, self.gain))

    @property
    def beats_random(self) -> bool:
        return self.seeds >= MIN_SEEDS and self.spreads > CLEAR_SPREADS

    @property
    def worse_than_random(self) -> bool:
        return self.seeds >= MIN_SEEDS and self.spreads < -CLEAR_SPREADS

    @property
    def beats_inverse(self) -> bool:
        """Better than the reverse order (NaN, not scored: False)."""
        return bool(self.mine < self.inverse) if self.mode == "deletion" else bool(self.mine > self.inverse)

    def failures(self) -> list[str]:
        """A sentence for each test this curve fails."""
        wanted = "lower" if self.mode == "deletion" else "higher"
        numbers = f"{self.mine:.3f} against {self.random:.3f} ± {self.spread:.3f}"
        said = []
        if self.seeds < MIN_SEEDS:
            said.append(
                f"{self.mode}: only {self.seeds} random map{'' if self.seeds == 1 else 's'} scored, too few for a "
                f"spread (at least {MIN_SEEDS})"
            )
        elif self.worse_than_random:
            said.append(f"{self.mode}: its AUC is worse than the random maps' ({numbers}; {wanted} is better)")
        elif not self.beats_random:
            said.append(
                f"{self.mode}: its AUC is within {CLEAR_SPREADS:g} spreads of the random maps' ({numbers}), so a "
                "random map could score as well"
            )
        if np.isnan(self.inverse):
            said.append(f"{self.mode}: its reverse order was not scored")
        elif not self.beats_inverse:
            action = "deleting" if self.mode == "deletion" else "revealing"
            effect = "lowers the probability" if self.mode == "deletion" else "raises the probability"
            said.append(
                f"{self.mode}: its AUC ({self.mine:.3f}) is no {wanted} than its own reverse order's "
                f"({self.inverse:.3f}): {action} the pixels it ranks least important first {effect} as fast"
            )
        return said


@dataclass(frozen=True)
class Verdict:
    """The map beats random only when every curve passes both tests; otherwise `failures` says which fail."""

    tests: tuple[CurveTest, ...]

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(sentence for test in self.tests for sentence in test.failures())

    @property
    def beats_random(self) -> bool:
        return not self.failures


def faithfulness(
    backbone: Backbone,
    image: Any,
    result: Visualization,
    steps: int = DEFAULT_STEPS,
    baseline: str = "blur",
    deletion_baseline: str = "zero",
    seeds: int = DEFAULT_SEEDS,
    batch_size: int = DEFAULT_BATCH,
    inverse: bool = True,
    progress: Progress | None = None,
) -> FaithfulnessScore:
    """Deletion and insertion scores of `result`'s heatmap for `result.target` on `image`.

    `baseline` is the canvas insertion starts from and `deletion_baseline` what deleted pixels
    become, each one of "blur" (Gaussian, kernel 11, sigma 5), "grey" (a mid-grey image) or "zero"
    (zeros in the model's input space: the dataset's mean colour). The defaults are the reference's.
    `seeds` random maps give the score to beat (and `inverse` the map's own reverse order);
    `batch_size` bounds how many images run at once. Scoring stopped midway (a budget, or its visitor gone)
    keeps the curves it finished and says why in `stopped`, once the map's two curves and one random map
    of each are done (before that it raises the stop's sentence).

    `verdict` says whether the map beats random: on both curves clearly outside the random maps' spread and
    better than its own reverse order.

    The random maps are uniform noise on the grid of the backbone's final feature map (7×7 for a
    224-pixel EfficientNet), smoothly upsampled: coherent regions, like the maps they stand in for.
    Pixel-wise noise would scatter the deletions over the whole image, which wrecks a CNN's input
    faster than removing any region does, and every real map would look worse than chance.
    """
    started = time.perf_counter()
    steps, seeds, batch_size = _checked(steps, baseline, deletion_baseline, seeds, batch_size)
    heatmap = _checked_map(backbone, result)
    x, _ = backbone.prepare(image)
    height, width = x.shape[-2:]
    if heatmap.shape != (height, width):
        raise ValueError(
            f"The map is {heatmap.shape[0]}×{heatmap.shape[1]} but {backbone.name} sees {height}×{width} "
            "pixels; compute the map on this backbone and image."
        )
    target = int(result.target) if result.target is not None else int(backbone.probabilities(x).argmax())
    counts = np.rint(np.linspace(0, height * width, steps + 1)).astype(np.int64)
    orders = {"map": ranking(heatmap)}
    grid = random_grid(backbone)
    if inverse:
        orders["inverse"] = ranking(-heatmap)
    for seed in range(seeds):
        orders[f"random{seed}"] = ranking(random_map(grid, (height, width), seed))
    canvases = {"deletion": substrate(backbone, x, deletion_baseline), "insertion": substrate(backbone, x, baseline)}
    probabilities = _Probabilities(backbone, target, batch_size, progress, total=3 + len(orders) * 2 * (steps - 1))
    jobs = [(name, mode) for name in orders for mode in ("deletion", "insertion")]
    images = chain(
        [x[0], canvases["deletion"][0], canvases["insertion"][0]],  # the ends every curve shares
        *(masked(x, canvases[mode], orders[name], counts[1:-1], mode) for name, mode in jobs),
    )
    values = probabilities(images)  # one stream, so every batch is full
    jobs, stopped = _finished(jobs, len(values), steps, seeds, probabilities.stopped)
    ends, inner = values[:3], values[3 : 3 + len(jobs) * (steps - 1)].reshape(len(jobs), steps - 1)
    curves: dict[str, list] = {}
    for (name, mode), middle in zip(jobs, inner):
        first, last = (ends[0], ends[1]) if mode == "deletion" else (ends[2], ends[0])
        key = mode if name == "map" else f"{'random' if name.startswith('random') else 'inverse'}_{mode}"
        curves.setdefault(key, []).append(np.concatenate([[first], middle, [last]]))
    return FaithfulnessScore(
        plugin=result.plugin,
        backbone=backbone.name,
        target=target,
        label=backbone.labels[target],
        steps=steps,
        baseline=baseline,
        deletion_baseline=deletion_baseline,
        fractions=counts / (height * width),
        curves={key: (np.stack(rows) if key.startswith("random") else rows[0]) for key, rows in curves.items()},
        random_grid=grid,
        seconds=time.perf_counter() - started,
        forward_passes=probabilities.images,
        stopped=stopped,
    )


def _finished(jobs: list[tuple[str, str]], done: int, steps: int, seeds: int, stop: str | None):
    """The (order, mode) jobs whose curves are whole after `done` images, and the sentence saying what was cut;
    the stop itself, raised, when too little is done to score (the map's curves and one random map of each)."""
    if stop is None:
        return jobs, None
    whole = max(0, done - 3) // (steps - 1) // 2 * 2  # deletion and insertion of one order come in pairs
    kept = jobs[:whole]
    randoms = sum(1 for name, mode in kept if name.startswith("random") and mode == "deletion")
    if randoms == 0:
        raise RequestStopped(stop)
    cut = [] if randoms == seeds else [f"{randoms} of {seeds} random maps"]
    return kept, f"{stop} Scored with what was finished{': ' + ', '.join(cut) if cut else ''}."


def ranking(heatmap: np.ndarray, seed: int = TIE_SEED) -> np.ndarray:
    """Pixel indices from most to least important; equal values in a fixed random order, not raster order."""
    flat = np.asarray(heatmap, dtype=np.float64).ravel()
    tie_break = np.random.default_rng(seed).random(flat.size)
    return np.lexsort((tie_break, -flat))


def random_grid(backbone: Backbone) -> tuple[int, int]:
    """The resolution of the backbone's final feature map: the scale at which random maps vary."""
    layer = backbone.layer_info(backbone.default_layer)
    return (layer.height, layer.width) if layer is not None else (7, 7)


def random_map(grid: tuple[int, int], size: tuple[int, int], seed: int) -> np.ndarray:
    """Uniform noise on `grid`, bilinearly upsampled to `size`: a random map with coherent regions."""
    noise = torch.as_tensor(np.random.default_rng(seed).random(grid), dtype=torch.float32)
    return F.interpolate(noise[None, None], size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def substrate(backbone: Backbone, x: torch.Tensor, kind: str) -> torch.Tensor:
    """The image that replaces removed pixels, in the model's input space, same shape as `x`."""
    if kind == "zero":
        return torch.zeros_like(x)
    if kind == "grey":
        return backbone.normalized(0.5, x).expand_as(x).clone()
    return gaussian_blur(x, BLUR_KERNEL, BLUR_SIGMA)


def masked(x: torch.Tensor, canvas: torch.Tensor, order: np.ndarray, counts: np.ndarray, mode: str):
    """Yield, for each count, `x` with that many top-ranked pixels deleted (or revealed on `canvas`)."""
    height, width = x.shape[-2:]
    positions = torch.empty(height * width, dtype=torch.long)
    positions[torch.as_tensor(order)] = torch.arange(height * width)  # each pixel's place in the order
    positions = positions.view(1, height, width).to(x.device)
    for count in counts:
        chosen = (positions < int(count)).to(x.dtype)  # the `count` most important pixels
        yield (
            (x[0] * (1 - chosen) + canvas[0] * chosen)
            if mode == "deletion"
            else (canvas[0] * (1 - chosen) + x[0] * chosen)
        )


class _Probabilities:
    """The class probability of many images, run through the model `batch_size` at a time under its lock."""

    def __init__(self, backbone: Backbone, target: int, batch_size: int, progress: Progress | None, total: int):
        self.backbone, self.target, self.batch_size = in_lane(backbone), target, batch_size
        self.progress, self.total, self.images = progress, total, 0
        self.deadline = time.monotonic() + time_budget()
        self.stopped: str | None = None  # the sentence of a stop midway; the values before it are returned

    def __call__(self, images) -> np.ndarray:
        values: list[np.ndarray] = []
        batch: list[torch.Tensor] = []
        try:
            for image in images:
                batch.append(image)
                if len(batch) == self.batch_size:
                    values.append(self._run(batch))
                    batch = []
            if batch:
                values.append(self._run(batch))
        except (RequestStopped, PluginTimeout) as exc:
            self.stopped = str(exc)
        return np.concatenate(values) if values else np.empty(0)

    def _run(self, batch: list[torch.Tensor]) -> np.ndarray:
        check_request("The faithfulness scoring", self.images, self.total)
        if time.monotonic() > self.deadline:
            raise PluginTimeout(
                f"The faithfulness scoring stopped after {self.images} of {self.total} images: it ran past its time "
                f"budget of {time_budget():g} s (CNNLENS_TIME_BUDGET). Try fewer steps or seeds."
            )
        stacked = torch.stack(batch)
        with self.backbone.lock, torch.inference_mode():  # one computation per model at a time
            logits = self.backbone.model(stacked)
        self.images += len(batch)
        report(
            self.progress,
            min(self.images, self.total),
            self.total,
            f"{self.images} of {self.total} images through the model",
        )
        return self.backbone.activate(logits)[:, self.target].cpu().numpy()


def _checked(steps: Any, baseline: str, deletion_baseline: str, seeds: Any, batch_size: Any) -> tuple[int, int, int]:
    for name, value, low, high in (
        ("steps", steps, 2, MAX_STEPS),
        ("seeds", seeds, 1, 20),
        ("batch_size", batch_size, 1, 512),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high}; got {value!r}.")
    for name, value in (("baseline", baseline), ("deletion_baseline", deletion_baseline)):
        if value not in BASELINES:
            raise ValueError(f"{name} must be one of {', '.join(BASELINES)}; got {value!r}.")
    return int(steps), int(seeds), int(batch_size)


def _checked_map(backbone: Backbone, result: Visualization) -> np.ndarray:
    if not isinstance(result, Visualization):
        raise ValueError(f"Pass the result of plugin.run (a Visualization); got {type(result).__name__}.")
    if result.heatmap is None:
        raise ValueError(f"{result.plugin} shows images, not a heatmap, so it ranks no pixels to delete or insert.")
    if result.backbone != backbone.name:
        raise ValueError(
            f"This map was computed on {result.backbone}, not {backbone.name}; score it on the backbone it explains."
        )
    return np.asarray(result.heatmap, dtype=np.float32)


def faithfulness_for_cells(
    comparison,
    image: Any,
    backbones: dict[str, Backbone] | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> dict[str, FaithfulnessScore]:
    """Scores for every heatmap cell of a `registry.compare` result, keyed by `cell.key`; `settings` (steps,
    baseline, deletion_baseline, seeds, batch_size, inverse) as `faithfulness` takes them, with its defaults.

    For Compare's AUC column: `row |= scores[cell.key].as_dict()` (or pick deletion_auc and
    insertion_auc), so methods and backbones can be ranked on one image. Cells without a map
    (errors, image-only methods) are left out. Backbones are the cached ones unless given. A request
    stopped midway (its budget, or its visitor gone) keeps the scores finished before it.
    """
    cells = [cell for cell in comparison.cells if cell.result is not None and cell.result.heatmap is not None]
    scores: dict[str, FaithfulnessScore] = {}
    for index, cell in enumerate(cells):
        backbone = (backbones or {}).get(cell.backbone) or load_backbone(
            cell.backbone, device=cell.result.device, weights=RANDOM if cell.result.untrained else None
        )
        try:
            scores[cell.key] = faithfulness(backbone, image, cell.result, **settings)
        except RequestStopped:
            break
        report(progress, index + 1, len(cells), cell.key)
    return scores
