"""The scores, each a small pure function of arrays, with the paper and the protocol it follows.

Maps here are the raw map at the model view's size (`Visualization.raw`: the method's own units, negatives
already dropped for unsigned methods); "positive mass" is the sum of its positive values. The engine
(`registry.evaluation._engine`) calls these once per image × backbone × method × target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy.sparse import csc_matrix
from scipy.sparse.linalg import spsolve

__all__ = [
    "ARCC_PERCENTILES",
    "ROAD_NOISE",
    "ROAD_PERCENTILES",
    "TOLERANCE",
    "arcc",
    "auc",
    "average_drop",
    "coherency",
    "complexity",
    "energy_in",
    "grid_cells",
    "grid_share",
    "increase_in_confidence",
    "noisy_linear_imputation",
    "peak",
    "pointing_hit",
    "road_combined",
    "road_kept",
    "top_k_hit",
    "unit_map",
]

TOLERANCE = 15  # pixels: TorchRay's pointing game (Zhang et al. 2016, as benchmarked by Fong et al. 2019)


def top_k_hit(probabilities: np.ndarray, classes: Sequence[int], k: int) -> bool:
    """Top-k accuracy of one image: whether any of its true `classes` is among the k most probable.

    A label may list several right classes (ImageNet's "tabby | tiger cat"), as ImageNet-ReaL scores them
    (Beyer et al. 2020); a single class is the usual top-k of Russakovsky et al. 2015. Ties in probability are
    broken towards the lower class number, as `torch.topk` does on the CPU.
    """
    values = np.asarray(probabilities, dtype=np.float64).ravel()
    order = np.lexsort((np.arange(values.size), -values))[: max(1, int(k))]
    return bool(set(int(i) for i in order) & set(int(c) for c in classes))


def peak(heatmap: np.ndarray) -> tuple[int, int]:
    """(row, column) of the map's maximum, the first in raster order on ties (numpy's and torch's argmax)."""
    flat = int(np.argmax(np.asarray(heatmap)))
    return divmod(flat, np.asarray(heatmap).shape[1])


def pointing_hit(
    point: tuple[int, int],
    *,
    box: tuple[float, float, float, float] | None = None,
    mask: np.ndarray | None = None,
    tolerance: float = TOLERANCE,
) -> bool:
    """The pointing game as TorchRay defines it (Zhang et al. 2016, "Top-down neural attention by excitation
    backprop"; torchray.benchmark.pointing_game): a hit when some pixel of the object lies strictly closer than
    `tolerance` pixels to the map's maximum, all in the file's own pixels.

    `point` is the (x, y) pixel of the maximum; the object is `mask` (H, W, true on the object) or `box`
    (x0, y0, x1, y1; its pixels are those whose centres it holds). Distances are between pixel indices, as
    TorchRay's `(v - y)² + (u - x)² < tolerance²`.
    """
    x, y = int(point[0]), int(point[1])
    limit = float(tolerance) ** 2
    if mask is not None:
        rows, columns = np.nonzero(np.asarray(mask, dtype=bool))
        if rows.size == 0:
            return False
        return bool((((columns - x) ** 2 + (rows - y) ** 2) < limit).any())
    if box is None:
        raise ValueError("The pointing game needs the object's box or mask.")
    u0, u1 = math.ceil(box[0] - 0.5), math.ceil(box[2] - 0.5) - 1  # the pixels whose centres lie in the box
    v0, v1 = math.ceil(box[1] - 0.5), math.ceil(box[3] - 0.5) - 1
    if u1 < u0 or v1 < v0:
        return False
    dx = max(u0 - x, 0, x - u1)
    dy = max(v0 - y, 0, y - v1)
    return dx * dx + dy * dy < limit


def energy_in(heatmap: np.ndarray, region: np.ndarray) -> float:
    """The energy-based pointing game (Wang et al. 2020, Score-CAM, §4.2): the share of the map's positive mass
    that falls inside the object's region (a boolean array the map's size). NaN when the map has no positive
    mass (nothing to share out)."""
    positive = np.clip(np.asarray(heatmap, dtype=np.float64), 0.0, None)
    total = positive.sum()
    if not total > 0:
        return float("nan")
    return float(positive[np.asarray(region, dtype=bool)].sum() / total)


def auc(curve: Sequence[float], fractions: Sequence[float]) -> float:
    """Area under a deletion or insertion curve (Petsiuk et al. 2018, RISE, §4): trapezoids over the fraction of
    pixels removed or revealed, from 0 to 1. Low is good for deletion, high for insertion."""
    return float(np.trapezoid(np.asarray(curve, dtype=np.float64), np.asarray(fractions, dtype=np.float64)))


def grid_cells(height: int, width: int, grid: tuple[int, int] = (2, 2)) -> list[tuple[slice, slice]]:
    """The (rows, columns) of each cell of a grid over a height × width view, row by row (top left first)."""
    rows = np.linspace(0, height, grid[0] + 1).round().astype(int)
    columns = np.linspace(0, width, grid[1] + 1).round().astype(int)
    return [
        (slice(rows[i], rows[i + 1]), slice(columns[j], columns[j + 1])) for i in range(grid[0]) for j in range(grid[1])
    ]


def grid_share(heatmap: np.ndarray, cell: int, grid: tuple[int, int] = (2, 2)) -> float:
    """The grid pointing game's score (Böhle et al. 2021, CoDA-Nets, §5.2; Rao et al. 2022, "Towards better
    understanding attribution methods", §3.1): on a grid of images of different classes, the share of the map's
    positive attribution inside the cell of the class being explained. 1 / cells is what a uniform map gets;
    NaN when the map has no positive mass."""
    heatmap = np.asarray(heatmap, dtype=np.float64)
    rows, columns = grid_cells(*heatmap.shape, grid)[cell]
    region = np.zeros(heatmap.shape, dtype=bool)
    region[rows, columns] = True
    return energy_in(heatmap, region)


# -- the peers' faithfulness scores (pytorch-grad-cam 1.5.7's metrics package gives the same numbers) ---------------

ROAD_PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)  # ROADCombined's default
ARCC_PERCENTILES = (20, 40, 60, 80)  # the ROAD part of ARCC, as pytorch-grad-cam's ARCC computes it
ROAD_NOISE = 0.01  # the imputation's noise (Rong et al. 2022; the reference code's default)
# The 8 neighbours of a pixel and their weights in the linear imputation: the 4 sharing an edge count twice as much
# as the 4 sharing a corner (Rong et al. 2022, §4; weights sum to 1).
NEIGHBOURS = tuple(
    ((dy, dx), 1 / 6 if dy == 0 or dx == 0 else 1 / 12) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx
)


