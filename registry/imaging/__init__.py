"""Imaging, the lowest room: decoding images (the one path an image takes in), the bundled samples, render
(the one place numbers become pictures) and `shorten` (how an error quotes a client's text). It imports nothing
else from the registry."""

from __future__ import annotations

from registry.imaging import render, samples
from registry.imaging._decode import (
    LARGE_PIXELS,
    MAX_PIXELS,
    ImageError,
    UnreadableImage,
    load_image,
    load_image_sized,
    to_rgb,
    too_large,
    unreadable,
)
from registry.imaging._echo import ECHO_LIMIT, shorten
from registry.imaging._video import VIDEO_SUFFIXES, Frame, VideoError, VideoInfo, VideoWriter, frames, probe
from registry.imaging.samples import EXAMPLES, Sample, identify, labelled_samples, sample_paths

__all__ = [
    "ECHO_LIMIT",
    "EXAMPLES",
    "LARGE_PIXELS",
    "MAX_PIXELS",
    "VIDEO_SUFFIXES",
    "Frame",
    "ImageError",
    "Sample",
    "UnreadableImage",
    "VideoError",
    "VideoInfo",
    "VideoWriter",
    "frames",
    "identify",
    "labelled_samples",
    "load_image",
    "load_image_sized",
    "probe",
    "render",
    "sample_paths",
    "samples",
    "shorten",
    "to_rgb",
    "too_large",
    "unreadable",
]
