"""The scores, each a small pure function of arrays, with the paper and the protocol it follows.

Maps here are the raw map at the model view's size (`Visualization.raw`: the method's own units, negatives
already dropped for unsigned methods); "positive mass" is the sum of its positive values. The engine
(`registry.evaluation._engine`) calls these once per image × backbone × method × target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "TOLERANCE",
    "auc",
    "energy_in",
    "grid_cells",
    "grid_share",
    "peak",
    "pointing_hit",
    "top_k_hit",
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