def unit_map(heatmap: np.ndarray) -> np.ndarray:
    """The map the peers' confidence metrics multiply the image by: its positive part over its maximum, in [0, 1]
    (all zeros when it has no positive value). For a CAM, whose minimum is 0, it is pytorch-grad-cam's min-max map."""
    positive = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, None)
    top = float(positive.max()) if positive.size else 0.0
    return positive / top if top > 0 else positive


def average_drop(full: float, masked: float) -> float:
    """Average drop's term of one image (Chattopadhyay et al. 2018, Grad-CAM++, §6.1.1): max(0, Y − O) / Y, where Y
    is the class confidence on the image and O on the image times the map. The mean over images is the paper's
    Average Drop (it prints it ×100 as a %; lower is better). pytorch-grad-cam's DropInConfidence is max(0, Y − O),
    without the division."""
    full, masked = float(full), float(masked)
    return max(0.0, full - masked) / full if full > 0 else float("nan")


def increase_in_confidence(full: float, masked: float) -> bool:
    """Increase in confidence's term of one image (Chattopadhyay et al. 2018, §6.1.2): whether the confidence on the
    image times the map exceeds that on the image. The mean over images is the paper's rate (higher is better)."""
    return bool(float(masked) - float(full) > 0)


def road_kept(heatmap: np.ndarray, percentile: float, most_relevant_first: bool) -> np.ndarray:
    """The pixels ROAD keeps at one percentile (Rong et al. 2022, "A consistent and efficient evaluation strategy
    for attribution methods"), as pytorch-grad-cam thresholds them: most relevant first keeps the pixels whose map
    value is below the map's `percentile`-th percentile (so percentile 80 removes the top 20 %); least relevant first
    does the same on 1 − map (removing the lowest). Comparisons are in float32, as the reference's on a tensor."""
    values = np.asarray(heatmap, dtype=np.float32)
    if not most_relevant_first:
        values = np.float32(1.0) - values
    threshold = np.float32(np.percentile(values, percentile))
    return values < threshold


