"""Videos in and out: frames decoded one at a time (PyAV, ffmpeg bundled in its wheel), caps checked before and
while decoding, and an H.264 MP4 written frame by frame.

A video is as hostile as an image: its header may lie, its frames may never come, it may stop halfway. Every one
of those is a `VideoError` sentence; nothing is held but the frame being decoded, so a long video costs what a
short one does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

import registry.settings as settings
from registry.imaging._decode import ImageError

__all__ = ["VIDEO_SUFFIXES", "Frame", "VideoError", "VideoInfo", "VideoWriter", "frames", "probe"]

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".y4m")


class VideoError(ImageError):
    """The input is not a video this app can explain (unreadable, empty, beyond a cap, cut short); for the user."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video's header declares: frame size, frames per second, duration in seconds (None: not declared)."""

    width: int
    height: int
    fps: float
    seconds: float | None
    frames: int | None


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its place among all frames, its time in seconds and its RGB picture."""

    index: int
    time: float
    picture: Image.Image


def _caps() -> tuple[float, int, float]:
    return (
        settings.value("CNNLENS_VIDEO_MAX_SECONDS"),
        settings.value("CNNLENS_VIDEO_MAX_PIXELS"),
        settings.value("CNNLENS_VIDEO_MAX_MB"),
    )


def _open(path: str | Path) -> av.container.InputContainer:
    name = Path(path).name
    _, _, max_mb = _caps()
    try:
        size = os.stat(path).st_size
    except OSError:
        raise VideoError(f"'{name}' could not be read as a video.") from None
    if size > max_mb * 1_000_000:
        raise VideoError(
            f"'{name}' is {size / 1_000_000:.0f} MB; the limit is {max_mb:g} MB (CNNLENS_VIDEO_MAX_MB). "
            "Please cut the video shorter."
        )
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        raise VideoError(f"'{name}' could not be read as a video (MP4, WebM, MOV, MKV, AVI or Y4M).") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"'{name}' has no video track.")
    return container


def _info(container: av.container.InputContainer) -> VideoInfo:
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 25.0
    seconds = None
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / av.time_base
    return VideoInfo(
        int(stream.codec_context.width or 0), int(stream.codec_context.height or 0), fps, seconds, stream.frames or None
    )


def _check(name: str, info: VideoInfo) -> None:
    max_seconds, max_pixels, _ = _caps()
    if info.width * info.height > max_pixels:
        raise VideoError(
            f"'{name}' is {info.width}×{info.height} pixels a frame; the limit is {max_pixels:,} pixels "
            "(CNNLENS_VIDEO_MAX_PIXELS). Please scale the video down."
        )
    if info.seconds is not None and info.seconds > max_seconds:
        raise VideoError(
            f"'{name}' lasts {info.seconds:.0f} s; the limit is {max_seconds:g} s (CNNLENS_VIDEO_MAX_SECONDS). "
            "Please cut the video shorter."
        )


def probe(path: str | Path) -> VideoInfo:
    """The video's declared size, rate and length, checked against the caps (a `VideoError` when beyond one)."""
    container = _open(path)
    try:
        info = _info(container)
    finally:
        container.close()
    _check(Path(path).name, info)
    return info


def frames(path: str | Path) -> Iterator[Frame]:
    """The video's frames in order, decoded one at a time, the caps checked first on the header and then on every
    frame (a header may lie). A video with no frame, or one that breaks off in a way the decoder notices, is a
    `VideoError`; a generator closed early closes the file."""
    name = Path(path).name
    container = _open(path)
    try:
        info = _info(container)
        _check(name, info)
        max_seconds, max_pixels, _ = _caps()
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        index = -1
        try:
            for index, frame in enumerate(container.decode(stream)):
                time = float(frame.time) if frame.time is not None else index / info.fps
                if frame.width * frame.height > max_pixels:
                    _check(name, VideoInfo(frame.width, frame.height, info.fps, None, None))
                if time > max_seconds:
                    _check(name, VideoInfo(frame.width, frame.height, info.fps, time, None))
                yield Frame(index, time, frame.to_image())
        except av.FFmpegError:
            raise VideoError(
                f"'{name}' breaks off after {index + 1} frames: the file is damaged or cut short."
            ) from None
        if index < 0:
            raise VideoError(f"'{name}' has no frames to explain.")
    finally:
        container.close()


class VideoWriter:
    """An H.264 MP4 (yuv420p, the moov atom first: it plays in browsers while it loads) written frame by frame."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]):
        self.path = Path(path)
        self.size = (size[0] - size[0] % 2, size[1] - size[1] % 2)  # yuv420p needs even sides
        self._container = av.open(str(self.path), mode="w", options={"movflags": "faststart"})
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = self.size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "23", "preset": "veryfast"}
        self.frames = 0

    def write(self, picture: Image.Image) -> None:
        if picture.size != self.size:
            picture = picture.resize(self.size, Image.Resampling.BILINEAR)
        frame = av.VideoFrame.from_ndarray(np.asarray(picture.convert("RGB")), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        return self.path

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
