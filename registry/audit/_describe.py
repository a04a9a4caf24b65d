"""What a strategy's mean map says, in numbers and in one sentence.

Where the heat sits is its centre of mass on the grid (0 … 1 across and down); the border is the outer eighth
of the picture on every side (44 % of its area: a map spread evenly puts 44 % of its heat there); outside the
object is 1 − Evaluate's energy in the box or mask, where the data has them. A shortcut is usually small,
off the object and off the centre, so those make a strategy unusual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BORDER", "Scores", "describe", "scores", "unusualness", "where"]

BORDER = 1 / 8  # of the side, on every side


@dataclass(frozen=True)
class Scores:
    """A map's centre of heat (x, y in 0 … 1), its share on the border, its share outside the object (None:
    no box or mask) and its centre's distance from the picture's centre (0 … 1, 1 a corner)."""

    centre: tuple[float, float]
    border: float
    outside: float | None
    off_centre: float


def scores(heat: np.ndarray, outside: float | None) -> Scores:
    """The scores of a (side, side) map of non-negative heat."""
    side = heat.shape[0]
    total = float(heat.sum())
    if total <= 0:
        return Scores((0.5, 0.5), 0.0, outside, 0.0)
    share = heat / total
    cells = (np.arange(side) + 0.5) / side
    x, y = float((share.sum(axis=0) * cells).sum()), float((share.sum(axis=1) * cells).sum())
    edge = max(1, int(round(side * BORDER)))
    inner = share[edge:-edge, edge:-edge].sum()
    off = float(np.hypot(x - 0.5, y - 0.5) / np.hypot(0.5, 0.5))
    return Scores((x, y), float(1.0 - inner), outside, off)


def unusualness(size: int, total: int, score: Scores) -> float:
    """0 … 1: the mean of how small the strategy is (1 − its share of the images), its heat outside the object
    (where known), its centre's distance from the picture's centre and its heat on the border."""
    parts = [1.0 - size / total, score.off_centre, score.border]
    if score.outside is not None:
        parts.append(score.outside)
    return float(np.mean(parts))


def where(centre: tuple[float, float]) -> str:
    """Words for where a centre of heat lies: "in the centre", "in the lower-left corner", "on the right"."""
    x, y = centre
    across = "left" if x < 0.4 else "right" if x > 0.6 else ""
    down = "upper" if y < 0.4 else "lower" if y > 0.6 else ""
    if across and down:
        far = np.hypot(x - 0.5, y - 0.5) > 0.2
        return f"in the {down}-{across} corner" if far else f"towards the {down} {across}"
    if across:
        return f"on the {across} side"
    if down:
        return f"in the {down} part"
    return "in the centre"


def describe(rank: int, size: int, total: int, score: Scores) -> str:
    """The strategy in one sentence: "Strategy 1: 12 of 24 images; the heat sits in the lower-left corner,
    71 % of it outside the object; 58 % on the border (44 % if spread evenly)."""
    words = f"Strategy {rank}: {size} of {total} images; the heat sits {where(score.centre)}"
    if score.outside is not None:
        words += f", {score.outside:.0%} of it outside the object"
    return words + f"; {score.border:.0%} on the border ({1 - (1 - 2 * BORDER) ** 2:.0%} if spread evenly)."
