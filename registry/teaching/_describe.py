"""Maps described in numbers a sentence can carry: where the heat lies, how much of the image it
covers, how two maps overlap, how concentrated a layer's response is.

The Learn tab's "what to notice" sentences are computed from these, so they say what *this* map
shows, not what maps usually show.
"""

from __future__ import annotations

import numpy as np

HOT = 0.5  # a pixel is "hot" at half the map's peak or more (the usual way to threshold a CAM)
_ROWS = ("top", "middle", "bottom")
_COLUMNS = ("left", "centre", "right")


def hot_mask(heatmap: np.ndarray, level: float = HOT) -> np.ndarray:
    """Pixels at `level` × the map's own peak or above (all False for an empty map)."""
    values = np.asarray(heatmap, dtype=np.float64)
    peak = float(values.max()) if values.size else 0.0
    return values >= level * peak if peak > 0 else np.zeros(values.shape, dtype=bool)


def share(mask: np.ndarray) -> float:
    """The fraction of the image a mask covers."""
    return float(np.asarray(mask, dtype=bool).mean())


def place(heatmap: np.ndarray) -> str:
    """Where the hot part of a map lies, as a cell of a 3×3 grid: "the top left", "the centre"…"""
    mask = hot_mask(heatmap)
    if not mask.any():
        return "nowhere (the map is empty)"
    rows, columns = np.nonzero(mask)
    weights = np.asarray(heatmap, dtype=np.float64)[rows, columns]
    y = float(np.average(rows, weights=weights)) / mask.shape[0]
    x = float(np.average(columns, weights=weights)) / mask.shape[1]
    row, column = _ROWS[min(2, int(y * 3))], _COLUMNS[min(2, int(x * 3))]
    if (row, column) == ("middle", "centre"):
        return "the centre"
    return f"the {row} {column}"


def overlap(first: np.ndarray, second: np.ndarray) -> float:
    """Intersection over union of the hot parts of two maps of one size (0: apart, 1: the same)."""
    a, b = hot_mask(first), hot_mask(second)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def concentration(response: np.ndarray) -> float:
    """The smallest fraction of positions that holds half of a layer's total (positive) response.

    `response` is (channels, h, w) or (h, w); channels are summed. Near 0.5 the response is spread
    evenly over the image; near 0 a few positions carry it.
    """
    values = np.clip(np.asarray(response, dtype=np.float64), 0, None)
    if values.ndim == 3:
        values = values.sum(axis=0)
    flat = np.sort(values.ravel())[::-1]
    total = flat.sum()
    if total <= 0:
        return 0.0
    needed = int(np.searchsorted(np.cumsum(flat), 0.5 * total)) + 1
    return needed / flat.size


def percent(fraction: float) -> str:
    """0.183 → "18 %" (a share of the image, for a sentence)."""
    return f"{100 * fraction:.0f} %"
