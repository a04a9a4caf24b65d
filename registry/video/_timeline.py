"""The timeline of an explained video: the top class and its probability per frame, where the heat sits, and
the frames where the top class changes (a map that jumps to the sky for ten frames is the finding)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["timeline"]


def timeline(rows: Sequence[dict[str, Any]], size: tuple[int, int], title: str = "") -> Figure:
    """Two panels over time: the top-1 probability (each change of the top class marked and named), and the heat
    centroid's x and y as fractions of the frame's width and height."""
    figure = Figure(figsize=(9, 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    top, heat = figure.subplots(2, 1, sharex=True)
    times = [row["time"] for row in rows]
    top.plot(times, [row["probability"] for row in rows], color="tab:blue", marker=".", lw=1)
    top.set_ylim(0, 1.05)
    top.set_ylabel("top-1 probability")
    for row in rows:
        if row["changed"]:
            for axis in (top, heat):
                axis.axvline(row["time"], color="tab:red", lw=0.8, alpha=0.6)
            top.annotate(row["top1_label"], (row["time"], 1.02), fontsize=7, rotation=30, color="tab:red")
    width, height = size
    heat.plot(times, [_fraction(row["heat_x"], width) for row in rows], label="centroid x / width", lw=1)
    heat.plot(times, [_fraction(row["heat_y"], height) for row in rows], label="centroid y / height", lw=1)
    heat.set_ylim(0, 1)
    heat.set_ylabel("where the heat sits")
    heat.set_xlabel("time (s); red: the top class changes")
    heat.legend(loc="upper right", fontsize=7)
    if title:
        top.set_title(title, fontsize=9)
    return figure


def _fraction(value: float | None, side: int) -> float:
    return float("nan") if value is None or not side else value / side
