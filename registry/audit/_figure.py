"""The strategies in one picture: the layout of every image coloured by strategy (thumbnails of the most typical
members on it), and beside it each strategy's mean map over its mean image with its sentence's numbers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from registry.audit._strategies import Strategy

__all__ = ["strategies_figure"]

THUMB = 40  # pixels of a thumbnail on the layout


def strategies_figure(
    found: Sequence[Strategy], rows: Sequence[dict[str, Any]], target: str, method: str, backbone: str
) -> Image.Image:
    """The figure as an RGB picture (matplotlib's Agg, no display needed)."""
    from matplotlib.figure import Figure
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    colours = matplotlib.colormaps["tab10"]
    count = len(found)
    columns = min(4, count)
    figure = Figure(figsize=(5.2 + 2.4 * columns, max(4.6, 2.6 * int(np.ceil(count / columns)))))
    grid = figure.add_gridspec(int(np.ceil(count / columns)), columns + 2)
    axis = figure.add_subplot(grid[:, :2])
    xy = np.array([[row["x"], row["y"]] for row in rows])
    ranks = np.array([row["strategy"] for row in rows])
    for strategy in found:
        mine = ranks == strategy.rank
        axis.scatter(*xy[mine].T, s=14, color=colours((strategy.rank - 1) % 10), label=f"{strategy.rank}")
    where = {row["image"]: index for index, row in enumerate(rows)}
    for strategy in found:
        for path, shown in zip(strategy.typical[:2], strategy.overlays[:2]):
            box = OffsetImage(np.asarray(shown.resize((THUMB, THUMB))), zoom=1.0)
            frame = AnnotationBbox(
                box, xy[where[path]], frameon=True, pad=0.15,
                bboxprops={"edgecolor": colours((strategy.rank - 1) % 10), "linewidth": 2},
            )  # fmt: skip
            axis.add_artist(frame)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(title="strategy", fontsize=7, title_fontsize=7, loc="best")
    axis.set_title(f"{len(rows)} images of '{target}' ({method}, {backbone})", fontsize=8)
    for index, strategy in enumerate(found):
        panel = figure.add_subplot(grid[index // columns, 2 + index % columns])
        panel.imshow(np.asarray(strategy.picture))
        panel.set_xticks([])
        panel.set_yticks([])
        for spine in panel.spines.values():
            spine.set_edgecolor(colours((strategy.rank - 1) % 10))
            spine.set_linewidth(3)
        outside = "" if strategy.scores.outside is None else f", {strategy.scores.outside:.0%} off object"
        panel.set_title(
            f"{strategy.rank}: {strategy.size} of {len(rows)}\n{strategy.scores.border:.0%} on border{outside}",
            fontsize=7,
        )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")
