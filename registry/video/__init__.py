"""Video, above evaluation: a video's frames (and the webcam's) explained in batches through Evaluate's batched
shared pass, drawn over the frames, and summed up as rows and a timeline. `cnnlens video` is its command line
(registry/video/cli.py)."""

from __future__ import annotations

from registry.video._explain import VIDEO_COLUMNS, VideoExplanation, explain_video, frame_caption, write_parquet
from registry.video._frames import FrameExplainer, FrameMap, heat_centre

__all__ = [
    "VIDEO_COLUMNS",
    "FrameExplainer",
    "FrameMap",
    "VideoExplanation",
    "explain_video",
    "frame_caption",
    "heat_centre",
    "write_parquet",
]
