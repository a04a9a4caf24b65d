"""`registry.explain_video`: a video explained frame by frame, as a stream.

    result = registry.explain_video("dashcam.mp4", "tf_efficientnet_lite0", "gradcam", every=3, smoothing=0.5,
                                    out="runs/dashcam.mp4")
    result.rows, result.figure, result.video     # runs/dashcam.mp4, .csv, .parquet, .png beside it

Frames are decoded one at a time (registry/imaging/_video.py), every n-th is prepared and collected into a batch,
the batch goes through Evaluate's batched shared pass (`FrameExplainer`), each map is smoothed over time (an
exponential moving average, when asked), drawn over its frame and written to the MP4 at once. Only a batch of
frames is ever held, so memory stays flat however long the video; only the rows (a few numbers a frame) stay.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

import registry.settings as settings
from registry.evaluation._extras import require
from registry.evaluation._results import write_csv
from registry.imaging import VideoWriter, frames, probe, render
from registry.methods._plugin import UNTRAINED, Plugin, Progress, report
from registry.methods._request import RequestStopped, check_request
from registry.models import DEFAULT_BACKBONE, Backbone, load_backbone
from registry.video._frames import FrameExplainer, FrameMap, heat_centre
from registry.video._timeline import timeline

__all__ = ["VIDEO_COLUMNS", "VideoExplanation", "explain_video", "frame_caption", "write_parquet"]

# One row per explained frame: its place and time, the top class and its probability, and where the heat sits in
# the frame's pixels (centroid and spread), and whether the top class differs from the previous frame's.
VIDEO_COLUMNS = (
    "frame",
    "time",
    "top1",
    "top1_label",
    "probability",
    "heat_x",
    "heat_y",
    "heat_spread",
    "changed",
)
DEFAULT_BATCH = 8


@dataclass
class VideoExplanation:
    """What `explain_video` gives: a row per explained frame, the timeline figure, the files written (None when
    `out` was not given) and, when the request stopped early, why (its rows stand)."""

    rows: list[dict[str, Any]]
    size: tuple[int, int]  # the frame's (width, height)
    fps: float  # of the written video: the source's rate over `every`
    seconds: float = 0.0
    video: Path | None = None
    csv: Path | None = None
    parquet: Path | None = None
    image: Path | None = None
    stopped: str | None = None
    title: str = ""
    _figure: Figure | None = field(default=None, repr=False)

    @property
    def figure(self) -> Figure:
        """The timeline: the top-1 probability with each change of class marked, and the heat centroid."""
        if self._figure is None:
            self._figure = timeline(self.rows, self.size, self.title)
        return self._figure

    @property
    def frames_per_second(self) -> float:
        """Frames explained per second of computing."""
        return len(self.rows) / self.seconds if self.seconds > 0 else 0.0

    @property
    def changes(self) -> list[dict[str, Any]]:
        """The rows where the top class changes."""
        return [row for row in self.rows if row["changed"]]


def frame_caption(frame: FrameMap, labels: Sequence[str], k: int = 1) -> list[str]:
    """The top-k classes of a frame as lines of text ("tabby 0.82")."""
    return [f"{label} {probability:.2f}" for label, probability in frame.top(k, list(labels))]


def explain_video(
    video: str | Path,
    backbone: str | Backbone = DEFAULT_BACKBONE,
    method: str | Plugin = "gradcam",
    *,
    every: int | None = None,
    smoothing: float = 0.0,
    out: str | Path | None = None,
    parquet: bool = True,
    batch_size: int = DEFAULT_BATCH,
    layer: str | None = None,
    params: dict[str, Any] | None = None,
    device: str | None = None,
    weights: str | None = None,
    colormap: str = "jet",
    opacity: float = 0.5,
    progress: Progress | None = None,
) -> VideoExplanation:
    """Explain every `every`-th frame of `video` with `method` on `backbone`, for each frame's top class.

    Args:
        video: a video file (MP4, WebM, MOV, MKV, AVI, Y4M), within CNNLENS_VIDEO_MAX_SECONDS, _MAX_PIXELS, _MAX_MB.
        backbone: a timm name (loaded with `device` and `weights`) or a loaded `Backbone` (a model of one's own).
        method: a heatmap method; the CAM family and saliency run batched from one shared pass.
        every: explain every n-th frame (None: CNNLENS_VIDEO_EVERY); the written video runs at the source's rate
            over n, so it lasts as long as the source.
        smoothing: 0 (none) to below 1: each map shown is `smoothing` × the previous one shown + the rest × its own
            (an exponential moving average over time, which calms a flickering map).
        out: the MP4 of the overlaid frames (their model views, the top class written on each); the rows go beside
            it as .csv (and .parquet, with `parquet`), the timeline as .png. None: rows and figure only.
        parquet: also write .parquet (``pip install "cnn-lens[evaluate]"``; MissingExtraError without pyarrow).
        batch_size: frames per batched pass.
        progress: ``progress(fraction, words)`` after every batch.

    Raises:
        VideoError: not a video, no frames, a cap exceeded, the file broken off (a sentence for the user).
        MissingExtraError: `parquet` with `out` but no pyarrow.
        ValueError: an unknown method, a method without a heatmap, a smoothing outside [0, 1).
    """
    started = time.perf_counter()
    every = int(settings.value("CNNLENS_VIDEO_EVERY") if every is None else every)
    if every < 1:
        raise ValueError(f"every must be 1 or more (explain every n-th frame), not {every}.")
    if not 0.0 <= float(smoothing) < 1.0:
        raise ValueError(f"smoothing must be at least 0 and below 1, not {smoothing}.")
    if out is not None and parquet:
        require("pyarrow.parquet")  # before any decoding
    info = probe(video)  # the caps, on the header, before a model loads
    if not isinstance(backbone, Backbone):
        backbone = load_backbone(backbone, device=device, weights=weights)
    explainer = FrameExplainer(backbone, method.name if isinstance(method, Plugin) else method, layer, params)
    expected = info.frames or (round(info.seconds * info.fps) if info.seconds else 0)
    total = max(1, -(-expected // every)) if expected else 0
    fps = info.fps / every
    target = Path(out) if out is not None else None
    writer = None
    state = _Run(explainer, smoothing, colormap, opacity)
    stopped = None
    size = (info.width, info.height)
    try:
        batch: list[tuple[int, float, Image.Image]] = []
        for frame in frames(video):
            if frame.index % every:
                continue
            size = frame.picture.size
            batch.append((frame.index, frame.time, frame.picture))
            if len(batch) < batch_size:
                continue
            writer = state.batch(batch, writer, target, fps)
            batch = []
            done = len(state.rows)
            report(progress, done, max(total, done), f"video: {done}/{max(total, done)} frames")
            check_request("The video", len(state.rows), total)
        if batch:
            writer = state.batch(batch, writer, target, fps)
            report(progress, len(state.rows), len(state.rows), f"video: {len(state.rows)}/{len(state.rows)} frames")
    except RequestStopped as exc:  # the budget or the visitor's Stop: the frames explained so far stand
        stopped = str(exc)
    finally:
        if writer is not None:
            writer.close()
    result = VideoExplanation(
        state.rows,
        size,
        fps,
        seconds=time.perf_counter() - started,
        stopped=stopped,
        title=f"{explainer.plugin.title} on {backbone.name}, every {every} frame{'s' if every > 1 else ''}",
    )
    if target is not None:
        result.video = writer.path if writer is not None else None
        result.csv = write_csv(target.with_suffix(".csv"), VIDEO_COLUMNS, result.rows)
        if parquet:
            result.parquet = write_parquet(target.with_suffix(".parquet"), result.rows)
        result.image = target.with_suffix(".png")
        result.figure.savefig(result.image, dpi=100)
    return result


def write_parquet(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """The rows as Parquet, with VIDEO_COLUMNS' types kept for an empty video too."""
    pa, pq = require("pyarrow"), require("pyarrow.parquet")
    types = [pa.int64(), pa.float64(), pa.int64(), pa.string(), pa.float64()] + [pa.float64()] * 3 + [pa.bool_()]
    schema = pa.schema(list(zip(VIDEO_COLUMNS, types)))
    pq.write_table(pa.Table.from_pylist([{k: row[k] for k in VIDEO_COLUMNS} for row in rows], schema=schema), path)
    return Path(path)


class _Run:
    """The state a video's frames carry from batch to batch: the previous map (smoothing), the previous top class
    (changes) and the rows."""

    def __init__(self, explainer: FrameExplainer, smoothing: float, colormap: str, opacity: float):
        self.explainer, self.smoothing, self.colormap, self.opacity = explainer, float(smoothing), colormap, opacity
        self.previous: np.ndarray | None = None
        self.rows: list[dict[str, Any]] = []

    def batch(
        self, batch: list[tuple[int, float, Image.Image]], writer: VideoWriter | None, out: Path | None, fps: float
    ) -> VideoWriter | None:
        labels = self.explainer.backbone.labels
        for (index, seconds, _), frame in zip(batch, self.explainer.explain([picture for *_, picture in batch])):
            shown = frame.shown
            if self.smoothing and self.previous is not None and self.previous.shape == shown.shape:
                shown = self.smoothing * self.previous + (1.0 - self.smoothing) * shown
            self.previous = shown
            x, y, spread = heat_centre(frame, shown)
            changed = bool(self.rows) and self.rows[-1]["top1"] != frame.target
            self.rows.append(
                {
                    "frame": index,
                    "time": round(float(seconds), 4),
                    "top1": frame.target,
                    "top1_label": frame.label,
                    "probability": float(frame.probabilities[frame.target]),
                    "heat_x": x,
                    "heat_y": y,
                    "heat_spread": spread,
                    "changed": changed,
                }
            )
            if out is not None:
                picture = render.overlay(frame.view, shown, self.colormap, self.opacity)
                picture = render.caption(picture, frame_caption(frame, labels))
                if self.explainer.backbone.untrained:
                    picture = render.stamp(picture, UNTRAINED)
                if writer is None:
                    out.parent.mkdir(parents=True, exist_ok=True)
                    writer = VideoWriter(out, fps, picture.size)
                writer.write(picture)
        return writer