def noisy_linear_imputation(
    image: torch.Tensor, kept: np.ndarray, noise: float = ROAD_NOISE, generator: torch.Generator | None = None
) -> torch.Tensor:
    """ROAD's imputation (Rong et al. 2022, §4): every removed pixel becomes the weighted mean of its 8 neighbours
    (`NEIGHBOURS`; those outside the image left out), removed neighbours included, which is one sparse linear system
    over the removed pixels solved per channel; then Gaussian noise of std `noise` is added to them, drawn from
    `generator` as a (channels, removed) array (the reference draws the same array, so equal seeds give equal
    images). `image` is (C, H, W); `kept` (H, W) is true on the pixels that stay."""
    height, width = kept.shape
    flat_kept = np.asarray(kept, dtype=bool).ravel()
    removed = np.flatnonzero(~flat_kept)
    if removed.size == 0:
        return image.clone()
    pixels = image.detach().cpu().reshape(image.shape[0], -1)
    values = pixels.numpy().astype(np.float64)
    unknown = np.zeros(flat_kept.size, dtype=np.int64)
    unknown[removed] = np.arange(removed.size)
    rows, columns, weights = [], [], []
    diagonal = np.ones(removed.size)
    right = np.zeros((removed.size, image.shape[0]))
    y, x = np.divmod(removed, width)
    for (dy, dx), weight in NEIGHBOURS:
        ny, nx = y + dy, x + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        diagonal[~inside] -= weight
        which = np.flatnonzero(inside)
        neighbour = ny[inside] * width + nx[inside]
        known = flat_kept[neighbour]
        right[which[known]] -= weight * values[:, neighbour[known]].T
        rows.append(which[~known])
        columns.append(unknown[neighbour[~known]])
        weights.append(np.full(int((~known).sum()), weight))
    rows.append(np.arange(removed.size))
    columns.append(np.arange(removed.size))
    weights.append(-diagonal)
    system = csc_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(columns))), shape=(removed.size,) * 2
    )
    solved = np.asarray(spsolve(system, right)).reshape(removed.size, -1)
    filled = torch.tensor(solved, dtype=torch.float).t()
    filled = filled + noise * torch.randn(filled.shape, generator=generator)
    out = pixels.clone()
    out[:, removed] = filled
    return out.reshape(image.shape).to(image.device)


def road_combined(most_relevant_first: Sequence[float], least_relevant_first: Sequence[float]) -> float:
    """ROAD's one number (pytorch-grad-cam's ROADCombined): (mean LeRF change − mean MoRF change) / 2, each change the
    class confidence after the imputation minus before, averaged over the percentiles. A faithful map loses
    confidence fast when its top pixels go and slowly when its bottom ones do: higher is better, in [−0.5, 0.5]
    for probabilities."""
    return float((np.mean(np.float32(least_relevant_first)) - np.mean(np.float32(most_relevant_first))) / 2)


def complexity(heatmap: np.ndarray) -> float:
    """ARCC's complexity (Poppi et al. 2021, "Revisiting the evaluation of class activation mapping for
    explainability", §3): the L1 norm of the [0, 1] map over its number of pixels; a map that lights less is
    simpler (lower is better)."""
    values = np.asarray(heatmap, dtype=np.float64)
    return float(np.abs(values).sum() / max(values.size, 1))


def coherency(heatmap: np.ndarray, again: np.ndarray) -> float:
    """ARCC's coherency (Poppi et al. 2021, §3): the Pearson correlation between the map and the map the same method
    draws for the image times the map (`again`), moved to [0, 1] as (r + 1) / 2; a map that keeps what matters
    is drawn again on it (higher is better). pytorch-grad-cam's formula, with its 1e-8 in the denominator."""
    a = np.asarray(heatmap, dtype=np.float64).ravel()
    b = np.asarray(again, dtype=np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    count = max(a.size - 1, 1)
    spread = np.sqrt((a * a).sum() / count) * np.sqrt((b * b).sum() / count)
    return float(((a * b).sum() / count / (spread + 1e-8) + 1) / 2)


def arcc(coherent: float, complex_: float, road: float) -> float:
    """ARCC (pytorch-grad-cam 1.5.7's, after Poppi et al. 2021's ADCC with ROAD in average drop's place): the
    harmonic mean of coherency, 1 − complexity and ROAD's combined score ×2 clipped to [0, 1]. Higher is better."""
    road = float(np.clip(road * 2, 0.0, 1.0))
    return float(3 / (1 / (coherent + 1e-8) + 1 / ((1 - complex_) + 1e-8) + 1 / (road + 1e-8)))
